//! Comparing a base side A with a new side B as Δ = B/A − 1, with a bootstrap interval and the change it shows.
//!
//! - **Unpaired** (the two sides ran at different times): the ratio of medians, bootstrapped by
//!   resampling each side independently (Efron & Tibshirani 1993, ch. 8, two-sample problems).
//! - **Paired** (the runs were interleaved A B A B … in one job, so run i of A and run i of B saw the
//!   same machine state): the median of the per-pair log-ratios ln(Bᵢ/Aᵢ), bootstrapped over pairs
//!   and reported back as exp(·) − 1. Interleaving makes slow drift hit both sides alike and pairing
//!   cancels it (Abedi & Brecht, "Conducting Repeatable Experiments in Highly Variable Cloud
//!   Computing Environments", ICPE 2017: randomized multiple interleaved trials).
//!
//! With few pairs the bootstrap of the median behaves like a sign test: with 5 pairs its interval
//! excludes zero essentially only when all 5 log-ratios share a sign (probability 2/32 = 6.25% under
//! no change, against the nominal 5%), and one pair going the other way makes the Δ "not
//! significant". That is robust to a single disturbed run, at the price of power; 8 or more pairs
//! are where the interval's coverage approaches its nominal level.
//!
//! The p-value that rankings adjust (Holm) and that [`Delta::excludes_zero`]'s callers read beside
//! the interval is the larger of the bootstrap's and a t-test's on the same log scale (paired:
//! one-sample on the log-ratios; unpaired: Welch on the log values). At 5 runs the bootstrap's
//! own p is about 0.001 whenever the signs agree, however widely the ratios spread, which would
//! let Holm's correction pass differences the data cannot carry (see [`crate::t_test`]).
//!
//! Ratios are bootstrapped on the log scale so that a p-value against "no change" is a test of zero,
//! and +10% and −9.1% (its inverse) are equally far from it.

use serde::{Deserialize, Serialize};

use crate::bootstrap::{median_estimate, resampled_median, summarize_resamples, BootstrapConfig};
use crate::error::{check_positive, Error};
use crate::order_stats::median;
use crate::percent::delta_with_interval;
use crate::t_test;

/// Which way a metric improves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    /// Larger is better (throughput, msgs/s).
    HigherIsBetter,
    /// Smaller is better (CPU per message, latency).
    LowerIsBetter,
}

/// How the runs of the two sides relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Pairing {
    /// Independent runs; compare medians.
    Unpaired,
    /// Interleaved runs; pair run i of one side with run i of the other.
    Paired,
}

/// Relative change B/A − 1 with its interval; fractions, so 0.10 means +10%.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    /// Point estimate of B/A − 1.
    pub estimate: f64,
    /// Lower end of the interval.
    pub low: f64,
    /// Upper end of the interval.
    pub high: f64,
    /// Two-sided p-value against "no change": the larger of the bootstrap's and the t-test's.
    pub p_value: f64,
    /// Confidence level of the interval.
    pub confidence: f64,
    /// Runs on the base side.
    pub n_base: usize,
    /// Runs on the new side.
    pub n_new: usize,
    /// Whether the runs were paired.
    pub pairing: Pairing,
}

impl Delta {
    /// Whether the interval excludes zero.
    pub fn excludes_zero(&self) -> bool {
        self.low > 0.0 || self.high < 0.0
    }
}

/// Compares independent samples: bootstrap of the ratio of medians.
pub fn compare_unpaired(base: &[f64], new: &[f64], cfg: &BootstrapConfig) -> Result<Delta, Error> {
    check_positive("base", base, 1)?;
    check_positive("new", new, 1)?;
    cfg.validate()?;
    let mut rng = cfg.rng();
    let (mut sa, mut sb) = (
        Vec::with_capacity(base.len()),
        Vec::with_capacity(new.len()),
    );
    let mut stats: Vec<f64> = (0..cfg.resamples)
        .map(|_| {
            let ma = resampled_median(&mut rng, base, &mut sa);
            let mb = resampled_median(&mut rng, new, &mut sb);
            (mb / ma).ln()
        })
        .collect();
    let point = (median(new) / median(base)).ln();
    let est = summarize_resamples(point, &mut stats, cfg.confidence);
    let logs = |xs: &[f64]| xs.iter().map(|x| x.ln()).collect::<Vec<f64>>();
    Ok(Delta {
        estimate: est.point.exp() - 1.0,
        low: est.low.exp() - 1.0,
        high: est.high.exp() - 1.0,
        p_value: est.p_value.max(t_test::welch(&logs(base), &logs(new))),
        confidence: cfg.confidence,
        n_base: base.len(),
        n_new: new.len(),
        pairing: Pairing::Unpaired,
    })
}

