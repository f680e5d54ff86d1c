#!/usr/bin/env bash
# Server memory per idle connection: starts `echo-server --model M`, reads its VmRSS, opens N idle
# connections (from this shell, through bash's /dev/tcp), waits until the server has accepted them
# all, reads VmRSS again, and prints the difference per connection.
#
#   scripts/idle-rss.sh [N] [MODEL ...]      # default: 1000 connections, every model
#
# Uses target/release/echo-server (built if missing). Loopback only; bounded (each wait ≤ 10 s).
set -euo pipefail
cd "$(dirname "$0")/.."

n=${1:-1000}
shift || true
models=("$@")
if [[ ${#models[@]} -eq 0 ]]; then
  models=(threads select poll mio tokio tokio-current-thread thread-per-core reactor-pool uring monoio smol compio glommio may)
fi
bin=target/release/echo-server
[[ -x $bin ]] || cargo build --release -p servers
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

printf '%-22s %8s %10s %10s %14s\n' model conns "rss0 KiB" "rss1 KiB" "per conn (B)"
for model in "${models[@]}"; do
  out=$(mktemp)
  "$bin" --model "$model" --addr 127.0.0.1:0 >"$out" 2>/dev/null &
  pid=$!
  for _ in $(seq 100); do [[ -s $out ]] && break; sleep 0.1; done
  port=$(sed -n 's/^listening on .*://p' "$out")
  sleep 0.3
  rss0=$(rss_kib "$pid")
  fds=()
  for _ in $(seq "$n"); do
    exec {fd}<>"/dev/tcp/127.0.0.1/$port"
    fds+=("$fd")
  done
  # Wait until the server holds every connection (n more fds), then let it settle.
  for _ in $(seq 100); do
    [[ $(ls "/proc/$pid/fd" | wc -l) -ge $n ]] && break
    sleep 0.1
  done
  sleep 0.5
  rss1=$(rss_kib "$pid")
  printf '%-22s %8d %10d %10d %14d\n' "$model" "$n" "$rss0" "$rss1" $(( (rss1 - rss0) * 1024 / n ))
  for fd in "${fds[@]}"; do exec {fd}>&-; done
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
  rm -f "$out"
done
