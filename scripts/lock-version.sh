#!/usr/bin/env bash
# Prints the version of package NAME in the Cargo.lock read from stdin (empty when absent):
#   scripts/lock-version.sh gungraun < Cargo.lock
#   git show REV:Cargo.lock | scripts/lock-version.sh gungraun
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: lock-version.sh NAME < Cargo.lock" >&2; exit 2; }
# Reads its input to the end (no early exit): a writer piping a large Cargo.lock into it would
# otherwise die of SIGPIPE, which `set -o pipefail` turns into a failure.
awk -v name="$1" '!found && $0 == "name = \"" name "\"" { getline; gsub(/[^0-9A-Za-z.+-]/, "", $3); print $3; found = 1 }'
