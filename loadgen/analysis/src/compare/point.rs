//! The point-estimate classification of one metric: the medians' Δ against the threshold and the
//! repeats' spread, for cells without an interval (one run on a side, or `--best`).

use super::outcome::{MetricDelta, Outcome};
use crate::report::Spread;

/// Classifies one metric; `higher_is_better` for throughput, not for latency.
pub fn classify(
    base: Option<Spread>,
    new: Option<Spread>,
    threshold_pct: f64,
    higher_is_better: bool,
) -> Option<MetricDelta> {
    let (base, new) = (base?, new?);
    let delta_pct = if base.median == 0.0 {
        if new.median == 0.0 {
            0.0
        } else {
            f64::INFINITY
        }
    } else {
        (new.median - base.median) / base.median * 100.0
    };
    let worse_pct = if higher_is_better {
        -delta_pct
    } else {
        delta_pct
    };
    let noise = match (base.noise_pct(), new.noise_pct()) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0.0).max(b.unwrap_or(0.0))),
    };
    let outcome = match noise {
        _ if worse_pct.abs() <= threshold_pct => Outcome::Ok,
        Some(noise) if delta_pct.abs() <= noise => Outcome::WithinNoise,
        _ if worse_pct > threshold_pct => Outcome::Regression,
        _ => Outcome::Improved,
    };
    Some(MetricDelta {
        base,
        new,
        delta_pct,
        outcome,
        interval: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(values: &[f64]) -> Option<Spread> {
        Spread::of(values)
    }

    #[test]
    fn classifies_against_threshold_and_noise() {
        let j = |b, n, hib| classify(s(b), s(n), 10.0, hib).unwrap().outcome;
        assert_eq!(j(&[100.0], &[70.0], true), Outcome::Regression);
        assert_eq!(j(&[100.0], &[98.0], true), Outcome::Ok);
        assert_eq!(j(&[100.0], &[130.0], true), Outcome::Improved);
        assert_eq!(
            j(&[100.0], &[130.0], false),
            Outcome::Regression,
            "p99 up 30%"
        );
        // Repeats spread 60%: a 20% drop cannot be told from noise.
        assert_eq!(
            j(&[70.0, 100.0, 130.0], &[80.0], true),
            Outcome::WithinNoise
        );
        // Tight repeats: a 20% drop is real.
        assert_eq!(
            j(&[99.0, 100.0, 101.0], &[80.0, 80.0, 81.0], true),
            Outcome::Regression
        );
        assert!(classify(None, s(&[1.0]), 10.0, true).is_none());
    }
}
