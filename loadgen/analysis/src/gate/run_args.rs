//! The options of `loadgen gate --base-server B --new-server N`: what the gate runs itself.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use results_model::Model;

use super::cases::MultiWorker;
use super::duet::PairSettings;

/// How the gate runs the duets.
#[derive(Args, Debug, Clone)]
pub struct DuetArgs {
    /// The base revision's echo-server: with it (and --new-server) the gate runs the pairs
    /// itself instead of reading BASE.jsonl and NEW.jsonl.
    #[arg(long, requires = "new_server", value_name = "PATH")]
    pub base_server: Option<PathBuf>,
    /// The working tree's echo-server.
    #[arg(long, requires = "base_server", value_name = "PATH")]
    pub new_server: Option<PathBuf>,
    /// Models to gate, comma-separated (default: every model); each multi-worker one also runs
    /// with one worker per CPU.
    #[arg(long, value_delimiter = ',')]
    pub models: Vec<String>,
    /// Only these cases (labels as the verdicts print them, `;`-separated); default all.
    #[arg(long, value_delimiter = ';', value_name = "CASES")]
    pub only: Vec<String>,
    /// Pairs per case.
    #[arg(long, default_value_t = 7)]
    pub pairs: u32,
    /// Clients per side.
    #[arg(long, default_value_t = 50)]
    pub clients: usize,
    /// Measured window of each run.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Warm-up of each run.
    #[arg(long, default_value = "300ms", value_parser = humantime::parse_duration)]
    pub warmup: Duration,
    /// A duet's start: time for both sides to start their servers, connect and warm up.
    #[arg(long, default_value = "1500ms", value_parser = humantime::parse_duration)]
    pub lead: Duration,
    /// loadgen worker threads per side.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Run each pair's sides one after the other (random order) instead of as a duet.
    #[arg(long)]
    pub sequential: bool,
    /// Where multi-worker models run their second case, with one worker per CPU.
    #[arg(long, value_enum, default_value_t = MultiWorker::SharedCpu)]
    pub multi_worker: MultiWorker,
    /// Pin nothing (one case per model).
    #[arg(long)]
    pub no_pin: bool,
    /// Directory for BASE.jsonl, NEW.jsonl (and confirm/ for the second run).
    #[arg(long, default_value = "target/ci-gate", value_name = "DIR")]
    pub out: PathBuf,
    /// Seed of the pairs' side order (default: from the clock).
    #[arg(long)]
    pub seed: Option<u64>,
    /// A planted regression on the new side: MODEL:PCT[:cpu|mem|syscall] sized in the duet, or
    /// MODEL=WORK as given (an --extra-work value).
    #[arg(long, value_name = "PLANT")]
    pub plant: Option<String>,
    /// A planted fault: MODEL's new server corrupts an echo in every 1000 chunks it receives.
    #[arg(long, value_name = "MODEL")]
    pub fault: Option<String>,
    /// One run only: a performance failure is not confirmed by a second run.
    #[arg(long)]
    pub no_confirm: bool,
}

impl DuetArgs {
    /// The models to gate: those asked for, or every model.
    pub fn models(&self) -> Vec<String> {
        if self.models.is_empty() {
            Model::ALL.iter().map(|m| m.name().to_string()).collect()
        } else {
            self.models.clone()
        }
    }

    /// How each pair runs.
    pub fn pair_settings(&self) -> Option<PairSettings> {
        Some(PairSettings {
            base_server: self.base_server.clone()?,
            new_server: self.new_server.clone()?,
            clients: self.clients,
            duration: self.duration,
            warmup: self.warmup,
            lead: self.lead,
            threads: self.threads,
            sequential: self.sequential,
        })
    }
}
