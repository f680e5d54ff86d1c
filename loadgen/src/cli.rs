//! The command line: `loadgen [RUN OPTIONS]` runs a benchmark; subcommands do the rest.
//!
//! Adding a subcommand: a variant in [`Command`] with its own `Args` struct in the module that
//! does the work, and one arm in [`main`]. `RunArgs` is reusable (`#[command(flatten)]`) for
//! anything that runs benchmarks.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::{Args, Parser, Subcommand};
use loadgen_analysis::capacity::{command::capacity_command, CapacityPlan};
use loadgen_analysis::{compare, export, gate, merge, report, summary, sweep};
use loadgen_engine::run::{placement, shard};
use loadgen_engine::Progress;
use proto::Protocol;
use results_model::capacity::Slo;
use results_model::{Arrival, CpuList, Model, RunConfig, RunResult, ShardSpec, Target};

use crate::engine_runner::EngineRunner;

/// Exit code when the run finished but echoes were lost or corrupted, or connections failed.
pub const EXIT_RUN_FAILED: u8 = loadgen_analysis::EXIT_RUN_FAILED;
/// Exit code for bad arguments, limits, or a server that would not start.
pub const EXIT_SETUP: u8 = 2;
/// Exit code when SIGINT/SIGTERM cut the run short (its result is still written).
pub const EXIT_INTERRUPTED: u8 = loadgen_analysis::EXIT_INTERRUPTED;

/// A load generator for echo servers whose numbers can be trusted: thousands of verified
/// clients on a few threads, closed and open loop, HdrHistogram latency, full JSON results.
#[derive(Parser, Debug)]
#[command(
    name = "loadgen",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
#[command(subcommand_negates_reqs = true)]
pub struct Cli {
    /// A subcommand; none means run a benchmark with the options below.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of a benchmark run.
    #[command(flatten)]
    pub run: RunArgs,
}

/// What loadgen can do besides a plain run.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run one benchmark (the same as giving no subcommand).
    Run(Box<RunArgs>),
    /// Combine exactly the shards of one run (`--shard`), or runs made side by side; refuses
    /// inputs that do not belong together, with the reason.
    Merge(MergeArgs),
    /// Print the JSON Schema of result files (what results/schema.json holds).
    Schema,
    /// Run models × client counts (× repeats), then write the table, charts and index.html.
    Sweep(sweep::SweepArgs),
    /// Rebuild a sweep directory's table, charts and index.html from its JSON.
    Report(report::write::ReportArgs),
    /// Compare two results or sweeps cell by cell: exit 0 ok, 1 regression or lost echoes, 2 error.
    Compare(compare::command::CompareArgs),
    /// Find the highest open-loop rate a model holds under a latency SLO (curve as JSON + SVG).
    Capacity(CapacityArgs),
    /// Judge a paired CI gate (BASE.jsonl, NEW.jsonl): exit 0 pass, 1 regression, 2 bad input.
    Gate(gate::command::GateArgs),
}

