//! Δ with a 95% bootstrap interval for one metric of one cell, and the outcome it supports.
//!
//! Runs are paired (run k of BASE with run k of NEW, `loadgen_inference::compare_paired`) only
//! when that pairing is visible in the data: both sides have the same repeat indices (at least
//! two), and the rounds alternate in time — every run of round k opened its measured window
//! before any run of the next round did. Runs interleaved in one job (a sweep's A/A twin, or a
//! job that runs BASE and NEW in turns) pass; two sweeps run one after the other do not, and
//! are compared unpaired (`loadgen_inference::compare_unpaired`, medians resampled).
//!
//! A regression needs the whole interval beyond the threshold on the worse side; an
//! improvement, beyond it on the better side. A point estimate beyond the threshold whose
//! interval reaches back inside it is "within noise".

use loadgen_inference::{
    classify as significance_of, compare_paired, compare_unpaired, BootstrapConfig, Delta,
    Direction, Pairing,
};

use super::outcome::Outcome;
use crate::report::samples::RunSample;

/// A metric of a run, when recorded.
pub type Read = fn(&RunSample) -> Option<f64>;

/// How BASE's and NEW's runs of a cell relate (see the module docs).
pub fn pairing(base: &[RunSample], new: &[RunSample]) -> Pairing {
    let rounds = |side: &[RunSample]| -> Option<Vec<(usize, u64)>> {
        let mut r: Vec<(usize, u64)> = side
            .iter()
            .map(|s| Some((s.index?, s.window_start_ns?)))
            .collect::<Option<_>>()?;
        r.sort_unstable();
        Some(r)
    };
    let (Some(b), Some(n)) = (rounds(base), rounds(new)) else {
        return Pairing::Unpaired;
    };
    let same_rounds = b.len() >= 2
        && b.len() == n.len()
        && b.iter().zip(&n).all(|(x, y)| x.0 == y.0)
        && b.windows(2).all(|w| w[0].0 != w[1].0);
    let alternate = b
        .iter()
        .zip(&n)
        .zip(b.iter().zip(&n).skip(1))
        .all(|((b0, n0), (b1, n1))| {
            b0.1.max(n0.1) < b1.1.min(n1.1) || (b0.1 == n0.1 && b1.1 == n1.1)
        });
    if same_rounds && alternate {
        Pairing::Paired
    } else {
        Pairing::Unpaired
    }
}

/// Δ = NEW / BASE − 1 of `read` (NEW divided by `factor` first), with its interval; `None`
/// when either side has fewer than two runs that recorded it.
pub fn delta(
    base: &[RunSample],
    new: &[RunSample],
    read: Read,
    factor: f64,
    how: Pairing,
) -> Option<Delta> {
    let cfg = BootstrapConfig::default();
    if how == Pairing::Paired {
        let mut pairs: Vec<(usize, f64, f64)> = base
            .iter()
            .zip(new)
            .filter_map(|(b, n)| Some((b.index?, read(b)?, read(n)? / factor)))
            .collect();
        pairs.sort_by_key(|p| p.0);
        let (b, n): (Vec<f64>, Vec<f64>) = pairs.iter().map(|p| (p.1, p.2)).unzip();
        return (b.len() >= 2)
            .then(|| compare_paired(&b, &n, &cfg).ok())
            .flatten();
    }
    let b: Vec<f64> = base.iter().filter_map(read).collect();
    let n: Vec<f64> = new.iter().filter_map(read).map(|v| v / factor).collect();
    (b.len() >= 2 && n.len() >= 2)
        .then(|| compare_unpaired(&b, &n, &cfg).ok())
        .flatten()
}

/// The outcome an interval supports against a threshold (percent).
pub fn classify(d: &Delta, threshold_pct: f64, higher_is_better: bool) -> Outcome {
    let t = threshold_pct / 100.0;
    // Worse-side and better-side bounds, as positive fractions when beyond zero.
    let (worse_low, better_low) = if higher_is_better {
        (-d.high, d.low)
    } else {
        (d.low, -d.high)
    };
    let worse_point = if higher_is_better {
        -d.estimate
    } else {
        d.estimate
    };
    if worse_low > t {
        Outcome::Regression
    } else if better_low > t {
        Outcome::Improved
    } else if worse_point.abs() <= t {
        Outcome::Ok
    } else {
        Outcome::WithinNoise
    }
}

