#!/usr/bin/env python3
"""Writes docs/why.md from the result files in docs/data/why/ and docs/data/why-overhead/.

    bash scripts/why-data.sh sweep       # measure: every model × 1, 100, 1,000 clients (+ flamegraphs)
    bash scripts/why-data.sh overhead    # measure: what the kernel counters and the sampling cost
    python3 scripts/why-doc.py           # docs/why.md
    python3 scripts/why-doc.py --check   # exit 1 when docs/why.md is not what the data gives

The models come from the data (every model with runs in docs/data/why/), so models added
later appear once their runs are there. Output is a pure function of those files.
"""
import json
import csv
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "docs" / "data" / "why"
OVERHEAD = ROOT / "docs" / "data" / "why-overhead"
FLOOR = ROOT / "docs" / "data" / "why-floor"
OUT = ROOT / "docs" / "why.md"
CLIENTS = [1, 100, 1000]
# Known models in the order the rest of the docs use; others follow alphabetically.
ORDER = ["threads", "select", "poll", "mio", "tokio", "tokio-current-thread",
         "thread-per-core", "reactor-pool", "uring", "monoio", "glommio", "compio", "smol", "may"]
GROUPS = ["read", "write", "epoll_wait", "poll", "select", "io_uring_enter", "futex",
          "accept4", "other"]

sys.path.insert(0, str(Path(__file__).resolve().parent))
from why_claims import CLAIMS, STORIES  # noqa: E402  (model-specific text, checked by numbers)


def load(path):
    with open(path) as f:
        return json.load(f)


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def runs():
    """Run files of docs/data/why, grouped by (model, clients), in file-name order."""
    cells = {}
    for p in sorted(DATA.glob("*.json")):
        r = load(p)
        if "schema_version" not in r or "config" not in r:
            continue  # summary.json, sweep.json
        model = r["config"]["target"].get("model", "external")
        cells.setdefault((model, r["config"]["clients"]), []).append((p.name, r))
    return cells


def figure(r, *path):
    for key in path:
        if r is None:
            return None
        r = r.get(key)
    return r


class Cell:
    """The medians of one model × clients over its repeats."""

    def __init__(self, group):
        rs = [r for _, r in group]
        self.n = len(rs)
        m = lambda *path: median([figure(r, *path) for r in rs])
        self.msgs = m("throughput", "msgs_per_sec")
        self.cpu = m("cost", "server", "cpu_ns_per_msg")
        self.user = m("cost", "server", "user_ns_per_msg")
        self.sys = m("cost", "server", "sys_ns_per_msg")
        self.vol = m("cost", "server", "vol_ctx_switches_per_msg")
        self.invol = m("cost", "server", "invol_ctx_switches_per_msg")
        k = ("kernel", "server")
        self.calls = {g: m(*k, "syscalls_per_msg", g) for g in GROUPS + ["total"]}
        self.cs = m(*k, "context_switches_per_msg")
        self.migrations = m(*k, "cpu_migrations_per_msg")
        self.faults = m(*k, "page_faults_per_msg")
        self.lg_cpu = m("cost", "loadgen", "cpu_ns_per_msg")
        self.lg_calls = m("kernel", "loadgen", "syscalls_per_msg", "total")
        self.absent = sorted({a["event"] for r in rs for a in (figure(r, *k, "absent") or [])})
        svgs = [(name, figure(r, "kernel", "flamegraph", "svg")) for name, r in group]
        self.flame = next((svg for _, svg in svgs if svg), None)
        self.samples = figure(rs[0], "kernel", "flamegraph", "samples")

    def call(self, g):
        return self.calls.get(g)

    def sys_per_call(self):
        t = self.calls["total"]
        return self.sys / t if self.sys is not None and t else None


def fmt(v, spec="{:.2f}"):
    return "—" if v is None else spec.format(v)


def us(ns):
    return fmt(None if ns is None else ns / 1000)


def model_order(models):
    known = [m for m in ORDER if m in models]
    return known + sorted(m for m in models if m not in ORDER)


