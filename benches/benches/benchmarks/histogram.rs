//! The cost of recording one latency sample, the only work loadgen adds per message.

use std::hint::black_box;

use criterion::{criterion_group, Criterion, Throughput};
use hdrhistogram::Histogram;

fn record(c: &mut Criterion) {
    let mut group = c.benchmark_group("histogram");
    group.throughput(Throughput::Elements(1));
    group.bench_function("record", |b| {
        // The same bounds loadgen uses: 1 µs to 60 s, 3 significant digits.
        let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("bounds");
        let mut v = 1u64;
        b.iter(|| {
            v = v
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            h.record(black_box(1 + (v >> 44) % 100_000))
                .expect("in range");
        });
    });
    group.finish();
}

criterion_group!(benches, record);
