#!/usr/bin/env bash
# Checks the delay stage end to end: each model is driven through `echo-proxy --delay D --jitter J`
# (one-way, each direction) on loopback, and the round trip loadgen measures must read back as
# 2·D plus a little: by default p50 within 20–23 ms for 10 ms ± 1 ms, at 100 clients, for mio and
# threads. loadgen verifies every echoed byte; a lost or corrupted echo fails the check too.
# Needs no root (loopback only). About 5 s per model.
#
#   scripts/delay-check.sh                          # mio and threads, 100 clients, 10ms ± 1ms
#   scripts/delay-check.sh --models "mio tokio" --clients 1000 --duration 5s
#
# Options: --models "M ..." (mio threads)  --clients N (100)  --duration D (3s)  --warmup D (1s)
#          --delay D (10ms)  --jitter D (1ms)  --min-ms X (20)  --max-ms Y (23)  --out DIR
#          (target/delay-check)
# Exit status: 0 every model within range and verified; 1 a model out of range or with errors;
# 2 setup error.
set -euo pipefail
cd "$(dirname "$0")/.."

models="mio threads"
clients=100
duration=3s
warmup=1s
delay=10ms
jitter=1ms
min_ms=20
max_ms=23
out=target/delay-check
while [[ $# -gt 0 ]]; do
  case "$1" in
    --models) models=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --delay) delay=$2; shift 2 ;;
    --jitter) jitter=$2; shift 2 ;;
    --min-ms) min_ms=$2; shift 2 ;;
    --max-ms) max_ms=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "delay-check: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done
command -v jq >/dev/null || { echo "delay-check: needs jq" >&2; exit 2; }

echo "==> delay-check: cargo build --release -p servers -p loadgen -p servers-proxy" >&2
cargo build --release -q -p servers -p loadgen -p servers-proxy || exit 2
bin=target/release
mkdir -p "$out"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
trap cleanup EXIT

# start LOG CMD...: runs CMD in the background and waits (10 s at most) for its
# `listening on ADDR` line; sets $listening to ADDR.
start() {
  local log=$1; shift
  # Empty the log first: the child truncates it only once it runs, and a line left by an earlier
  # run must not be read as this one's address.
  : >"$log"
  "$@" >"$log" 2>"$log.err" &
  pids+=($!)
  local pid=$! i
  for ((i = 0; i < 100; i++)); do
    listening=$(sed -n 's/^listening on //p' "$log" | head -n 1)
    [[ -n $listening ]] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "delay-check: $1 did not report its address: $(cat "$log.err")" >&2
  exit 2
}

status=0
printf '\n| model | clients | link (each way) | msgs | p50 ms | p99 ms | errors | verdict |\n|---|---|---|---|---|---|---|---|\n'
for model in $models; do
  start "$out/server-$model.log" "$bin/echo-server" --model "$model" --addr 127.0.0.1:0
  server=$listening
  start "$out/proxy-$model.log" "$bin/echo-proxy" --listen 127.0.0.1:0 --upstream "$server" \
    --delay "$delay" --jitter "$jitter"
  proxy=$listening
  json="$out/$model-${clients}c.json"
  # Bounded by warm-up + duration + drain on its own; the timeout guards against a hang.
  run_status=0
  timeout --signal=INT --kill-after=5 120 "$bin/loadgen" --addr "$proxy" --clients "$clients" \
    --duration "$duration" --warmup "$warmup" --output "$json" --quiet || run_status=$?
  cleanup
  if [[ ! -s $json ]]; then
    echo "delay-check: $model: loadgen wrote no result (exit $run_status)" >&2
    status=1
    continue
  fi
  read -r msgs p50 p99 errors passed < <(jq -r '[.totals.messages, .latency_us.p50, .latency_us.p99,
    ([.totals.errors[]?] | add // 0), .passed] | @tsv' "$json")
  verdict=$(awk -v p="$p50" -v lo="$min_ms" -v hi="$max_ms" -v ok="$passed" -v e="$errors" -v m="$msgs" \
    'BEGIN { ms = p / 1000; print (ok == "true" && e == 0 && m > 0 && ms >= lo && ms <= hi) ? "ok" : "FAIL" }')
  [[ $verdict == ok ]] || status=1
  printf '| %s | %s | %s ± %s | %s | %.2f | %.2f | %s | %s |\n' "$model" "$clients" "$delay" "$jitter" \
    "$msgs" "$(awk -v p="$p50" 'BEGIN{print p/1000}')" "$(awk -v p="$p99" 'BEGIN{print p/1000}')" \
    "$errors" "$verdict"
done
echo
if [[ $status -eq 0 ]]; then
  echo "delay-check: ok: every p50 within ${min_ms}–${max_ms} ms, every echo verified" >&2
else
  echo "delay-check: FAILED: a p50 outside ${min_ms}–${max_ms} ms, or errors (results in $out/)" >&2
fi
exit $status
