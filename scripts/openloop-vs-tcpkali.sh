#!/usr/bin/env bash
# loadgen's open loop side by side with tcpkali, against the same echo-servers, interleaved:
#   light   50 clients at 1k, 5k and 20k msgs/s, mio and tokio: loadgen (defaults), and
#           tcpkali at the same rates on mio; and loadgen --no-spin on mio (does the spin pay?);
#   50k     100 connections x 500 msgs/s = 50k msgs/s on mio: loadgen (defaults) and tcpkali,
#           and loadgen with coarser ticks (--tick 100us, 200us, 400us): what a tick costs in
#           latency for what it saves in CPU;
#   stream  scripts/streaming-vs-tcpkali.sh (on mio), its output kept as
#           OUT/streaming-vs-tcpkali-mio.txt.
#
#   scripts/openloop-vs-tcpkali.sh [REPEATS] [OUT]      (default 3, docs/data/peers)
#
# Every loadgen result JSON and every tcpkali output is kept in OUT, and OUT/summary.md is
# rebuilt from them by scripts/peers-table.py (medians with ranges, runs passing their own
# verdict). Client CPU is GNU time's user + system seconds of the whole client process over the
# messages it exchanged (warm-up included), the same for both tools; loadgen's own figure for
# the window alone is in its JSON (cost.loadgen). tcpkali's p99 is from its actual send
# (--latency-marker); loadgen's corrected p99 is from the intended send.
# Fairness: for the whole script a 0 µs CPU wake-up latency request is held (/dev/cpu_dma_latency,
# as loadgen holds it by default), so tcpkali and loadgen run on the same tuned host.
# Environment: TCPKALI (default: tcpkali on PATH, else /tmp/peers/tcpkali/src/tcpkali), SECS (4).
set -euo pipefail
cd "$(dirname "$0")/.."
REPEATS=${1:-3}
OUT=${2:-docs/data/peers}
SECS=${SECS:-4}
TCPKALI=${TCPKALI:-$(command -v tcpkali || echo /tmp/peers/tcpkali/src/tcpkali)}
[ -x "$TCPKALI" ] || { echo "tcpkali not found (set TCPKALI; see ../shared/peers)" >&2; exit 2; }
cargo build -q --release -p loadgen -p servers
LOADGEN=target/release/loadgen
mkdir -p "$OUT"
rm -f "$OUT"/light-* "$OUT"/nospin-* "$OUT"/50k-* "$OUT"/summary.md
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

# The same tuned host for both tools (see above); released when the script ends.
python3 -c 'import os,struct,time
try:
    fd = os.open("/dev/cpu_dma_latency", os.O_WRONLY); os.write(fd, struct.pack("i", 0)); print("held")
except OSError as e:
    print("not held:", e)
import sys; sys.stdout.flush(); time.sleep(86400)' >"$WORK/qos" &
PIDS+=($!)
sleep 0.5
echo "CPU wake-up latency request for the script: $(cat "$WORK/qos")" | tee "$OUT/conditions.txt"
uname -sr >>"$OUT/conditions.txt"
nproc | sed 's/^/cpus: /' >>"$OUT/conditions.txt"
"$LOADGEN" --version >>"$OUT/conditions.txt" 2>&1 || true
git rev-parse --short HEAD | sed 's/^/commit: /' >>"$OUT/conditions.txt"

# Starts `echo-server --model $1`; prints its address.
start_server() {
    target/release/echo-server --model "$1" --addr 127.0.0.1:0 >"$WORK/$1.out" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 100); do grep -q listening "$WORK/$1.out" && break; sleep 0.05; done
    sed -n 's/^listening on //p' "$WORK/$1.out" | head -1
}
declare -A ADDR
for m in mio tokio; do
    ADDR[$m]=$(start_server "$m")
    [ -n "${ADDR[$m]}" ] || { echo "echo-server --model $m did not start" >&2; exit 2; }
done
MSG="X$(printf 'y%.0s' $(seq 63))"

# run_loadgen NAME MODEL CLIENTS RATE [FLAGS]: one run, its JSON and CPU kept as OUT/NAME.{json,time}.
run_loadgen() {
    /usr/bin/time -f 'TIME %U %S' -o "$OUT/$1.time" "$LOADGEN" --addr "${ADDR[$2]}" \
        --clients "$3" --rate "$4" --warmup 1s --duration "${SECS}s" --quiet \
        -o "$OUT/$1.json" "${@:5}" >/dev/null 2>&1 || true
    jq -r '"  loadgen \(.config.clients)c \(.config.rate) msgs/s: corrected p50 \(.latency_us.p50) p99 \(.latency_us.p99) us, uncorrected p50 \(.service_time_us.p50), send lag p99 \(.open_loop.send_lag.p99) us, \(.open_loop.pacing.mode), \(if .verdict.trustworthy then "ok" else (.verdict.rules|join(",")) end)"' "$OUT/$1.json"
}
# run_tcpkali NAME MODEL CONNS PER_CONN_RATE: one run, its output and CPU kept as OUT/NAME.{txt,time}.
run_tcpkali() {
    /usr/bin/time -f 'TIME %U %S' -o "$OUT/$1.time" "$TCPKALI" -c "$3" -r "$4" \
        -T "$((SECS + 1))s" --latency-marker X -m "$MSG" --latency-percentiles 50,99 \
        "${ADDR[$2]}" >"$OUT/$1.txt" 2>&1 || true
    echo "  tcpkali $3c x $4/s: $(grep -m1 'latency at percentiles' "$OUT/$1.txt" || echo 'no latency line')"
}

for r in $(seq "$REPEATS"); do
    echo "repeat $r: light"
    for rate in 1000 5000 20000; do
        for m in mio tokio; do run_loadgen "light-$m-$rate-r$r" "$m" 50 "$rate"; done
        run_tcpkali "light-tcpkali-$rate-r$r" mio 50 "$((rate / 50))"
        # Does the spin pay? The same run without it.
        run_loadgen "nospin-mio-$rate-r$r" mio 50 "$rate" --no-spin
    done
    echo "repeat $r: 50k msgs/s over 100 connections"
    run_loadgen "50k-loadgen-r$r" mio 100 50000
    run_tcpkali "50k-tcpkali-r$r" mio 100 500
    for tick in 100 200 400; do run_loadgen "50k-tick$tick-r$r" mio 100 50000 --tick "${tick}us"; done
done
python3 scripts/peers-table.py "$OUT" | tee "$OUT/summary.md"
if [ -x scripts/streaming-vs-tcpkali.sh ] || [ -f scripts/streaming-vs-tcpkali.sh ]; then
    echo "streaming: scripts/streaming-vs-tcpkali.sh"
    TCPKALI=$TCPKALI bash scripts/streaming-vs-tcpkali.sh "$REPEATS" |
        tee "$OUT/streaming-vs-tcpkali-mio.txt"
fi
