//! What the gate's own pairs say about its error rates: from each model's measured SD of
//! per-pair log-ratios, the chance that the gate catches a given regression in that model, and
//! the chance that an unchanged job fails somewhere (any model, either metric), with
//! [`loadgen_inference::power`]. The SD of a no-change run is its A/A spread; a planted run's
//! unplanted models are A/A pairs too.

use loadgen_inference::{power_analytic, BoundConfig, PowerQuery};

use super::decide::{GateSettings, MetricVerdict, ModelVerdict};

/// The scenario the estimate answers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PowerSettings {
    /// True regression to detect (0.10 = 10%), in server CPU per message.
    pub effect: f64,
    /// Pairs per model of the gate being assessed.
    pub pairs: usize,
}

/// Per-model detection and false-alarm chances, analytic (normal model of the log-ratios).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelPower {
    /// The concurrency model.
    pub model: String,
    /// Chance the CPU/msg gate fails when this model regressed by the effect.
    pub detection: f64,
    /// Chance this unchanged model fails either metric's gate.
    pub false_alarm: f64,
}

/// Chance of failing one metric's gate at `sd` with true log-effect 0 (`effect` = 0) or not.
fn fail_chance(sd: f64, effect: f64, pairs: usize, gate: BoundConfig) -> Option<f64> {
    let q = PowerQuery {
        sd_log_ratio: sd.max(1e-6),
        n_pairs: pairs,
        true_effect: effect,
        bound: gate,
        models: 1,
    };
    let rates = power_analytic(&q).ok()?;
    Some(if effect == 0.0 {
        rates.false_alarm_per_model
    } else {
        rates.detection
    })
}

/// Estimates, per judged model, detection of `p.effect` and its own false-alarm chance.
pub fn estimate(verdicts: &[ModelVerdict], g: &GateSettings, p: &PowerSettings) -> Vec<ModelPower> {
    let sd = |m: &Result<MetricVerdict, String>| m.as_ref().ok().map(|v| v.sd_log_ratio);
    verdicts
        .iter()
        .filter_map(|v| {
            let (cpu_sd, rate_sd) = (sd(&v.cpu)?, sd(&v.rate)?);
            let detection = fail_chance(cpu_sd, p.effect, p.pairs, g.cpu)?;
            let cpu_fa = fail_chance(cpu_sd, 0.0, p.pairs, g.cpu)?;
            let rate_fa = fail_chance(rate_sd, 0.0, p.pairs, g.rate)?;
            Some(ModelPower {
                model: v.model.clone(),
                detection,
                false_alarm: 1.0 - (1.0 - cpu_fa) * (1.0 - rate_fa),
            })
        })
        .collect()
}

/// The estimate as text: a line per model, then the worst-model detection and the family-wise
/// false alarm over all models (independent models assumed).
pub fn render(estimates: &[ModelPower], p: &PowerSettings) -> String {
    let mut out = String::new();
    for e in estimates {
        out.push_str(&format!(
            "{}: power at {} pairs: detects +{:.0}% in server CPU/msg with {:.1}%, false alarm {:.2}%\n",
            e.model,
            p.pairs,
            100.0 * p.effect,
            100.0 * e.detection,
            100.0 * e.false_alarm
        ));
    }
    let worst = estimates.iter().map(|e| e.detection).fold(1.0, f64::min);
    let family = 1.0
        - estimates
            .iter()
            .map(|e| 1.0 - e.false_alarm)
            .product::<f64>();
    out.push_str(&format!(
        "power: a +{:.0}% regression in any one model is caught with at least {:.1}%; \
         an unchanged job fails with {:.2}% ({} models, both metrics)\n",
        100.0 * p.effect,
        100.0 * worst,
        100.0 * family,
        estimates.len()
    ));
    out
}
