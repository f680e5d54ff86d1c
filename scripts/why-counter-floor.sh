#!/usr/bin/env bash
# The least that counting a server's kernel work costs it: the server's CPU per message with
# nothing counted, with only the three software events (context switches, migrations, page
# faults), with one unfiltered system-call counter (raw_syscalls:sys_enter), and with the
# events `--kernel-counters` opens (those three, the unfiltered counter and one filtered counter
# per named group). The two middle modes are opened by `perf stat -p` on the server's threads,
# inherited, as loadgen opens its own; the last is loadgen's own `--kernel-counters`.
#
# For each of $MODELS (default: mio threads) at $CLIENTS (default 100) clients, $ROUNDS
# (default 4) rounds of the four modes, 2 s after 1.5 s of warm-up; the order of the modes
# rotates from round to round. The server's CPU per message comes from /proc, which perf does
# not touch. Writes runs.tsv and summary.md to $OUT (default docs/data/why-floor).
# Needs root and `perf` (Debian: linux-perf).
#
#   bash scripts/why-counter-floor.sh
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
command -v perf >/dev/null || { echo "needs perf (apt-get install linux-perf)" >&2; exit 2; }
out=${OUT:-docs/data/why-floor}
models=${MODELS:-mio threads}
rounds=${ROUNDS:-4}
clients=${CLIENTS:-100}
cargo build --release --quiet -p loadgen -p servers
loadgen=target/release/loadgen
rm -rf "$out"
mkdir -p "$out"
echo "start: $(cut -d' ' -f1-3 /proc/loadavg)" >"$out/conditions.txt"

modes=(off software one-syscall-counter loadgen)
printf 'model\tmode\tround\tserver_cpu_ns_per_msg\tmsgs_per_sec\n' >"$out/runs.tsv"
for r in $(seq 1 "$rounds"); do
  for m in $models; do
    for i in 0 1 2 3; do
      mode=${modes[$(((i + r) % 4))]}
      json=$out/$m-$mode-r$r.json
      flags=()
      [[ $mode == loadgen ]] && flags=(--kernel-counters)
      "$loadgen" --model "$m" --clients "$clients" --duration 2s --warmup 1500ms --quiet \
        "${flags[@]}" --output "$json" >/dev/null 2>>"$out/loadgen-stderr.log" &
      lg=$!
      events=()
      case $mode in
        software) events=(-e context-switches,cpu-migrations,page-faults) ;;
        one-syscall-counter) events=(-e raw_syscalls:sys_enter) ;;
      esac
      perf_pid=
      if ((${#events[@]})); then
        # The server is loadgen's child; counting starts inside the warm-up.
        server=
        for _ in $(seq 50); do
          server=$(pgrep -n -P "$lg" echo-server || true)
          [[ -n $server ]] && break
          sleep 0.02
        done
        [[ -n $server ]] || { echo "$m $mode r$r: no server to count" >&2; wait "$lg" || true; continue; }
        sleep 0.5
        perf stat "${events[@]}" -p "$server" -o "$out/$m-$mode-r$r.perf" >/dev/null 2>&1 &
        perf_pid=$!
      fi
      wait "$lg" || true
      if [[ -n $perf_pid ]]; then
        kill -INT "$perf_pid" 2>/dev/null || true
        wait "$perf_pid" 2>/dev/null || true
      fi
      python3 - "$json" "$m" "$mode" "$r" >>"$out/runs.tsv" <<'EOF'
import json, sys
path, model, mode, rnd = sys.argv[1:]
d = json.load(open(path))
print(f"{model}\t{mode}\t{rnd}\t{d['cost']['server']['cpu_ns_per_msg']:.1f}\t{d['throughput']['msgs_per_sec']:.0f}")
EOF
    done
  done
done
echo "end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/conditions.txt"

python3 - "$out" "$clients" "$rounds" <<'EOF'
import csv, statistics, sys
out, clients, rounds = sys.argv[1:]
rows = list(csv.DictReader(open(f"{out}/runs.tsv"), delimiter="\t"))
modes = ["off", "software", "one-syscall-counter", "loadgen"]
models = list(dict.fromkeys(r["model"] for r in rows))
def cpu(model, mode):
    return [float(r["server_cpu_ns_per_msg"]) / 1000 for r in rows if r["model"] == model and r["mode"] == mode]
lines = [
    "# The least that counting costs the server",
    "",
    f"Server CPU per message (µs, from /proc), {clients} clients, closed loop, 64 B raw, {rounds} "
    "interleaved rounds of 2 s; median (min–max), and the change of the median against `off`. "
    "`software`: context-switches, cpu-migrations and page-faults (perf stat -p, inherited). "
    "`one-syscall-counter`: raw_syscalls:sys_enter alone, unfiltered. `loadgen`: "
    "`--kernel-counters` as shipped (12 events per thread). Built by scripts/why-counter-floor.sh.",
    "",
    "| model | " + " | ".join(modes) + " |",
    "|---|" + "--:|" * len(modes),
]
for m in models:
    base = statistics.median(cpu(m, "off"))
    cells = []
    for mode in modes:
        xs = cpu(m, mode)
        med = statistics.median(xs)
        delta = "" if mode == "off" else f", {100 * (med / base - 1):+.1f}%"
        cells.append(f"{med:.2f} ({min(xs):.2f}–{max(xs):.2f}){delta}")
    lines.append(f"| {m} | " + " | ".join(cells) + " |")
open(f"{out}/summary.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
