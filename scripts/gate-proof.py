#!/usr/bin/env python3
"""The summary of scripts/gate-proof.sh: detection (planted trials that failed the gate with
exit 1) and A/A passes (exit 0), each with its Clopper–Pearson 95% interval, and every trial.

    python3 scripts/gate-proof.py docs/data/gate/proof.tsv
"""
import csv
import math
import sys


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


def main(path):
    rows = list(csv.DictReader(open(path), delimiter="\t"))
    planted = [r for r in rows if r["kind"] == "planted"]
    aa = [r for r in rows if r["kind"] == "aa"]
    caught = sum(r["exit"] == "1" for r in planted)
    passed = sum(r["exit"] == "0" for r in aa)
    print("| trials | count | rate | Clopper–Pearson 95% |")
    print("|---|---|---|---|")
    print(line("planted +10% failed the gate (detection)", caught, len(planted)))
    print(line("A/A passed the gate", passed, len(aa)))
    print(line("A/A failed the gate (false alarm)", len(aa) - passed, len(aa)))
    print()
    print("| trial | kind | plant | exit | load before | cases that failed |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['trial']} | {r['kind']} | {r['plant']} | {r['exit']} | {r['load_before']} | {r['failed_cases']} |")


if __name__ == "__main__":
    main(sys.argv[1])
