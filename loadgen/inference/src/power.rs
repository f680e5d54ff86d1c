//! Power of the CI gate: how often it catches a true regression in one model, and how often it
//! fires on some unchanged model, given the A/A spread of per-pair log-ratios.
//!
//! Model: per-pair log-ratios are independent N(μ, σ²), with μ = ln(1 + effect) for the regressed
//! model and μ = 0 for an unchanged one, and σ the SD measured from an A/A pair (see the noise
//! module). The gate statistic (d̄ − ln(1 + T))·√n / s then follows a noncentral t distribution with
//! n − 1 degrees of freedom and noncentrality δ = (μ − ln(1 + T))·√n/σ, and the gate fails when it
//! exceeds t₁₋α,ₙ₋₁.
//!
//! - **Analytic:** with log-ratios normal, d̄ and s are independent, (d̄ − μ)√n/σ is standard
//!   normal and s√(n − 1)/σ is chi-distributed with n − 1 degrees of freedom. The failure
//!   probability is the normal tail conditional on s, integrated over s's density by Simpson's rule
//!   (1,000 steps): the noncentral t tail, computed without series. The closed-form normal
//!   approximation of that tail (Abramowitz & Stegun 26.7.10) was not used: with 3–4 pairs it
//!   overstates the far tail, where false alarms live, several-fold. The family-wise false-alarm
//!   probability over m unchanged models treats them as independent: 1 − (1 − p₀)ᵐ.
//! - **Monte Carlo:** draws the log-ratios and runs the gate's own decision rule, so the analytic
//!   figures can be checked against the thing itself.

use rand::rngs::SmallRng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::distributions::{ln_gamma, normal_cdf, standard_normal, t_quantile};
use crate::error::Error;
use crate::regression_bound::{BoundConfig, BoundRule};

/// Default number of simulated gate runs.
pub const DEFAULT_SIMULATIONS: usize = 20_000;
/// Default seed of the simulation.
pub const DEFAULT_SIMULATION_SEED: u64 = 0x90E4_2026;

/// The scenario whose error rates are wanted.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PowerQuery {
    /// SD of the per-pair log-ratio, from an A/A pair (0.03 ≈ 3%).
    pub sd_log_ratio: f64,
    /// Pairs per model in the gate.
    pub n_pairs: usize,
    /// The true regression in the one changed model (0.10 = 10%).
    pub true_effect: f64,
    /// The gate's settings.
    pub bound: BoundConfig,
    /// Number of unchanged models (metrics) the gate judges at once.
    pub models: usize,
}

/// Error rates of the gate for one scenario.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rates {
    /// Probability that the gate fails on the regressed model.
    pub detection: f64,
    /// Probability that an unchanged model fails the gate.
    pub false_alarm_per_model: f64,
    /// Probability that at least one of `models` unchanged models fails the gate.
    pub false_alarm: f64,
}

/// Analytic and simulated rates side by side.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PowerEstimate {
    /// The scenario.
    pub query: PowerQuery,
    /// Analytic rates (normal model, integrated over the SD's distribution).
    pub analytic: Rates,
    /// Simulated rates.
    pub monte_carlo: Rates,
    /// Number of simulated gate runs behind `monte_carlo`.
    pub simulations: usize,
}

/// Checks the scenario's parameters.
fn validate(q: &PowerQuery) -> Result<BoundRule, Error> {
    if !(q.sd_log_ratio.is_finite() && q.sd_log_ratio > 0.0) {
        return Err(Error::BadParameter(
            "sd_log_ratio must be finite and positive",
        ));
    }
    if !(q.true_effect.is_finite() && q.true_effect > -1.0) {
        return Err(Error::BadParameter(
            "true_effect must be finite and above −100%",
        ));
    }
    BoundRule::new(&q.bound, q.n_pairs)
}

/// Simpson intervals of the integral over the sample SD.
const QUADRATURE_STEPS: usize = 1_000;

/// Probability that the gate fails for true mean log-ratio `mu`.
///
/// With W = s√f/σ (chi-distributed, f = n − 1) and Z standard normal, the gate fails when
/// Z > t·W/√f − δ; integrate that normal tail over W's density by Simpson's rule.
fn fail_probability(q: &PowerQuery, mu: f64) -> f64 {
    let f = (q.n_pairs - 1) as f64;
    let t = t_quantile(1.0 - q.bound.alpha, f);
    let delta = (mu - q.bound.threshold.ln_1p()) * (q.n_pairs as f64).sqrt() / q.sd_log_ratio;
    // Chi density: w^(f−1) e^(−w²/2) / (2^(f/2 − 1) Γ(f/2)); its mass lies well within √f + 10.
    let ln_norm = (f / 2.0 - 1.0) * std::f64::consts::LN_2 + ln_gamma(f / 2.0);
    let integrand = |w: f64| {
        let density = if w > 0.0 {
            ((f - 1.0) * w.ln() - w * w / 2.0 - ln_norm).exp()
        } else if f == 1.0 {
            (-ln_norm).exp()
        } else {
            0.0
        };
        density * (1.0 - normal_cdf(t * w / f.sqrt() - delta))
    };
    let upper = f.sqrt() + 10.0;
    let h = upper / QUADRATURE_STEPS as f64;
    let inner: f64 = (1..QUADRATURE_STEPS)
        .map(|i| if i % 2 == 1 { 4.0 } else { 2.0 } * integrand(i as f64 * h))
        .sum();
    ((integrand(0.0) + inner + integrand(upper)) * h / 3.0).clamp(0.0, 1.0)
}

