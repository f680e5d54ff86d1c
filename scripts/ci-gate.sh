#!/usr/bin/env bash
# The paired same-job CI gate: build the base revision's echo-server and the working tree's, run
# every model against both on this machine, pair after pair, and judge per model the paired
# ratios of server CPU per echoed message (primary) and msgs/s (secondary) with `loadgen gate`.
# A pair is a duet by default: base and new run at once, their windows opening at one instant,
# the two servers sharing CPU 0 and the two loadgens CPU 1, so the machine's noise in that
# second hits both sides and cancels in the ratio (CI_GATE_MODE=sequential runs them one after
# the other, in random order, instead).
#
#   scripts/ci-gate.sh          # BASE = merge base with the default branch (see below)
#   scripts/ci-gate.sh REV      # BASE = REV
#   CI_GATE_BASE=baseline scripts/ci-gate.sh   # BASE = the commit that last changed results/baseline
#   CI_GATE_PLANT=mio:10% scripts/ci-gate.sh   # calibration: plant +10% per-message cost in mio
#   CI_GATE_FAULT=mio scripts/ci-gate.sh        # fault plant: mio's new server corrupts echoes
#
# BASE by default (scripts/gate-base.sh, shared with scripts/instr-gate.sh): the merge base of
# HEAD with the default branch; on the default branch itself, the parent of the last commit that
# changed servers/, proto/, loadgen/ or benches/; else HEAD~1. With no such revision (a shallow
# clone, a root commit) the gate cannot build a base: it prints why and falls back to the
# stored-baseline compare, scripts/ci-bench.sh.
#
# Verdict (`loadgen gate BASE.jsonl NEW.jsonl`): a model fails when the one-sided 95% lower
# bound of its mean paired log-ratio shows server CPU/msg up by more than CI_GATE_THRESHOLD, or
# msgs/s down by more than CI_GATE_RATE_THRESHOLD; any lost or corrupted echo, failed
# connection or missing result fails too. The runs stay in CI_GATE_OUT (BASE.jsonl, NEW.jsonl,
# gate.txt, and failures.txt listing "MODEL METRIC" per performance failure).
#
# Exit status: 0 pass; 1 a performance regression (with CI_GATE_CONFIRM=FILE, a confirming run:
# only a model and metric listed in FILE count); 2 setup error or bad input; 3 a run lost or
# corrupted echoes, failed a connection or gave no result (never to be retried).
#
# Knobs (environment), defaults sized for about 6 minutes on a 2-vCPU machine, builds included:
#   CI_GATE_MODE=duet|sequential  CI_GATE_LEAD_MS=1500 (a duet's start: time to start, connect
#                                 and warm up both sides)
#   CI_GATE_MODELS=(all nine)  CI_GATE_PAIRS=7  CI_GATE_CLIENTS=50  CI_GATE_DURATION=1s (duet;
#   500ms sequential)          CI_GATE_WARMUP=300ms (duet; 200ms sequential)
#   CI_GATE_THREADS=1 (loadgen workers per side; see scripts/ci-bench.sh)
#   CI_GATE_THRESHOLD=3%       CI_GATE_RATE_THRESHOLD=15%  CI_GATE_ALPHA=0.05
#   CI_GATE_OUT=target/ci-gate CI_GATE_SEED=(random)
#   CI_GATE_PIN=1 (servers on CPU 0, loadgens on CPU 1, when there are 2+ CPUs: no migrations)
#   CI_GATE_PLANT=MODEL:PCT (calibration, see scripts/README.md)
#   CI_GATE_FAULT=MODEL (MODEL's new server flips a byte in every 1000th chunk it receives)
#   CI_GATE_CONFIRM=FILE (a confirming run of the models in FILE, the first run's failures.txt)
#   CI_GATE_BASE_SERVER=PATH (skip the base build: a base echo-server an earlier run left in
#                             CI_GATE_OUT/echo-server-base; for repeated calibration trials)
set -Eeuo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
root=$(pwd)

case "${1:-}" in
  -h|--help) sed -n '2,45p' "$0"; exit 0 ;;
esac
# Any command that fails outside the judged runs is a setup error (2), never a verdict (1).
trap 'echo "ci-gate: setup failed (line $LINENO, exit $?)" >&2; exit 2' ERR

