#!/usr/bin/env bash
# The base revision both CI gates compare against (scripts/ci-gate.sh, scripts/instr-gate.sh):
# prints its commit and exits 0, or prints why there is none on stderr and exits 1.
#
#   scripts/gate-base.sh          # the merge base of HEAD with the default branch (below)
#   scripts/gate-base.sh REV      # REV itself
#   GATE_BASE=baseline scripts/gate-base.sh   # the commit that last changed results/baseline
#
# The default branch is the first that exists of origin/HEAD, origin/main, origin/master, main,
# master. On the default branch itself (merge base = HEAD): the parent of the last commit that
# changed servers/, proto/, loadgen/ or benches/; else HEAD~1. Comparing against the merge base,
# not the previous commit, keeps small regressions from piling up one commit at a time.
set -euo pipefail
cd "$(dirname "$0")/.."

shallow=$(git rev-parse --is-shallow-repository 2>/dev/null || echo false)
none() {
  [[ "$shallow" == true ]] && echo "shallow clone: $*" >&2 || echo "$*" >&2
  exit 1
}

default_branch() {
  local b
  b=$(git symbolic-ref -q --short refs/remotes/origin/HEAD 2>/dev/null) && { echo "$b"; return; }
  for b in origin/main origin/master main master; do
    git rev-parse -q --verify "$b^{commit}" >/dev/null && { echo "$b"; return; }
  done
}

head=$(git rev-parse HEAD)
if [[ -n "${1:-}" ]]; then
  base=$1
elif [[ "${GATE_BASE:-}" == baseline ]]; then
  base=$(git log -1 --format=%H -- results/baseline)
  [[ -n "$base" ]] || none "no commit changed results/baseline in this clone"
else
  base=""
  branch=$(default_branch || true)
  if [[ -n "$branch" ]]; then
    base=$(git merge-base HEAD "$branch" 2>/dev/null || true)
  fi
  if [[ -z "$base" || "$base" == "$head" ]]; then
    changed=$(git log -1 --format=%H -- servers proto loadgen benches)
    base=""
    if [[ -n "$changed" ]] && git rev-parse -q --verify "$changed~1^{commit}" >/dev/null; then
      base="$changed~1"
    elif git rev-parse -q --verify 'HEAD~1^{commit}' >/dev/null; then
      base=HEAD~1
    fi
  fi
  [[ -n "$base" ]] || none "HEAD has no parent and no merge base with a default branch"
fi
git rev-parse -q --verify "$base^{commit}" || none "revision $base is not in this clone"
