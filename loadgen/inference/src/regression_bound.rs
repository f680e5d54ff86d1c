//! A one-sided paired bound on a mean log-ratio: does a paired comparison show, with stated
//! confidence, a regression larger than a threshold? (`loadgen gate` decides with it.)
//!
//! Input is n pairs (base, new) of one metric from interleaved runs in one job. With dᵢ the per-pair
//! log-ratio oriented so that positive means worse, mean d̄ and sample SD s, the one-sided lower
//! confidence bound at level 1 − α is L = d̄ − t₁₋α,ₙ₋₁ · s/√n. The check fails when
//! L > ln(1 + T): the new side is worse by more than T with confidence 1 − α. With T = 0 this is a
//! one-sided paired t-test at level α.
//!
//! Why a t bound on the mean and not the bootstrap of the median used for reporting: the CI gate runs
//! on 3–10 pairs, where a percentile bootstrap of the median cannot reach beyond the extreme pairs
//! (with 5 pairs its one-sided 95% bound is the smallest pair, i.e. a sign test whose smallest
//! possible p-value is 1/32). The t bound uses the spread of the pairs, its error rates follow from
//! the A/A spread in closed form (see the power module), and simulating it is cheap.

use serde::{Deserialize, Serialize};

use crate::compare::Direction;
use crate::distributions::t_quantile;
use crate::error::{check_finite, check_open_unit, check_positive, Error};
use crate::order_stats::{mean, sample_sd};
use crate::percent::signed_percent;

/// Settings of the bound: the regression it must be sure of, and how sure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BoundConfig {
    /// Regression (fraction, e.g. 0.03 = 3%) the lower bound must exceed for the check to fail.
    pub threshold: f64,
    /// One-sided error level α of the lower bound (confidence 1 − α).
    pub alpha: f64,
}

impl Default for BoundConfig {
    fn default() -> Self {
        BoundConfig {
            threshold: 0.03,
            alpha: 0.05,
        }
    }
}

/// The bound's decision on one metric of one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoundDecision {
    /// Whether the check passes (no regression beyond the threshold shown).
    pub pass: bool,
    /// Number of pairs judged.
    pub n_pairs: usize,
    /// Regression estimate, geometric-mean ratio − 1, positive = worse. For a higher-is-better
    /// metric the ratio is base/new, so a throughput fall from 100 to 80 reads +25%.
    pub regression: f64,
    /// One-sided lower confidence bound of the regression.
    pub lower_bound: f64,
    /// The threshold it was held to.
    pub threshold: f64,
    /// Confidence of the bound, 1 − α.
    pub confidence: f64,
    /// Why it passed or failed, in one sentence.
    pub reason: String,
}

/// The decision rule with its constants precomputed, shared by the check and its simulation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BoundRule {
    log_threshold: f64,
    t_crit: f64,
    sqrt_n: f64,
}

impl BoundRule {
    /// Precomputes the rule for `n` pairs (at least 2).
    pub(crate) fn new(cfg: &BoundConfig, n: usize) -> Result<BoundRule, Error> {
        check_open_unit(cfg.alpha, "gate alpha must lie strictly between 0 and 1")?;
        if !(cfg.threshold.is_finite() && cfg.threshold > -1.0) {
            return Err(Error::BadParameter(
                "gate threshold must be finite and above −100%",
            ));
        }
        if n < 2 {
            return Err(Error::TooFewPoints {
                what: "gate pairs",
                got: n,
                need: 2,
            });
        }
        Ok(BoundRule {
            log_threshold: cfg.threshold.ln_1p(),
            t_crit: t_quantile(1.0 - cfg.alpha, (n - 1) as f64),
            sqrt_n: (n as f64).sqrt(),
        })
    }

    /// Lower confidence bound (log scale) of the mean of `worse_logs`.
    pub(crate) fn lower_bound(&self, worse_logs: &[f64]) -> f64 {
        mean(worse_logs) - self.t_crit * sample_sd(worse_logs) / self.sqrt_n
    }

    /// Whether the check fails on these log-ratios (positive = worse).
    pub(crate) fn fails(&self, worse_logs: &[f64]) -> bool {
        self.lower_bound(worse_logs) > self.log_threshold
    }
}

/// Judges pairs (base, new) of a metric whose improvement direction is `direction`.
pub fn regression_bound(
    pairs: &[(f64, f64)],
    direction: Direction,
    cfg: &BoundConfig,
) -> Result<BoundDecision, Error> {
    let (base, new): (Vec<f64>, Vec<f64>) = pairs.iter().copied().unzip();
    check_positive("gate base", &base, 2)?;
    check_positive("gate new", &new, 2)?;
    let worse_logs: Vec<f64> = pairs
        .iter()
        .map(|&(a, b)| match direction {
            Direction::LowerIsBetter => (b / a).ln(),
            Direction::HigherIsBetter => (a / b).ln(),
        })
        .collect();
    regression_bound_of_logs(&worse_logs, cfg)
}

