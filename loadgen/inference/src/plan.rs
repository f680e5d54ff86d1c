//! Planning the bound from a measured A/A spread: the fewest pairs that reach the wanted detection
//! and false-alarm rates, optionally choosing the threshold too.
//!
//! The search uses the analytic rates of the power module (cheap and smooth); check the chosen
//! plan with `power_monte_carlo` before relying on it. When the threshold is chosen, every grid
//! threshold that meets both targets at the smallest feasible n is acceptable, and the middle one
//! is taken, so that an error in the estimated SD in either direction is least likely to break a
//! target.

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::power::{power_analytic, PowerQuery, Rates};
use crate::regression_bound::BoundConfig;

/// Wanted error rates of the gate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Targets {
    /// Least probability of catching the regression.
    pub detection: f64,
    /// Most family-wise false-alarm probability.
    pub false_alarm: f64,
}

impl Default for Targets {
    fn default() -> Self {
        Targets {
            detection: 0.95,
            false_alarm: 0.05,
        }
    }
}

/// A bound plan that meets the targets.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Pairs per model.
    pub n_pairs: usize,
    /// Gate settings.
    pub bound: BoundConfig,
    /// Analytic rates of this plan.
    pub rates: Rates,
}

/// What is held fixed while planning.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    /// Measured A/A SD of the per-pair log-ratio.
    pub sd_log_ratio: f64,
    /// Regression to catch (0.10 = 10%).
    pub true_effect: f64,
    /// Unchanged models judged at once.
    pub models: usize,
    /// Wanted error rates.
    pub targets: Targets,
}

/// Whether `rates` meet `targets`.
fn meets(rates: &Rates, targets: &Targets) -> bool {
    rates.detection >= targets.detection && rates.false_alarm <= targets.false_alarm
}

/// Analytic rates of `bound` with `n` pairs in `s`.
fn rates_of(s: &Scenario, bound: BoundConfig, n: usize) -> Result<Rates, Error> {
    power_analytic(&PowerQuery {
        sd_log_ratio: s.sd_log_ratio,
        n_pairs: n,
        true_effect: s.true_effect,
        bound,
        models: s.models,
    })
}

/// Fewest pairs (2..=`max_pairs`) with which the fixed `bound` meets the targets.
pub fn suggest_pairs(
    s: &Scenario,
    bound: BoundConfig,
    max_pairs: usize,
) -> Result<Option<Plan>, Error> {
    for n in 2..=max_pairs {
        let rates = rates_of(s, bound, n)?;
        if meets(&rates, &s.targets) {
            return Ok(Some(Plan {
                n_pairs: n,
                bound,
                rates,
            }));
        }
    }
    Ok(None)
}

/// Fewest pairs with which some threshold (grid of 0.5% steps up to the effect) meets the targets at
/// level `alpha`; the threshold is the middle of those that do.
pub fn suggest_plan(s: &Scenario, alpha: f64, max_pairs: usize) -> Result<Option<Plan>, Error> {
    let steps = (s.true_effect / 0.005).floor().max(0.0) as usize;
    let grid: Vec<f64> = (0..=steps).map(|i| i as f64 * 0.005).collect();
    for n in 2..=max_pairs {
        let mut feasible = Vec::new();
        for &threshold in &grid {
            let bound = BoundConfig { threshold, alpha };
            let rates = rates_of(s, bound, n)?;
            if meets(&rates, &s.targets) {
                feasible.push(Plan {
                    n_pairs: n,
                    bound,
                    rates,
                });
            }
        }
        if !feasible.is_empty() {
            return Ok(Some(feasible[feasible.len() / 2]));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(sd: f64) -> Scenario {
        Scenario {
            sd_log_ratio: sd,
            true_effect: 0.10,
            models: 9,
            targets: Targets::default(),
        }
    }

    #[test]
    fn suggestion_is_the_smallest_that_meets_the_targets() {
        let s = scenario(0.05);
        let plan = suggest_pairs(&s, BoundConfig::default(), 50)
            .unwrap()
            .unwrap();
        assert!(meets(&plan.rates, &s.targets));
        let fewer = rates_of(&s, BoundConfig::default(), plan.n_pairs - 1).unwrap();
        assert!(
            !meets(&fewer, &s.targets),
            "{} pairs already suffice",
            plan.n_pairs - 1
        );
    }

    #[test]
    fn noisier_machines_need_more_pairs() {
        let quiet = suggest_plan(&scenario(0.02), 0.05, 60).unwrap().unwrap();
        let noisy = suggest_plan(&scenario(0.08), 0.05, 60).unwrap().unwrap();
        assert!(noisy.n_pairs > quiet.n_pairs, "{quiet:?} {noisy:?}");
        assert!(meets(&noisy.rates, &Targets::default()));
    }

    #[test]
    fn impossible_targets_give_none() {
        assert_eq!(
            suggest_pairs(&scenario(0.5), BoundConfig::default(), 4).unwrap(),
            None
        );
    }
}
