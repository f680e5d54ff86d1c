//! The gate's decision per model: each metric's pairs through the one-sided bound, and the
//! decisions as text.

use loadgen_inference::{regression_bound, BoundConfig, BoundDecision, Direction};

use super::record::RunPair;
use super::stalls::{stalled, STALL_SHARE};

/// Thresholds and confidence of both judged metrics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GateSettings {
    /// Gate on server CPU per message.
    pub cpu: BoundConfig,
    /// Gate on msgs/s.
    pub rate: BoundConfig,
}

impl GateSettings {
    /// The settings `loadgen gate` ships with (its option defaults): CPU/msg +3% at 95%,
    /// msgs/s −15% at 99%.
    pub fn shipped() -> Self {
        GateSettings {
            cpu: BoundConfig {
                threshold: 0.03,
                alpha: 0.05,
            },
            rate: BoundConfig {
                threshold: 0.15,
                alpha: 0.01,
            },
        }
    }
}

/// The verdict on one metric of one model.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricVerdict {
    /// The gate's decision.
    pub decision: BoundDecision,
    /// Sample SD of the per-pair natural-log ratios new/base.
    pub sd_log_ratio: f64,
}

/// A judged performance metric, as named in the failures file (`cpu`, `rate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    /// Server CPU time per echoed message.
    Cpu,
    /// msgs/s.
    Rate,
}

impl Metric {
    /// The metric's name in the failures file.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Cpu => "cpu",
            Metric::Rate => "rate",
        }
    }

    /// The metric of a failures-file name.
    pub fn parse(name: &str) -> Option<Metric> {
        match name {
            "cpu" => Some(Metric::Cpu),
            "rate" => Some(Metric::Rate),
            _ => None,
        }
    }
}

/// The verdict on one model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelVerdict {
    /// The concurrency model.
    pub model: String,
    /// Pairs found for it.
    pub pairs: usize,
    /// Runs (either side) that lost or corrupted echoes or had a failed connection.
    pub failed_runs: usize,
    /// Why each failed run failed: "pair 3 new: 2 mismatch".
    pub failures: Vec<String>,
    /// Pairs left out of both metrics because the machine stalled both sides ([`stalled`]).
    pub stalled: Vec<u32>,
    /// Server CPU per message, or why it could not be judged.
    pub cpu: Result<MetricVerdict, String>,
    /// msgs/s, or why it could not be judged.
    pub rate: Result<MetricVerdict, String>,
}

impl ModelVerdict {
    /// Whether either metric failed its gate or a run failed.
    pub fn regressed(&self) -> bool {
        self.failed_runs > 0 || !self.failed_metrics().is_empty()
    }

    /// The performance metrics whose gate failed.
    pub fn failed_metrics(&self) -> Vec<Metric> {
        let fails = |m: &Result<MetricVerdict, String>| m.as_ref().is_ok_and(|v| !v.decision.pass);
        [(Metric::Cpu, &self.cpu), (Metric::Rate, &self.rate)]
            .into_iter()
            .filter(|(_, m)| fails(m))
            .map(|(metric, _)| metric)
            .collect()
    }

    /// Whether a metric had too few complete pairs to judge.
    pub fn unjudged(&self) -> bool {
        self.cpu.is_err() || self.rate.is_err()
    }
}

/// Judges one model's pairs.
pub fn judge_model(model: &str, pairs: &[RunPair], settings: &GateSettings) -> ModelVerdict {
    let failures: Vec<String> = pairs
        .iter()
        .flat_map(|p| [&p.base, &p.new])
        .filter(|r| !r.passed)
        .map(|r| {
            let why = r.failure.as_deref().unwrap_or("the run did not pass");
            format!("pair {} {}: {why}", r.pair, r.side)
        })
        .collect();
    let stalled = stalled(pairs);
    let kept = || pairs.iter().filter(|p| !stalled.contains(&p.pair));
    let cpu_pairs: Vec<(f64, f64)> = kept()
        .filter_map(|p| Some((p.base.cpu_ns_per_msg?, p.new.cpu_ns_per_msg?)))
        .collect();
    let rate_pairs: Vec<(f64, f64)> = kept()
        .filter_map(|p| Some((p.base.msgs_per_sec?, p.new.msgs_per_sec?)))
        .collect();
    ModelVerdict {
        model: model.to_string(),
        pairs: pairs.len(),
        failed_runs: failures.len(),
        failures,
        stalled: stalled.into_iter().collect(),
        cpu: judge_metric(&cpu_pairs, Direction::LowerIsBetter, &settings.cpu),
        rate: judge_metric(&rate_pairs, Direction::HigherIsBetter, &settings.rate),
    }
}

