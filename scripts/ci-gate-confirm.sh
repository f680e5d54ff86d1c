#!/usr/bin/env bash
# The paired gate as CI applies it (.ci/run runs this): scripts/ci-gate.sh once, and a second
# run only to confirm a performance failure.
#
# - Correctness gets no second chance: a lost or corrupted echo, a failed connection, a missing
#   result (a server that crashed) or a setup error fails at once (ci-gate.sh exits 3 or 2).
# - A performance failure (exit 1) is confirmed by a second run of the failed models only, and
#   fails only when the same model fails the same metric again (`loadgen gate --confirm`): one
#   disturbed pair cannot cost a red run, a real regression fails both. Each run prints the
#   detection and false-alarm chances of this whole rule.
#
# Environment: everything ci-gate.sh reads (CI_GATE_FAULT=mio plants corrupted echoes in mio's
# new server: this script must then fail once, with no second run). Exit: ci-gate.sh's.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${CI_GATE_OUT:-target/ci-gate}

rc=0
bash scripts/ci-gate.sh "$@" || rc=$?
if (( rc == 1 )) && [[ -s "$out/failures.txt" ]]; then
  first="$out-first-failures.txt"
  cp "$out/failures.txt" "$first"
  rerun=$(cut -d' ' -f1 "$first" | sort -u | paste -sd, -)
  echo "ci-gate-confirm: performance failure in $(paste -sd, - <"$first"); a second run of $rerun confirms it only if the same model and metric fail again" >&2
  rc=0
  CI_GATE_MODELS=$rerun CI_GATE_CONFIRM=$first bash scripts/ci-gate.sh "$@" || rc=$?
  (( rc == 0 )) && echo "ci-gate-confirm: pass: the second run did not repeat the failure" >&2
elif (( rc != 0 )); then
  echo "ci-gate-confirm: FAILED at once (exit $rc: 1 regression with no failures list, 2 setup, 3 lost/corrupted echo, failed connection or no result); no second run" >&2
fi
exit "$rc"