models=${CI_GATE_MODELS:-threads,select,poll,mio,tokio,tokio-current-thread,thread-per-core,reactor-pool,uring}
mode=${CI_GATE_MODE:-duet}
[[ $mode == duet || $mode == sequential ]] || { echo "ci-gate: CI_GATE_MODE must be duet or sequential, got $mode" >&2; exit 2; }
pairs=${CI_GATE_PAIRS:-7}
clients=${CI_GATE_CLIENTS:-50}
duration=${CI_GATE_DURATION:-$([[ $mode == duet ]] && echo 1s || echo 500ms)}
warmup=${CI_GATE_WARMUP:-$([[ $mode == duet ]] && echo 300ms || echo 200ms)}
# A duet's start: time for both loadgens to start their servers, connect and warm up.
lead_ms=${CI_GATE_LEAD_MS:-1500}
start_at=""
threads=${CI_GATE_THREADS:-1}
threshold=${CI_GATE_THRESHOLD:-3%}
rate_threshold=${CI_GATE_RATE_THRESHOLD:-15%}
alpha=${CI_GATE_ALPHA:-0.05}
out=${CI_GATE_OUT:-target/ci-gate}
plant=${CI_GATE_PLANT:-}
fault_model=${CI_GATE_FAULT:-}
confirm=${CI_GATE_CONFIRM:-}
[[ -z "$confirm" || -s "$confirm" ]] || { echo "ci-gate: CI_GATE_CONFIRM=$confirm is missing or empty" >&2; exit 2; }
# A failures list is this run's only: none from an earlier run may be taken for it.
rm -f "$out/failures.txt"
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

# The stored-baseline compare, for when no base revision can be built here.
fallback() {
  echo "ci-gate: no base revision: $* — falling back to the stored-baseline compare (scripts/ci-bench.sh)" >&2
  exec bash scripts/ci-bench.sh
}

# The base revision: the one scripts/instr-gate.sh compares against too.
base_why=$(mktemp)
if ! base_rev=$(GATE_BASE=${CI_GATE_BASE:-} bash scripts/gate-base.sh "${1:-}" 2>"$base_why"); then
  why=$(cat "$base_why"); rm -f "$base_why"
  [[ -z "${1:-}" ]] || die "$why"
  fallback "$why"
fi
rm -f "$base_why"

tmp=$(mktemp -d)
# A fixed path for the base's worktree; the trap removes it (its build output stays in
# target/ci-gate-base-target/).
worktree="$root/target/ci-gate-base"
git worktree remove --force "$worktree" >/dev/null 2>&1 || rm -rf "$worktree"
git worktree prune
cleanup() {
  git -C "$root" worktree remove --force "$worktree" >/dev/null 2>&1 || rm -rf "$worktree"
  git -C "$root" worktree prune
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -n "${CI_GATE_BASE_SERVER:-}" ]]; then
  # Repeated trials against one base: its echo-server, built once by an earlier gate run.
  [[ -x "$CI_GATE_BASE_SERVER" ]] || die "CI_GATE_BASE_SERVER=$CI_GATE_BASE_SERVER is not an executable"
  say "base: prebuilt $CI_GATE_BASE_SERVER (taken as ${base_rev:0:12})"
  cp "$CI_GATE_BASE_SERVER" "$tmp/echo-server-base"
else
  say "base ${base_rev:0:12}: git worktree + cargo build --release --bin echo-server (by binary name, which outlives package renames)"
  git worktree add --detach --quiet "$worktree" "$base_rev"
  # A target directory of its own: cargo names a workspace crate's artifacts without its path,
  # so in a shared one the base's and the working tree's builds of the same crate overwrite
  # each other and one side can end up with the other's code. It stays between runs, so a
  # later gate rebuilds only what changed. Its loadgen is never run (the working tree's
  # drives both sides), so it is not built.
  base_target="$root/target/ci-gate-base-target"
  (cd "$worktree" && CARGO_TARGET_DIR="$base_target" cargo build --release --quiet --bin echo-server)
  cp "$base_target/release/echo-server" "$tmp/echo-server-base"
  cp "$tmp/echo-server-base" "$out/echo-server-base" 2>/dev/null || { mkdir -p "$out" && cp "$tmp/echo-server-base" "$out/echo-server-base"; }
