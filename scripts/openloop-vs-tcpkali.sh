#!/usr/bin/env bash
# loadgen's open loop side by side with tcpkali at the same offered load against one
# echo-server: both p99s and both client CPU costs per message, interleaved, REPEATS times.
#
#   scripts/openloop-vs-tcpkali.sh [REPEATS]        (default 3)
#
# Environment: TCPKALI (default: tcpkali on PATH), MODEL (mio), CONNS (100), PER_CONN (500
# msgs/s per connection, so 50k msgs/s in all), SECS (6), TICK (40us), LOADGEN_ARGS (extra
# loadgen flags).
# loadgen runs twice per repeat: with its defaults (one message per timer tick, so evenly
# spaced sends) and with `--tick $TICK` (every message due by a tick sent at once: fewer
# wake-ups, burstier sends; tcpkali's own sends are far burstier still).
# tcpkali's p99 is from its own send time (--latency-marker); loadgen prints its corrected p99
# (from the intended send time), its send lag, its verdict and the coefficient of variation of
# the gaps it actually sent (its arrival check: at most 0.5 passes for uniform). Client CPU is
# GNU time's user + system seconds divided by the messages the client exchanged in the run.
set -euo pipefail
cd "$(dirname "$0")/.."
REPEATS=${1:-3}
TCPKALI=${TCPKALI:-tcpkali}
MODEL=${MODEL:-mio}
CONNS=${CONNS:-100}
PER_CONN=${PER_CONN:-500}
SECS=${SECS:-6}
TICK=${TICK:-40us}
RATE=$((CONNS * PER_CONN))
command -v "$TCPKALI" >/dev/null || { echo "tcpkali not found (set TCPKALI)" >&2; exit 2; }
cargo build -q --release -p loadgen -p servers
LOADGEN=target/release/loadgen
WORK=$(mktemp -d)
SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

: >"$WORK/server.out"
target/release/echo-server --model "$MODEL" >"$WORK/server.out" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do grep -q listening "$WORK/server.out" && break; sleep 0.05; done
ADDR=$(sed -n 's/^listening on //p' "$WORK/server.out" | head -1)
[ -n "$ADDR" ] || { echo "echo-server did not start" >&2; exit 2; }
MSG="X$(printf 'y%.0s' $(seq 63))"
echo "echo-server --model $MODEL at $ADDR; $CONNS connections x $PER_CONN msgs/s = $RATE msgs/s, 64 B"

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
spread() { sort -g | awk 'NR==1{lo=$1} {hi=$1} END {print lo "-" hi}'; }
: >"$WORK/tk"; : >"$WORK/lg"; : >"$WORK/lt"
# Runs loadgen with extra flags "$2"; appends "p99 cpu" to $WORK/$1 and prints one line.
run_loadgen() {
    local out=$1 extra=$2 lg_cpu lg_p99 lg_lag lg_msgs lg_verdict lg_cv lg_us
    # shellcheck disable=SC2086
    /usr/bin/time -f 'TIME %U %S' -o "$WORK/lg.time" "$LOADGEN" --addr "$ADDR" \
        --clients "$CONNS" --rate "$RATE" --warmup 1s --duration "$((SECS - 1))s" --quiet \
        -o "$WORK/lg.json" $extra ${LOADGEN_ARGS:-} || true
    lg_cpu=$(awk '/^TIME/ {print $2 + $3}' "$WORK/lg.time")
    read -r lg_p99 lg_lag lg_msgs lg_verdict lg_cv < <(jq -r '[(.latency_us.p99/1000),
        (.open_loop.send_lag.p99/1000), (.totals.messages + .totals.warmup_messages),
        (if .verdict.trustworthy then "ok" else "late:" + (.verdict.late_side // "none") end),
        (.open_loop.arrival_check.cv_achieved * 100 | round / 100)] | @tsv' "$WORK/lg.json")
    lg_us=$(awk -v c="$lg_cpu" -v m="$lg_msgs" 'BEGIN {printf "%.2f", c * 1e6 / m}')
    echo "$lg_p99 $lg_us" >>"$WORK/$out"
    printf '  loadgen %-12s corrected p99 %s ms (send lag p99 %s ms, %s), gaps CV %s, %s us CPU/msg\n' \
        "${extra:-(defaults)}" "$lg_p99" "$lg_lag" "$lg_verdict" "$lg_cv" "$lg_us"
}
for r in $(seq "$REPEATS"); do
    /usr/bin/time -f 'TIME %U %S' -o "$WORK/tk.time" "$TCPKALI" -c "$CONNS" -r "$PER_CONN" \
        -T "${SECS}s" --latency-marker X -m "$MSG" --latency-percentiles 50,99 "$ADDR" \
        >"$WORK/tk.out" 2>&1 || true
    tk_p99=$(sed -n 's#.*latency at percentiles: [0-9.]*/\([0-9.]*\) ms.*#\1#p' "$WORK/tk.out")
    tk_bytes=$(sed -n 's/^Total data sent:.*(\([0-9]*\) bytes).*/\1/p' "$WORK/tk.out")
    tk_cpu=$(awk '/^TIME/ {print $2 + $3}' "$WORK/tk.time")
    tk_us=$(awk -v c="$tk_cpu" -v b="$tk_bytes" 'BEGIN {printf "%.2f", c * 1e6 / (b / 64)}')
    echo "$tk_p99 $tk_us" >>"$WORK/tk"
    printf 'repeat %d: tcpkali p99 %s ms, %s us CPU/msg\n' "$r" "$tk_p99" "$tk_us"
    run_loadgen lg ""
    run_loadgen lt "--tick $TICK"
done
for who in tk lg lt; do
    case $who in
        tk) name=tcpkali ;;
        lg) name="loadgen (defaults)" ;;
        lt) name="loadgen --tick $TICK" ;;
    esac
    printf '%s: median p99 %s ms (%s), median CPU/msg %s us (%s)\n' "$name" \
        "$(cut -d' ' -f1 "$WORK/$who" | median)" "$(cut -d' ' -f1 "$WORK/$who" | spread)" \
        "$(cut -d' ' -f2 "$WORK/$who" | median)" "$(cut -d' ' -f2 "$WORK/$who" | spread)"
done
