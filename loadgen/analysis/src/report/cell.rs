//! A cell of the table: what identifies it ([`CellKey`]), how it went ([`CellStatus`]) and its
//! repeats summarized ([`CellSummary`], with its latency for the charts in [`Cell`]).

use results_model::histogram::LatencyHistogram;
use results_model::result::RunResult;
use results_model::Model;
use serde::{Deserialize, Serialize};

use super::spread::{Interval, Spread};
use crate::sweep_dir::names::AA_LABEL;

/// How a cell went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CellStatus {
    /// Every repeat ran and passed.
    Ok,
    /// It ran, but echoes were lost or corrupted, or connections failed.
    Errors,
    /// Not attempted: a known limit (e.g. `select` past FD_SETSIZE).
    Skipped,
    /// Attempted, but could not run (server did not start, limits, ...).
    Failed,
}

impl CellStatus {
    /// How the status reads in tables.
    pub fn label(self) -> &'static str {
        match self {
            CellStatus::Ok => "ok",
            CellStatus::Errors => "ERRORS",
            CellStatus::Skipped => "skipped",
            CellStatus::Failed => "FAILED",
        }
    }
}

/// What identifies a cell across sweeps.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CellKey {
    /// Model name (`external` for `--addr` runs).
    pub model: String,
    /// Concurrent clients.
    pub clients: usize,
    /// Payload bytes per message.
    pub size: usize,
    /// Wire protocol name.
    pub protocol: String,
    /// Messages outstanding per client.
    pub pipeline: usize,
}

impl CellKey {
    /// The key of a run.
    pub fn of(r: &RunResult) -> CellKey {
        CellKey {
            model: r.config.target.label().to_string(),
            clients: r.config.clients,
            size: r.config.size,
            protocol: r.config.protocol.name().to_string(),
            pipeline: r.config.pipeline,
        }
    }

    /// `mio × 100 clients`.
    pub fn label(&self) -> String {
        format!("{} × {} clients", self.model, self.clients)
    }

    /// Sort key: models in [`Model::ALL`] order (unknown names after, alphabetically).
    pub(super) fn order(&self) -> (usize, String, usize, usize, String, usize) {
        let base = self.model.strip_suffix(AA_LABEL);
        let rank = Model::from_name(base.unwrap_or(&self.model))
            .and_then(|m| Model::ALL.iter().position(|&x| x == m))
            .unwrap_or(Model::ALL.len());
        let k = self.clone();
        (rank, k.model, k.clients, k.size, k.protocol, k.pipeline)
    }
}

/// One row of the table: a cell's repeats summarized.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellSummary {
    /// Which cell.
    #[serde(flatten)]
    pub key: CellKey,
    /// How it went.
    pub status: CellStatus,
    /// Why it did not run, or what went wrong.
    pub note: Option<String>,
    /// Result files of its repeats, by name.
    pub runs: Vec<String>,
    /// Completed messages per second.
    pub msgs_per_sec: Option<Spread>,
    /// Median latency, µs.
    pub p50_us: Option<Spread>,
    /// 99th percentile latency, µs.
    pub p99_us: Option<Spread>,
    /// 99.9th percentile latency, µs.
    pub p99_9_us: Option<Spread>,
    /// Errors of every kind, summed over repeats.
    pub errors: u64,
    /// Echoes never answered (lost), summed over repeats.
    pub lost: u64,
    /// Server CPU cores used in the window (median).
    pub server_cpu_cores: Option<f64>,
    /// Server peak RSS divided by clients, bytes (median).
    pub server_rss_per_conn_bytes: Option<f64>,
    /// Whether loadgen itself was saturated in any repeat (figures may measure loadgen).
    pub loadgen_saturated: bool,
    /// Server CPU time per echoed message, ns (runs that recorded a cost).
    #[serde(default)]
    pub server_cpu_ns_per_msg: Option<Spread>,
    /// loadgen CPU time per echoed message, ns.
    #[serde(default)]
    pub loadgen_cpu_ns_per_msg: Option<Spread>,
    /// msgs/s: median and 95% bootstrap interval (two or more repeats).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msgs_per_sec_ci: Option<Interval>,
    /// p99 latency, µs: median and 95% bootstrap interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_us_ci: Option<Interval>,
    /// Server CPU per message, ns: median and 95% bootstrap interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_cpu_ns_per_msg_ci: Option<Interval>,
    /// Server system calls per echoed message, all names together (runs that counted them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_syscalls_per_msg: Option<Spread>,
    /// Why the cell is left out of the msgs/s and p99 rankings (loadgen was the bottleneck).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loadgen_bound: Option<String>,
}

impl CellSummary {
    /// Whether any repeat lost or corrupted an echo, or failed a connection.
    pub fn has_failures(&self) -> bool {
        self.status == CellStatus::Errors || self.errors > 0 || self.lost > 0
    }
}

/// A cell with what the charts need beyond the table.
#[derive(Clone, Debug)]
pub struct Cell {
    /// The table row.
    pub summary: CellSummary,
    /// Every repeat's latency histogram added together (`None` when it did not run).
    pub latency: Option<LatencyHistogram>,
}
