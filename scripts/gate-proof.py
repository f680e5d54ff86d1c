#!/usr/bin/env python3
"""The summary of scripts/gate-proof.sh: detection (planted trials that failed the gate with
exit 1) and A/A passes (exit 0), each with its Clopper–Pearson 95% interval; the two targets and
whether they are met; what the gate can resolve per case from the A/A pair SDs the trials
measured; and every trial.

    python3 scripts/gate-proof.py docs/data/gate/proof.tsv
"""
import csv
import math
import os
import re
import statistics
import sys
from collections import defaultdict

# One-sided t quantile at 95% for 6 degrees of freedom (7 pairs), and normal quantiles for a
# detection of 95% in one run and of 97.5% per run (95% for both runs of CI's rule).
T95_6 = 1.943
Z95, Z975 = 1.645, 1.960
PAIRS = 7
THRESHOLD = 3.0
# The targets: a planted +10% fails, and an A/A trial passes, in at least 19 of 20.
TARGET = 0.95
LINE = re.compile(r"^(.+?): server CPU/msg .* over (\d+) pairs, pair SD ([0-9.]+)%")


def binom_cdf(k, n, p):
    """P(X <= k) for X ~ Binomial(n, p)."""
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k + 1))


def solve(f, target):
    """p in [0, 1] with f(p) = target, f decreasing in p (bisection, 60 steps)."""
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if f(mid) > target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def clopper_pearson(k, n, alpha=0.05):
    """The exact two-sided 1 - alpha interval of a binomial proportion k / n."""
    lower = 0.0 if k == 0 else solve(lambda p: binom_cdf(k - 1, n, p), 1 - alpha / 2)
    upper = 1.0 if k == n else solve(lambda p: binom_cdf(k, n, p), alpha / 2)
    return lower, upper


def line(what, k, n):
    if n == 0:
        return f"| {what} | 0 trials | — | — |"
    lo, hi = clopper_pearson(k, n)
    return f"| {what} | {k} of {n} | {100 * k / n:.0f}% | {100 * lo:.1f}% – {100 * hi:.1f}% |"


def aa_spread(rows, path):
    """Per case, the pair SDs of server CPU/msg measured where nothing was planted in it."""
    sds = defaultdict(list)
    folder = os.path.join(os.path.dirname(path), "proof")
    for r in rows:
        planted = r["model"]
        try:
            text = open(os.path.join(folder, f"trial-{r['trial']}.txt")).read()
        except OSError:
            continue
        for line in text.splitlines():
            m = LINE.match(line)
            if m and m.group(1).split(" [")[0] != planted:
                sds[m.group(1)].append(float(m.group(3)))
    return sds


def planted_verdicts(row, path):
    """The planted model's CPU/msg verdicts in the trial's first run: (case, Δ, lower bound,
    pair SD in percent), or None when the trial's output is missing."""
    folder = os.path.join(os.path.dirname(path), "proof")
    try:
        text = open(os.path.join(folder, f"trial-{row['trial']}.txt")).read()
    except OSError:
        return None
    out, seen = [], set()
    for line in text.splitlines():
        m = re.match(r"^(.+?): server CPU/msg (\S+) \[lower bound (\S+)\] over \d+ pairs, pair SD ([0-9.]+)%", line)
        if m and m.group(1).split(" [")[0] == row["model"] and m.group(1) not in seen:
            seen.add(m.group(1))
            out.append((m.group(1), m.group(2), m.group(3), float(m.group(4))))
    return out


def planted_lines(verdicts):
    """planted_verdicts, shortened to one cell."""
    if not verdicts:
        return "?"
    return "; ".join(f"{case} {delta} [{lower}], {sd:.1f}%" for case, delta, lower, sd in verdicts)


def smallest(sd, z):
    """The smallest rise caught with the power z stands for, at a pair SD of sd percent."""
    return THRESHOLD + (T95_6 + z) * sd / math.sqrt(PAIRS)


