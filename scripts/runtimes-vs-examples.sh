#!/usr/bin/env bash
# Each runtime model against its runtime's own echo example, side by side with the same loadgen:
#   monoio  examples/echo.rs        (bytedance/monoio)   vs echo-server --model monoio --workers 1
#   smol    examples/tcp-server.rs  (smol-rs/smol)       vs echo-server --model smol --workers 1
#   may     examples/echo.rs -t 1   (Xudong-Huang/may)   vs echo-server --model may --workers 1
#   may     the same, built with fat LTO as may's Cargo.toml builds its example (LTO_TARGET)
# Every example runs one thread, so ours does too. glommio's examples/echo.rs is a benchmark with
# its own built-in client (it accepts a fixed number of connections, then exits), and compio has
# no TCP echo example (its echo_server is WebSocket), so neither has a server to drive: printed.
#
# Raw (RFC 862) 100 B messages, closed loop, 100 and 1,000 clients; every server pinned to CPU 0
# (taskset), loadgen's one worker thread to CPU 1; loadgen --addr for both sides, so both are
# measured the same way. Interleaved: for each repeat and client count, every runtime's example
# and ours alternate (which goes first alternates by repeat). Writes each run's JSON, runs.tsv
# (one line per run) and summary.md (medians, ranges, ours/example) to OUT.
#
#   scripts/runtimes-vs-examples.sh [REPEATS]     # default 3
#   env: OUT (default docs/data/runtimes/examples), DURATION (3s), WARMUP (1s), DEST (/tmp/peers),
#        BIN (a folder with release echo-server and loadgen already built; default: build them),
#        LTO_TARGET (the target folder of the fat-LTO build; default DEST/echobench-lto),
#        PEER_SRC (where the git dirs are: PEER_SRC/<owner>+<name>/repo; default: the .mirror
#        folder beside the project's parent folder), or MONOIO_GIT / SMOL_GIT / MAY_GIT.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
root=$(pwd)
repeats=${1:-3}
out=${OUT:-docs/data/runtimes/examples}
duration=${DURATION:-3s}
warmup=${WARMUP:-1s}
DEST=${DEST:-/tmp/peers}
PEER_SRC=${PEER_SRC:-$(cd "$root/../.." && pwd)/.mirror}
MONOIO_GIT=${MONOIO_GIT:-$PEER_SRC/bytedance+monoio/repo}
SMOL_GIT=${SMOL_GIT:-$PEER_SRC/smol-rs+smol/repo}
MAY_GIT=${MAY_GIT:-$PEER_SRC/Xudong-Huang+may/repo}
say() { printf '==> %s\n' "$*" >&2; }

# Extracts git dir $1 into $DEST/$2 (once) and builds example $3 there in release, after the sed
# script $4 (if given) unless the source already contains $5.
build_example() {
  local git=$1 dir=$DEST/$2 example=$3
  if [[ ! -d $dir ]]; then
    [[ -d $git ]] || { echo "missing git dir $git (set PEER_SRC or ${2^^}_GIT)" >&2; exit 2; }
    mkdir -p "$dir"
    git --git-dir="$git" archive HEAD | tar -x -C "$dir"
    git --git-dir="$git" rev-parse HEAD >"$dir/REVISION"
  fi
  if [[ -n ${4:-} ]]; then # a one-line source patch, applied once
    grep -qF -- "$5" "$dir/examples/$example.rs" || sed -i "$4" "$dir/examples/$example.rs"
  fi
  [[ -x $dir/target/release/examples/$example ]] && [[ $dir/target/release/examples/$example -nt $dir/examples/$example.rs ]] ||
    (cd "$dir" && cargo build --release --quiet --example "$example" >&2)
  echo "$dir/target/release/examples/$example"
}

