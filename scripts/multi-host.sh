#!/usr/bin/env bash
# Test hosts in network namespaces: one namespace for the server and K for loadgen shards, each
# with its own address on a private bridge (10.77.0.0/24, which exists only inside these
# namespaces). The server runs `echo-server --model M`; the shards run exactly as the Kubernetes
# Indexed Job runs them (same loadgen binary, JOB_COMPLETION_INDEX and LOADGEN_SHARDS in the
# environment, one --start-at a few seconds ahead for all); then `loadgen merge` combines them and
# scripts/check-merged.py checks the merge: message count = sum of the shards', merged histogram =
# sum of the shards' histograms, merged p99 = p99 of that sum, windows opened within 10 ms.
# Everything it creates is removed on exit, failure or Ctrl-C included. Needs root and `ip netns`;
# skips (exit 0) with the reason otherwise. About 15 s with the defaults (plus the build).
#
#   scripts/multi-host.sh                                   # mio, 2 shards × 1,000 clients, 3 s
#   scripts/multi-host.sh --clients-per-shard 9000          # one server holding 18,000 connections
#   scripts/multi-host.sh --model threads --shards 3 --duration 10s --rate 30000
#   scripts/multi-host.sh --tbf 200mbit                     # bandwidth limit on every shard's link
#   scripts/multi-host.sh --delay 10ms --jitter 1ms         # echo-proxy in front of the server
#
# Options: --model M (mio)  --shards K (2)  --clients-per-shard N (1000)  --duration D (3s)
#          --rate R (open loop, msgs/s over all shards)  --tbf RATE (tc rate, e.g. 100mbit)
#          --delay D --jitter D (one-way, each direction)  --start-in SECONDS (warm-up + 3;
#          the warm-up is 2 s + 1 s per 2,000 clients per shard)
#          --out DIR (target/multi-host)
#          --no-shard-flags: run K independent loadgens of N clients each, without --start-at or
#            the shard environment, for a loadgen that has no sharding; windows are not compared.
# Exit status: 0 checks pass (or skipped); 1 a check failed; 2 setup error.
set -euo pipefail
cd "$(dirname "$0")/.."

model=mio
shards=2
per_shard=1000
duration=3s
rate=""
tbf=""
delay=""
jitter=0ms
start_in=""
out=target/multi-host
shard_flags=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --model) model=$2; shift 2 ;;
    --shards) shards=$2; shift 2 ;;
    --clients-per-shard) per_shard=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --tbf) tbf=$2; shift 2 ;;
    --delay) delay=$2; shift 2 ;;
    --jitter) jitter=$2; shift 2 ;;
    --start-in) start_in=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --no-shard-flags) shard_flags=0; shift ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "multi-host: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
done

# A skip names its facility ("skipped: root: ...") on stdout and in $ECHOBENCH_SKIP_LOG when
# set, where .ci/run counts it (and fails it on a machine that has the facility).
skip() {
  local facility=$1; shift
  echo "multi-host: skipped: $facility: $*"
  [[ -z "${ECHOBENCH_SKIP_LOG:-}" ]] || echo "skipped: $facility: multi-host.sh: $*" >>"$ECHOBENCH_SKIP_LOG"
  exit 0
}
die() { echo "multi-host: error: $*" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || skip root "needs root to create network namespaces"
command -v ip >/dev/null || skip root "the ip command (iproute2) is not installed"
ip netns list >/dev/null 2>&1 || skip root "ip netns is unavailable here"
[[ -z $tbf ]] || command -v tc >/dev/null || skip root "--tbf needs tc (iproute2)"
[[ $shards =~ ^[1-9][0-9]?$ && $shards -le 50 ]] || die "--shards must be 1..50"
[[ $per_shard =~ ^[1-9][0-9]*$ ]] || die "--clients-per-shard must be a positive number"

# Seconds in a duration like 3s, 500ms, 2m (rounded up), for the timeouts.
seconds() {
  case "$1" in
    *ms) echo $(( (${1%ms} + 999) / 1000 )) ;;
    *s) echo "${1%s}" ;;
    *m) echo $(( ${1%m} * 60 )) ;;
    *) die "cannot read the duration $1 (use e.g. 3s, 500ms, 1m)" ;;
  esac
}
run_s=$(seconds "$duration")
# loadgen connects and warms up in the --warmup before --start-at: leave time to connect every
# client (about 2,000 a second on a busy 2-vCPU machine), and start a little after that.
warmup_s=$(( 2 + per_shard / 2000 ))
[[ -n $start_in ]] || start_in=$(( warmup_s + 3 ))
(( start_in > warmup_s )) || die "--start-in must be more than the warm-up ($warmup_s s)"
total_clients=$(( shards * per_shard ))
fd_hard=$(ulimit -Hn)
if [[ -n $delay ]] && (( 2 * total_clients + 64 > fd_hard )); then
  die "with --delay the proxy holds two descriptors per client: $total_clients clients need $(( 2 * total_clients + 64 )), the limit is $fd_hard"