def targets(caught, planted, passed, aa):
    """Each target beside what was measured: met only when the rate reaches 95%."""
    print()
    print("| target | measured | met |")
    print("|---|---|---|")
    for what, k, n in (("planted +10% fails the gate", caught, planted), ("A/A passes the gate", passed, aa)):
        lo, _ = clopper_pearson(k, n) if n else (0.0, 0.0)
        if n < 20:
            met = f"not yet ({n} of 20 trials)"
        else:
            met = "yes" if k >= TARGET * n else "no"
        print(f"| {what} in ≥ 19 of 20 | {k} of {n}, lower 95% bound {100 * lo:.1f}% | {met} |")


def resolution(rows, path):
    """Per case, the smallest rise the gate catches at the median A/A spread; returns the worst."""
    worst = (0.0, "")
    print()
    print(
        f"| case | A/A pair SD of CPU/msg, median [range] over trials | smallest rise caught with "
        f"95% in one run | … in both runs (CI's rule) |"
    )
    print("|---|---|---|---|")
    for case, sds in sorted(aa_spread(rows, path).items()):
        sd = statistics.median(sds)
        one, both = smallest(sd, Z95), smallest(sd, Z975)
        print(f"| {case} | {sd:.1f}% [{min(sds):.1f}, {max(sds):.1f}] | +{one:.0f}% | +{both:.0f}% |")
        worst = max(worst, (both, case))
    print()
    print(
        f"Smallest rise: the {THRESHOLD:.0f}% threshold plus (t(0.95, {PAIRS - 1}) + z) × SD / √{PAIRS} "
        "(normal approximation at the median SD)."
    )
    return worst


def misses(rows, path, worst):
    """What the resolution says about the planted trials the gate did not fail."""
    both, case = worst
    print()
    print(
        f"At CI's rule every case resolves +{both:.0f}% or less at its median A/A spread "
        f"(the widest: {case}), so a +10% plant that lands at +10% in a run with that spread is "
        "caught; a planted trial the gate passed was one where it did not:"
    )
    for r in rows:
        if r["kind"] == "planted" and r["exit"] != "1":
            if r["exit"] == "2":
                print(f"- trial {r['trial']}, {r['plant']}: its plant could not be sized")
                continue
            verdicts = planted_verdicts(r, path)
            why = planted_lines(verdicts)
            if verdicts:
                sd = max(v[3] for v in verdicts)
                why += f"; at a pair SD of {sd:.1f}% CI's rule resolves +{smallest(sd, Z975):.0f}%"
            print(f"- trial {r['trial']}, {r['plant']}: {why}")


def main(path):
    rows = list(csv.DictReader(open(path), delimiter="\t"))
    planted = [r for r in rows if r["kind"] == "planted"]
    aa = [r for r in rows if r["kind"] == "aa"]
    caught = sum(r["exit"] == "1" for r in planted)
    passed = sum(r["exit"] == "0" for r in aa)
    unsized = [r for r in planted if r["exit"] == "2"]
    print("| trials | count | rate | Clopper–Pearson 95% |")
    print("|---|---|---|---|")
    print(line("planted +10% failed the gate (detection)", caught, len(planted)))
    print(line("… of the planted trials whose plant could be sized", caught, len(planted) - len(unsized)))
    print(line("planted trials whose plant could not be sized (exit 2)", len(unsized), len(planted)))
    print(line("A/A passed the gate", passed, len(aa)))
    print(line("A/A failed the gate (false alarm)", len(aa) - passed, len(aa)))
    targets(caught, len(planted), passed, len(aa))
    misses(rows, path, resolution(rows, path))
    print()
    print("| trial | kind | plant | exit | load before | cases that failed | planted cases, first run: CPU/msg Δ [lower bound], pair SD |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['trial']} | {r['kind']} | {r['plant']} | {r['exit']} | {r['load_before']} "
            f"| {r['failed_cases']} | {'–' if r['model'] == '-' else planted_lines(planted_verdicts(r, path))} |"
        )


if __name__ == "__main__":
    main(sys.argv[1])