/// Options of one benchmark run.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Start `echo-server --model M` as a child and drive it.
    #[arg(
        long,
        value_enum,
        required_unless_present = "addr",
        conflicts_with = "addr"
    )]
    pub model: Option<Model>,
    /// Drive an echo server already listening here instead (raw works with any RFC 862 server).
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_addr)]
    pub addr: Option<std::net::SocketAddr>,
    /// The echo-server binary (default: next to loadgen's own executable).
    #[arg(long, value_name = "PATH")]
    pub server_bin: Option<PathBuf>,
    /// Extra argument for the child server, repeatable (e.g. --server-arg=--workers --server-arg=1).
    #[arg(long, value_name = "ARG", allow_hyphen_values = true)]
    pub server_arg: Vec<String>,
    /// CPUs for the child server, e.g. `0` or `0,1` or `0-1`.
    #[arg(long, value_name = "CPUS", value_parser = parse_cpus)]
    pub server_pin: Option<CpuList>,
    /// Concurrent client connections (with --shard: of the whole run, split over the shards).
    #[arg(long, default_value_t = 50)]
    pub clients: usize,
    /// Measured time (e.g. 10s, 500ms, 1m).
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Time before measuring; its messages are not recorded.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub warmup: Duration,
    /// Payload bytes per message (`line` includes the newline; `framed` adds a 4-byte header).
    #[arg(long, default_value_t = 64)]
    pub size: usize,
    /// Wire protocol: raw, line or framed.
    #[arg(long, default_value_t = Protocol::Raw)]
    pub protocol: Protocol,
    /// Messages outstanding per client (closed loop); in open loop, the most unanswered.
    #[arg(long, default_value_t = 1)]
    pub pipeline: usize,
    /// Open loop: total messages per second, sent on schedule whatever the replies do (with
    /// --shard: of the whole run, split like the clients).
    #[arg(long, value_name = "MSGS_PER_SEC")]
    pub rate: Option<f64>,
    /// New connections per second over all clients (default: as fast as the backlog allows);
    /// with --shard, per shard.
    #[arg(long, value_name = "CONNS_PER_SEC")]
    pub connect_rate: Option<f64>,
    /// A connect that takes longer is counted as a connect timeout.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub connect_timeout: Duration,
    /// An echo that takes longer is counted as a reply timeout (and ends its connection).
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub reply_timeout: Duration,
    /// After the window, how long outstanding echoes may still arrive.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub drain: Duration,
    /// loadgen worker threads (default: number of CPUs; with --model, the CPUs the server
    /// leaves, at least 1; with a loopback --addr, all CPUs but one).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Open loop: spacing of send times, `uniform` (even) or `poisson` (exponential, seeded).
    #[arg(long, value_enum, default_value_t = Arrival::Uniform)]
    pub arrival: Arrival,
    /// Open loop, uniform arrivals: release due messages on ticks at least this far apart
    /// (e.g. 40us). Default: one message per tick, ticks at least 10µs apart. Coarser ticks
    /// cost loadgen less CPU and send in bursts; the send lag and the arrival check show it.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub tick: Option<Duration>,
    /// CPUs for loadgen's worker threads, e.g. `1` or `2-3`.
    #[arg(long, value_name = "CPUS", value_parser = parse_cpus)]
    pub pin: Option<CpuList>,
    /// Seed of the payloads (each shard derives its own from it).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Run shard I of N (0-based) of a run split over N loadgen processes or hosts: this one
    /// drives its share of --clients and --rate (the first clients % N shards get one client
    /// more), with client numbers and a payload seed of its own. Without it, the environment
    /// variables JOB_COMPLETION_INDEX (set by a Kubernetes Indexed Job) and LOADGEN_SHARDS give
    /// I and N; set both or neither. Combine the shards' results with `loadgen merge`.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<ShardSpec>,
    /// Open the measured window at this UTC time, RFC 3339 (e.g. 2026-01-31T12:00:00Z or
    /// 2026-01-31T12:00:00.250Z): loadgen waits, connects and warms up in the --warmup before it.
    /// Give every shard the same time so their windows line up. Refused if already past or
    /// closer than the warm-up; the run fails if clients are still unconnected when it opens.
    #[arg(long, value_name = "TIME", value_parser = humantime::parse_rfc3339)]
    pub start_at: Option<SystemTime>,
    /// Where the JSON goes (`-` for stdout); default `results/<model>-<clients>c-<size>B-<time>.json`
    /// (a shard's ends in `-shard<I>of<N>.json`).
    #[arg(long, short, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// No progress and no summary (errors only).
    #[arg(long, short)]
    pub quiet: bool,
    /// A delayed link (echo-proxy) between loadgen and the server it starts.
    #[command(flatten)]
    pub link: loadgen_analysis::link_args::LinkArgs,
}

impl RunArgs {
    /// The run these options describe: with `--shard`, this shard's part of it (the
    /// environment variables are read by [`main`], not here).
    pub fn to_config(&self) -> RunConfig {
        let target = match (self.model, self.addr) {
            (_, Some(addr)) => Target::External { addr },
            (model, None) => Target::Spawn {
                model: model.unwrap_or(Model::Threads).name().to_string(),
                server_bin: self.server_bin.clone(),
                server_args: self.server_arg.clone(),
                server_pin: self.server_pin.clone().map(|c| c.0),
            },
        };
        let config = RunConfig {
            target,
            protocol: self.protocol,
            clients: self.clients,
            duration: self.duration,
            warmup: self.warmup,
            size: self.size,
            pipeline: self.pipeline,
            rate: self.rate,
            connect_rate: self.connect_rate,
            connect_timeout: self.connect_timeout,
            reply_timeout: self.reply_timeout,
            drain: self.drain,
            threads: self.threads.unwrap_or_else(|| {
                let cpus = placement::allowed_cpus();
                match self.addr {
                    Some(addr) => placement::default_threads_for_addr(addr, cpus),
                    None => placement::default_threads(self.model, cpus),
                }
            }),
            pin: self.pin.clone().map(|c| c.0),
            seed: self.seed,
            arrival: self.arrival,
            tick_us: self.tick.map(|t| t.as_micros() as u64),
            shard: None,
            start_at: self.start_at,
            link: self.link.link(),
        };
        match self.shard {
            Some(spec) => config.for_shard(spec),
            None => config,
        }
    }
}

