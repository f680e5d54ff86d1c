#!/usr/bin/env python3
"""The table of scripts/plant-effects.sh: per plant kind, case and mode (duet, solo), the
effect on server CPU per message (median over repeats of each measurement's median per-pair
ratio new/base, with the range) and the added ns per message (same, of new - base).

    python3 scripts/plant-effects.py docs/data/gate/plant-effects.jsonl
"""
import json
import statistics
import sys
from collections import defaultdict


def main(path):
    runs = defaultdict(dict)
    for line in open(path):
        r = json.loads(line)
        case = r["model"] + (f" [{r['config']}]" if r.get("config") else "")
        key = (r["kind"], case, r["mode"], r["repeat"], r["pair"])
        runs[key][r["side"]] = r["cpu_ns_per_msg"]
    per_measurement = defaultdict(lambda: ([], []))
    for (kind, case, mode, rep, _), sides in runs.items():
        b, n = sides.get("base"), sides.get("new")
        if b and n:
            ratios, deltas = per_measurement[(kind, case, mode, rep)]
            ratios.append(n / b)
            deltas.append(n - b)
    cells = defaultdict(lambda: ([], []))
    for (kind, case, mode, _), (ratios, deltas) in per_measurement.items():
        effects, added = cells[(kind, case, mode)]
        effects.append(100 * (statistics.median(ratios) - 1))
        added.append(statistics.median(deltas))
    print("| plant | case | mode | CPU/msg effect, median [range] | added ns/msg, median [range] | measurements |")
    print("|---|---|---|---|---|---|")
    for (kind, case, mode) in sorted(cells):
        effects, added = cells[(kind, case, mode)]
        print(
            f"| `{kind}` | {case} | {mode} | {statistics.median(effects):+.1f}% "
            f"[{min(effects):+.1f}, {max(effects):+.1f}] | {statistics.median(added):.0f} "
            f"[{min(added):.0f}, {max(added):.0f}] | {len(effects)} |"
        )


if __name__ == "__main__":
    main(sys.argv[1])
