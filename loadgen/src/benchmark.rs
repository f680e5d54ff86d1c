//! `loadgen run` (and `loadgen` with no subcommand): one benchmark, its JSON and its summary.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use clap::Args;
use loadgen_analysis::options::{KernelArgs, LinkArgs, LoadArgs, PlacementArgs, TargetArgs};
use loadgen_analysis::{export, summary};
use loadgen_engine::run::{placement, shard};
use loadgen_engine::Progress;
use results_model::{RunConfig, RunResult, ShardSpec};

/// Options of one benchmark run.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Which server.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Where the threads go.
    #[command(flatten)]
    pub placement: PlacementArgs,
    /// The load.
    #[command(flatten)]
    pub load: LoadArgs,
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
    pub link: LinkArgs,
    /// Kernel counters and the flamegraph.
    #[command(flatten)]
    pub kernel: KernelArgs,
}

impl RunArgs {
    /// The run these options describe: with `--shard`, this shard's part of it (the
    /// environment variables are read by [`run_command`], not here).
    pub fn to_config(&self) -> anyhow::Result<RunConfig> {
        let (target, place, load) = (&self.target, &self.placement, &self.load);
        let (message, open_loop, connection) = (load.message, load.open_loop, load.connection);
        let threads = place.workers.threads.unwrap_or_else(|| {
            let cpus = placement::allowed_cpus();
            match target.addr {
                Some(addr) => placement::default_threads_for_addr(addr, cpus),
                None => placement::default_threads(target.model, cpus),
            }
        });
        let config = RunConfig {
            target: target.target(place.server.server_pin.as_ref())?,
            protocol: message.protocol,
            clients: load.clients,
            duration: load.window.duration.get(),
            warmup: load.window.warmup.get(),
            size: message.size,
            pipeline: message.pipeline,
            rate: open_loop.rate,
            connect_rate: connection.connect_rate,
            connect_timeout: connection.connect_timeout.get(),
            reply_timeout: connection.reply_timeout.get(),
            drain: connection.drain.get(),
            threads,
            pin: place.pin.clone().map(|c| c.0),
            seed: message.seed,
            arrival: open_loop.arrival.arrival,
            tick_us: open_loop.tick.map(|t| t.as_micros() as u64),
            cpu_qos: !open_loop.no_cpu_qos,
            spin: !open_loop.no_spin,
            shard: None,
            start_at: self.start_at,
            link: self.link.link(),
            kernel: self.kernel.probes(),
        };
        Ok(match self.shard {
            Some(spec) => config.for_shard(spec),
            None => config,
        })
    }
}

/// Runs the benchmark `args` describe, writes its JSON and, unless quiet, its summary.
pub fn run_command(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let mut args = args.clone();
    args.shard = shard::resolve(args.shard, |name| std::env::var(name).ok())?;
    let args = &args;
    let config = args.to_config()?;
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
        return Ok(ExitCode::from(loadgen_analysis::EXIT_INTERRUPTED));
    }
    Ok(exit_code(&result))
}

/// 0 when the run passed, [`loadgen_analysis::EXIT_RUN_FAILED`] otherwise.
pub fn exit_code(result: &RunResult) -> ExitCode {
    if result.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(loadgen_analysis::EXIT_RUN_FAILED)
    }
}
