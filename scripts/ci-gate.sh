#!/usr/bin/env bash
# The paired same-job CI gate: build the base revision and the working tree, run every model
# against each side's echo-server interleaved on this machine (base/new in random order, pair
# after pair), and judge the paired ratios of server CPU per echoed message. Drift of a noisy
# machine hits both sides of a pair alike, so it cancels in the ratio.
#
#   scripts/ci-gate.sh                 # BASE = merge base with origin/main (HEAD~1 on main)
#   scripts/ci-gate.sh REV             # BASE = REV
#   CI_GATE_BASE=baseline scripts/ci-gate.sh   # BASE = the commit that last changed results/baseline
#
# One loadgen (the working tree's) drives both sides, so only the server differs. Per run it
# records the server's cpu_ns_per_msg and msgs/s into BASE.jsonl and NEW.jsonl (one JSON object
# per line: side, model, pair, order, cpu_ns_per_msg, msgs_per_sec, passed) in CI_GATE_OUT.
# Verdict: `loadgen compare --paired BASE.jsonl NEW.jsonl` when loadgen has it; otherwise the
# median over pairs of NEW/BASE server CPU per message, per model, must not exceed
# CI_GATE_MAX_RATIO.
#
# Exit status: 0 pass; 1 a model's cost rose beyond the limit, or a run lost echoes; 2 setup error.
#
# Knobs (environment), defaults sized for about 6 minutes on a 2-vCPU machine, builds included:
#   CI_GATE_MODELS=(all nine)  CI_GATE_PAIRS=7  CI_GATE_CLIENTS=50  CI_GATE_DURATION=500ms
#   CI_GATE_WARMUP=200ms       CI_GATE_THREADS=1 (loadgen workers; see scripts/ci-bench.sh)
# More short pairs beat fewer long ones: the pairing cancels drift, and the median over pairs
# shrugs off the pair a neighbour's burst landed in.
#   CI_GATE_MAX_RATIO=1.05     CI_GATE_OUT=target/ci-gate   CI_GATE_SEED=(random)
#   CI_GATE_PIN=1 (server on CPU 0, loadgen on CPU 1, when there are 2+ CPUs: no migrations)
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
root=$(pwd)

case "${1:-}" in
  -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
esac

models=${CI_GATE_MODELS:-threads,select,poll,mio,tokio,tokio-current-thread,thread-per-core,reactor-pool,uring}
pairs=${CI_GATE_PAIRS:-7}
clients=${CI_GATE_CLIENTS:-50}
duration=${CI_GATE_DURATION:-500ms}
warmup=${CI_GATE_WARMUP:-200ms}
threads=${CI_GATE_THREADS:-1}
max_ratio=${CI_GATE_MAX_RATIO:-1.05}
out=${CI_GATE_OUT:-target/ci-gate}
pin=()
if [[ "${CI_GATE_PIN:-1}" == 1 ]] && (( $(nproc) >= 2 )); then pin=(--server-pin 0 --pin 1); fi
RANDOM=${CI_GATE_SEED:-$$}

started=$(date +%s)
say() { printf '\n==> ci-gate: %s (t+%ss)\n' "$*" "$(( $(date +%s) - started ))" >&2; }
die() { echo "ci-gate: $*" >&2; exit 2; }

if command -v jq >/dev/null; then
  field() { jq -r "$1 // empty" "$2"; }
elif command -v python3 >/dev/null; then
  field() {
    python3 - "$1" "$2" <<'PY'
import json, sys
v = json.load(open(sys.argv[2]))
for k in sys.argv[1].lstrip('.').split('.'):
    v = v.get(k) if isinstance(v, dict) else None
print('' if v is None else (str(v).lower() if isinstance(v, bool) else v))
PY
  }
else
  die "needs jq or python3 to read result files"
fi

# The base revision.
if [[ -n "${1:-}" ]]; then
  base=$1
elif [[ "${CI_GATE_BASE:-}" == baseline ]]; then
  base=$(git log -1 --format=%H -- results/baseline)
  [[ -n "$base" ]] || die "no commit changed results/baseline"
else
  base=""
  if git rev-parse -q --verify origin/main >/dev/null; then
    base=$(git merge-base HEAD origin/main)
  fi
  if [[ -z "$base" || "$base" == "$(git rev-parse HEAD)" ]]; then
    git rev-parse -q --verify 'HEAD~1' >/dev/null || die "HEAD has no parent: give BASE"
    base=HEAD~1
  fi
fi
base_rev=$(git rev-parse --verify "$base^{commit}") || die "unknown revision $base"

