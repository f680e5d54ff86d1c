#!/usr/bin/env bash
# The paired same-job CI gate (.ci/run runs it). Only what must be shell: build the base
# revision's echo-server in its own worktree and target directory, build the working tree's,
# then one call: `loadgen gate --base-server BASE --new-server NEW`, which runs every case as
# duets, judges them, confirms a performance failure with a second run of the failed cases, and
# fails a lost or corrupted echo, a failed connection or a missing result at once. See
# scripts/README.md ("ci-gate.sh") for the design and its calibration, `loadgen gate --help`
# for every option.
#
#   scripts/ci-gate.sh [REV] [LOADGEN GATE OPTIONS...]
#   scripts/ci-gate.sh                          # BASE = scripts/gate-base.sh (merge base with main)
#   scripts/ci-gate.sh main --models mio,tokio --pairs 5
#   scripts/ci-gate.sh --plant mio:10%:mem      # calibration: plant +10% per message in mio
#   scripts/ci-gate.sh --fault mio              # fault plant: mio's new server corrupts echoes
#
# Environment: CI_GATE_BASE=baseline (BASE = the commit that last changed results/baseline);
# CI_GATE_BASE_SERVER=PATH (a prebuilt base echo-server: skips the base build, for repeated
# trials). With no base revision in the clone (shallow) it prints why and runs
# scripts/ci-bench.sh, the stored-baseline compare, instead.
#
# Exit status (loadgen gate's): 0 pass; 1 a performance regression confirmed by a second run;
# 2 setup error or bad input; 3 a run lost or corrupted echoes, failed a connection or gave no
# result. The runs stay in target/ci-gate/ (BASE.jsonl, NEW.jsonl, confirm/, gate.txt).
set -Eeuo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
root=$(pwd)
trap 'echo "ci-gate: setup failed (line $LINENO, exit $?)" >&2; exit 2' ERR

case "${1:-}" in
  -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
esac
rev=""
if [[ $# -gt 0 && "$1" != -* ]]; then rev=$1; shift; fi

started=$(date +%s)
say() { printf '\n==> ci-gate: %s (t+%ss)\n' "$*" "$(( $(date +%s) - started ))" >&2; }

why=$(mktemp)
if ! base_rev=$(GATE_BASE=${CI_GATE_BASE:-} bash scripts/gate-base.sh "$rev" 2>"$why"); then
  reason=$(cat "$why"); rm -f "$why"
  if [[ -n "$rev" ]]; then echo "ci-gate: $reason" >&2; exit 2; fi
  echo "ci-gate: no base revision: $reason — falling back to the stored-baseline compare (scripts/ci-bench.sh)" >&2
  exec bash scripts/ci-bench.sh
fi
rm -f "$why"

out=target/ci-gate
mkdir -p "$out"
if [[ -n "${CI_GATE_BASE_SERVER:-}" ]]; then
  [[ -x "$CI_GATE_BASE_SERVER" ]] || { echo "ci-gate: CI_GATE_BASE_SERVER=$CI_GATE_BASE_SERVER is not an executable" >&2; exit 2; }
  say "base: prebuilt $CI_GATE_BASE_SERVER (taken as ${base_rev:0:12})"
  base_server=$CI_GATE_BASE_SERVER
else
  # Its own worktree and target directory: cargo names a workspace crate's artifacts without
  # its path, so in a shared one the two trees' builds would overwrite each other. The target
  # directory stays between runs, so a later gate rebuilds only what changed.
  worktree="$root/target/ci-gate-base"
  base_target="$root/target/ci-gate-base-target"
  git worktree remove --force "$worktree" >/dev/null 2>&1 || rm -rf "$worktree"
  git worktree prune
  trap 'git -C "$root" worktree remove --force "$worktree" >/dev/null 2>&1 || true; git -C "$root" worktree prune' EXIT
  say "base ${base_rev:0:12}: cargo build --release --bin echo-server in its own worktree and target directory"
  git worktree add --detach --quiet "$worktree" "$base_rev"
  (cd "$worktree" && CARGO_TARGET_DIR="$base_target" cargo build --release --quiet --bin echo-server)
  cp "$base_target/release/echo-server" "$out/echo-server-base"
  base_server=$out/echo-server-base
fi

say "new (working tree): cargo build --release -p servers -p loadgen"
cargo build --release --quiet -p servers -p loadgen
cp target/release/echo-server "$out/echo-server-new"

say "loadgen gate: base ${base_rev:0:12} against the working tree; load average $(cut -d' ' -f1-3 /proc/loadavg)"
verdict=0
target/release/loadgen gate --base-server "$base_server" --new-server "$out/echo-server-new" \
  --out "$out" --power-effect 10% "$@" | tee "$out/gate.txt" || verdict=${PIPESTATUS[0]}
say "done (exit $verdict); load average $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$verdict"
