#!/usr/bin/env python3
"""Checks a `loadgen merge` result against the shard results it was made from.

    scripts/check-merged.py MERGED.json SHARD.json... [--window-tolerance-ms 10] [--no-window-check]

Independently of loadgen's own code, it decodes every latency histogram (HdrHistogram V2
compressed, base64: the encoding results/README.md describes), adds the shards' counts bucket by
bucket, and checks that:
  - the merged message count equals the sum of the shards' counts;
  - the merged histogram equals the bucket-wise sum of the shards' histograms;
  - the merged p50/p99/p99.9 equal those of the combined histogram, computed here the way
    HdrHistogram's value_at_quantile does (highest value equivalent to the bucket reached);
  - every shard and the merge passed (no lost or corrupted echo, no failed connection);
  - the shards' measured windows opened within the tolerance of each other
    (`window_start_unix_ns`; skipped with --no-window-check).
Prints a table of the shards and the merge. Exit status 0 all hold, 1 one does not, 2 bad input.
Needs only the Python standard library.
"""
import argparse
import base64
import json
import math
import struct
import sys
import zlib

# The cookies' 0xF0 bits carry the word size (0x10 for 8-byte counts); they are masked off.
V2_COMPRESSED_COOKIE = 0x1C849304
V2_COOKIE = 0x1C849303
WORD_SIZE_BITS = 0xF0


class Histogram:
    """The counts of one HdrHistogram, by bucket index, with what is needed to name the values."""

    def __init__(self, encoded):
        raw = base64.b64decode(encoded)
        cookie, length = struct.unpack(">iI", raw[:8])
        if cookie & 0xFFFFFFFF & ~WORD_SIZE_BITS != V2_COMPRESSED_COOKIE:
            raise ValueError(f"not a V2 compressed histogram (cookie {cookie:#x})")
        body = zlib.decompress(raw[8 : 8 + length])
        (cookie, payload_len, offset, sigfig, lowest, highest, _ratio) = struct.unpack(
            ">iiiiqqd", body[:40]
        )
        if cookie & 0xFFFFFFFF & ~WORD_SIZE_BITS != V2_COOKIE or offset != 0:
            raise ValueError(f"unexpected V2 header (cookie {cookie:#x}, offset {offset})")
        self.layout = (sigfig, lowest, highest)
        self.counts = decode_counts(body[40 : 40 + payload_len])
        largest = 2 * 10**sigfig
        self.sub_bucket_half_magnitude = math.ceil(math.log2(largest)) - 1
        self.unit_magnitude = int(math.floor(math.log2(lowest)))

    def total(self):
        return sum(self.counts)

    def add(self, other):
        if other.layout != self.layout:
            raise ValueError(f"histograms differ in layout: {self.layout} vs {other.layout}")
        if len(other.counts) > len(self.counts):
            self.counts += [0] * (len(other.counts) - len(self.counts))
        for i, c in enumerate(other.counts):
            self.counts[i] += c

    def trimmed(self):
        end = len(self.counts)
        while end and self.counts[end - 1] == 0:
            end -= 1
        return self.counts[:end]

    def value_at_quantile(self, q):
        """HdrHistogram's value_at_quantile: the highest value equivalent to the bucket where the
        running count first reaches ceil(q * total) (at least 1)."""
        target = max(1, math.ceil(q * self.total()))
        running = 0
        for i, c in enumerate(self.counts):
            running += c
            if running >= target:
                return self.highest_equivalent(i)
        return 0

    def highest_equivalent(self, index):
        half = 1 << self.sub_bucket_half_magnitude
        bucket = (index >> self.sub_bucket_half_magnitude) - 1
        sub_bucket = (index & (half - 1)) + half
        if bucket < 0:
            sub_bucket -= half
            bucket = 0
        lowest = sub_bucket << (bucket + self.unit_magnitude)
        return lowest + (1 << (bucket + self.unit_magnitude)) - 1