/// Per-pair log-ratios ln(newᵢ/baseᵢ), checking that the sides pair up.
pub fn log_ratios(base: &[f64], new: &[f64]) -> Result<Vec<f64>, Error> {
    if base.len() != new.len() {
        return Err(Error::LengthMismatch {
            base: base.len(),
            new: new.len(),
        });
    }
    check_positive("base", base, 1)?;
    check_positive("new", new, 1)?;
    Ok(base.iter().zip(new).map(|(a, b)| (b / a).ln()).collect())
}

/// Compares interleaved samples: bootstrap of the median per-pair log-ratio.
pub fn compare_paired(base: &[f64], new: &[f64], cfg: &BootstrapConfig) -> Result<Delta, Error> {
    let ratios = log_ratios(base, new)?;
    cfg.validate()?;
    let est = median_estimate(&ratios, cfg);
    Ok(Delta {
        estimate: est.point.exp() - 1.0,
        low: est.low.exp() - 1.0,
        high: est.high.exp() - 1.0,
        p_value: est.p_value.max(t_test::one_sample(&ratios)),
        confidence: cfg.confidence,
        n_base: base.len(),
        n_new: new.len(),
        pairing: Pairing::Paired,
    })
}

/// Compares with the given pairing.
pub fn compare(
    base: &[f64],
    new: &[f64],
    pairing: Pairing,
    cfg: &BootstrapConfig,
) -> Result<Delta, Error> {
    match pairing {
        Pairing::Unpaired => compare_unpaired(base, new, cfg),
        Pairing::Paired => compare_paired(base, new, cfg),
    }
}

/// What a comparison concludes about B relative to A.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    /// B is better on the metric (direction-aware: less CPU, or more msgs/s).
    Faster,
    /// B is worse on the metric.
    Slower,
    /// The interval contains zero, the t-test does not support the change, or the change is
    /// below the minimum effect.
    NoDifference,
}

/// Classifies a Δ: a difference needs an interval that excludes zero, a p-value below
/// 1 − confidence (the t-test agrees), and |Δ| ≥ `min_effect`.
pub fn classify(delta: &Delta, direction: Direction, min_effect: f64) -> Change {
    let supported = delta.excludes_zero() && delta.p_value < 1.0 - delta.confidence;
    if !supported || delta.estimate.abs() < min_effect {
        return Change::NoDifference;
    }
    let grew = delta.estimate > 0.0;
    match (direction, grew) {
        (Direction::HigherIsBetter, true) | (Direction::LowerIsBetter, false) => Change::Faster,
        _ => Change::Slower,
    }
}

/// A named comparison, ready to be printed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// Name of side A.
    pub base: String,
    /// Name of side B.
    pub new: String,
    /// Name of the metric, e.g. "server CPU/msg".
    pub metric: String,
    /// The measured change.
    pub delta: Delta,
    /// The conclusion.
    pub change: Change,
}

impl Comparison {
    /// Bundles a Δ with its names and change.
    pub fn new(base: &str, new: &str, metric: &str, delta: Delta, change: Change) -> Self {
        Comparison {
            base: base.to_owned(),
            new: new.to_owned(),
            metric: metric.to_owned(),
            delta,
            change,
        }
    }