say "building the examples into $DEST and echo-server + loadgen (release)"
# monoio's example listens on 127.0.0.1:50002, inside Linux's ephemeral port range (32768-60999):
# a client socket of an earlier run left in TIME-WAIT on that port makes its bind fail. It is
# moved to 17002; every other server here listens below 32768 too.
monoio_bin=$(build_example "$MONOIO_GIT" monoio echo 's/127\.0\.0\.1:50002/127.0.0.1:17002/' '127.0.0.1:17002')
smol_bin=$(build_example "$SMOL_GIT" smol tcp-server)
may_bin=$(build_example "$MAY_GIT" may echo)
if [[ -z ${BIN:-} ]]; then
  cargo build --release --quiet -p servers -p loadgen
  BIN=$root/target/release
fi
ours=$BIN/echo-server
loadgen=$BIN/loadgen
# may's Cargo.toml builds its example with fat LTO (`[profile.release] lto = true`), which
# inlines may's read and write paths into the example; monoio's and smol's use cargo's default
# release profile, as ours does. So our may model also runs built the same way as its example:
# like for like, code against code, beside the default build.
lto_dir=${LTO_TARGET:-$DEST/echobench-lto}
say "building echo-server with fat LTO into $lto_dir (may's example's profile)"
CARGO_TARGET_DIR=$lto_dir CARGO_PROFILE_RELEASE_LTO=fat \
  cargo build --release --quiet -p servers --bin echo-server >&2
ours_lto=$lto_dir/release/echo-server

# runtime|side|port|command (the examples listen on fixed ports)
servers=(
  "monoio|example|17002|$monoio_bin"
  "monoio|ours|17102|$ours --model monoio --workers 1 --addr 127.0.0.1:17102"
  "smol|example|7000|$smol_bin"
  "smol|ours|17103|$ours --model smol --workers 1 --addr 127.0.0.1:17103"
  "may|example|8080|$may_bin -t 1 -p 8080"
  "may|ours|17104|$ours --model may --workers 1 --addr 127.0.0.1:17104"
  "may|ours-lto|17105|$ours_lto --model may --workers 1 --addr 127.0.0.1:17105"
)

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Starts server line $1 on CPU 0, drives it with $2 clients into $3 (the JSON), stops it.
run_one() {
  local runtime side port cmd pid status=0
  IFS='|' read -r runtime side port cmd <<<"$1"
  if port_open "$port"; then echo "port $port is busy: $runtime $side cannot start" >&2; return 1; fi
  # shellcheck disable=SC2086 # the command line is split on purpose
  taskset -c 0 $cmd >/dev/null 2>>"$out/server-stderr.log" &
  pid=$!
  for _ in $(seq 100); do port_open "$port" && break; sleep 0.1; done
  if ! port_open "$port"; then
    echo "$runtime $side did not start listening on $port within 10 s (see server-stderr.log)" >&2
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    return 1
  fi
  timeout --signal=INT --kill-after=10 120 \
    "$loadgen" --addr "127.0.0.1:$port" --protocol raw --size 100 --clients "$2" \
    --duration "$duration" --warmup "$warmup" --threads 1 --pin 1 --quiet --output "$3" \
    2>>"$out/loadgen-stderr.log" || status=$?
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  return "$status"
}

field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); v=d
for k in sys.argv[2].split("."): v=v[k]
print(v)' "$1" "$2"; }