def decode_counts(payload):
    """ZigZag LEB128 counts (at most 9 bytes each); a negative value -n is n empty buckets."""
    counts, i = [], 0
    while i < len(payload):
        value, shift = 0, 0
        for n in range(9):
            byte = payload[i]
            i += 1
            if n == 8:
                value |= byte << 56
                break
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte & 0x80 == 0:
                break
        value = (value >> 1) ^ -(value & 1)
        if value < 0:
            counts.extend([0] * -value)
        else:
            counts.append(value)
    return counts


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        print(f"check-merged: cannot read {path}: {e}", file=sys.stderr)
        sys.exit(2)


def error_total(result):
    return sum(v for v in result["totals"]["errors"].values() if isinstance(v, int))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("merged")
    ap.add_argument("shards", nargs="+")
    ap.add_argument("--window-tolerance-ms", type=float, default=10.0)
    ap.add_argument("--no-window-check", action="store_true")
    args = ap.parse_args()

    merged = load(args.merged)
    shards = [load(p) for p in args.shards]
    failures = []

    print("| result | clients | messages | msgs/s | p50 µs | p99 µs | p99.9 µs | errors | passed |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, r in [(p, s) for p, s in zip(args.shards, shards)] + [("merged", merged)]:
        lat = r["latency_us"]
        print(f"| {name} | {r['config']['clients']} | {r['totals']['messages']} | "
              f"{r['throughput']['msgs_per_sec']:.0f} | {lat['p50']} | {lat['p99']} | "
              f"{lat['p99_9']} | {error_total(r)} | {r['passed']} |")
    print()

    want = sum(s["totals"]["messages"] for s in shards)
    if merged["totals"]["messages"] != want:
        failures.append(f"merged messages {merged['totals']['messages']} != shard sum {want}")

    try:
        combined = Histogram(shards[0]["histograms"]["latency"])
        for s in shards[1:]:
            combined.add(Histogram(s["histograms"]["latency"]))
        merged_hist = Histogram(merged["histograms"]["latency"])
    except (ValueError, KeyError, zlib.error, struct.error) as e:
        print(f"check-merged: cannot decode a latency histogram: {e}", file=sys.stderr)
        sys.exit(2)
    # The decoder checks itself first: each shard's own percentiles must come out as it reported.
    for path, s in zip(args.shards, shards):
        own = Histogram(s["histograms"]["latency"])
        for field, q in [("p50", 0.5), ("p99", 0.99)]:
            if own.value_at_quantile(q) != s["latency_us"][field]:
                failures.append(f"{path}: decoded {field} {own.value_at_quantile(q)} != reported "
                                f"{s['latency_us'][field]} (decoder and loadgen disagree)")
    if merged_hist.trimmed() != combined.trimmed():
        failures.append("merged histogram differs from the bucket-wise sum of the shards'")
    if combined.total() != want:
        failures.append(f"combined histogram holds {combined.total()} values, shards report {want}")
    for field, q in [("p50", 0.5), ("p99", 0.99), ("p99_9", 0.999)]:
        ours, theirs = combined.value_at_quantile(q), merged["latency_us"][field]
        status = "ok" if ours == theirs else "DIFFERS"
        print(f"{field}: merged {theirs} µs, combined histogram {ours} µs: {status}")
        if ours != theirs:
            failures.append(f"merged {field} {theirs} != combined histogram's {ours}")

    for path, s in zip(args.shards, shards):
        if not s.get("passed") or error_total(s):
            failures.append(f"{path}: did not pass ({error_total(s)} errors, warnings {s.get('warnings')})")
    if not merged.get("passed"):
        failures.append("merged result did not pass")

    if not args.no_window_check:
        starts = [s.get("window_start_unix_ns") for s in shards]
        if any(v is None for v in starts):
            failures.append("a shard result has no window_start_unix_ns: windows cannot be compared")
        else:
            spread_ms = (max(starts) - min(starts)) / 1e6
            print(f"window starts spread: {spread_ms * 1000:.0f} µs (tolerance "
                  f"{args.window_tolerance_ms} ms)")
            if spread_ms > args.window_tolerance_ms:
                failures.append(f"windows opened {spread_ms:.3f} ms apart, more than "
                                f"{args.window_tolerance_ms} ms")

    for f in failures:
        print(f"FAIL {f}", file=sys.stderr)
    if not failures:
        print(f"check-merged: ok: {len(shards)} shards, {want} messages, merge exact", file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
