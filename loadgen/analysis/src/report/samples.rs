//! Each repeat's figures, kept beside the cell summaries so a comparison can pair or resample
//! them (a summary holds only their median and range).

use std::collections::BTreeMap;

use results_model::result::RunResult;

use super::cell::CellKey;
use crate::sweep_dir::names::run_index;

/// One repeat of a cell.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RunSample {
    /// The `k` of a `...-r<k>.json` file; `None` for a file named otherwise.
    pub index: Option<usize>,
    /// When the measured window opened, Unix ns (when recorded).
    pub window_start_ns: Option<u64>,
    /// Completed messages per second.
    pub msgs_per_sec: f64,
    /// 99th percentile latency, µs (`None` when no latency was recorded).
    pub p99_us: Option<f64>,
    /// Server CPU time per echoed message, ns (when the run recorded its cost).
    pub server_cpu_ns_per_msg: Option<f64>,
}

impl RunSample {
    /// The figures of the run in file `name`.
    pub fn of(name: &str, r: &RunResult) -> RunSample {
        RunSample {
            index: run_index(name),
            window_start_ns: r.window_start_unix_ns,
            msgs_per_sec: r.throughput.msgs_per_sec,
            p99_us: Some(r.latency_us.p99 as f64).filter(|v| *v > 0.0),
            server_cpu_ns_per_msg: r
                .cost
                .as_ref()
                .and_then(|c| c.server.as_ref())
                .map(|s| s.cpu_ns_per_msg),
        }
    }
}

/// Every cell's repeats, in file-name order.
pub type Samples = BTreeMap<CellKey, Vec<RunSample>>;