tmp=$(mktemp -d)
# A fixed path: cargo keys a workspace crate's build by its path, so the next gate run with the
# same base rebuilds nothing.
worktree="$root/target/ci-gate-base"
git worktree remove --force "$worktree" >/dev/null 2>&1 || rm -rf "$worktree"
git worktree prune
cleanup() {
  git -C "$root" worktree remove --force "$worktree" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "base ${base_rev:0:12}: git worktree + cargo build --release -p echo-servers"
git worktree add --detach --quiet "$worktree" "$base_rev"
# The shared target directory reuses every compiled dependency; only the base's own crates
# build. Its loadgen is never run (the working tree's drives both sides), so it is not built.
(cd "$worktree" && CARGO_TARGET_DIR="$root/target" cargo build --release --quiet -p echo-servers)
cp target/release/echo-server "$tmp/echo-server-base"

say "new (working tree): cargo build --release -p echo-servers -p loadgen"
cargo build --release --quiet -p echo-servers -p loadgen
cp target/release/echo-server "$tmp/echo-server-new"
loadgen=target/release/loadgen

mkdir -p "$out"
base_jsonl="$out/BASE.jsonl"
new_jsonl="$out/NEW.jsonl"
: >"$base_jsonl"
: >"$new_jsonl"
failed=0

# One run of `model` against `side`'s server; appends its line to that side's JSONL.
run_side() {
  local side=$1 model=$2 pair=$3 order=$4 json="$tmp/run.json" status=0
  timeout --signal=INT --kill-after=10 60 \
    "$loadgen" --model "$model" --server-bin "$tmp/echo-server-$side" --clients "$clients" \
    --duration "$duration" --warmup "$warmup" --threads "$threads" "${pin[@]}" --quiet --output "$json" \
    || status=$?
  if [[ ! -s "$json" ]]; then
    echo "ci-gate: $model ($side, pair $pair): no result (exit $status)" >&2
    failed=1
    return
  fi
  local cpu rate passed
  cpu=$(field .cost.server.cpu_ns_per_msg "$json")
  rate=$(field .throughput.msgs_per_sec "$json")
  passed=$(field .passed "$json")
  [[ "$passed" == true ]] || { echo "ci-gate: $model ($side, pair $pair): echoes lost or connections failed" >&2; failed=1; }
  printf '{"side":"%s","model":"%s","pair":%d,"order":%d,"cpu_ns_per_msg":%s,"msgs_per_sec":%s,"passed":%s}\n' \
    "$side" "$model" "$pair" "$order" "${cpu:-null}" "${rate:-null}" "${passed:-false}" \
    >>"$out/$( [[ $side == base ]] && echo BASE || echo NEW ).jsonl"
  rm -f "$json"
}

IFS=, read -r -a model_list <<<"$models"
say "${#model_list[@]} models × $pairs pairs, $clients clients, $duration after $warmup warm-up, $threads loadgen thread(s)${pin:+, pinned}"
for pair in $(seq 1 "$pairs"); do
  for model in "${model_list[@]}"; do
    if (( RANDOM % 2 )); then
      run_side base "$model" "$pair" 0; run_side new "$model" "$pair" 1
    else
      run_side new "$model" "$pair" 0; run_side base "$model" "$pair" 1
    fi
  done
  say "pair $pair of $pairs done"
done

verdict=0
if "$loadgen" compare --help 2>/dev/null | grep -q -- '--paired'; then
  say "loadgen compare --paired $base_jsonl $new_jsonl"
  "$loadgen" compare --paired "$base_jsonl" "$new_jsonl" || verdict=$?
else
  say "verdict: median over pairs of NEW/BASE server CPU per message (limit ${max_ratio}×)"
  # model pair cpu, one line per run, for each side; joined on model and pair.
  extract() { sed -E 's/.*"model":"([^"]*)","pair":([0-9]+).*"cpu_ns_per_msg":([^,]*),"msgs_per_sec":([^,]*),.*/\1 \2 \3 \4/' "$1"; }
  printf '%-22s %6s %12s %12s %14s\n' model pairs "CPU/msg" "msgs/s" "worst pair" >&2
  for model in "${model_list[@]}"; do
    ratios=$(join <(extract "$base_jsonl" | awk -v m="$model" '$1==m {print $2, $3, $4}' | sort) \
                  <(extract "$new_jsonl" | awk -v m="$model" '$1==m {print $2, $3, $4}' | sort) \
      | awk '$2 != "null" && $4 != "null" && $2 > 0 && $3 > 0 {print $4 / $2, $5 / $3}')
    if [[ -z "$ratios" ]]; then
      echo "ci-gate: $model: no complete pair" >&2
      verdict=1
      continue
    fi
    line=$(awk -v max="$max_ratio" '
      { cpu[NR] = $1; rate[NR] = $2 }
      function median(a, n,   i, j, t) {
        for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
        return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
      }
      END {
        worst = 0; for (i = 1; i <= NR; i++) if (cpu[i] > worst) worst = cpu[i]
        mc = median(cpu, NR); mr = median(rate, NR)
        printf "%d %.3f %.3f %.3f %s\n", NR, mc, mr, worst, (mc > max) ? "FAIL" : "ok"
      }' <<<"$ratios")
    read -r n cpu_ratio rate_ratio worst state <<<"$line"
    printf '%-22s %6s %11s× %11s× %13s× %s\n' "$model" "$n" "$cpu_ratio" "$rate_ratio" "$worst" "$state" >&2
    [[ "$state" == ok ]] || verdict=1
  done
fi

say "done: BASE ${base_rev:0:12} → working tree; runs in $out"
if (( failed )); then
  echo "ci-gate: FAILED: a run lost echoes or produced no result" >&2
  exit 1
fi
if (( verdict )); then
  echo "ci-gate: FAILED: server CPU per message rose beyond ${max_ratio}× in a model" >&2
  exit 1
fi
echo "ci-gate: pass" >&2
