#!/usr/bin/env bash
# Prints the version of package NAME in the Cargo.lock read from stdin (empty when absent):
#   scripts/lock-version.sh gungraun < Cargo.lock
#   git show REV:Cargo.lock | scripts/lock-version.sh gungraun
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: lock-version.sh NAME < Cargo.lock" >&2; exit 2; }
awk -v name="$1" '$0 == "name = \"" name "\"" { getline; gsub(/[^0-9A-Za-z.+-]/, "", $3); print $3; exit }'