    /// One line: "mio → uring: server CPU/msg −12% [−18%, −6%]" or "a vs b: no difference detected".
    pub fn describe(&self) -> String {
        match self.change {
            Change::NoDifference => {
                format!("{} vs {}: no difference detected", self.base, self.new)
            }
            Change::Faster | Change::Slower => format!(
                "{} \u{2192} {}: {} {}",
                self.base,
                self.new,
                self.metric,
                delta_with_interval(self.delta.estimate, self.delta.low, self.delta.high)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: [f64; 8] = [100.0, 97.0, 104.0, 99.0, 101.0, 103.0, 98.0, 102.0];

    #[test]
    fn paired_exact_ten_percent_is_a_tight_ten_percent() {
        let new: Vec<f64> = BASE.iter().map(|a| a * 1.10).collect();
        let d = compare_paired(&BASE, &new, &BootstrapConfig::default()).unwrap();
        for v in [d.estimate, d.low, d.high] {
            assert!((v - 0.10).abs() < 1e-12, "{d:?}");
        }
        assert_eq!(classify(&d, Direction::LowerIsBetter, 0.0), Change::Slower);
        assert_eq!(classify(&d, Direction::HigherIsBetter, 0.0), Change::Faster);
        assert_eq!(
            classify(&d, Direction::HigherIsBetter, 0.2),
            Change::NoDifference
        );
    }

    #[test]
    fn five_same_sign_ratios_far_apart_are_no_difference() {
        // Every pair says "B costs more", by +0.1% to +50%: the bootstrap's interval excludes
        // zero, but that spread over 5 pairs is no evidence of a change.
        let base = [100.0; 5];
        let new = [100.1, 130.0, 102.0, 100.5, 150.0];
        let d = compare_paired(&base, &new, &BootstrapConfig::default()).unwrap();
        assert!(d.excludes_zero(), "{d:?}");
        assert!(d.p_value > 0.1, "{d:?}");
        assert_eq!(
            classify(&d, Direction::LowerIsBetter, 0.0),
            Change::NoDifference
        );
    }

    #[test]
    fn pairing_removes_drift_that_hides_an_unpaired_difference() {
        // Shared drift of ±20% between rounds; B costs 5% more in every round.
        let drift = [1.0, 1.2, 0.8, 1.1, 0.9, 1.15, 0.85, 1.05];
        let a: Vec<f64> = drift.iter().map(|d| 100.0 * d).collect();
        let b: Vec<f64> = drift.iter().map(|d| 105.0 * d).collect();
        let cfg = BootstrapConfig::default();
        let paired = compare_paired(&a, &b, &cfg).unwrap();
        let unpaired = compare_unpaired(&a, &b, &cfg).unwrap();
        assert!(paired.excludes_zero(), "{paired:?}");
        assert!(!unpaired.excludes_zero(), "{unpaired:?}");
    }

    #[test]
    fn unpaired_interval_brackets_ratio_of_medians() {
        let new: Vec<f64> = BASE.iter().map(|a| a * 0.88).collect();
        let d = compare_unpaired(&BASE, &new, &BootstrapConfig::default()).unwrap();
        assert!((d.estimate + 0.12).abs() < 1e-12);
        assert!(d.low <= d.estimate && d.estimate <= d.high);
        assert!(d.high < 0.0, "{d:?}");
    }

    #[test]
    fn describe_uses_arrow_minus_and_interval() {
        let delta = Delta {
            estimate: -0.12,
            low: -0.18,
            high: -0.06,
            p_value: 0.001,
            confidence: 0.95,
            n_base: 5,
            n_new: 5,
            pairing: Pairing::Paired,
        };
        let v = classify(&delta, Direction::LowerIsBetter, 0.0);
        let c = Comparison::new("mio", "uring", "server CPU/msg", delta, v);
        assert_eq!(
            c.describe(),
            "mio \u{2192} uring: server CPU/msg \u{2212}12% [\u{2212}18%, \u{2212}6%]"
        );
        let none = Delta {
            low: -0.02,
            high: 0.03,
            estimate: 0.004,
            ..delta
        };
        let v = classify(&none, Direction::LowerIsBetter, 0.0);
        let c = Comparison::new("tokio", "tokio-current-thread", "msgs/s", none, v);
        assert_eq!(
            c.describe(),
            "tokio vs tokio-current-thread: no difference detected"
        );
    }

    #[test]
    fn mismatched_or_nonpositive_input_is_an_error() {
        let cfg = BootstrapConfig::default();
        assert!(matches!(
            compare_paired(&[1.0, 2.0], &[1.0], &cfg),
            Err(Error::LengthMismatch { base: 2, new: 1 })
        ));
        assert!(matches!(
            compare_unpaired(&[1.0, 0.0], &[1.0], &cfg),
            Err(Error::NotPositive { index: 1, .. })
        ));
    }
}
