#!/usr/bin/env bash
# monoio's published 1-core comparison, rerun as ratios: tokio, tokio-current-thread, monoio,
# glommio, compio, smol, may and mio, each server on CPU 0 with one worker (--workers 1) and
# loadgen's one thread on CPU 1; 100 B raw messages, closed loop, 100 and 1,000 connections,
# REPEATS (default 5) repeats interleaved by `loadgen sweep` (every model's run r before any run
# r+1), which also writes the 95% intervals and the Holm-corrected ranking (summary.md).
#
#   scripts/runtimes-1core.sh [REPEATS]    # env: OUT (default docs/data/runtimes/1core),
#                                          #      DURATION (2s), WARMUP (500ms), BIN (a folder
#                                          #      with release echo-server and loadgen already
#                                          #      built; default: build them)
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-5}
out=${OUT:-docs/data/runtimes/1core}
if [[ -z ${BIN:-} ]]; then
  cargo build --release --quiet -p servers -p loadgen
  BIN=target/release
fi
rm -rf "$out"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
ECHO_SERVER_BIN=$BIN/echo-server "$BIN/loadgen" sweep --out "$out" --quiet \
  --models tokio,tokio-current-thread,monoio,glommio,compio,smol,may,mio \
  --clients 100,1000 --runs "$repeats" --size 100 --protocol raw \
  --duration "${DURATION:-2s}" --warmup "${WARMUP:-500ms}" \
  --server-pin 0 --threads 1 --server-arg=--workers --server-arg=1
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
