//! The runs of one model's capacity search: the same run at each rate the search asks for,
//! short while searching and longer to confirm.

use std::path::PathBuf;
use std::time::Duration;

use results_model::capacity::{Bounds, Phase, Slo};
use results_model::config::{RunConfig, Target};
use results_model::open_loop::Arrival;
use results_model::Model;

/// What one model's capacity search runs.
#[derive(Debug, Clone)]
pub struct CapacityPlan {
    /// The model to measure.
    pub model: Model,
    /// The latency objective on the corrected latency.
    pub slo: Slo,
    /// Concurrent client connections.
    pub clients: usize,
    /// Measured time of each search run.
    pub step_duration: Duration,
    /// Measured time of the confirmation run.
    pub confirm_duration: Duration,
    /// Warm-up of every run.
    pub warmup: Duration,
    /// First rate tried, msgs/s.
    pub min_rate: f64,
    /// Highest rate tried, msgs/s.
    pub max_rate: f64,
    /// Open loop spacing of send times.
    pub arrival: Arrival,
    /// loadgen worker threads (`None`: the runner's default for the model).
    pub threads: Option<usize>,
    /// The echo-server binary (`None`: next to loadgen's own executable).
    pub server_bin: Option<PathBuf>,
    /// Extra arguments for the child server.
    pub server_arg: Vec<String>,
    /// Print only the result line.
    pub quiet: bool,
}

impl CapacityPlan {
    /// The rates searched.
    pub fn bounds(&self) -> Bounds {
        Bounds {
            min_rate: self.min_rate,
            max_rate: self.max_rate.max(self.min_rate),
        }
    }

    /// The run at `rate` for `phase`, with `threads` when the plan names none.
    pub fn config(&self, rate: f64, phase: Phase, default_threads: Option<usize>) -> RunConfig {
        let mut c = RunConfig::new(self.model.name(), self.clients);
        c.target = Target::Spawn {
            model: self.model.name().to_string(),
            server_bin: self.server_bin.clone(),
            server_args: self.server_arg.clone(),
            server_pin: None,
        };
        c.rate = Some(rate);
        c.warmup = self.warmup;
        c.duration = match phase {
            Phase::Confirm => self.confirm_duration,
            Phase::Grow | Phase::Bisect => self.step_duration,
        };
        c.arrival = self.arrival;
        if let Some(threads) = self.threads.or(default_threads) {
            c.threads = threads;
        }
        c
    }
}
