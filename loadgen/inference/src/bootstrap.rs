//! The percentile bootstrap (Efron 1979; Efron & Tibshirani, *An Introduction to the Bootstrap*, 1993).
//!
//! The sampling distribution of a statistic is approximated by recomputing it on `B` resamples drawn
//! with replacement from the observed data; the 2.5th and 97.5th percentiles of those recomputed
//! values form the 95% interval. A bootstrap p-value for "the effect is zero" is read off the same
//! resamples: twice the smaller share of resampled statistics on either side of zero, with the
//! (count + 1) / (B + 1) correction so it is never exactly zero. It is the inversion of the
//! percentile interval, so "interval excludes zero" and "p below 1 − confidence" agree up to the
//! resolution of `B`.
//!
//! Limits worth knowing: the percentile interval of a median cannot reach beyond the sample's
//! range, so with very few runs (under about 8) it is narrower than the truth and its coverage
//! falls below the nominal level. Every resampling draw comes from a `SmallRng` seeded by the
//! caller, so a result is reproducible bit for bit.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::error::{check_open_unit, Error};
use crate::order_stats::{median_in_place, quantile_sorted};

/// How to bootstrap: number of resamples, RNG seed and confidence level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BootstrapConfig {
    /// Number of resamples B.
    pub resamples: usize,
    /// Seed of the resampling RNG; equal seeds give equal intervals.
    pub seed: u64,
    /// Two-sided confidence level, e.g. 0.95.
    pub confidence: f64,
}

impl Default for BootstrapConfig {
    fn default() -> Self {
        BootstrapConfig {
            resamples: 2_000,
            seed: 0x000E_C40B_E4C4,
            confidence: 0.95,
        }
    }
}

impl BootstrapConfig {
    /// Checks that the configuration can produce an interval.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.resamples < 100 {
            return Err(Error::BadParameter(
                "bootstrap needs at least 100 resamples",
            ));
        }
        check_open_unit(
            self.confidence,
            "confidence must lie strictly between 0 and 1",
        )
    }

    /// The same configuration with a seed derived from this one and `stream`, for independent draws.
    pub fn derive(&self, stream: u64) -> BootstrapConfig {
        // SplitMix64's increment spreads neighbouring stream numbers far apart.
        let seed = self.seed ^ stream.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        BootstrapConfig { seed, ..*self }
    }

    /// A fresh RNG for this configuration.
    pub(crate) fn rng(&self) -> SmallRng {
        SmallRng::seed_from_u64(self.seed)
    }
}

/// A bootstrap estimate: the statistic on the data, its interval and the two-sided p-value vs 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Estimate {
    pub point: f64,
    pub low: f64,
    pub high: f64,
    pub p_value: f64,
}

/// Fills `dst` with `src.len()` draws with replacement from `src`.
pub(crate) fn resample_into(rng: &mut SmallRng, src: &[f64], dst: &mut Vec<f64>) {
    dst.clear();
    dst.extend((0..src.len()).map(|_| src[rng.random_range(0..src.len())]));
}

/// Median of a resample of `src`, using `scratch` as the buffer.
pub(crate) fn resampled_median(rng: &mut SmallRng, src: &[f64], scratch: &mut Vec<f64>) -> f64 {
    resample_into(rng, src, scratch);
    median_in_place(scratch)
}

/// Turns resampled statistics into an interval and a p-value against zero; sorts `stats`.
pub(crate) fn summarize_resamples(point: f64, stats: &mut [f64], confidence: f64) -> Estimate {
    stats.sort_unstable_by(f64::total_cmp);
    let tail = (1.0 - confidence) / 2.0;
    let low = quantile_sorted(stats, tail);
    let high = quantile_sorted(stats, 1.0 - tail);
    let b = stats.len() as f64;
    let at_or_below = stats.partition_point(|&s| s <= 0.0) as f64;
    let below = stats.partition_point(|&s| s < 0.0) as f64;
    let at_or_above = b - below;
    let p_value = (2.0 * (at_or_below.min(at_or_above) + 1.0) / (b + 1.0)).min(1.0);
    Estimate {
        point,
        low,
        high,
        p_value,
    }
}

/// Percentile-bootstrap median of `xs` with its interval (p-value against a median of zero).
pub(crate) fn median_estimate(xs: &[f64], cfg: &BootstrapConfig) -> Estimate {
    let mut rng = cfg.rng();
    let mut scratch = Vec::with_capacity(xs.len());
    let mut stats: Vec<f64> = (0..cfg.resamples)
        .map(|_| resampled_median(&mut rng, xs, &mut scratch))
        .collect();
    let point = median_in_place(&mut xs.to_vec());
    summarize_resamples(point, &mut stats, cfg.confidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_sample_gives_a_point_interval() {
        let e = median_estimate(&[5.0; 9], &BootstrapConfig::default());
        assert_eq!((e.point, e.low, e.high), (5.0, 5.0, 5.0));
    }

    #[test]
    fn same_seed_same_interval_other_seeds_differ() {
        let xs: Vec<f64> = (0..15).map(|i| (f64::from(i) * 1.7).sin() + 3.0).collect();
        let cfg = BootstrapConfig::default();
        assert_eq!(median_estimate(&xs, &cfg), median_estimate(&xs, &cfg));
        let ends: Vec<(f64, f64)> = (0..6)
            .map(|s| median_estimate(&xs, &cfg.derive(s)))
            .map(|e| (e.low, e.high))
            .collect();
        assert!(ends.iter().any(|e| *e != ends[0]), "{ends:?}");
    }

    #[test]
    fn p_value_small_when_all_resamples_positive() {
        let e = median_estimate(&[1.0, 1.1, 0.9, 1.2, 1.05], &BootstrapConfig::default());
        assert!(e.p_value < 0.002, "p = {}", e.p_value);
        assert!(e.low > 0.0);
    }

    #[test]
    fn bad_config_is_rejected() {
        let cfg = BootstrapConfig {
            confidence: 1.0,
            ..Default::default()
        };
        assert!(cfg.validate().is_err());
        let cfg = BootstrapConfig {
            resamples: 10,
            ..Default::default()
        };
        assert!(cfg.validate().is_err());
    }
}