/// Judges per-pair log-ratios already oriented so that positive means worse.
pub fn regression_bound_of_logs(
    worse_logs: &[f64],
    cfg: &BoundConfig,
) -> Result<BoundDecision, Error> {
    check_finite("gate log-ratios", worse_logs, 2)?;
    let rule = BoundRule::new(cfg, worse_logs.len())?;
    let regression = mean(worse_logs).exp_m1();
    let lower_bound = rule.lower_bound(worse_logs).exp_m1();
    let pass = !rule.fails(worse_logs);
    let confidence = 1.0 - cfg.alpha;
    let conf = format!("{:.0}%", 100.0 * confidence);
    let (t, n) = (signed_percent(cfg.threshold, 1), worse_logs.len());
    let (est, lb) = (
        signed_percent(regression, 1),
        signed_percent(lower_bound, 1),
    );
    let reason = if pass {
        format!(
            "pass: not shown worse by more than {t} at {conf} confidence \
             (change {est} over {n} pairs, lower bound {lb} \u{2264} {t})"
        )
    } else {
        format!(
            "fail: worse by more than {t} with {conf} confidence \
             (change {est} over {n} pairs, lower bound {lb} > {t})"
        )
    };
    Ok(BoundDecision {
        pass,
        n_pairs: n,
        regression,
        lower_bound,
        threshold: cfg.threshold,
        confidence,
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distributions::standard_normal;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;

    /// `n` interleaved pairs with shared drift, per-run noise of `sd` and a true change `effect`.
    fn synthetic(seed: u64, n: usize, sd: f64, effect: f64) -> Vec<(f64, f64)> {
        let mut rng = SmallRng::seed_from_u64(seed);
        (0..n)
            .map(|_| {
                let drift = 1.0 + 0.2 * standard_normal(&mut rng);
                // Per-pair log-ratio SD is `sd`: each side carries sd/√2.
                let side = sd / std::f64::consts::SQRT_2;
                let a = 1_000.0 * drift.abs().max(0.1) * (side * standard_normal(&mut rng)).exp();
                let b = 1_000.0 * drift.abs().max(0.1) * (side * standard_normal(&mut rng)).exp();
                (a, b * (1.0 + effect))
            })
            .collect()
    }

    #[test]
    fn catches_ten_percent_and_passes_a_a_at_three_percent_sd_with_five_pairs() {
        let cfg = BoundConfig::default();
        let (mut caught, mut alarms) = (0, 0);
        for seed in 0..20 {
            let regressed = regression_bound(
                &synthetic(seed, 5, 0.03, 0.10),
                Direction::LowerIsBetter,
                &cfg,
            );
            caught += usize::from(!regressed.unwrap().pass);
            let same = regression_bound(
                &synthetic(100 + seed, 5, 0.03, 0.0),
                Direction::LowerIsBetter,
                &cfg,
            );
            alarms += usize::from(!same.unwrap().pass);
        }
        // The power analysis predicts 99% detection here, so 18 is a loose floor.
        assert!(caught >= 18, "caught {caught} of 20");
        assert_eq!(alarms, 0, "false alarms {alarms} of 20");
    }

    #[test]
    fn direction_decides_what_counts_as_worse() {
        let pairs: Vec<(f64, f64)> = (0..5).map(|i| (100.0 + f64::from(i), 80.0)).collect();
        let cfg = BoundConfig::default();
        assert!(
            !regression_bound(&pairs, Direction::HigherIsBetter, &cfg)
                .unwrap()
                .pass
        );
        let d = regression_bound(&pairs, Direction::LowerIsBetter, &cfg).unwrap();
        assert!(d.pass);
        assert!(d.regression < 0.0);
        assert!(d.reason.starts_with("pass:"), "{}", d.reason);
    }

    #[test]
    fn exact_ten_percent_fails_with_a_reason() {
        let pairs: Vec<(f64, f64)> = (1..=4)
            .map(|i| (f64::from(i), 1.1 * f64::from(i)))
            .collect();
        let d =
            regression_bound(&pairs, Direction::LowerIsBetter, &BoundConfig::default()).unwrap();
        assert!(!d.pass);
        assert!((d.lower_bound - 0.10).abs() < 1e-9);
        assert!(
            d.reason
                .starts_with("fail: worse by more than +3.0% with 95% confidence"),
            "{}",
            d.reason
        );
    }

    #[test]
    fn too_few_pairs_is_an_error() {
        assert!(regression_bound(
            &[(1.0, 2.0)],
            Direction::LowerIsBetter,
            &BoundConfig::default()
        )
        .is_err());
    }
}
