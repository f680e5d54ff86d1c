#!/usr/bin/env bash
# Installs what the instruction-count benches need where it is missing: valgrind (apt, through
# sudo when not root) and gungraun-runner of exactly the gungraun version in Cargo.lock (the
# runner refuses a library of another version).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v valgrind >/dev/null; then
  as_root=(); [[ $(id -u) -eq 0 ]] || as_root=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get update -qq && "${as_root[@]}" apt-get install -y -qq valgrind >/dev/null
fi
version=$(bash scripts/lock-version.sh gungraun < Cargo.lock)
[[ -n $version ]] || { echo "install-gungraun: no gungraun in Cargo.lock" >&2; exit 2; }
if [[ $(gungraun-runner --version 2>/dev/null) != *" $version" ]]; then
  cargo install gungraun-runner --version "$version" --locked --quiet
fi