def table(cells, model):
    head = ("| clients | msgs/s | CPU/msg µs (user + sys) | syscalls/msg | "
            + " | ".join(GROUPS) + " | sys ns/call | cs/msg (vol + invol) | migr. | faults | flamegraph |")
    out = [head, "|" + "--:|" * (len(GROUPS) + 9) + "---|"]
    for n in CLIENTS:
        c = cells.get((model, n))
        if c is None:
            out.append(f"| {n:,} | not run |" + " |" * (len(GROUPS) + 8))
            continue
        flame = f"[svg](data/why/{c.flame})" if c.flame else "—"
        out.append(
            f"| {n:,} | {fmt(c.msgs, '{:,.0f}')} | {us(c.cpu)} ({us(c.user)} + {us(c.sys)}) | "
            f"{fmt(c.call('total'))} | " + " | ".join(fmt(c.call(g)) for g in GROUPS)
            + f" | {fmt(c.sys_per_call(), '{:.0f}')} | {fmt(c.cs)} ({fmt(c.vol)} + {fmt(c.invol)})"
            f" | {fmt(c.migrations, '{:.3f}')} | {fmt(c.faults, '{:.3f}')} | {flame} |")
    return "\n".join(out)


def generic_story(model, cells):
    """Sentences every model gets, from its numbers alone."""
    a, z = cells.get((model, 1)), cells.get((model, 1000))
    if a is None or z is None or a.cpu is None or z.cpu is None:
        return []
    top = lambda c: ", ".join(f"{g} {c.call(g):.2f}" for g in sorted(
        (g for g in GROUPS if (c.call(g) or 0) >= 0.05), key=lambda g: -(c.call(g) or 0))) or "none above 0.05"
    s = [f"At 1 client a message costs {a.cpu / 1000:.2f} µs of server CPU, "
         f"{100 * a.sys / a.cpu:.0f}% of it in the kernel, over {a.call('total'):.2f} system calls "
         f"({top(a)}); at 1,000 clients {z.cpu / 1000:.2f} µs over {z.call('total'):.2f} "
         f"({top(z)})."]
    if a.sys_per_call() and z.sys_per_call() and z.call("total") >= 0.5:
        s.append(f"A system call costs {a.sys_per_call():.0f} ns of kernel time on average at 1 client "
                 f"and {z.sys_per_call():.0f} ns at 1,000 (the kernel's network work for the "
                 f"message is done inside these calls, so this is what a call carries, not its "
                 f"entry cost).")
    if a.cs is not None and z.cs is not None:
        s.append(f"It is switched out {a.cs:.2f} times per message at 1 client and {z.cs:.2f} at "
                 f"1,000: " + ("it sleeps and is woken for almost every message when clients are "
                 "few, and batches wake-ups when many are ready." if a.cs >= 0.5 > z.cs else
                 "wake-ups stay per message as clients grow." if z.cs >= 0.5 else
                 "it rarely sleeps."))
    return s


def overhead():
    """Per model and mode: each run's server CPU/msg, and (counting modes) its syscalls and
    context switches per message."""
    if not OVERHEAD.is_dir():
        return None
    by = {}
    for p in sorted(OVERHEAD.glob("*.json")):
        model, mode, _ = p.stem.rsplit("-", 2)
        r = load(p)
        v = figure(r, "cost", "server", "cpu_ns_per_msg")
        if v is None:
            continue
        k = figure(r, "kernel", "server")
        by.setdefault(model, {}).setdefault(mode, []).append(
            (v, figure(k, "syscalls_per_msg", "total"), figure(k, "context_switches_per_msg")))
    return by


