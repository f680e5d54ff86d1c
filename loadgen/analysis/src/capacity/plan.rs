//! The runs of one server's capacity search ([`CapacityPlan`], the options of `loadgen
//! capacity`): the same run at each rate the search asks for, short while searching and longer
//! to confirm, against a child server of `--model` or the server at `--addr`.

use std::time::Duration;

use clap::Args;
use results_model::capacity::{Bounds, Phase, Slo};
use results_model::config::{RunConfig, Target};

use crate::options::{ArrivalArgs, HumanDuration, TargetArgs, WorkerArgs};

/// The latency objective by default.
pub const SLO: &str = "p99=1ms";
/// Concurrent client connections of a search (and of every search of `sweep --capacity-slo`).
pub const CLIENTS: usize = 100;
/// Measured time of each search run by default (and at most, in a sweep).
pub const STEP_DURATION: Duration = Duration::from_secs(2);
/// Measured time of the confirmation run by default.
pub const CONFIRM_DURATION: Duration = Duration::from_secs(5);
/// Warm-up of every run by default (and at most, in a sweep).
pub const WARMUP: Duration = Duration::from_millis(500);
/// First rate tried, msgs/s.
pub const MIN_RATE: f64 = 1000.0;
/// Highest rate tried, msgs/s.
pub const MAX_RATE: f64 = 1_000_000.0;

/// What one server's capacity search runs.
#[derive(Args, Debug, Clone)]
#[command(mut_arg("threads", |a| a
    .help("loadgen worker threads (default: the CPUs the server leaves, at least 1; with a \
           loopback --addr, all CPUs but one)")))]
#[command(mut_arg("addr", |a| a
    .help("Search the echo server (RFC 862, raw) already listening here instead. It must \
           accept a connection and echo two messages back unchanged first, or loadgen \
           stops with exit 2")))]
pub struct CapacityPlan {
    /// The server to measure: `--model` (a fresh child per run) or `--addr`.
    #[command(flatten)]
    pub target: TargetArgs,
    /// The latency objective on the corrected latency, e.g. `p99=1ms` or `p99.9=5ms`.
    #[arg(long, default_value = SLO)]
    pub slo: Slo,
    /// Concurrent client connections.
    #[arg(long, default_value_t = CLIENTS)]
    pub clients: usize,
    /// Measured time of each search run.
    #[arg(long, default_value_t = HumanDuration(STEP_DURATION))]
    pub step_duration: HumanDuration,
    /// Measured time of the confirmation run.
    #[arg(long, default_value_t = HumanDuration(CONFIRM_DURATION))]
    pub confirm_duration: HumanDuration,
    /// Warm-up of every run.
    #[arg(long, default_value_t = HumanDuration(WARMUP))]
    pub warmup: HumanDuration,
    /// First rate tried, msgs/s.
    #[arg(long, default_value_t = MIN_RATE)]
    pub min_rate: f64,
    /// Highest rate tried, msgs/s.
    #[arg(long, default_value_t = MAX_RATE)]
    pub max_rate: f64,
    /// Open-loop spacing of send times.
    #[command(flatten)]
    pub arrival: ArrivalArgs,
    /// loadgen's workers (`None`: the runner's default for the model).
    #[command(flatten)]
    pub workers: WorkerArgs,
    /// Print only the result line.
    #[arg(long, short)]
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

    /// The server searched: a child of `--model` started for each run, or `--addr`.
    pub fn server(&self) -> anyhow::Result<Target> {
        self.target.target(None)
    }

    /// The name of the server searched, for its files and lines: the model, or the address.
    pub fn name(&self) -> String {
        match (self.target.model, self.target.addr) {
            (_, Some(addr)) => addr.to_string(),
            (Some(model), None) => model.name().to_string(),
            (None, None) => "none".to_string(),
        }
    }

    /// The run at `rate` for `phase`, with `threads` when the plan names none.
    pub fn config(
        &self,
        rate: f64,
        phase: Phase,
        default_threads: Option<usize>,
    ) -> anyhow::Result<RunConfig> {
        let mut c = RunConfig::new("external", self.clients);
        c.target = self.server()?;
        c.rate = Some(rate);
        c.warmup = self.warmup.get();
        c.duration = match phase {
            Phase::Confirm => self.confirm_duration.get(),
            Phase::Grow | Phase::Bisect => self.step_duration.get(),
        };
        c.arrival = self.arrival.arrival;
        if let Some(threads) = self.workers.threads.or(default_threads) {
            c.threads = threads;
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cmd {
        #[command(flatten)]
        plan: CapacityPlan,
    }

    #[test]
    fn an_address_is_searched_as_it_is_and_named_by_it() {
        let cmd = Cmd::try_parse_from(["x", "--addr", "127.0.0.1:7007"]).unwrap();
        let c = cmd.plan.config(5000.0, Phase::Confirm, Some(1)).unwrap();
        assert_eq!(
            c.target,
            Target::External {
                addr: ([127, 0, 0, 1], 7007).into()
            }
        );
        assert_eq!((c.rate, c.duration), (Some(5000.0), CONFIRM_DURATION));
        assert_eq!(cmd.plan.name(), "127.0.0.1:7007");
        let cmd = Cmd::try_parse_from(["x", "--model", "mio"]).unwrap();
        let c = cmd.plan.config(5000.0, Phase::Grow, Some(1)).unwrap();
        assert_eq!((c.target.label(), c.duration), ("mio", STEP_DURATION));
        assert_eq!(cmd.plan.name(), "mio");
        assert!(Cmd::try_parse_from(["x"]).is_err(), "a server is needed");
        let both = ["x", "--model", "mio", "--addr", "127.0.0.1:7"];
        assert!(Cmd::try_parse_from(both).is_err(), "one server at a time");
    }
}
