#!/usr/bin/env bash
# Instruction-count gate: runs the gungraun benches (benches/benches/instructions.rs) for a BASE
# revision and for the working tree, and fails when any bench's instruction count (Callgrind `Ir`)
# rose by more than PCT percent. Instruction counts do not move with machine load, so this catches
# a few percent of extra work per message that the wall-clock benches cannot see on a shared VM.
#
# Usage: scripts/instr-gate.sh [BASE_REV [PCT]]     (PCT defaults to $INSTR_GATE_PCT, else 3)
#
# BASE_REV by default is the duet gate's base (scripts/gate-base.sh): the merge base with the
# default branch, so small regressions cannot pile up one commit at a time.
#
# BASE_REV is built in a temporary git worktree (removed on exit) into its own target directory,
# target/instr-gate-base, kept between runs so its dependencies compile once. It cannot share the
# working tree's: cargo names a workspace crate's artifacts by its path relative to the workspace,
# so the two trees' crates would overwrite each other and the older sources could look fresh.
# A bench the base does not have (new or renamed) has no count to compare with: it is listed as
# NOT GATED. The base's benches must build and run with the working tree's gungraun version;
# when they cannot, the gate fails loudly (exit 2): set INSTR_GATE_UNGATED="reason" to accept a
# change that cannot be compared (a gungraun upgrade, a bench harness rewrite), which is then
# printed as NOT GATED with the reason.
# Exit status: 0 pass (or no base revision in a shallow clone, said), 1 a bench regressed,
# 2 setup error (bad revision, missing valgrind or gungraun-runner, a build that fails, a base
# that cannot be compared).
set -euo pipefail
cd "$(dirname "$0")/.."

pct=${2:-${INSTR_GATE_PCT:-3}}
bench_file=benches/benches/instructions.rs

die() { echo "instr-gate: $*" >&2; exit 2; }
# The base cannot be compared: fail loudly, unless INSTR_GATE_UNGATED accepts it with a reason.
uncomparable() {
  if [[ -n "${INSTR_GATE_UNGATED:-}" ]]; then
    echo "instr-gate: NOT GATED: $* (accepted: INSTR_GATE_UNGATED=$INSTR_GATE_UNGATED)"
    return
  fi
  die "FAIL: $*; nothing was compared (INSTR_GATE_UNGATED=\"reason\" accepts this)"
}
command -v valgrind >/dev/null || die "valgrind is not installed"
command -v gungraun-runner >/dev/null || die "gungraun-runner is not installed"
if [[ -n "${1:-}" ]]; then
  base_rev=$1
  base_sha=$(git rev-parse --verify --quiet "$base_rev^{commit}") || die "unknown revision $base_rev"
elif base_sha=$(bash scripts/gate-base.sh 2>"${TMPDIR:-/tmp}/instr-gate-base.$$"); then
  base_rev="the duet gate's base"
else
  echo "instr-gate: no base revision: $(cat "${TMPDIR:-/tmp}/instr-gate-base.$$"); nothing to compare against"
  rm -f "${TMPDIR:-/tmp}/instr-gate-base.$$"
  exit 0
fi
rm -f "${TMPDIR:-/tmp}/instr-gate-base.$$"

# gungraun-runner refuses a library of another version, and one runner serves both sides.
lock_version() { bash scripts/lock-version.sh gungraun; }
has_base_benches=true
if ! git cat-file -e "$base_sha:$bench_file" 2>/dev/null; then
  # Every bench is new: each is listed as not gated below.
  has_base_benches=false
else
  base_version=$(git show "$base_sha:Cargo.lock" | lock_version)
  new_version=$(lock_version <Cargo.lock)
  if [[ $base_version != "$new_version" ]]; then
    uncomparable "$base_rev (${base_sha:0:12}) uses gungraun $base_version, the working tree $new_version"
    has_base_benches=false
  fi
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

# One line per bench: its name and its instruction count against the base.
bench_names='/^[^ ].*::/ { sub(/^[^:]*::/, "", $1); sub(/:.*/, "", $2); name = $1 " " $2 }'
names() { awk "$bench_names"' /^  Instructions:/ { print name }' "$1" | sort -u; }

: >"$work/base.log"
if [[ $has_base_benches == true ]]; then
  echo "instr-gate: base ${base_sha:0:12} ($base_rev)"
  if ! run_benches "$work/base" "$target_dir/instr-gate-base" "$work/base.log" --save-baseline=base; then
    tail -n 20 "$work/base.log" >&2
    uncomparable "the benches of $base_rev (${base_sha:0:12}) did not build or run (above)"
    : >"$work/base.log"
  fi
else
  echo "instr-gate: base ${base_sha:0:12} ($base_rev) has no comparable $bench_file"
fi

echo "instr-gate: working tree, limit +${pct}% instructions per bench"
status=0
run_benches . "$target_dir" "$work/new.log" --baseline=base "--callgrind-limits=ir=${pct}%" || status=$?
awk "$bench_names"' /^  Instructions:/ { $1 = ""; printf "  %-40s %s\n", name, $0 }' "$work/new.log"
# Benches with no base count: new or renamed, so no limit applied to them.
ungated=$(comm -13 <(names "$work/base.log") <(names "$work/new.log"))
if [[ -n "$ungated" ]]; then
  echo "instr-gate: NOT GATED (no count in the base: new or renamed):"
  sed 's/^/  /' <<<"$ungated"
fi

case $status in
  0)
    echo "instr-gate: pass: no gated bench's instructions rose more than ${pct}% over ${base_sha:0:12}"
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
