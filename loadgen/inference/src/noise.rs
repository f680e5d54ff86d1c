//! The machine's noise floor, measured from an A/A pair: the same model run twice, interleaved.
//!
//! Any Δ between the two sides of an A/A pair is noise, so its spread is the smallest change a
//! comparison of that many pairs can resolve on this machine. Two figures come out:
//! - the half-width of the A/A Δ's bootstrap interval (what a comparison report would quote), stated
//!   as "noise floor ±x%";
//! - the SD of the per-pair log-ratio, the input of the gate's power analysis, and the half-width of
//!   the 95% t interval of the mean log-ratio that SD implies (the scale the gate works on).

use serde::{Deserialize, Serialize};

use crate::bootstrap::BootstrapConfig;
use crate::compare::{compare_paired, log_ratios, Delta};
use crate::distributions::t_quantile;
use crate::error::Error;
use crate::order_stats::sample_sd;
use crate::percent::{delta_with_interval, signed_percent};

/// The noise floor of an A/A pair.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NoiseFloor {
    /// Number of A/A pairs.
    pub n_pairs: usize,
    /// SD of the per-pair log-ratio (0.03 ≈ 3%).
    pub sd_log_ratio: f64,
    /// Half-width of the A/A Δ interval (fraction).
    pub half_width: f64,
    /// Half-width of the 95% t interval of the mean log-ratio, as a fraction: t₀.₉₇₅,ₙ₋₁·s/√n.
    pub mean_half_width: f64,
    /// The A/A Δ itself, paired.
    pub delta: Delta,
}

impl NoiseFloor {
    /// One line: "noise floor ±2.1% (A/A Δ +0.4% [−1.7%, +2.5%], per-pair SD 3.0%, 5 pairs)".
    pub fn describe(&self) -> String {
        let floor = signed_percent(self.half_width, 1);
        format!(
            "noise floor \u{00B1}{} (A/A \u{0394} {}, per-pair SD {}, {} pairs)",
            floor.trim_start_matches('+'),
            delta_with_interval(self.delta.estimate, self.delta.low, self.delta.high),
            signed_percent(self.sd_log_ratio, 1).trim_start_matches('+'),
            self.n_pairs
        )
    }
}

/// Measures the noise floor from interleaved runs `first` and `second` of the same model.
pub fn noise_floor(
    first: &[f64],
    second: &[f64],
    cfg: &BootstrapConfig,
) -> Result<NoiseFloor, Error> {
    let logs = log_ratios(first, second)?;
    if logs.len() < 2 {
        return Err(Error::TooFewPoints {
            what: "A/A pairs",
            got: logs.len(),
            need: 2,
        });
    }
    let delta = compare_paired(first, second, cfg)?;
    let sd = sample_sd(&logs);
    let n = logs.len() as f64;
    Ok(NoiseFloor {
        n_pairs: logs.len(),
        sd_log_ratio: sd,
        mean_half_width: (t_quantile(0.975, n - 1.0) * sd / n.sqrt()).exp_m1(),
        half_width: (delta.high - delta.low) / 2.0,
        delta,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distributions::standard_normal;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;

    #[test]
    fn recovers_the_planted_spread() {
        let mut rng = SmallRng::seed_from_u64(5);
        let first: Vec<f64> = (0..200).map(|i| 100.0 + f64::from(i % 7)).collect();
        let second: Vec<f64> = first
            .iter()
            .map(|a| a * (0.04 * standard_normal(&mut rng)).exp())
            .collect();
        let nf = noise_floor(&first, &second, &BootstrapConfig::default()).unwrap();
        assert!((nf.sd_log_ratio - 0.04).abs() < 0.006, "{nf:?}");
        assert!(nf.half_width > 0.0 && nf.half_width < 0.02, "{nf:?}");
        // t(0.975, 199) · 0.04 / √200 ≈ 0.0056.
        assert!((nf.mean_half_width - 0.0056).abs() < 0.001, "{nf:?}");
        assert!(
            !nf.delta.excludes_zero() || nf.delta.estimate.abs() < 0.01,
            "{nf:?}"
        );
    }

    #[test]
    fn identical_sides_have_zero_floor_and_describe_says_so() {
        let xs = [5.0, 6.0, 7.0, 5.5];
        let nf = noise_floor(&xs, &xs, &BootstrapConfig::default()).unwrap();
        assert_eq!(
            (nf.sd_log_ratio, nf.half_width, nf.mean_half_width),
            (0.0, 0.0, 0.0)
        );
        assert_eq!(
            nf.describe(),
            "noise floor \u{00B1}0.0% (A/A \u{0394} 0.00% [0.00%, 0.00%], per-pair SD 0.0%, 4 pairs)"
        );
    }

    #[test]
    fn one_pair_is_not_enough() {
        assert!(noise_floor(&[1.0], &[1.0], &BootstrapConfig::default()).is_err());
    }
}