/// Gates one metric; pairs with a zero or missing side are left out.
fn judge_metric(
    pairs: &[(f64, f64)],
    direction: Direction,
    cfg: &BoundConfig,
) -> Result<MetricVerdict, String> {
    let usable: Vec<(f64, f64)> = pairs
        .iter()
        .copied()
        .filter(|&(b, n)| b.is_finite() && n.is_finite() && b > 0.0 && n > 0.0)
        .collect();
    let decision = regression_bound(&usable, direction, cfg).map_err(|e| {
        format!(
            "cannot judge ({} usable pairs of {}): {e}",
            usable.len(),
            pairs.len()
        )
    })?;
    let logs: Vec<f64> = usable.iter().map(|&(b, n)| (n / b).ln()).collect();
    Ok(MetricVerdict {
        decision,
        sd_log_ratio: sample_sd(&logs),
    })
}

/// Sample SD (n − 1 denominator); 0 for fewer than two values.
fn sample_sd(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return 0.0;
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
}

/// "+11.8%" / "−4.2%": a fraction as a signed percentage with one decimal.
fn pct(fraction: f64) -> String {
    let text = format!("{:.1}", (100.0 * fraction).abs());
    let sign = if text == "0.0" {
        ""
    } else if fraction < 0.0 {
        "\u{2212}"
    } else {
        "+"
    };
    format!("{sign}{text}%")
}

/// One metric's line: "mio: server CPU/msg +11.8% [lower bound +8.1%] over 7 pairs, pair SD
/// 2.3% → REGRESSION (limit +5.0%)".
fn metric_line(model: &str, label: &str, metric: &Result<MetricVerdict, String>) -> String {
    match metric {
        Err(why) => format!("{model}: {label} {why} → NOT JUDGED"),
        Ok(v) => {
            let d = &v.decision;
            let state = if d.pass { "ok" } else { "REGRESSION" };
            format!(
                "{model}: {label} {} [lower bound {}] over {} pairs, pair SD {:.1}% \u{2192} {state} (limit {})",
                pct(d.regression),
                pct(d.lower_bound),
                d.n_pairs,
                100.0 * v.sd_log_ratio,
                pct(d.threshold),
            )
        }
    }
}

/// The verdict as text: two lines per model (server CPU/msg, then msgs/s slowdown, both signed
/// so that positive is worse), plus a line for failed runs.
pub fn render(verdicts: &[ModelVerdict]) -> String {
    let mut out = String::new();
    for v in verdicts {
        out.push_str(&metric_line(&v.model, "server CPU/msg", &v.cpu));
        out.push('\n');
        out.push_str(&metric_line(&v.model, "msgs/s slowdown", &v.rate));
        out.push('\n');
        if !v.stalled.is_empty() {
            let list: Vec<String> = v.stalled.iter().map(u32::to_string).collect();
            out.push_str(&format!(
                "{}: pair(s) {} left out: both sides under {:.0}% of the case's median msgs/s at \
                 once (the machine stalled both)\n",
                v.model,
                list.join(", "),
                100.0 * STALL_SHARE
            ));
        }
        if v.failed_runs > 0 {
            out.push_str(&format!(
                "{}: {} of {} runs lost or corrupted echoes, failed a connection or gave no \
                 result \u{2192} FAILED ({})\n",
                v.model,
                v.failed_runs,
                2 * v.pairs,
                v.failures.join("; ")
            ));
        }
    }
    out
}
