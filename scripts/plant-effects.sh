#!/usr/bin/env bash
# What each --extra-work kind costs, measured solo (one side after the other) and in the duet:
# the same echo-server on both sides, only the new side planted, so every difference is the
# plant's. Kinds, modes and cases alternate inside each repeat; the raw pairs go to
# docs/data/gate/plant-effects.jsonl, the table (medians and ranges) to
# docs/data/gate/plant-effects.md via scripts/plant-effects.py.
#
#   scripts/plant-effects.sh [REPEATS]      (default 3; about 3 minutes per repeat)
#
# Environment: PLANT_KINDS (default "cpu:300ns mem:8 syscall:2"), PLANT_CASES (default
# "mio;tokio [cpu 0, 2 workers]"), PLANT_MULTI_WORKER (loadgen gate --multi-worker, default
# shared-cpu), PLANT_PAIRS (pairs per measurement, default 5).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."

repeats=${1:-3}
read -r -a kinds <<<"${PLANT_KINDS:-cpu:300ns mem:8 syscall:2}"
IFS=';' read -r -a case_list <<<"${PLANT_CASES:-mio;tokio [cpu 0, 2 workers]}"
multi_worker=${PLANT_MULTI_WORKER:-shared-cpu}
pairs=${PLANT_PAIRS:-5}
data=docs/data/gate/plant-effects.jsonl

cargo build --release --quiet -p servers -p loadgen
server=target/release/echo-server
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: >"$data"
for rep in $(seq 1 "$repeats"); do
  for kind in "${kinds[@]}"; do
    for mode in duet solo; do
      for case in "${case_list[@]}"; do
        model=${case%% *}
        extra=(); [[ $mode == solo ]] && extra=(--sequential)
        target/release/loadgen gate --base-server "$server" --new-server "$server" \
          --models "$model" --only "$case" --pairs "$pairs" --plant "$model=$kind" \
          --multi-worker "$multi_worker" --no-confirm --out "$tmp" "${extra[@]}" >"$tmp/gate.txt" 2>/dev/null || true
        for side in BASE NEW; do
          jq -c --arg k "$kind" --arg m "$mode" --argjson r "$rep" \
            '. + {kind: $k, mode: $m, repeat: $r}' "$tmp/$side.jsonl" >>"$data"
        done
        echo "repeat $rep $kind $mode $case: $(grep -m1 'server CPU/msg' "$tmp/gate.txt")"
      done
    done
  done
done
python3 scripts/plant-effects.py "$data" >docs/data/gate/plant-effects.md
cat docs/data/gate/plant-effects.md
