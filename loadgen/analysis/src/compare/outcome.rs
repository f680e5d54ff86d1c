//! What a comparison finds: each metric's [`Outcome`] with its Δ ([`MetricDelta`]), a [`Row`]
//! per cell, and the whole [`Comparison`] with the [`Thresholds`] it was held to.

use std::fmt;

use loadgen_inference::Delta;

use crate::report::Spread;

/// How one metric of one cell changed, against its threshold and the noise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Within the threshold.
    Ok,
    /// No larger than the repeats' spread: cannot be told from noise.
    WithinNoise,
    /// Better by more than the threshold.
    Improved,
    /// Worse by more than the threshold.
    Regression,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Ok => "ok",
            Outcome::WithinNoise => "within noise",
            Outcome::Improved => "improved",
            Outcome::Regression => "REGRESSION",
        })
    }
}

/// One metric, BASE against NEW.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetricDelta {
    /// BASE's value over its repeats.
    pub base: Spread,
    /// NEW's value over its repeats.
    pub new: Spread,
    /// (NEW − BASE) / BASE of the medians, percent (with an interval: its point estimate).
    pub delta_pct: f64,
    /// How it changed.
    pub outcome: Outcome,
    /// Δ with its 95% bootstrap interval, when both sides have at least two runs.
    pub interval: Option<Delta>,
}

/// One cell.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// `mio × 100 clients`.
    pub label: String,
    /// Throughput change, if both sides have one.
    pub msgs: Option<MetricDelta>,
    /// p99 change, if both sides have one.
    pub p99: Option<MetricDelta>,
    /// Server CPU per message change, if both sides recorded it.
    pub cpu: Option<MetricDelta>,
    /// The row's overall outcome, as shown.
    pub outcome: String,
}

/// The whole comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// What BASE was.
    pub base: String,
    /// What NEW was.
    pub new: String,
    /// Throughput threshold, percent.
    pub msgs_threshold_pct: f64,
    /// p99 threshold, percent.
    pub p99_threshold_pct: f64,
    /// Server CPU per message threshold, percent.
    pub cpu_threshold_pct: f64,
    /// Whether cells were compared by their best repeat rather than their median.
    pub best: bool,
    /// With `--normalize`: median over cells of NEW / BASE throughput, and of NEW / BASE p99.
    pub machine_factor: Option<(f64, f64)>,
    /// Every cell.
    pub rows: Vec<Row>,
    /// Everything that makes the exit code 1, one line each.
    pub failures: Vec<String>,
}

impl Comparison {
    /// 0 when nothing failed, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        u8::from(!self.failures.is_empty())
    }
}

/// Thresholds, percent: msgs/s drop, p99 rise, server CPU per message rise.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    /// Largest tolerated throughput drop.
    pub msgs: f64,
    /// Largest tolerated p99 rise.
    pub p99: f64,
    /// Largest tolerated server CPU per message rise (infinite: shown, never judged).
    pub cpu: f64,
}