/// Options of `loadgen merge`. Inputs that are shards of one run (`--shard`) must be all the
/// shards of one configuration, with windows aligned; other inputs merge as runs made side by
/// side. Open-loop and closed-loop results never mix.
#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Result files to combine.
    #[arg(required = true, num_args = 1..)]
    pub inputs: Vec<PathBuf>,
    /// Where the merged JSON goes (`-` for stdout).
    #[arg(long, short, default_value = "-")]
    pub output: PathBuf,
    /// Shards of one run must have opened their windows within this of each other.
    #[arg(long, default_value = "10ms", value_parser = humantime::parse_duration)]
    pub window_tolerance: Duration,
}

/// Options of `loadgen capacity`.
#[derive(Args, Debug, Clone)]
pub struct CapacityArgs {
    /// The model to measure.
    #[arg(long, value_enum)]
    pub model: Model,
    /// The latency objective on the corrected latency, e.g. `p99=1ms` or `p99.9=5ms`.
    #[arg(long, default_value = "p99=1ms")]
    pub slo: Slo,
    /// Concurrent client connections.
    #[arg(long, default_value_t = 100)]
    pub clients: usize,
    /// Measured time of each search run.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub step_duration: Duration,
    /// Measured time of the confirmation run.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub confirm_duration: Duration,
    /// Warm-up of every run.
    #[arg(long, default_value = "500ms", value_parser = humantime::parse_duration)]
    pub warmup: Duration,
    /// First rate tried, msgs/s.
    #[arg(long, default_value_t = 1000.0)]
    pub min_rate: f64,
    /// Highest rate tried, msgs/s.
    #[arg(long, default_value_t = 1_000_000.0)]
    pub max_rate: f64,
    /// Open loop spacing of send times.
    #[arg(long, value_enum, default_value_t = Arrival::Uniform)]
    pub arrival: Arrival,
    /// loadgen worker threads (default: the CPUs the server leaves, at least 1).
    #[arg(long)]
    pub threads: Option<usize>,
    /// The echo-server binary (default: next to loadgen's own executable).
    #[arg(long, value_name = "PATH")]
    pub server_bin: Option<PathBuf>,
    /// Extra argument for the child server, repeatable.
    #[arg(long, value_name = "ARG", allow_hyphen_values = true)]
    pub server_arg: Vec<String>,
    /// Directory for `capacity-<model>.json` and `.svg` (created if missing).
    #[arg(long, default_value = "results/capacity")]
    pub out: PathBuf,
    /// Print only the result line.
    #[arg(long, short)]
    pub quiet: bool,
}

impl CapacityArgs {
    /// The search these options describe.
    pub fn plan(&self) -> CapacityPlan {
        CapacityPlan {
            model: self.model,
            slo: self.slo,
            clients: self.clients,
            step_duration: self.step_duration,
            confirm_duration: self.confirm_duration,
            warmup: self.warmup,
            min_rate: self.min_rate,
            max_rate: self.max_rate,
            arrival: self.arrival,
            threads: self.threads,
            server_bin: self.server_bin.clone(),
            server_arg: self.server_arg.clone(),
            quiet: self.quiet,
        }
    }
}

/// Resolves `HOST:PORT` (a name or an address) to the first address it names.
fn parse_addr(s: &str) -> Result<std::net::SocketAddr, String> {
    use std::net::ToSocketAddrs;
    s.to_socket_addrs()
        .map_err(|e| format!("cannot resolve {s:?}: {e}"))?
        .next()
        .ok_or_else(|| format!("{s:?} resolves to no address"))
}

/// Parses a CPU list: `0`, `0,2`, `1-3`, `0,2-3`.
fn parse_cpus(s: &str) -> Result<CpuList, String> {
    s.parse()
}

