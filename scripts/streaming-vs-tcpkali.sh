#!/usr/bin/env bash
# Verified streaming: loadgen and tcpkali side by side against one echo-server, interleaved,
# REPEATS times, then a pipelined 64 B loadgen run against its own child server.
#
#   scripts/streaming-vs-tcpkali.sh [REPEATS]        (default 3)
#
# Environment: TCPKALI (default: tcpkali on PATH), MODEL (mio), CONNS (4), SECS (6), SIZE and
# PIPELINE (65536 and 8: loadgen's streaming flags, 512 KiB in flight per connection),
# PIPELINED (the pipelined 64 B runs, CLIENTSxDEPTH each: "50x64 4x256"), LOADGEN_ARGS (extra
# flags), BASELINE (another loadgen binary, e.g. an older build, run alongside as "base").
# Streaming: tcpkali sends 1 KiB messages as fast as the connections take them and counts what
# comes back without looking at it; loadgen (its defaults plus --size/--pipeline) compares every
# byte echoed with the byte it sent. Both print MB/s (10^6 bytes echoed per second) and client
# CPU per byte echoed: GNU time's user + system seconds over every byte the client got back in
# the run (loadgen: warm-up and window messages; tcpkali: its "Total data received"). The
# server's cores over each run (from /proc) show whether the server, not the client, was the limit.
# Pipelined: loadgen --model MODEL, 64 B messages, DEPTH in flight per client; verified msgs/s
# is from its JSON (window messages / window), with its own CPU per message (its /proc figure).
set -euo pipefail
cd "$(dirname "$0")/.."
REPEATS=${1:-3}
TCPKALI=${TCPKALI:-tcpkali}
MODEL=${MODEL:-mio}
CONNS=${CONNS:-4}
SECS=${SECS:-6}
SIZE=${SIZE:-65536}
PIPELINE=${PIPELINE:-8}
PIPELINED=${PIPELINED:-50x64 4x256}
BASELINE=${BASELINE:-}
command -v "$TCPKALI" >/dev/null || { echo "tcpkali not found (set TCPKALI)" >&2; exit 2; }
command -v jq >/dev/null || { echo "jq not found" >&2; exit 2; }
cargo build -q --release -p loadgen -p servers
LOADGEN=target/release/loadgen
LOADGENS="lg"
if [ -n "$BASELINE" ]; then
    [ -x "$BASELINE" ] || { echo "BASELINE $BASELINE is not an executable" >&2; exit 2; }
    LOADGENS="lg base"
fi
bin_of() { if [ "$1" = base ]; then echo "$BASELINE"; else echo "$LOADGEN"; fi; }
WORK=$(mktemp -d)
SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