fi

say "new (working tree): cargo build --release -p servers -p loadgen"
cargo build --release --quiet -p servers -p loadgen
cp target/release/echo-server "$tmp/echo-server-new"
loadgen=target/release/loadgen

mkdir -p "$out"
base_jsonl="$out/BASE.jsonl"
new_jsonl="$out/NEW.jsonl"
: >"$base_jsonl"
: >"$new_jsonl"
IFS=, read -r -a model_list <<<"$models"

# Runs `model` against `side`'s server into $tmp/$side.json; extra arguments go to the server.
# With $start_at set, the measured window opens at that instant (a duet's two runs share it).
run_once() {
  local side=$1 model=$2; shift 2
  local server_args=() when=() a
  for a in "$@"; do server_args+=("--server-arg=$a"); done
  [[ -n "${start_at:-}" ]] && when=(--start-at "$start_at")
  rm -f "$tmp/$side.json"
  timeout --signal=INT --kill-after=10 60 \
    "$loadgen" --model "$model" --server-bin "$tmp/echo-server-$side" "${server_args[@]}" \
    --clients "$clients" --duration "$duration" --warmup "$warmup" --threads "$threads" \
    "${pin[@]}" "${when[@]}" --quiet --output "$tmp/$side.json" || return $?
}

# Calibration: the planted model's new server spends PCT of the base's measured CPU per message
# extra on every message (median of three short base runs).
plant_model="" plant_args=()
if [[ -n "$plant" ]]; then
  [[ "$plant" =~ ^([a-z-]+):([0-9]+(\.[0-9]+)?)%?$ ]] || die "CI_GATE_PLANT must be MODEL:PCT, e.g. mio:10%, got $plant"
  plant_model=${BASH_REMATCH[1]} plant_pct=${BASH_REMATCH[2]}
  [[ ",$models," == *",$plant_model,"* ]] || die "CI_GATE_PLANT model $plant_model is not among CI_GATE_MODELS"
  costs=()
  for _ in 1 2 3; do
    run_once base "$plant_model" || true
    [[ -s "$tmp/base.json" ]] && costs+=("$(field .cost.server.cpu_ns_per_msg "$tmp/base.json")")
  done
  median=$(printf '%s\n' "${costs[@]}" | awk 'NF' | sort -g | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]}')
  [[ -n "$median" ]] || die "calibration of $plant_model measured no server CPU per message"
  extra_ns=$(awk -v c="$median" -v p="$plant_pct" 'BEGIN {printf "%d", c * p / 100 + 0.5}')
  plant_args=("--extra-work=${extra_ns}ns")
  say "plant: $plant_model's new server gets --extra-work ${extra_ns}ns (${plant_pct}% of base ${median} ns/msg)"
fi

# The server arguments of `side` for `model`: the plant, on the new side of the planted model,
# and the fault plant on the new side of the faulty one.
side_args() {
  [[ $1 == new && $2 == "$plant_model" ]] && printf '%s\n' "${plant_args[@]}"
  [[ $1 == new && $2 == "$fault_model" ]] && printf '%s\n' --fault-corrupt-every=1000
  return 0
}

# Why a run failed: its non-zero error counters, or that it gave no result.
failure_of() {
  local json=$1 status=$2
  [[ -s "$json" ]] || { echo "no result (loadgen exit $status)"; return; }
  if command -v jq >/dev/null; then
    jq -r --arg s "$status" '[.totals.errors | to_entries[] | select(.value > 0) | "\(.value) \(.key)"]
      + [.warnings[]?] | if length == 0 then "did not pass (loadgen exit \($s))" else join(", ") end' "$json"
  else
    echo "did not pass (loadgen exit $status)"
  fi
}