/// Runs the command line; the binary's `main` is just this.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        None => run_command(&cli.run),
        Some(Command::Run(args)) => run_command(&args),
        Some(Command::Merge(args)) => merge_command(&args),
        Some(Command::Sweep(args)) => sweep::sweep_command(&args, &mut EngineRunner),
        Some(Command::Report(args)) => report::write::report_command(&args),
        Some(Command::Compare(args)) => compare::command::compare_command(&args),
        Some(Command::Capacity(args)) => {
            capacity_command(&args.plan(), &args.out, &mut EngineRunner)
        }
        Some(Command::Gate(args)) => gate::command::gate_command(&args),
        Some(Command::Schema) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&RunResult::json_schema())
                    .expect("a schema serializes")
            );
            Ok(ExitCode::SUCCESS)
        }
    };
    outcome.unwrap_or_else(|err| {
        eprintln!("loadgen: error: {err:#}");
        ExitCode::from(EXIT_SETUP)
    })
}

fn run_command(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let mut args = args.clone();
    args.shard = shard::resolve(args.shard, |name| std::env::var(name).ok())?;
    let args = &args;
    let config = args.to_config();
    let progress = if args.quiet {
        Progress::Quiet
    } else {
        Progress::Auto
    };
    let result = loadgen_engine::run(&config, progress)?;
    let path = args
        .output
        .clone()
        .unwrap_or_else(|| export::json::default_path(&result));
    let written = export::json::write(&result, &path)?;
    if !args.quiet {
        eprint!("{}", summary::render(&result, Some(&written)));
    }
    if loadgen_engine::run::interrupted() {
        return Ok(ExitCode::from(EXIT_INTERRUPTED));
    }
    Ok(exit_code(&result))
}

fn merge_command(args: &MergeArgs) -> anyhow::Result<ExitCode> {
    let inputs = args
        .inputs
        .iter()
        .map(|p| Ok((p.display().to_string(), RunResult::load(p)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let merged = merge::merge_with_tolerance(&inputs, args.window_tolerance)?;
    export::json::write(&merged, &args.output)?;
    Ok(exit_code(&merged))
}

/// 0 when the run passed, [`EXIT_RUN_FAILED`] otherwise.
pub fn exit_code(result: &RunResult) -> ExitCode {
    if result.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_RUN_FAILED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn addresses_and_cpu_lists() {
        assert_eq!(parse_addr("127.0.0.1:7"), Ok(([127, 0, 0, 1], 7).into()));
        assert!(parse_addr("localhost:7").is_ok_and(|a| a.ip().is_loopback()));
        assert!(parse_addr("no-port").is_err());
        assert_eq!(parse_cpus("0"), Ok(CpuList(vec![0])));
        assert_eq!(parse_cpus("0,2-3"), Ok(CpuList(vec![0, 2, 3])));
        assert!(parse_cpus("3-1").is_err());
        assert!(parse_cpus("x").is_err());
    }

    #[test]
    fn no_subcommand_means_run() {
        let cli =
            Cli::try_parse_from(["loadgen", "--model", "threads", "--clients", "1000"]).unwrap();
        assert!(cli.command.is_none());
        let config = cli.run.to_config();
        assert_eq!(config.clients, 1000);
        assert_eq!(config.target.label(), "threads");
        let cli =
            Cli::try_parse_from(["loadgen", "merge", "a.json", "b.json", "-o", "c.json"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Merge(_))));
        assert!(
            Cli::try_parse_from(["loadgen", "--clients", "5"]).is_err(),
            "needs a target"
        );
        let cli = Cli::try_parse_from([
            "loadgen",
            "--addr",
            "127.0.0.1:7",
            "--server-arg=--workers",
            "--server-arg=1",
            "--pin",
            "1",
            "--server-pin",
            "0-1",
        ])
        .unwrap();
        assert_eq!(cli.run.server_arg, vec!["--workers", "1"]);
        let config = cli.run.to_config();
        assert_eq!(config.pin, Some(vec![1]));
    }

    #[test]
    fn pin_and_server_pin_reach_the_config() {
        let cli = Cli::try_parse_from(["loadgen", "--model", "mio", "--server-pin", "0"]).unwrap();
        let config = cli.run.to_config();
        assert!(
            matches!(&config.target, Target::Spawn { server_pin: Some(p), .. } if p == &[0]),
            "{:?}",
            config.target
        );
        assert_eq!(config.pin, None);
        let cli = Cli::try_parse_from(["loadgen", "--model", "mio", "--pin", "1"]).unwrap();
        let config = cli.run.to_config();
        assert_eq!(config.pin, Some(vec![1]));
        assert!(matches!(
            &config.target,
            Target::Spawn {
                server_pin: None,
                ..
            }
        ));
    }
}