target/release/echo-server --model "$MODEL" --addr 127.0.0.1:0 >"$WORK/server.out" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do grep -q listening "$WORK/server.out" && break; sleep 0.05; done
ADDR=$(sed -n 's/^listening on //p' "$WORK/server.out" | head -1)
[ -n "$ADDR" ] || { echo "echo-server did not start" >&2; exit 2; }
MSG=$(printf 'x%.0s' $(seq 1024))
echo "echo-server --model $MODEL at $ADDR; $CONNS connections, ${SECS} s per run; load average" \
    "$(cut -d' ' -f1-3 /proc/loadavg) at start"

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
spread() { sort -g | awk 'NR==1{lo=$1} {hi=$1} END {print lo "-" hi}'; }
cpu_of() { awk '/^TIME/ {print $2 + $3}' "$1"; }
HZ=$(getconf CLK_TCK)
# The server's CPU seconds so far (user + system, all threads).
server_cpu() { awk -v hz="$HZ" '{print ($14 + $15) / hz}' "/proc/$SERVER_PID/stat"; }
: >"$WORK/tk"; : >"$WORK/lg"; : >"$WORK/base"
# Appends "MB/s ns/B cores server-cores" to $WORK/$1 from bytes echoed in the run $2, window
# MB/s $3 (empty: bytes over SECS), client CPU seconds $4, wall seconds $5 and server CPU
# seconds $6, and prints it.
record() {
    local who=$1 bytes=$2 mbs=$3 cpu=$4 wall=$5 srv=$6 line
    line=$(awk -v b="$bytes" -v m="$mbs" -v c="$cpu" -v w="$wall" -v s="$SECS" -v v="$srv" 'BEGIN {
        if (m == "") m = b / s / 1e6
        printf "%.0f %.3f %.2f %.2f", m, c * 1e9 / b, c / w, v / w }')
    echo "$line" >>"$WORK/$who"
    read -r mbs nsb cores srv_cores <<<"$line"
    printf '  %-8s %6s MB/s, %s ns CPU per byte, %s cores (server %s cores)\n' "$who" "$mbs" \
        "$nsb" "$cores" "$srv_cores"
}
for r in $(seq "$REPEATS"); do
    echo "repeat $r:"
    start=$(date +%s.%N) srv0=$(server_cpu)
    /usr/bin/time -f 'TIME %U %S' -o "$WORK/tk.time" "$TCPKALI" -c "$CONNS" -T "${SECS}s" \
        -m "$MSG" "$ADDR" >"$WORK/tk.out" 2>&1 || true
    wall=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN {print e - s}')
    tk_bytes=$(sed -n 's/^Total data received:.*(\([0-9]*\) bytes).*/\1/p' "$WORK/tk.out")
    [ -n "$tk_bytes" ] || { echo "tcpkali printed no totals:" >&2; cat "$WORK/tk.out" >&2; exit 1; }
    srv=$(awk -v a="$srv0" -v b="$(server_cpu)" 'BEGIN {print b - a}')
    record tk "$tk_bytes" "" "$(cpu_of "$WORK/tk.time")" "$wall" "$srv"

    for who in $LOADGENS; do
        start=$(date +%s.%N) srv0=$(server_cpu)
        # shellcheck disable=SC2086
        /usr/bin/time -f 'TIME %U %S' -o "$WORK/lg.time" "$(bin_of "$who")" --addr "$ADDR" \
            --clients "$CONNS" --size "$SIZE" --pipeline "$PIPELINE" --warmup 1s \
            --duration "$((SECS - 1))s" --quiet -o "$WORK/lg.json" ${LOADGEN_ARGS:-} || true
        wall=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN {print e - s}')
        read -r lg_bytes lg_mbs lg_bad < <(jq -r '[(.totals.messages + .totals.warmup_messages)
            * .config.size, .throughput.bytes_per_sec / 1e6, ([.totals.errors[]] | add)] | @tsv' \
            "$WORK/lg.json")
        [ "$lg_bad" = 0 ] || echo "  $who counted $lg_bad errors (mismatches included)"
        srv=$(awk -v a="$srv0" -v b="$(server_cpu)" 'BEGIN {print b - a}')
        record "$who" "$lg_bytes" "$lg_mbs" "$(cpu_of "$WORK/lg.time")" "$wall" "$srv"
    done
done
for who in tk $LOADGENS; do
    case $who in
        tk) name="tcpkali -c $CONNS -m <1024 x 'x'> (unverified)" ;;
        lg) name="loadgen --clients $CONNS --size $SIZE --pipeline $PIPELINE (verified)" ;;
        base) name="base (BASELINE), same flags (verified)" ;;
    esac
    col() { cut -d' ' -f"$1" "$WORK/$who" | median; }
    rng() { cut -d' ' -f"$1" "$WORK/$who" | spread; }
    printf '%s: median %s MB/s (%s), %s ns CPU per byte (%s), %s cores (%s); server %s cores (%s)\n' \
        "$name" "$(col 1)" "$(rng 1)" "$(col 2)" "$(rng 2)" "$(col 3)" "$(rng 3)" "$(col 4)" "$(rng 4)"
done

# Pipelined 64 B: each configuration, each loadgen, interleaved, REPEATS times.
for r in $(seq "$REPEATS"); do
    for cfg in $PIPELINED; do
        for who in $LOADGENS; do
            # shellcheck disable=SC2086
            "$(bin_of "$who")" --model "$MODEL" --clients "${cfg%x*}" --size 64 \
                --pipeline "${cfg#*x}" --warmup 1s --duration "$((SECS - 1))s" --quiet \
                -o "$WORK/pl.json" ${LOADGEN_ARGS:-} || true
            read -r msgs ns bad < <(jq -r '[.throughput.msgs_per_sec, .cost.loadgen.cpu_ns_per_msg,
                ([.totals.errors[]] | add)] | @tsv' "$WORK/pl.json")
            printf '%.0f %.1f\n' "$msgs" "$ns" >>"$WORK/pl-$cfg-$who"
            printf '  repeat %d, pipelined %s %-4s %9.0f verified msgs/s, %5.1f ns CPU/msg, %s errors\n' \
                "$r" "$cfg" "$who" "$msgs" "$ns" "$bad"
        done
    done
done
for cfg in $PIPELINED; do
    for who in $LOADGENS; do
        f="$WORK/pl-$cfg-$who"
        printf 'pipelined 64 B, %s clients x %s in flight, %s: median %s verified msgs/s (%s), %s ns loadgen CPU/msg (%s)\n' \
            "${cfg%x*}" "${cfg#*x}" "$who" "$(cut -d' ' -f1 "$f" | median)" \
            "$(cut -d' ' -f1 "$f" | spread)" "$(cut -d' ' -f2 "$f" | median)" "$(cut -d' ' -f2 "$f" | spread)"
    done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