def overhead_section():
    by = overhead()
    if not by:
        return "No overhead data (run `bash scripts/why-data.sh overhead`).\n"
    modes = ["off", "counters", "flamegraph", "both"]
    lines = ["| model | runs per mode | off: CPU/msg µs (range) | `--kernel-counters` | Δ | "
             "`--flamegraph` | Δ | both | Δ | syscalls/msg | cs/msg |",
             "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    deltas = {m: [] for m in modes[1:]}
    for model in model_order(by):
        runs = by[model]
        cpu = {m: [v[0] for v in vs] for m, vs in runs.items()}
        base = statistics.median(cpu["off"]) if cpu.get("off") else None
        row = [model, str(min(len(v) for v in cpu.values()))]
        for mode in modes:
            vs = cpu.get(mode, [])
            if not vs:
                row += ["—"] if mode == "off" else ["—", "—"]
                continue
            med = statistics.median(vs)
            row.append(f"{med / 1000:.2f} ({min(vs) / 1000:.2f}–{max(vs) / 1000:.2f})")
            if mode != "off":
                d = 100 * (med / base - 1) if base else None
                row.append(fmt(d, "{:+.1f}%"))
                if d is not None:
                    deltas[mode].append((model, d, base, med))
        counted = runs.get("counters", [])
        row.append(fmt(median([v[1] for v in counted])))
        row.append(fmt(median([v[2] for v in counted])))
        lines.append("| " + " | ".join(row) + " |")
    out = "\n".join(lines) + "\n"
    said = lambda ds: "; ".join(f"{m} {(c - b) / 1000:+.2f} µs ({d:+.1f}%)" for m, d, b, c in ds)
    if deltas["counters"]:
        worst = max(deltas["counters"], key=lambda x: x[1])
        out += (f"\nThe counters change the median CPU per message by {said(deltas['counters'])}: "
                "the 2% budget is "
                + ("met." if worst[1] <= 2.0 else
                   f"**not met** (worst {worst[1]:+.1f}%, {worst[0]}), which is why they are off "
                   "by default.")
                + " While a system-call tracepoint is counted, every system call takes the "
                "kernel's traced entry path, and every time a counted thread is switched out and "
                "in, its events (12 per thread) are switched with it: the model that switches "
                "once per message pays the most.")
    if deltas["flamegraph"]:
        out += (f" Sampling alone (`--flamegraph`, 997 Hz on each CPU) changes it by "
                f"{said(deltas['flamegraph'])} (a timer interrupt and a call-chain walk per "
                "sample, and loadgen's reading of them on the same two CPUs).")
    cond = OVERHEAD / "conditions.txt"
    cond = cond.read_text().strip().replace("\n", "; ") if cond.is_file() else "not recorded"
    return out + "\n" + f"Load average: {cond}.\n"


def floor_section():
    """The least that counting costs: no events, the software events alone, one unfiltered
    system-call counter alone, and loadgen's own set (scripts/why-counter-floor.sh)."""
    tsv = FLOOR / "runs.tsv"
    if not tsv.is_file():
        return "No floor data (run `bash scripts/why-counter-floor.sh`).\n"
    rows = list(csv.DictReader(tsv.open(), delimiter="\t"))
    modes = ["off", "software", "one-syscall-counter", "loadgen"]
    cpu = {}
    for r in rows:
        cpu.setdefault(r["model"], {}).setdefault(r["mode"], []).append(
            float(r["server_cpu_ns_per_msg"]) / 1000)
    lines = ["| model | runs per mode | off: CPU/msg µs (range) | software events only | Δ | "
             "one system-call counter only | Δ | `--kernel-counters` | Δ |",
             "|---|--:|--:|--:|--:|--:|--:|--:|--:|"]
    least = []
    for model in model_order(cpu):
        by = cpu[model]
        base = statistics.median(by["off"])
        row = [model, str(min(len(v) for v in by.values()))]
        for mode in modes:
            vs = by[mode]
            med = statistics.median(vs)
            row.append(f"{med:.2f} ({min(vs):.2f}–{max(vs):.2f})")
            if mode != "off":
                row.append(f"{100 * (med / base - 1):+.1f}%")
        least.append((model, 100 * (statistics.median(by["one-syscall-counter"]) / base - 1)))
        lines.append("| " + " | ".join(row) + " |")
    cond = FLOOR / "conditions.txt"
    cond = cond.read_text().strip().replace("\n", "; ") if cond.is_file() else "not recorded"
    said = "; ".join(f"{m} {d:+.1f}%" for m, d in least)
    return ("\n".join(lines) + "\n\n"
            f"Counting every system call of the window with a single event, unfiltered, already "
            f"changes the median CPU per message by {said}: the kernel runs the tracepoint on "
            "each call, and switches the event out and in with every counted thread. Per-thread "
            "counting over the whole window therefore cannot stay within 2% on this kernel, "
            "whatever the events; only counting part of the window (and scaling it) would, and "
            "that is not a count of the window. The software events alone cost the model that "
            "switches once per message the most. Load average: " + cond + ".\n")


def render():
    cells = {k: Cell(v) for k, v in runs().items()}
    models = model_order({m for m, _ in cells})
    cond = DATA / "conditions.txt"
    cond = cond.read_text().strip().replace("\n", "; ") if cond.is_file() else "not recorded"
    reps = sorted({c.n for c in cells.values()})
    out = [
        "# Why each model costs what it costs",
        "",
        "<!-- generated by scripts/why-doc.py from docs/data/why, docs/data/why-overhead and docs/data/why-floor; do not edit -->",
        "",
        "Every figure below is the server's, per echoed message, over the measured window of a",
        "closed-loop run (64 B raw messages, pipeline 1, 2 s after 1 s of warm-up), the median of "
        f"{'/'.join(map(str, reps))} repeats per cell. CPU time and the voluntary/involuntary split of",
        "context switches come from /proc (`cost`); system calls by name, context switches,",
        "migrations and page faults are counted by the kernel (`kernel`, perf_event_open on every",
        "server thread, inherited by the threads it starts). `sys ns/call` is the server's system",
        "CPU divided by its system calls. These runs had the counters and the sampling on, which",
        "raise the CPU per message (see [What counting costs](#what-counting-costs)): compare these",
        "CPU figures with each other, and take the plain ones from [results.md](results.md).",
        "The fields are described in",
        "[results/README.md](../results/README.md#kernel-work-per-message); `loadgen explain FILE` prints",
        "one run the same way. Each flamegraph is the server's on-CPU profile of one repeat (997 Hz",
        "per CPU, kernel frames included; user stacks are unwound by frame pointers, which release",
        "builds omit, so read the sampled function, not the chain below it).",
        "",
        f"Machine: {machine(cells)}; load average {cond}. Other builds may have been running.",
        "Regenerate: `bash scripts/why-data.sh sweep && bash scripts/why-data.sh overhead && "
        "bash scripts/why-counter-floor.sh && "
        "python3 scripts/why-doc.py`.",
        "",
        "## What counting costs",
        "",
        "The server's CPU per message (from /proc, which counting does not touch) with nothing asked",
        "of the kernel (the default), with the counters, with the sampling, and with both,",
        "interleaved (`scripts/why-data.sh overhead`):",
        "",
        overhead_section(),
        "### The least that counting costs",
        "",
        "Each part of the counting alone, interleaved, the server's CPU per message from /proc "
        "(`bash scripts/why-counter-floor.sh`; the first two opened by `perf stat -p` on the "
        "server's threads, inherited, as loadgen opens its own):",
        "",
        floor_section(),
    ]
    for model in models:
        out += [f"## {model}", "", table(cells, model), ""]
        story = generic_story(model, cells) + [s(cells) for s in STORIES.get(model, [])]
        out += [" ".join(x for x in story if x), ""]
        claims = CLAIMS.get(model)
        if claims:
            out += [f"Claims of `{header(model)}`, checked:", ""]
            for text, check, *was in claims:
                figure_text, holds, correction = check(cells)
                verdict = "kept" if holds else f"**does not hold**: {correction}"
                if was:
                    verdict += f" (corrected from \"{was[0]}\")"
                out.append(f"- \"{text}\": {figure_text}. {verdict}.")
            out.append("")
        else:
            out += [f"The claims in this model's header are not checked here yet.", ""]
    return "\n".join(out).rstrip() + "\n"


def header(model):
    name = model.replace("-", "_")
    if model.startswith("tokio"):
        name = "tokio"
    path = f"servers/src/models/{name}.rs"
    if not (ROOT / path).is_file():
        path = f"servers/src/models/{name}/mod.rs"
    return path


def machine(cells):
    for p in sorted(DATA.glob("*.json")):
        r = load(p)
        if "machine" in r:
            m = r["machine"]
            return f"{m['cpus']} CPUs, {m['kernel']}"
    return "not recorded"


def main():
    text = render()
    if "--check" in sys.argv:
        if not OUT.is_file() or OUT.read_text() != text:
            print(f"{OUT} is not what the data gives: run python3 scripts/why-doc.py", file=sys.stderr)
            sys.exit(1)
        return
    OUT.write_text(text)


if __name__ == "__main__":
    main()