fi

crates=(-p servers -p loadgen)
[[ -z $delay ]] || crates+=(-p servers-proxy)
echo "==> multi-host: cargo build --release ${crates[*]}" >&2
cargo build --release -q "${crates[@]}" || die "build failed"
bin=$PWD/target/release
if (( shard_flags )) && ! "$bin/loadgen" --help | grep -q -- '--start-at'; then
  die "this loadgen has no --start-at (no sharding yet): run with --no-shard-flags"
fi
rm -rf "$out"
mkdir -p "$out"

# Names are unique per run (pid), so two runs never collide and a crash leaves nothing shared.
tag=ebmh$$
switch=${tag}sw
server_ns=${tag}srv
subnet=10.77.0
server_ip=$subnet.1
port=7007
namespaces=()
pids=()
cleanup() {
  local pid ns i
  for pid in "${pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for ((i = 0; i < 50 && $(kill -0 "$pid" 2>/dev/null && echo 1 || echo 0); i++)); do sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  pids=()
  for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  namespaces=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The switch: a namespace holding only a bridge; every host's veth peer is a port of it.
ip netns add "$switch" 2>/dev/null || skip root "cannot create a network namespace (ip netns add failed)"
namespaces+=("$switch")
ip -n "$switch" link add br0 type bridge || die "cannot create a bridge"
ip -n "$switch" link set br0 up

# add_host NS PORT_NAME ADDR: a namespace joined to the bridge by a veth pair, eth0 = ADDR/24.
add_host() {
  local ns=$1 port_name=$2 addr=$3
  ip netns add "$ns"
  namespaces+=("$ns")
  ip -n "$switch" link add "$port_name" type veth peer name eth0 netns "$ns" || die "cannot create a veth pair"
  ip -n "$switch" link set "$port_name" master br0 up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "$addr/24" dev eth0
  ip -n "$ns" link set eth0 up
}
add_host "$server_ns" vsrv "$server_ip"
for ((i = 0; i < shards; i++)); do
  add_host "${tag}lg$i" "vlg$i" "$subnet.$(( 10 + i ))"
  if [[ -n $tbf ]]; then
    # Both directions of the shard's link: its egress (eth0) and the bridge port toward it.
    # burst must cover a GSO packet (64 KiB) and a timer tick's worth at the rate.
    ip netns exec "${tag}lg$i" tc qdisc add dev eth0 root tbf rate "$tbf" burst 256kb latency 100ms \
      || die "tc tbf on the shard link failed"
    ip netns exec "$switch" tc qdisc add dev "vlg$i" root tbf rate "$tbf" burst 256kb latency 100ms \
      || die "tc tbf on the bridge port failed"
  fi
done

# in_ns NS LOG CMD...: runs CMD in NS in the background, with the fd limit raised to the hard
# limit (a server with 18,000 clients needs it), stdout to LOG, stderr to LOG.err.
in_ns() {
  local ns=$1 log=$2; shift 2
  : >"$log"
  ip netns exec "$ns" bash -c 'ulimit -n "$(ulimit -Hn)" && exec "$@"' - "$@" >"$log" 2>"$log.err" &
  pids+=($!)
}
# wait_listening LOG: the address a process printed as `listening on ADDR` (10 s at most).
wait_listening() {
  local log=$1 pid=${pids[-1]} i addr
  for ((i = 0; i < 100; i++)); do
    addr=$(sed -n 's/^listening on //p' "$log" | head -n 1)
    [[ -n $addr ]] && { echo "$addr"; return 0; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  die "$log: no listening line: $(cat "$log.err" 2>/dev/null)"
}

in_ns "$server_ns" "$out/server.log" "$bin/echo-server" --model "$model" --addr "$server_ip:$port" --backlog 4096
server_pid=${pids[-1]}
target=$(wait_listening "$out/server.log")
link="direct"
if [[ -n $delay ]]; then
  in_ns "$server_ns" "$out/proxy.log" "$bin/echo-proxy" --listen "$server_ip:$(( port + 1 ))" \
    --upstream "$server_ip:$port" --delay "$delay" --jitter "$jitter"
  target=$(wait_listening "$out/proxy.log")
  link="echo-proxy $delay ± $jitter each way"
fi
[[ -z $tbf ]] || link="$link, tbf $tbf"
for ((i = 0; i < shards; i++)); do
  ip netns exec "${tag}lg$i" timeout 5 bash -c "exec 3<>/dev/tcp/${target%:*}/${target##*:}" \
    || die "shard namespace $i cannot reach $target"
done

start_at=$(date -u -d "@$(( $(date +%s) + start_in ))" +%Y-%m-%dT%H:%M:%SZ)
echo "==> multi-host: $model, $shards shard(s) × $per_shard clients, $duration, link: $link" >&2
if (( shard_flags )); then
  echo "==> multi-host: every shard opens its window at $start_at" >&2
else
  echo "==> multi-host: --no-shard-flags: $shards independent loadgens, windows not aligned" >&2
fi
# Each shard ends by itself (start + duration + drain); the timeout only guards against a hang.
bound=$(( start_in + run_s + 60 ))
shard_pids=()
for ((i = 0; i < shards; i++)); do
  json="$out/shard-$i.json"
  if (( shard_flags )); then
    in_ns "${tag}lg$i" "$out/shard-$i.log" env JOB_COMPLETION_INDEX="$i" LOADGEN_SHARDS="$shards" \
      timeout --signal=INT --kill-after=10 "$bound" "$bin/loadgen" --addr "$target" \
      --clients "$total_clients" ${rate:+--rate "$rate"} --duration "$duration" \
      --warmup "${warmup_s}s" --start-at "$start_at" --output "$json" --quiet
  else
    shard_rate=()
    [[ -z $rate ]] || shard_rate=(--rate $(( rate / shards )))
    in_ns "${tag}lg$i" "$out/shard-$i.log" \
      timeout --signal=INT --kill-after=10 "$bound" "$bin/loadgen" --addr "$target" \
      --clients "$per_shard" "${shard_rate[@]}" --duration "$duration" --warmup "${start_in}s" \
      --output "$json" --quiet
  fi
  shard_pids+=("${pids[-1]}")
done
status=0
for ((i = 0; i < shards; i++)); do
  wait "${shard_pids[i]}" || { echo "multi-host: shard $i exited $?: $(tail -n 3 "$out/shard-$i.log.err")" >&2; status=1; }
done

# Stop the server (and proxy) to read their counters: peak_active is what the server held.
cleanup
peak=$(grep -o '"peak_active":[0-9]*' "$out/server.log.err" | head -n 1 | cut -d: -f2)
echo "server: peak $peak concurrent connections (shards opened $total_clients)"

files=()
for ((i = 0; i < shards; i++)); do
  [[ -s $out/shard-$i.json ]] || die "shard $i wrote no result (see $out/shard-$i.log.err)"
  files+=("$out/shard-$i.json")
done
"$bin/loadgen" merge "${files[@]}" --output "$out/merged.json" >/dev/null || die "loadgen merge refused the shards"
check=(python3 scripts/check-merged.py "$out/merged.json" "${files[@]}")
(( shard_flags )) || check+=(--no-window-check)
"${check[@]}" || status=1
if [[ -z $delay && ${peak:-0} -lt $total_clients ]]; then
  echo "multi-host: FAIL: the server held at most ${peak:-0} connections, not $total_clients" >&2
  status=1
fi
echo "multi-host: results in $out/ ($([[ $status -eq 0 ]] && echo ok || echo FAILED))" >&2
exit $status