/// Family-wise false-alarm probability of `models` independent unchanged models.
fn family_wise(per_model: f64, models: usize) -> f64 {
    1.0 - (1.0 - per_model).powi(i32::try_from(models).unwrap_or(i32::MAX))
}

/// Error rates computed from the normal model of the log-ratios (see the module docs).
pub fn power_analytic(q: &PowerQuery) -> Result<Rates, Error> {
    validate(q)?;
    let per_model = fail_probability(q, 0.0);
    Ok(Rates {
        detection: fail_probability(q, q.true_effect.ln_1p()),
        false_alarm_per_model: per_model,
        false_alarm: family_wise(per_model, q.models),
    })
}

/// Error rates by simulating `simulations` gate runs from `seed`.
pub fn power_monte_carlo(q: &PowerQuery, simulations: usize, seed: u64) -> Result<Rates, Error> {
    let rule = validate(q)?;
    if simulations == 0 {
        return Err(Error::BadParameter("simulations must be positive"));
    }
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut logs = vec![0.0; q.n_pairs];
    let mut draw = |rng: &mut SmallRng, mu: f64| {
        for x in logs.iter_mut() {
            *x = mu + q.sd_log_ratio * standard_normal(rng);
        }
        rule.fails(&logs)
    };
    let mu = q.true_effect.ln_1p();
    let (mut detected, mut model_alarms, mut family_alarms) = (0usize, 0usize, 0usize);
    for _ in 0..simulations {
        detected += usize::from(draw(&mut rng, mu));
        let alarms = (0..q.models).filter(|_| draw(&mut rng, 0.0)).count();
        model_alarms += alarms;
        family_alarms += usize::from(alarms > 0);
    }
    let sims = simulations as f64;
    Ok(Rates {
        detection: detected as f64 / sims,
        false_alarm_per_model: if q.models == 0 {
            0.0
        } else {
            model_alarms as f64 / (sims * q.models as f64)
        },
        false_alarm: family_alarms as f64 / sims,
    })
}

/// Both estimates, the simulation with the default count and seed.
pub fn power(q: &PowerQuery) -> Result<PowerEstimate, Error> {
    Ok(PowerEstimate {
        query: *q,
        analytic: power_analytic(q)?,
        monte_carlo: power_monte_carlo(q, DEFAULT_SIMULATIONS, DEFAULT_SIMULATION_SEED)?,
        simulations: DEFAULT_SIMULATIONS,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(sd: f64, n: usize) -> PowerQuery {
        PowerQuery {
            sd_log_ratio: sd,
            n_pairs: n,
            true_effect: 0.10,
            bound: BoundConfig::default(),
            models: 9,
        }
    }

    #[test]
    fn analytic_and_simulation_agree_within_three_standard_errors() {
        for (sd, n) in [
            (0.03, 5),
            (0.05, 5),
            (0.05, 8),
            (0.08, 10),
            (0.02, 3),
            (0.04, 4),
            (0.08, 3),
            (0.10, 4),
        ] {
            let q = query(sd, n);
            let a = power_analytic(&q).unwrap();
            let m = power_monte_carlo(&q, 4_000, 11).unwrap();
            assert!(
                (a.detection - m.detection).abs() < 0.025,
                "sd {sd} n {n}: {a:?} vs {m:?}"
            );
            assert!(
                (a.false_alarm - m.false_alarm).abs() < 0.025,
                "sd {sd} n {n}: {a:?} vs {m:?}"
            );
        }
    }

    #[test]
    fn plain_t_test_has_false_alarm_alpha() {
        let q = PowerQuery {
            bound: BoundConfig {
                threshold: 0.0,
                alpha: 0.05,
            },
            models: 1,
            ..query(0.05, 6)
        };
        let a = power_analytic(&q).unwrap();
        assert!((a.false_alarm_per_model - 0.05).abs() < 0.005, "{a:?}");
        let m = power_monte_carlo(&q, 20_000, 3).unwrap();
        assert!((m.false_alarm_per_model - 0.05).abs() < 0.008, "{m:?}");
    }

    #[test]
    fn more_pairs_or_less_noise_means_more_power() {
        let a = power_analytic(&query(0.05, 4)).unwrap();
        let b = power_analytic(&query(0.05, 8)).unwrap();
        let c = power_analytic(&query(0.03, 4)).unwrap();
        assert!(b.detection > a.detection && c.detection > a.detection);
        assert!(b.false_alarm < a.false_alarm && c.false_alarm < a.false_alarm);
    }

    #[test]
    fn bad_query_is_an_error() {
        assert!(power_analytic(&query(0.0, 5)).is_err());
        assert!(power_analytic(&query(0.03, 1)).is_err());
        assert!(power_monte_carlo(&query(0.03, 5), 0, 1).is_err());
    }
}
