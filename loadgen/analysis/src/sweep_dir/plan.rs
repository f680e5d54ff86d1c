//! The options a sweep ran with ([`SweepPlan`]), saved in `sweep.json` before its first cell so
//! that `sweep --resume` can finish it with exactly those options. On disk each option is
//! named and written as on the command line (`"server_pin": [0]`, `"duration": "500ms"`).

use std::collections::BTreeMap;

use clap::Args;
use results_model::capacity::Slo;
use results_model::Model;
use serde::{Deserialize, Serialize};

use crate::options::text::{display_opt, model_opt, models};
use crate::options::{
    KernelArgs, LinkArgs, MessageArgs, ServerArgs, ServerPinArgs, WindowArgs, WorkerArgs,
};

/// Client counts of a sweep by default: they fit the 20,000 fd limit.
pub const CLIENTS: [usize; 5] = [1, 10, 100, 1000, 10000];
/// Measured time of each run of a sweep by default.
pub const DURATION: &str = "5s";
/// Warm-up of each run of a sweep by default.
pub const WARMUP: &str = "1s";

/// The options of `loadgen sweep` that decide which cells exist and what they measure.
#[derive(Args, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[command(
    mut_arg("duration", |a| a
        .default_value(DURATION)
        .help("Measured time of each run (e.g. 5s, 500ms)")),
    mut_arg("warmup", |a| a
        .default_value(WARMUP)
        .help("Warm-up of each run, not recorded")),
    mut_arg("threads", |a| a.help("loadgen worker threads (default: number of CPUs)")),
    mut_arg("server_pin", |a| a.help(
        "Pin every child server to these CPUs (e.g. `0`), and loadgen's workers to the others \
         (one worker per remaining CPU): fixed placement removes the 2× swings a 2-core machine \
         shows when the scheduler moves client and server between cores"
    )),
)]
pub struct SweepPlan {
    /// Models to run, comma-separated (default: every model).
    #[arg(long, value_enum, value_delimiter = ',')]
    #[serde(with = "models")]
    pub models: Vec<Model>,
    /// Client counts, comma-separated (the default fits the 20,000 fd limit: client and server
    /// are separate processes).
    #[arg(long, value_delimiter = ',', default_values_t = CLIENTS)]
    pub clients: Vec<usize>,
    /// Measured time and warm-up of each run.
    #[command(flatten)]
    #[serde(flatten)]
    pub window: WindowArgs,
    /// Repeats per cell; tables show the median, compare uses the spread.
    #[arg(long, default_value_t = 1)]
    pub runs: usize,
    /// What each message is.
    #[command(flatten)]
    #[serde(flatten)]
    pub message: MessageArgs,
    /// loadgen's workers.
    #[command(flatten)]
    #[serde(flatten)]
    pub workers: WorkerArgs,
    /// Every child server.
    #[command(flatten)]
    #[serde(flatten)]
    pub server: ServerArgs,
    /// The child servers' CPUs.
    #[command(flatten)]
    #[serde(flatten)]
    pub server_pin: ServerPinArgs,
    /// Client count of the latency-spectrum chart (default: the one most models completed).
    #[arg(long)]
    pub spectrum_clients: Option<usize>,
    /// Also rank the models by open-loop capacity under this SLO (e.g. `p99=1ms`); curves
    /// and `ranking.md` go to `<out>/capacity/`.
    #[arg(long, value_name = "SLO")]
    #[serde(default, with = "display_opt")]
    pub capacity_slo: Option<Slo>,
    /// Run MODEL twice per client count, as two cells interleaved with the others (`MODEL` and
    /// `MODEL (A/A)`): the two measure the same thing, so their paired difference is the
    /// machine's noise floor, which the report shows.
    #[arg(long, value_enum, value_name = "MODEL")]
    #[serde(default, with = "model_opt")]
    pub aa: Option<Model>,
    /// A WAN-like link between the clients and every cell's server (echo-proxy).
    #[command(flatten)]
    #[serde(flatten)]
    pub link: LinkArgs,
    /// Kernel counters and a flamegraph per cell (beside each cell's JSON).
    #[command(flatten)]
    #[serde(flatten)]
    pub kernel: KernelArgs,
}

impl SweepPlan {
    /// This plan with its models resolved: none named means every model.
    pub fn resolved(&self) -> SweepPlan {
        let mut plan = self.clone();
        if plan.models.is_empty() {
            plan.models = Model::ALL.to_vec();
        }
        plan
    }

    /// Each option by its command-line name (`server_pin`), as saved.
    pub fn keyed(&self) -> BTreeMap<String, serde_json::Value> {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(map)) => map.into_iter().collect(),
            _ => BTreeMap::new(),
        }
    }
}
