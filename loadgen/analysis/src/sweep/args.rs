//! The options of `loadgen sweep`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use proto::Protocol;
use results_model::{CpuList, Model};

/// Options of `loadgen sweep`.
#[derive(Args, Debug, Clone)]
pub struct SweepArgs {
    /// Models to run, comma-separated (default: every model).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub models: Vec<Model>,
    /// Client counts, comma-separated (the default fits the 20,000 fd limit: client and server
    /// are separate processes).
    #[arg(long, value_delimiter = ',', default_values_t = [1, 10, 100, 1000, 10000])]
    pub clients: Vec<usize>,
    /// Payload bytes per message.
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// Measured time of each run (e.g. 5s, 500ms).
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Warm-up of each run, not recorded.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub warmup: Duration,
    /// Repeats per cell; tables show the median, compare uses the spread.
    #[arg(long, default_value_t = 1)]
    pub runs: usize,
    /// Wire protocol: raw, line or framed.
    #[arg(long, default_value_t = Protocol::Raw)]
    pub protocol: Protocol,
    /// Messages outstanding per client.
    #[arg(long, default_value_t = 1)]
    pub pipeline: usize,
    /// loadgen worker threads (default: number of CPUs).
    #[arg(long)]
    pub threads: Option<usize>,
    /// The echo-server binary (default: next to loadgen's own executable).
    #[arg(long, value_name = "PATH")]
    pub server_bin: Option<PathBuf>,
    /// Extra argument for every child server, repeatable.
    #[arg(long, value_name = "ARG", allow_hyphen_values = true)]
    pub server_arg: Vec<String>,
    /// Seed of the payloads.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Pin every child server to these CPUs (e.g. `0`), and loadgen's workers to the others
    /// (one worker per remaining CPU): fixed placement removes the 2× swings a 2-core machine
    /// shows when the scheduler moves client and server between cores.
    #[arg(long, value_name = "CPUS", value_parser = |s: &str| s.parse::<CpuList>())]
    pub server_pin: Option<CpuList>,
    /// Client count of the latency-spectrum chart (default: the one most models completed).
    #[arg(long)]
    pub spectrum_clients: Option<usize>,
    /// Output directory (default: results/sweep-<UTC timestamp>/).
    #[arg(long, short, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Only errors on stderr (no per-cell progress).
    #[arg(long, short)]
    pub quiet: bool,
    /// Also rank the models by open-loop capacity under this SLO (e.g. `p99=1ms`); curves
    /// and `ranking.md` go to `<out>/capacity/`.
    #[arg(long, value_name = "SLO")]
    pub capacity_slo: Option<results_model::capacity::Slo>,
    /// Run MODEL twice per client count, as two cells interleaved with the others (`MODEL` and
    /// `MODEL (A/A)`): the two measure the same thing, so their paired difference is the
    /// machine's noise floor, which the report shows.
    #[arg(long, value_enum, value_name = "MODEL")]
    pub aa: Option<Model>,
    /// Finish the interrupted sweep in DIR with its saved options: only the cells without a
    /// result file run, then the report is rebuilt.
    #[arg(long, value_name = "DIR", conflicts_with = "out")]
    pub resume: Option<PathBuf>,
    /// A WAN-like link between the clients and every cell's server (echo-proxy).
    #[command(flatten)]
    pub link: crate::link_args::LinkArgs,
}
