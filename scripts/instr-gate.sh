#!/usr/bin/env bash
# Instruction-count gate: runs the gungraun benches (benches/benches/instructions.rs) for a BASE
# revision and for the working tree, and fails when any bench's instruction count (Callgrind `Ir`)
# rose by more than PCT percent. Instruction counts do not move with machine load, so this catches
# a few percent of extra work per message that the wall-clock benches cannot see on a shared VM.
#
# Usage: scripts/instr-gate.sh BASE_REV [PCT]     (PCT defaults to $INSTR_GATE_PCT, else 3)
#
# BASE_REV is built in a temporary git worktree (removed on exit) into its own target directory,
# target/instr-gate-base, kept between runs so its dependencies compile once. It cannot share the
# working tree's: cargo names a workspace crate's artifacts by its path relative to the workspace,
# so the two trees' crates would overwrite each other and the older sources could look fresh.
# Exit status: 0 pass (or nothing to compare, with the reason printed), 1 a bench regressed,
# 2 setup error (bad revision, missing valgrind or gungraun-runner, a build that fails).
set -euo pipefail
cd "$(dirname "$0")/.."

base_rev=${1:?usage: scripts/instr-gate.sh BASE_REV [PCT]}
pct=${2:-${INSTR_GATE_PCT:-3}}
bench_file=benches/benches/instructions.rs

die() { echo "instr-gate: $*" >&2; exit 2; }
command -v valgrind >/dev/null || die "valgrind is not installed"
command -v gungraun-runner >/dev/null || die "gungraun-runner is not installed"
base_sha=$(git rev-parse --verify --quiet "$base_rev^{commit}") || die "unknown revision $base_rev"

if ! git cat-file -e "$base_sha:$bench_file" 2>/dev/null; then
  echo "instr-gate: skipped: $base_rev (${base_sha:0:12}) has no $bench_file to compare against"
  exit 0
fi

# gungraun-runner refuses a library of another version, and one runner serves both sides.
lock_version() { bash scripts/lock-version.sh gungraun; }
base_version=$(git show "$base_sha:Cargo.lock" | lock_version)
new_version=$(lock_version <Cargo.lock)
if [[ $base_version != "$new_version" ]]; then
  echo "instr-gate: skipped: $base_rev uses gungraun $base_version, the working tree $new_version"
  exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/instr-gate.XXXXXX")
cleanup() {
  git worktree remove --force "$work/base" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

git worktree add --detach --quiet "$work/base" "$base_sha"
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
[[ -n $target_dir ]] || die "cannot find cargo's target directory"
# One gungraun home for both sides, so the working tree's run finds the base's baseline.
export GUNGRAUN_HOME=$work/gungraun

run_benches() { # DIR TARGET_DIR LOG ARGS...: runs the instruction benches of the tree in DIR
  local dir=$1 target=$2 log=$3
  shift 3
  (cd "$dir" && cargo bench --quiet --target-dir "$target" --manifest-path benches/Cargo.toml --bench instructions \
    -- "$@") >"$log" 2>&1
}

echo "instr-gate: base ${base_sha:0:12} ($base_rev)"
if ! run_benches "$work/base" "$target_dir/instr-gate-base" "$work/base.log" --save-baseline=base; then
  # Without base counts there is nothing to compare against: say why and pass, so a commit
  # that repairs a broken bench is not failed by its parent. The working tree's benches are
  # still built and run below, so a bench broken now fails.
  tail -n 20 "$work/base.log" >&2
  echo "instr-gate: skipped the comparison: the base revision's benches did not build or run" >&2
  run_benches . "$target_dir" "$work/new.log" || { cat "$work/new.log" >&2; die "the working tree's benches failed"; }
  exit 0
fi

echo "instr-gate: working tree, limit +${pct}% instructions per bench"
status=0
run_benches . "$target_dir" "$work/new.log" --baseline=base "--callgrind-limits=ir=${pct}%" || status=$?
# One line per bench: its name and its instruction count against the base.
bench_names='/^[^ ].*::/ { sub(/^[^:]*::/, "", $1); sub(/:.*/, "", $2); name = $1 " " $2 }'
awk "$bench_names"' /^  Instructions:/ { $1 = ""; printf "  %-40s %s\n", name, $0 }' "$work/new.log"

case $status in
  0)
    echo "instr-gate: pass: no bench's instructions rose more than ${pct}% over ${base_sha:0:12}"
    ;;
  3)
    echo "instr-gate: FAIL: instructions rose more than ${pct}% over ${base_sha:0:12} in:"
    awk "$bench_names"' /regressed by/ { print "  " name ": " $0 }' "$work/new.log"
    grep '^Gungraun result' "$work/new.log" || true
    exit 1
    ;;
  *)
    cat "$work/new.log" >&2
    die "the working tree's benches failed (exit $status)"
    ;;
esac
