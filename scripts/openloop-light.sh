#!/usr/bin/env bash
# The light open-loop runs behind docs/results.md ("Open loop at light load"): every model at
# 1,000 and 10,000 msgs/s over 50 clients, REPEATS times, interleaved (repeat by repeat, model by
# model), each result kept as OUT/<model>-50c-<rate>r-r<repeat>.json.
#
#   scripts/openloop-light.sh [REPEATS] [OUT]      (default 3, docs/data/openloop)
#
# Then `python3 scripts/results-doc.py` rebuilds the table from OUT. MODELS overrides the list.
set -euo pipefail
cd "$(dirname "$0")/.."
REPEATS=${1:-3}
OUT=${2:-docs/data/openloop}
cargo build -q --release -p loadgen -p servers
# Every model echo-server offers: the possible values listed under --model in its help.
MODELS=${MODELS:-$(target/release/echo-server --help | awk '/--model/ {on=1} /--addr/ {on=0}
    on && /^ *- [a-z-]+:/ {sub(/^ *- /, ""); sub(/:.*/, ""); print}' | tr '\n' ' ')}
mkdir -p "$OUT"
rm -f "$OUT"/*-50c-*r-r*.json
echo "open loop, start: $(cut -d' ' -f1-3 /proc/loadavg) (load average over 1, 5, 15 min)"
for r in $(seq "$REPEATS"); do
    for rate in 1000 10000; do
        for m in $MODELS; do
            target/release/loadgen --model "$m" --clients 50 --rate "$rate" --duration 3s \
                --warmup 500ms --quiet -o "$OUT/$m-50c-${rate}r-r$r.json" >/dev/null 2>&1 || true
            jq -r '"\(.config.target.model) \(.config.rate) r'"$r"': p50 \(.latency_us.p50) p99 \(.latency_us.p99) lag p99 \(.open_loop.send_lag.p99) \(if .verdict.trustworthy then "ok" else (.verdict.rules|join(",")) end)"' \
                "$OUT/$m-50c-${rate}r-r$r.json"
        done
    done
done
echo "open loop, end: $(cut -d' ' -f1-3 /proc/loadavg) (load average over 1, 5, 15 min)"