# Appends the result of `side`'s run (exit status $5) to that side's JSONL.
record_side() {
  local side=$1 model=$2 pair=$3 order=$4 status=$5
  local cpu="" rate="" passed=false json="$tmp/$side.json" failure=null
  if [[ -s "$json" ]]; then
    cpu=$(field .cost.server.cpu_ns_per_msg "$json")
    rate=$(field .throughput.msgs_per_sec "$json")
    passed=$(field .passed "$json")
  fi
  if [[ "$passed" != true ]]; then
    local why
    why=$(failure_of "$json" "$status" | tr -d '"\\')
    echo "ci-gate: $model ($side, pair $pair): FAILED: $why" >&2
    failure="\"$why\""
  fi
  printf '{"side":"%s","model":"%s","pair":%d,"order":%d,"cpu_ns_per_msg":%s,"msgs_per_sec":%s,"passed":%s,"failure":%s}\n' \
    "$side" "$model" "$pair" "$order" "${cpu:-null}" "${rate:-null}" "${passed:-false}" "$failure" \
    >>"$out/$( [[ $side == base ]] && echo BASE || echo NEW ).jsonl"
}

# One pair, one side after the other (in the given order).
run_sequential() {
  local model=$1 pair=$2 order=0 side status extra
  for side in "${@:3}"; do
    mapfile -t extra < <(side_args "$side" "$model")
    status=0
    run_once "$side" "$model" "${extra[@]}" || status=$?
    record_side "$side" "$model" "$pair" "$order" "$status"
    order=$((order + 1))
  done
}

# One pair as a duet: both sides at once, their windows opening at one instant, the two servers
# sharing one CPU and the two loadgens another. Whatever the machine does to one side in that
# second it does to the other, so the ratio of their CPU per message keeps only the difference
# between the builds (Bulej et al., "Duet benchmarking", 2020).
run_duet() {
  local model=$1 pair=$2 order=0 side extra now_ms at_ms
  declare -A pids=()
  now_ms=$(( $(date +%s%N) / 1000000 ))
  at_ms=$(( now_ms + lead_ms ))
  start_at=$(date -u -d "@$(( at_ms / 1000 )).$(printf %03d $(( at_ms % 1000 )))" +%Y-%m-%dT%H:%M:%S.%3NZ)
  for side in "${@:3}"; do
    mapfile -t extra < <(side_args "$side" "$model")
    run_once "$side" "$model" "${extra[@]}" &
    pids[$side]=$!
  done
  for side in "${@:3}"; do
    local status=0
    wait "${pids[$side]}" || status=$?
    record_side "$side" "$model" "$pair" "$order" "$status"
    order=$((order + 1))
  done
  start_at=""
}

say "$mode: ${#model_list[@]} models × $pairs pairs, $clients clients, $duration after $warmup warm-up, $threads loadgen thread(s)${pin:+, pinned}; load average $(cut -d' ' -f1-3 /proc/loadavg)"
for pair in $(seq 1 "$pairs"); do
  for model in "${model_list[@]}"; do
    if (( RANDOM % 2 )); then order=(base new); else order=(new base); fi
    "run_$mode" "$model" "$pair" "${order[@]}"
  done
  say "pair $pair of $pairs done"
done

say "loadgen gate (server CPU/msg limit $threshold, msgs/s limit $rate_threshold at alpha 0.01, alpha $alpha); load average $(cut -d' ' -f1-3 /proc/loadavg)"
verdict=0
confirm_args=()
[[ -n "$confirm" ]] && confirm_args=(--confirm "$confirm")
rm -f "$out/failures.txt"
"$loadgen" gate "$base_jsonl" "$new_jsonl" --threshold "$threshold" --rate-threshold "$rate_threshold" \
  --alpha "$alpha" --power-effect "${CI_GATE_POWER_EFFECT:-10%}" --failures-out "$out/failures.txt" \
  "${confirm_args[@]}" | tee "$out/gate.txt" || verdict=${PIPESTATUS[0]}
say "done: BASE ${base_rev:0:12} → working tree${plant:+ (planted $plant)}${fault_model:+ (fault in $fault_model)}; runs in $out"
case $verdict in
  0) echo "ci-gate: pass" >&2 ;;
  1) echo "ci-gate: performance regression${confirm:+, confirmed by a second run} (see $out/failures.txt)" >&2 ;;
  3) echo "ci-gate: FAILED: a run lost or corrupted echoes, failed a connection or gave no result" >&2 ;;
  *) echo "ci-gate: could not judge (exit $verdict)" >&2 ;;
esac
exit "$verdict"