mkdir -p "$out"
: >"$out/loadgen-stderr.log"
: >"$out/server-stderr.log"
tsv=$out/runs.tsv
printf 'runtime\tside\tclients\trepeat\tmsgs_per_sec\tpassed\n' >"$tsv"
say "$repeats repeats × clients 100, 1000 × ${#servers[@]} servers, $duration after $warmup; load average $(cut -d' ' -f1-3 /proc/loadavg)"
for rep in $(seq 1 "$repeats"); do
  for clients in 100 1000; do
    order=("${servers[@]}")
    if (( rep % 2 == 0 )); then # ours first on even repeats
      order=("${servers[1]}" "${servers[0]}" "${servers[3]}" "${servers[2]}" "${servers[6]}" "${servers[5]}" "${servers[4]}")
    fi
    for s in "${order[@]}"; do
      IFS='|' read -r runtime side _ _ <<<"$s"
      json=$out/$runtime-$side-${clients}c-r$rep.json
      rm -f "$json"
      status=0
      run_one "$s" "$clients" "$json" || status=$?
      # A failed run's JSON still says what it measured (and `passed` says it failed).
      if [[ -s $json ]]; then
        [[ $(field "$json" passed) == True ]] ||
          echo "$runtime $side, $clients clients, repeat $rep failed: $(field "$json" totals)" >&2
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$runtime" "$side" "$clients" "$rep" \
          "$(field "$json" throughput.msgs_per_sec)" "$(field "$json" passed)" >>"$tsv"
      else
        echo "$runtime $side, $clients clients, repeat $rep: no result (exit $status)" >&2
        printf '%s\t%s\t%s\t%s\tnull\tFalse\n' "$runtime" "$side" "$clients" "$rep" >>"$tsv"
      fi
    done
  done
  say "repeat $rep of $repeats done"
done

python3 - "$tsv" "$out/summary.md" "$repeats" "$duration" <<'EOF'
import csv, statistics, sys
tsv, md, repeats, duration = sys.argv[1:]
rows = list(csv.DictReader(open(tsv), delimiter="\t"))
cells = {}
for r in rows:
    v = None if r["msgs_per_sec"] == "null" else float(r["msgs_per_sec"])
    cells.setdefault((r["runtime"], int(r["clients"]), r["side"]), []).append((v, r["passed"] == "True"))
out = [f"# Each runtime model vs its runtime's own echo example", "",
       f"Raw 100 B, closed loop, server on CPU 0 and one loadgen thread on CPU 1, {duration} per run, "
       f"{repeats} interleaved repeats; median msgs/s (min–max). Built by scripts/runtimes-vs-examples.sh.", "",
       "| runtime | clients | example msgs/s | ours msgs/s | ours / example (median) | all runs passed |",
       "|---|---|---|---|---|---|"]
def cell(vals):
    xs = [v for v, _ in vals if v is not None]
    if not xs:
        return None, "no result"
    return statistics.median(xs), f"{statistics.median(xs):,.0f} ({min(xs):,.0f}–{max(xs):,.0f})"
for runtime in ["monoio", "smol", "may"]:
    for clients in [100, 1000]:
        ex = cells.get((runtime, clients, "example"), [])
        ou = cells.get((runtime, clients, "ours"), [])
        em, es = cell(ex)
        om, os_ = cell(ou)
        ratio = f"{om / em:.2f}×" if em and om else "–"
        passed = all(p for _, p in ex + ou) and bool(ex + ou)
        out.append(f"| {runtime} | {clients:,} | {es} | {os_} | {ratio} | {'yes' if passed else 'no'} |")
        lto = cells.get((runtime, clients, "ours-lto"))
        if lto:
            lm, ls = cell(lto)
            lratio = f"{lm / em:.2f}×" if em and lm else "–"
            lpassed = all(p for _, p in lto)
            out.append(f"| {runtime}, ours built as its example (fat LTO) | {clients:,} | {es} | {ls} | "
                       f"{lratio} | {'yes' if lpassed else 'no'} |")
out += ["", "may's example is built with fat LTO (its Cargo.toml's release profile); monoio's and "
        "smol's, like ours, with cargo's default release profile. The may row built as its example "
        "uses the same fat LTO for ours.", "",
        "glommio: its examples/echo.rs is a benchmark with its own client (a fixed number of "
        "connections, then it exits), not a server: nothing to drive. compio: no TCP echo example "
        "(compio-ws's echo_server speaks WebSocket).", ""]
open(md, "w").write("\n".join(out))
print("\n".join(out))
EOF
