//! Two-sided t-tests of "no change" on the log scale: the check that keeps a few-run bootstrap
//! from calling a difference the data cannot carry.
//!
//! With 5 pairs the percentile bootstrap's p-value is about 0.001 whenever the five log-ratios
//! share a sign, however far apart they are: it cannot be smaller than the resampling allows, but
//! it can be far smaller than the evidence. Holm's correction then multiplies an understated p and
//! the ranking's family-wise error is no longer the α it states. The t-test weighs the spread:
//! five ratios of +0.1%, +30%, +2%, +0.5% and +50% give t ≈ 1.6 on 4 degrees of freedom, p ≈ 0.18.

use crate::distributions::t_cdf;
use crate::order_stats::{mean, sample_sd};

/// Two-sided p-value of a one-sample t-test of mean 0 (paired: the per-pair log-ratios).
pub(crate) fn one_sample(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return 1.0;
    }
    let n = xs.len() as f64;
    let (m, sd) = (mean(xs), sample_sd(xs));
    from_t(m, sd / n.sqrt(), n - 1.0)
}

/// Two-sided p-value of Welch's t-test of equal means (unpaired: the two sides' log values).
pub(crate) fn welch(a: &[f64], b: &[f64]) -> f64 {
    if a.len() < 2 || b.len() < 2 {
        return 1.0;
    }
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (va, vb) = (sample_sd(a).powi(2) / na, sample_sd(b).powi(2) / nb);
    let se = (va + vb).sqrt();
    // Welch–Satterthwaite degrees of freedom.
    let df = if se > 0.0 {
        (va + vb).powi(2) / (va.powi(2) / (na - 1.0) + vb.powi(2) / (nb - 1.0))
    } else {
        na + nb - 2.0
    };
    from_t(mean(b) - mean(a), se, df)
}

/// The two-sided p-value of `diff / se` on `df` degrees of freedom; a zero spread is decisive
/// unless the difference is zero too.
fn from_t(diff: f64, se: f64, df: f64) -> f64 {
    if se <= 0.0 || !se.is_finite() {
        return if diff == 0.0 { 1.0 } else { 0.0 };
    }
    let t = (diff / se).abs();
    (2.0 * (1.0 - t_cdf(t, df))).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_signs_far_apart_are_not_significant() {
        let logs: Vec<f64> = [0.001, 0.30, 0.02, 0.005, 0.50]
            .iter()
            .map(|r: &f64| (1.0 + r).ln())
            .collect();
        let p = one_sample(&logs);
        assert!(p > 0.1 && p < 0.3, "p = {p}");
    }

    #[test]
    fn consistent_ratios_are_significant() {
        let logs: Vec<f64> = [0.10, 0.12, 0.09, 0.11, 0.10]
            .iter()
            .map(|r: &f64| (1.0 + r).ln())
            .collect();
        assert!(one_sample(&logs) < 0.001);
    }

    #[test]
    fn matches_a_textbook_value() {
        // t = 2.776 is the 97.5% quantile of t(4): two-sided p = 0.05. Mean 2.776, SD √5 → SE 1.
        let xs = [2.776 - 3.0, 2.776 - 1.0, 2.776, 2.776 + 1.0, 2.776 + 3.0];
        let p = one_sample(&xs);
        assert!((p - 0.05).abs() < 0.001, "p = {p}");
    }

    #[test]
    fn welch_separates_distinct_groups_and_not_equal_ones() {
        let a = [1.0, 1.1, 0.9, 1.05, 0.95];
        let b = [2.0, 2.1, 1.9, 2.05, 1.95];
        assert!(welch(&a, &b) < 0.001);
        assert!(welch(&a, &a) > 0.99);
    }

    #[test]
    fn too_few_values_say_nothing() {
        assert_eq!(one_sample(&[0.5]), 1.0);
        assert_eq!(welch(&[1.0], &[2.0, 3.0]), 1.0);
    }
}
