//! `cargo bench -p benches`: HTML reports land in `target/criterion/`.

use criterion::criterion_main;

mod benchmarks;

criterion_main! {
    benchmarks::codec::benches,
    benchmarks::histogram::benches,
    benchmarks::roundtrip::benches,
}
