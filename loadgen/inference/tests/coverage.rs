//! Coverage of the 95% intervals: over many seeded synthetic datasets with a known true ratio, the
//! interval should contain the truth in roughly 95% of them. Bounded: 200 datasets per method. The
//! percentile bootstrap of a median is known to cover slightly less than nominal at small n, so
//! the accepted band is 90–99%.

use loadgen_inference::{compare_paired, compare_unpaired, BootstrapConfig};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const DATASETS: u64 = 200;
const TRUE_RATIO: f64 = 1.10;

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut SmallRng) -> f64 {
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Lognormal runs around `level` with log-SD `sd`; its median is exactly `level`.
fn runs(rng: &mut SmallRng, n: usize, level: f64, sd: f64) -> Vec<f64> {
    (0..n).map(|_| level * (sd * normal(rng)).exp()).collect()
}

/// Counts the datasets whose interval from `method` covers the true Δ.
fn covered(method: impl Fn(&mut SmallRng, &BootstrapConfig) -> (f64, f64)) -> u64 {
    let truth = TRUE_RATIO - 1.0;
    (0..DATASETS)
        .filter(|&seed| {
            let mut rng = SmallRng::seed_from_u64(1_000 + seed);
            let cfg = BootstrapConfig {
                seed,
                ..Default::default()
            };
            let (low, high) = method(&mut rng, &cfg);
            low <= truth && truth <= high
        })
        .count() as u64
}

#[test]
fn unpaired_ratio_of_medians_covers_about_95_percent() {
    let hits = covered(|rng, cfg| {
        let a = runs(rng, 20, 100.0, 0.08);
        let b = runs(rng, 20, 100.0 * TRUE_RATIO, 0.08);
        let d = compare_unpaired(&a, &b, cfg).unwrap();
        (d.low, d.high)
    });
    assert!((180..=198).contains(&hits), "covered {hits} of {DATASETS}");
}

#[test]
fn paired_median_log_ratio_covers_about_95_percent() {
    let hits = covered(|rng, cfg| {
        // Shared per-round drift of 20%, per-run noise 4%: pairing must cancel the drift.
        let drift = runs(rng, 20, 1.0, 0.2);
        let a: Vec<f64> = drift
            .iter()
            .map(|d| 100.0 * d * (0.04 * normal(rng)).exp())
            .collect();
        let b: Vec<f64> = drift
            .iter()
            .map(|d| 100.0 * TRUE_RATIO * d * (0.04 * normal(rng)).exp())
            .collect();
        let d = compare_paired(&a, &b, cfg).unwrap();
        (d.low, d.high)
    });
    assert!((180..=198).contains(&hits), "covered {hits} of {DATASETS}");
}
