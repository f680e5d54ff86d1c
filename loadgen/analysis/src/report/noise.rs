//! The machine's noise floor, from a sweep's A/A pair (`loadgen sweep --aa MODEL`).
//!
//! The twin cell's result files carry [`crate::sweep_dir::AA_FILE_TAG`] after the model name; the report names
//! the twin `MODEL (A/A)`. Both cells ran the same configuration, interleaved, so run `k` of one
//! is paired with run `k` of the other (the `-r<k>` of the file names), and the spread of their
//! paired Δ (`loadgen_inference::noise_floor`) is the smallest change this machine can resolve
//! with that many repeats.

use std::collections::BTreeMap;

use loadgen_inference::{noise_floor, BootstrapConfig};
use results_model::result::RunResult;
use serde::{Deserialize, Serialize};

use super::cell::CellKey;
use crate::sweep_dir::names::{run_index, AA_LABEL};

/// The noise floor of one metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricNoise {
    /// `msgs/s`, `p99` or `server CPU/msg`.
    pub metric: String,
    /// Half-width of the A/A Δ's 95% bootstrap interval, percent: the noise floor.
    pub floor_pct: f64,
    /// The A/A Δ (twin / model − 1), percent, with its interval.
    pub delta_pct: f64,
    /// Lower end of the A/A Δ's interval, percent.
    pub low_pct: f64,
    /// Upper end of the A/A Δ's interval, percent.
    pub high_pct: f64,
    /// SD of the per-pair log-ratio, percent (the gate's power analysis input).
    pub sd_log_ratio_pct: f64,
}

/// The noise floor of one A/A pair of cells (one client count).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AaNoise {
    /// The model run twice.
    pub model: String,
    /// Client count.
    pub clients: usize,
    /// Repeats paired by run index.
    pub pairs: usize,
    /// Every metric with at least two pairs.
    pub metrics: Vec<MetricNoise>,
}

impl AaNoise {
    /// `noise floor (mio A/A, 100 clients, 5 pairs): msgs/s ±7.9%, server CPU/msg ±2.1%`.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .metrics
            .iter()
            .map(|m| format!("{} \u{00B1}{:.1}%", m.metric, m.floor_pct))
            .collect();
        format!(
            "noise floor ({} A/A, {} clients, {} pairs): {}",
            self.model,
            self.clients,
            self.pairs,
            if parts.is_empty() {
                "fewer than 2 pairs, none measured".to_string()
            } else {
                parts.join(", ")
            }
        )
    }
}

/// A per-run metric: name and how to read it.
type Metric = (&'static str, fn(&RunResult) -> Option<f64>);

const METRICS: [Metric; 3] = [
    ("msgs/s", |r| Some(r.throughput.msgs_per_sec)),
    ("p99", |r| {
        Some(r.latency_us.p99 as f64).filter(|v| *v > 0.0)
    }),
    ("server CPU/msg", |r| {
        Some(r.cost.as_ref()?.server.as_ref()?.cpu_ns_per_msg)
    }),
];

/// Every A/A pair among `runs` (keyed as the report keys them), with its noise floor.
pub fn noise_floors(runs: &[(CellKey, String, RunResult)]) -> Vec<AaNoise> {
    let mut by_cell: BTreeMap<&CellKey, BTreeMap<usize, &RunResult>> = BTreeMap::new();
    for (key, name, run) in runs {
        if let Some(k) = run_index(name) {
            by_cell.entry(key).or_default().insert(k, run);
        }
    }
    let mut out = Vec::new();
    for (twin_key, twin) in &by_cell {
        let Some(model) = twin_key.model.strip_suffix(AA_LABEL) else {
            continue;
        };
        let base_key = CellKey {
            model: model.to_string(),
            ..(*twin_key).clone()
        };
        let Some(base) = by_cell.get(&base_key) else {
            continue;
        };
        let pairs: Vec<(&RunResult, &RunResult)> = base
            .iter()
            .filter_map(|(k, a)| Some((*a, *twin.get(k)?)))
            .collect();
        out.push(AaNoise {
            model: model.to_string(),
            clients: twin_key.clients,
            pairs: pairs.len(),
            metrics: METRICS
                .iter()
                .filter_map(|(name, read)| metric_noise(name, *read, &pairs))
                .collect(),
        });
    }
    out
}

/// One metric's noise floor over the pairs where both runs recorded it.
fn metric_noise(
    name: &str,
    read: fn(&RunResult) -> Option<f64>,
    pairs: &[(&RunResult, &RunResult)],
) -> Option<MetricNoise> {
    let (a, b): (Vec<f64>, Vec<f64>) = pairs
        .iter()
        .filter_map(|(a, b)| Some((read(a)?, read(b)?)))
        .unzip();
    let floor = noise_floor(&a, &b, &BootstrapConfig::default()).ok()?;
    Some(MetricNoise {
        metric: name.to_string(),
        floor_pct: floor.half_width * 100.0,
        delta_pct: floor.delta.estimate * 100.0,
        low_pct: floor.delta.low * 100.0,
        high_pct: floor.delta.high * 100.0,
        sd_log_ratio_pct: floor.sd_log_ratio * 100.0,
    })
}
