#!/usr/bin/env bash
# The gate's proof: planted and A/A trials of the gate exactly as .ci/run runs it
# (scripts/ci-gate.sh, every case, a second run to confirm a performance failure), interleaved
# in random order, then detection and false-alarm rates with Clopper–Pearson 95% intervals.
#
#   scripts/gate-proof.sh [PLANTED [AA]]      (default 20 and 20; about 8–10 minutes per trial)
#
# A planted trial plants +10% server CPU per message in one model's new server, the model drawn
# at random from all of them (multi-worker ones included) and the kind taking turns (cpu, mem,
# syscall), sized in probe duets (`loadgen gate --plant MODEL:10%:KIND`). An A/A trial plants
# nothing. Both sides run the working tree's echo-server (CI_GATE_BASE_SERVER), so a planted
# trial differs only by its plant and an A/A trial not at all. Target: a planted +10% fails in
# at least 19 of 20 (exit 1), an A/A trial passes in at least 19 of 20 (exit 0).
#
# Output: docs/data/gate/proof.tsv (one line per trial, appended, so trials add up over several
# sessions), docs/data/gate/proof/trial-N.txt (each trial's gate output), and the summary
# docs/data/gate/proof.md (scripts/gate-proof.py). PROOF_SEED seeds the draw.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."

planted=${1:-20}
aa=${2:-20}
models=(threads select poll mio tokio tokio-current-thread thread-per-core reactor-pool uring monoio glommio compio smol may)
kinds=(cpu mem syscall)
data=docs/data/gate
mkdir -p "$data/proof"
[[ -s "$data/proof.tsv" ]] || printf 'trial\tkind\tmodel\tplant\texit\tload_before\tfailed_cases\n' >"$data/proof.tsv"
RANDOM=${PROOF_SEED:-$$}

cargo build --release --quiet -p servers -p loadgen
server=$PWD/target/release/echo-server-proof
cp target/release/echo-server "$server"

# The trials in random order: PLANTED planted ones and AA A/A ones.
trials=()
for _ in $(seq 1 "$planted"); do trials+=(planted); done
for _ in $(seq 1 "$aa"); do trials+=(aa); done
mapfile -t trials < <(printf '%s\n' "${trials[@]}" | awk -v s="$RANDOM" 'BEGIN{srand(s)} {print rand() "\t" $0}' | sort -k1,1 | cut -f2)

n=$(( $(wc -l <"$data/proof.tsv") - 1 ))
k=$n
for trial in "${trials[@]}"; do
  n=$((n + 1))
  args=() model=- plant=-
  if [[ $trial == planted ]]; then
    model=${models[RANDOM % ${#models[@]}]}
    plant="$model:10%:${kinds[k % ${#kinds[@]}]}"
    k=$((k + 1))
    args=(--plant "$plant")
  fi
  load=$(cut -d' ' -f1 /proc/loadavg)
  status=0
  CI_GATE_BASE_SERVER=$server bash scripts/ci-gate.sh "${args[@]}" >"$data/proof/trial-$n.txt" 2>&1 || status=$?
  failed=$(grep -E '→ (REGRESSION|FAILED)' "$data/proof/trial-$n.txt" | sed 's/:.*//' | sort -u | paste -sd, - || true)
  printf '%d\t%s\t%s\t%s\t%d\t%s\t%s\n' "$n" "$trial" "$model" "$plant" "$status" "$load" "${failed:--}" >>"$data/proof.tsv"
  echo "trial $n: $trial $plant → exit $status (failed: ${failed:--}; load $load)"
done
python3 scripts/gate-proof.py "$data/proof.tsv" >"$data/proof.md"
cat "$data/proof.md"
