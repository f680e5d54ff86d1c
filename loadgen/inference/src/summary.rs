//! One sample's summary: median with a bootstrap 95% interval, range, and an outlier warning.
//!
//! Outliers follow Tukey's fences, as criterion does: a point below Q1 − 1.5·IQR or above
//! Q3 + 1.5·IQR is flagged (for a normal sample that is about 0.7% of points). A flagged run says
//! the machine did something else for a while, so the warning tells the reader to rerun rather than
//! to trust the interval. Fewer than four points give no quartiles worth the name, so nothing is
//! flagged below that.

use serde::{Deserialize, Serialize};

use crate::bootstrap::{median_estimate, BootstrapConfig};
use crate::error::{check_finite, Error};
use crate::order_stats::{quantile_sorted, sorted};

/// Multiple of the interquartile range beyond the quartiles at which a point counts as an outlier.
pub const TUKEY_FENCE: f64 = 1.5;

/// Median, its bootstrap interval, range, and outliers of one sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of points.
    pub n: usize,
    /// Sample median.
    pub median: f64,
    /// Lower end of the bootstrap interval of the median.
    pub ci_low: f64,
    /// Upper end of the bootstrap interval of the median.
    pub ci_high: f64,
    /// Confidence level of the interval.
    pub confidence: f64,
    /// Smallest point.
    pub min: f64,
    /// Largest point.
    pub max: f64,
    /// Number of points beyond Tukey's fences.
    pub outliers: usize,
    /// What the outliers mean and what to do; `None` when there are none.
    pub outlier_warning: Option<String>,
}

/// Summarizes a sample of finite values (at least one).
pub fn summarize(sample: &[f64], cfg: &BootstrapConfig) -> Result<Summary, Error> {
    check_finite("sample", sample, 1)?;
    cfg.validate()?;
    let est = median_estimate(sample, cfg);
    let s = sorted(sample);
    let outliers = count_outliers(&s);
    Ok(Summary {
        n: s.len(),
        median: est.point,
        ci_low: est.low,
        ci_high: est.high,
        confidence: cfg.confidence,
        min: s[0],
        max: s[s.len() - 1],
        outliers,
        outlier_warning: outlier_warning(outliers, s.len()),
    })
}

/// Counts the points of an ascending-sorted sample beyond Tukey's fences.
fn count_outliers(sorted: &[f64]) -> usize {
    if sorted.len() < 4 {
        return 0;
    }
    let q1 = quantile_sorted(sorted, 0.25);
    let q3 = quantile_sorted(sorted, 0.75);
    let reach = TUKEY_FENCE * (q3 - q1);
    sorted
        .iter()
        .filter(|&&x| x < q1 - reach || x > q3 + reach)
        .count()
}

/// The warning text for `outliers` flagged points out of `n`.
fn outlier_warning(outliers: usize, n: usize) -> Option<String> {
    if outliers == 0 {
        return None;
    }
    let pct = 100.0 * outliers as f64 / n as f64;
    Some(format!(
        "{outliers} of {n} runs ({pct:.0}%) lie beyond {TUKEY_FENCE} IQR of the quartiles: \
         something else probably used the machine during them; rerun with more runs on a quiet \
         machine, or check for other load, CPU frequency changes or swapping"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_sample_is_a_point() {
        let s = summarize(&[3.5; 7], &BootstrapConfig::default()).unwrap();
        assert_eq!(
            (s.median, s.ci_low, s.ci_high, s.min, s.max),
            (3.5, 3.5, 3.5, 3.5, 3.5)
        );
        assert_eq!(s.outliers, 0);
        assert!(s.outlier_warning.is_none());
    }

    #[test]
    fn interval_brackets_median_and_stays_in_range() {
        let xs = [10.0, 12.0, 11.0, 13.0, 9.0, 10.5, 11.5, 12.5];
        let s = summarize(&xs, &BootstrapConfig::default()).unwrap();
        assert_eq!(s.median, 11.25);
        assert!(s.ci_low <= s.median && s.median <= s.ci_high);
        assert!(s.ci_low >= 9.0 && s.ci_high <= 13.0);
        assert!(s.ci_low < s.ci_high);
    }

    #[test]
    fn one_far_point_is_flagged_with_advice() {
        let xs = [100.0, 101.0, 99.0, 100.5, 99.5, 100.2, 180.0];
        let s = summarize(&xs, &BootstrapConfig::default()).unwrap();
        assert_eq!(s.outliers, 1);
        let msg = s.outlier_warning.unwrap();
        assert!(msg.starts_with("1 of 7 runs"), "{msg}");
        assert!(msg.contains("rerun"), "{msg}");
    }

    #[test]
    fn bad_input_is_an_error() {
        let cfg = BootstrapConfig::default();
        assert!(matches!(
            summarize(&[], &cfg),
            Err(Error::TooFewPoints { .. })
        ));
        assert!(matches!(
            summarize(&[1.0, f64::NAN], &cfg),
            Err(Error::NotFinite { index: 1, .. })
        ));
    }
}