/// What `loadgen_inference::classify` says with no minimum effect: `slower`, `faster` or
/// `no difference detected`.
pub fn significance(d: &Delta, higher_is_better: bool) -> &'static str {
    let direction = if higher_is_better {
        Direction::HigherIsBetter
    } else {
        Direction::LowerIsBetter
    };
    match significance_of(d, direction, 0.0) {
        loadgen_inference::Change::Faster => "better",
        loadgen_inference::Change::Slower => "worse",
        loadgen_inference::Change::NoDifference => "no difference detected",
    }
}

/// `+4.1% [−2.0%, +9.8%]`.
pub fn describe(d: &Delta) -> String {
    format!(
        "{} [{}, {}]",
        percent(d.estimate),
        percent(d.low),
        percent(d.high)
    )
}

/// A fraction as a signed percentage with a true minus sign: `−12.0%`.
fn percent(fraction: f64) -> String {
    let pct = fraction * 100.0;
    if pct < 0.0 && format!("{:.1}", -pct) != "0.0" {
        format!("\u{2212}{:.1}%", -pct)
    } else {
        format!("+{:.1}%", pct.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(values: &[f64], start: u64, step: u64) -> Vec<RunSample> {
        values
            .iter()
            .enumerate()
            .map(|(i, &v)| RunSample {
                index: Some(i + 1),
                window_start_ns: Some(start + i as u64 * step),
                msgs_per_sec: v,
                p99_us: None,
                server_cpu_ns_per_msg: Some(v),
            })
            .collect()
    }

    #[test]
    fn pairs_only_runs_that_alternate_in_time() {
        let a = runs(&[1.0, 2.0, 3.0], 0, 100);
        let interleaved = runs(&[1.0, 2.0, 3.0], 50, 100);
        let after = runs(&[1.0, 2.0, 3.0], 1000, 100);
        assert_eq!(pairing(&a, &interleaved), Pairing::Paired);
        assert_eq!(pairing(&a, &a), Pairing::Paired, "one sweep against itself");
        assert_eq!(pairing(&a, &after), Pairing::Unpaired);
        assert_eq!(pairing(&a, &interleaved[..2]), Pairing::Unpaired);
        assert_eq!(pairing(&a[..1], &interleaved[..1]), Pairing::Unpaired);
    }

    #[test]
    fn a_tight_20_percent_is_a_regression_and_a_wide_2_percent_is_not() {
        let read: Read = |s| Some(s.msgs_per_sec);
        let base = runs(&[100.0, 99.0, 101.0, 100.5, 99.5], 0, 100);
        let tight = runs(&[80.0, 79.5, 80.5, 80.2, 79.8], 50, 100);
        let d = delta(&base, &tight, read, 1.0, Pairing::Paired).unwrap();
        assert_eq!(classify(&d, 10.0, true), Outcome::Regression, "{d:?}");
        assert_eq!(significance(&d, true), "worse");
        let wide = runs(&[70.0, 130.0, 98.0, 125.0, 75.0], 50, 100);
        let d = delta(&base, &wide, read, 1.0, Pairing::Unpaired).unwrap();
        assert_ne!(classify(&d, 1.0, true), Outcome::Regression, "{d:?}");
        assert_eq!(significance(&d, true), "no difference detected");
        assert!(delta(&base[..1], &tight, read, 1.0, Pairing::Unpaired).is_none());
    }

    #[test]
    fn a_point_beyond_the_threshold_with_a_wide_interval_is_within_noise() {
        let base = runs(&[75.0, 100.0, 125.0], 0, 100);
        let new = runs(&[80.0, 80.0, 80.0], 1000, 100);
        let d = delta(
            &base,
            &new,
            |s| Some(s.msgs_per_sec),
            1.0,
            Pairing::Unpaired,
        )
        .unwrap();
        assert_eq!(classify(&d, 10.0, true), Outcome::WithinNoise, "{d:?}");
        assert!(
            describe(&d).starts_with("\u{2212}20.0% ["),
            "{}",
            describe(&d)
        );
    }
}
