#!/usr/bin/env bash
# Measures the data docs/why.md is generated from (then: python3 scripts/why-doc.py).
#
#   bash scripts/why-data.sh sweep      # docs/data/why/: every model × 1, 100, 1,000 clients, 3 repeats,
#                                       # kernel counters and a flamegraph per run (about 10 minutes)
#   bash scripts/why-data.sh overhead   # docs/data/why-overhead/: what the counters and the sampling cost
#
# overhead: for each of $MODELS (default mio threads uring) at $CLIENTS (default 100) clients,
# $ROUNDS (default 6) rounds of four runs of 2 s, interleaved: nothing asked of the kernel (the
# default), counters (--kernel-counters), sampling (--flamegraph), both. The order of the four
# rotates from round to round, so no mode always runs first. The server's CPU per message
# of each run (from /proc, which the counters do not touch) is what the modes are compared on.
# Needs root (perf_event_open on another process, tracefs). Records the load average around it.
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:?usage: why-data.sh sweep|overhead}
cargo build --release -p loadgen -p servers
loadgen=target/release/loadgen
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

case "$what" in
sweep)
  out=docs/data/why
  rm -rf "$out"
  echo "start: $(loadavg)" >"$out.conditions.txt.tmp"
  "$loadgen" sweep --clients 1,100,1000 --runs 3 --duration 2s --warmup 1s --kernel-counters --flamegraph --out "$out"
  echo "end: $(loadavg)" >>"$out.conditions.txt.tmp"
  mv "$out.conditions.txt.tmp" "$out/conditions.txt"
  ;;
overhead)
  out=docs/data/why-overhead
  models=${MODELS:-mio threads uring}
  rounds=${ROUNDS:-6}
  clients=${CLIENTS:-100}
  rm -rf "$out"
  mkdir -p "$out"
  echo "start: $(loadavg)" >"$out/conditions.txt"
  modes=(off counters flamegraph both)
  for r in $(seq 1 "$rounds"); do
    for m in $models; do
      for i in 0 1 2 3; do
        mode=${modes[$(((i + r) % 4))]}
        case $mode in
          off) extra=() ;;
          counters) extra=(--kernel-counters) ;;
          flamegraph) extra=(--flamegraph) ;;
          both) extra=(--kernel-counters --flamegraph) ;;
        esac
        "$loadgen" --model "$m" --clients "$clients" --duration 2s --warmup 1s --quiet \
          "${extra[@]}" --output "$out/$m-$mode-r$r.json" || true
      done
    done
  done
  echo "end: $(loadavg)" >>"$out/conditions.txt"
  ;;
*)
  echo "usage: why-data.sh sweep|overhead" >&2
  exit 2
  ;;
esac
