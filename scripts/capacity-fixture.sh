#!/usr/bin/env bash
# `loadgen capacity --addr` against two echo servers of known capacity R
# (scripts/bucket-echo.py): `bucket` answers at most R msgs/s; `flaky` does too but serves every
# third run at R/2, so it misses one run in three from R/2 up. The two are searched in turn,
# REPEATS times; each search's rate and limit, then per fixture the median, the range and the
# targets: bucket within ±10% of R, flaky never above R.
#
#   scripts/capacity-fixture.sh [REPEATS]        (default 3)
#
# Environment: RATE (R, default 2000 msgs/s), CLIENTS (10), SLO (p99=20ms), OUT (where the
# curves and the output go, default docs/data/capacity-fixture), LOADGEN_ARGS (extra flags for
# `loadgen capacity`), PRIO (a command prefix for loadgen and both fixtures, e.g.
# "nice -n -15" as root, to measure the search rather than a machine busy with other work;
# printed in the output). The searches use loadgen's default run lengths (2 s steps, 5 s
# confirmation, 0.5 s warm-up): a few minutes per search.
set -euo pipefail
cd "$(dirname "$0")/.."
REPEATS=${1:-3}
RATE=${RATE:-2000}
CLIENTS=${CLIENTS:-10}
SLO=${SLO:-p99=20ms}
OUT=${OUT:-docs/data/capacity-fixture}
PRIO=${PRIO:-}
command -v jq >/dev/null || { echo "jq not found" >&2; exit 2; }
cargo build -q --release -p loadgen
LOADGEN=target/release/loadgen
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

# Starts a fixture named $1 with flags $2; sets PORT_$1.
start_fixture() {
    local name=$1 flags=$2
    # shellcheck disable=SC2086
    $PRIO python3 scripts/bucket-echo.py --rate "$RATE" $flags >"$WORK/$name.port" &
    PIDS+=($!)
    for _ in $(seq 100); do [ -s "$WORK/$name.port" ] && break; sleep 0.05; done
    [ -s "$WORK/$name.port" ] || { echo "fixture $name did not start" >&2; exit 2; }
    printf -v "PORT_$name" '%s' "$(head -1 "$WORK/$name.port")"
}
start_fixture bucket ""
start_fixture flaky "--slow-every 3"

mkdir -p "$OUT"
rm -f "$OUT"/*.json
{
echo "# scripts/capacity-fixture.sh $REPEATS: R = $RATE msgs/s, $CLIENTS clients, $SLO, $(nproc) CPUs"
echo "# PRIO: ${PRIO:-none}"
echo "# start: load average $(cut -d' ' -f1-3 /proc/loadavg); loadgen $(git rev-parse --short HEAD)"
: >"$WORK/bucket.rates"; : >"$WORK/flaky.rates"
for r in $(seq "$REPEATS"); do
    for name in bucket flaky; do
        port_var="PORT_$name"
        dir="$WORK/$name-$r"
        # shellcheck disable=SC2086
        $PRIO "$LOADGEN" capacity --addr "127.0.0.1:${!port_var}" --clients "$CLIENTS" --slo "$SLO" \
            --quiet --out "$dir" ${LOADGEN_ARGS:-} >"$WORK/line" || true
        json=$(ls "$dir"/capacity-*.json)
        cp "$json" "$OUT/$name-r$r.json"
        read -r rate limit runs < <(jq -r '[(.rate // "none" | if type == "number" then floor else . end), .limit, (.curve | length)] | @tsv' "$json")
        echo "$rate" >>"$WORK/$name.rates"
        echo "$name r$r: rate $rate msgs/s, limited by $limit, $runs runs"
    done
done
echo "# end: load average $(cut -d' ' -f1-3 /proc/loadavg)"
for name in bucket flaky; do
    grep -v none "$WORK/$name.rates" | sort -g >"$WORK/$name.sorted" || true
    awk -v name="$name" -v r="$RATE" -v total="$REPEATS" '
        {a[NR]=$1}
        END {
            if (NR == 0) { printf "%s: no search found a rate (of %d)\n", name, total; exit }
            med = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2
            within = 0; above = 0
            for (i = 1; i <= NR; i++) {
                if (a[i] >= 0.9 * r && a[i] <= 1.1 * r) within++
                if (a[i] > r) above++
            }
            printf "%s: median %.0f msgs/s (%.2f R), range %.0f-%.0f (%.2f-%.2f R), spread %.1f%%; %d of %d searches found a rate; within +-10%% of R: %d; above R: %d\n",
                name, med, med / r, a[1], a[NR], a[1] / r, a[NR] / r, (a[NR] - a[1]) / med * 100, NR, total, within, above
        }' "$WORK/$name.sorted"
done
} | tee "$OUT/output.txt"
