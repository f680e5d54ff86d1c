//! What the gate's own pairs say about its error rates: from each model's measured SD of
//! per-pair log-ratios, the chance that the gate catches a given regression in that model, and
//! the chance that an unchanged job fails somewhere (any model, either metric), with
//! [`loadgen_inference::power`]. The SD of a no-change run is its A/A spread; a planted run's
//! unplanted models are A/A pairs too.
//!
//! Both figures are given for one run and for the whole rule as CI applies it
//! ([`super::outcome`]): a performance failure counts only when a second run fails the same
//! model on the same metric, so a regression is caught with about the square of one run's
//! detection, and a false alarm needs the same (model, metric) to fail twice by chance.

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
    /// Chance this unchanged model fails the CPU/msg gate.
    pub cpu_false_alarm: f64,
    /// Chance this unchanged model fails the msgs/s gate.
    pub rate_false_alarm: f64,
}

impl ModelPower {
    /// Detection under CI's rule: caught in the first run and again in the second.
    pub fn rule_detection(&self) -> f64 {
        self.detection * self.detection
    }

    /// False alarm under CI's rule: the same metric fails by chance in both runs.
    pub fn rule_false_alarm(&self) -> f64 {
        1.0 - (1.0 - self.cpu_false_alarm.powi(2)) * (1.0 - self.rate_false_alarm.powi(2))
    }
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
                cpu_false_alarm: cpu_fa,
                rate_false_alarm: rate_fa,
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
            "{}: power at {} pairs: detects +{:.0}% in server CPU/msg with {:.1}% in one run, \
             {:.1}% under CI's rule; false alarm {:.2}% in one run, {:.4}% under the rule\n",
            e.model,
            p.pairs,
            100.0 * p.effect,
            100.0 * e.detection,
            100.0 * e.rule_detection(),
            100.0 * e.false_alarm,
            100.0 * e.rule_false_alarm()
        ));
    }
    let worst = estimates.iter().map(|e| e.detection).fold(1.0, f64::min);
    let family = 1.0
        - estimates
            .iter()
            .map(|e| 1.0 - e.false_alarm)
            .product::<f64>();
    let rule_family = 1.0
        - estimates
            .iter()
            .map(|e| 1.0 - e.rule_false_alarm())
            .product::<f64>();
    out.push_str(&format!(
        "power, one run: a +{:.0}% regression in any one model is caught with at least {:.1}%; \
         an unchanged job fails with {:.2}% ({} models, both metrics)\n",
        100.0 * p.effect,
        100.0 * worst,
        100.0 * family,
        estimates.len()
    ));
    out.push_str(&format!(
        "power, CI's rule (a performance failure counts when a second run fails the same model \
         and metric; a failed run counts at once): caught with at least {:.1}%; an unchanged \
         job fails with {:.4}% (normal model, independent runs)\n",
        100.0 * worst * worst,
        100.0 * rule_family
    ));
    out
}
