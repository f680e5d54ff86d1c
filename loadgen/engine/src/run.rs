//! One run from start to finish, in named steps: check limits, start the target, connect and
//! drive the workers, coordinate the window, collect, stop the server, assemble the
//! [`RunResult`] with its warnings.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use results_model::config::{RunConfig, Target};
use results_model::cost::CostReport;
use results_model::meta::RunMeta;

use crate::connect::{self, SourceAddrs};
use crate::coordinator::{coordinate, Coordinated, Probes};
use crate::driver::{self, Shared, WorkerPlan};
use crate::link::LinkProxy;
use crate::payload::Payload;
use crate::procfs::Usage;
use crate::progress::{Progress, Reporter, Timeline};
use crate::spawn::{self, ServerChild};
use crate::start_at;
use crate::stats::{self, Tick, Window, WorkerStats};
use crate::warnings::{self, Observed};
use results_model::result::{
    LoadgenInfo, LoadgenResources, MachineInfo, RunResult, SerializedHistograms, ServerReport,
    Throughput, SCHEMA_VERSION,
};

/// Most time given to the server to close its side of the connections before SIGTERM.
const SERVER_SETTLE: Duration = Duration::from_secs(2);
/// loadgen counts as saturated above this share of its worker threads' CPU time.
const SATURATED: f64 = 0.9;

/// Runs one benchmark. Setup failures (limits, server start) are errors; failures during the
/// run (lost or corrupted echoes, failed connections) are counted in the result, whose
/// `passed` is then false.
pub fn run(config: &RunConfig, progress: Progress) -> anyhow::Result<RunResult> {
    config.validate()?;
    crate::gate::check_ramp(config)?;
    let started_at = SystemTime::now();
    let meta = crate::metadata::before_run(started_at);
    if let Some(at) = config.start_at {
        // Refused before anything starts; the wait itself comes once the server is up.
        start_at::wait_before_start(at, config.warmup, started_at)?;
    }
    check_limits(config)?;
    let interrupted = interrupt_flag();
    if interrupted.load(Ordering::Relaxed) {
        anyhow::bail!("interrupted");
    }
    let mut server = start_target(config)?;
    let proxy = crate::link::start_for(config, server.as_ref())?;
    let target = match (&proxy, &config.target, &server) {
        (Some(proxy), _, _) => proxy.addr(),
        (None, _, Some(child)) => child.addr,
        (None, Target::External { addr }, None) => *addr,
        (None, Target::Spawn { .. }, None) => unreachable!("a spawn target always has a child"),
    };
    let threads = config.threads.min(config.clients).max(1);
    let probes = Probes::new(server.as_ref().map(ServerChild::pid));
    let Some(t0) = start_at::start_instant(config.start_at, config.warmup, &interrupted)? else {
        anyhow::bail!("interrupted while waiting for --start-at");
    };
    let shared = Arc::new(shared_state(config, target, interrupted, t0));
    let (handles, ticks) = start_workers(config, threads, &shared)?;
    let timeline = Timeline::new(shared.interval_ends.clone(), config.warmup, threads);
    let reporter = Reporter::new(progress, config.warmup + config.duration, config.clients);
    let coordinated = coordinate(&shared, &probes, ticks, timeline, reporter);
    let total = collect(handles)?;
    let window = coordinated.window;
    let window_closed = coordinated
        .interrupted_at
        .map_or(window.end, |t| t.min(window.end));
    let measured = window_closed
        .saturating_duration_since(window.start)
        .as_secs_f64();
    let server_report = server
        .as_mut()
        .map(|child| stop_server(config, child, &probes, &coordinated.server_usage, measured));
    let mut result = assemble(Assembly {
        config,
        started_at,
        meta,
        target,
        threads,
        measured,
        t0: shared.t0,
        probes: &probes,
        coordinated,
        total,
        server: server_report,
    });
    if config.start_at.is_some() {
        late_connections(&mut result);
    }
    if let Some(Err(err)) = proxy.map(LinkProxy::stop) {
        // The proxy carried every echo: its failure fails the run.
        result.warnings.push(format!("{err:#}"));
        result.passed = false;
    }
    Ok(result)
}

/// With `--start-at`, a window that opened before every client was connected fails the run:
/// this process did not offer its share of the load when the others did.
fn late_connections(result: &mut RunResult) {
    let connected = result
        .timeline
        .iter()
        .rfind(|p| p.warmup)
        .map_or(0, |p| p.connected);
    if let Some(w) = start_at::not_connected_warning(connected, result.config.clients) {
        result.warnings.push(w);
        result.passed = false;
    }
}

/// Refuses a run the fd limit cannot hold.
fn check_limits(config: &RunConfig) -> anyhow::Result<()> {
    let (soft, hard) = connect::fd_limits().context("cannot read the fd limit")?;
    let spawns = matches!(config.target, Target::Spawn { .. });
    connect::check_fd_limit(config.clients, soft, hard, spawns).map_err(anyhow::Error::msg)
}

/// Starts the child server when the target is one; `None` for an external address.
fn start_target(config: &RunConfig) -> anyhow::Result<Option<ServerChild>> {
    match &config.target {
        Target::Spawn {
            model,
            server_bin,
            server_args,
            server_pin,
        } => {
            let bin = spawn::find_server_bin(server_bin.as_deref())?;
            Ok(Some(ServerChild::start(
                &bin,
                model,
                config.protocol,
                server_args,
                server_pin.as_deref(),
            )?))
        }
        Target::External { .. } => Ok(None),
    }
}

/// What every worker shares: where to connect, what to send, and the run's clock.
fn shared_state(
    config: &RunConfig,
    target: SocketAddr,
    interrupted: Arc<AtomicBool>,
    t0: Instant,
) -> Shared {
    // The latest the window can be; the ramp gate opens it as soon as every client is in.
    let gate = crate::gate::RampGate::new(t0, config);
    let window = Window {
        start: gate.latest_open(),
        end: gate.latest_open() + config.duration,
    };
    Shared {
        target,
        payload: Payload::new(config.effective_seed(), config.protocol, config.size),
        pipeline: config.pipeline,
        connect_timeout: config.connect_timeout,
        reply_timeout: config.reply_timeout,
        t0,
        window,
        deadline: window.end + config.drain,
        backlog_cutoff: window.end + config.drain / 2,
        interval_ends: stats::interval_ends(config.warmup, config.duration),
        sources: SourceAddrs::new(target, config.clients),
        interrupted,
        gate,
        arrival: config.arrival,
        min_tick: config
            .tick_us
            .map_or(crate::tick::MIN_TICK, Duration::from_micros),
        seed: config.seed,
    }
}

/// A worker thread's handle: its stats when it ends.
type WorkerHandle = JoinHandle<std::io::Result<WorkerStats>>;

/// Starts `threads` workers; they connect and drive their clients, sending a tick per interval.
fn start_workers(
    config: &RunConfig,
    threads: usize,
    shared: &Arc<Shared>,
) -> anyhow::Result<(Vec<WorkerHandle>, mpsc::Receiver<Tick>)> {
    let (tx, rx) = mpsc::channel();
    let mut handles = Vec::with_capacity(threads);
    for plan in plans(config, threads) {
        let (shared, tx) = (Arc::clone(shared), tx.clone());
        let handle = std::thread::Builder::new()
            .name(format!("loadgen-{}", plan.index))
            .spawn(move || driver::run_worker(shared, plan, tx))
            .context("cannot start a worker thread")?;
        handles.push(handle);
    }
    Ok((handles, rx))
}

/// Waits for every worker and adds up their stats.
fn collect(handles: Vec<WorkerHandle>) -> anyhow::Result<WorkerStats> {
    let mut total = WorkerStats::default();
    for handle in handles {
        let stats = handle
            .join()
            .map_err(|_| anyhow::anyhow!("a loadgen worker thread panicked"))?
            .context("a loadgen worker failed")?;
        total.add(&stats);
    }
    Ok(total)
}

/// Lets the server see the clients' EOFs, stops it, and reports it.
fn stop_server(
    config: &RunConfig,
    child: &mut ServerChild,
    probes: &Probes,
    usage: &Usage,
    measured: f64,
) -> ServerReport {
    if let (Some(p), Some(idle)) = (&probes.server, probes.server_fds_idle) {
        // The workers have closed every socket; let the server see those EOFs before SIGTERM,
        // so its counters say "closed by the client", not "closed at shutdown".
        let deadline = Instant::now() + SERVER_SETTLE;
        while Instant::now() < deadline && p.sample().is_some_and(|s| s.fds > idle) {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let exit = child.stop();
    ServerReport {
        model: config.target.label().to_string(),
        bin: child.bin.display().to_string(),
        args: child.args.clone(),
        pid: child.pid(),
        exit_code: exit.code,
        stats: exit.stats,
        resources: usage.resources(measured),
    }
}

/// Everything the result is assembled from.
struct Assembly<'a> {
    config: &'a RunConfig,
    started_at: SystemTime,
    meta: RunMeta,
    target: SocketAddr,
    threads: usize,
    measured: f64,
    t0: Instant,
    probes: &'a Probes,
    coordinated: Coordinated,
    total: WorkerStats,
    server: Option<ServerReport>,
}

/// loadgen's own resource use, and whether it was the bottleneck.
fn loadgen_resources(a: &Assembly) -> LoadgenResources {
    let per_second = |n: f64| {
        if a.measured > 0.0 {
            n / a.measured
        } else {
            0.0
        }
    };
    let process = a.coordinated.own_usage.resources(a.measured);
    let busiest_worker_cpu = per_second(a.total.busy.unwrap_or_default().as_secs_f64());
    let saturated =
        busiest_worker_cpu >= SATURATED || process.cpu_cores_used >= SATURATED * a.threads as f64;
    let grown = a
        .coordinated
        .rss_clients
        .saturating_sub(a.probes.rss_before);
    LoadgenResources {
        worker_threads: a.threads,
        memory_per_client_bytes: grown / a.config.clients as u64,
        saturated,
        busiest_worker_cpu,
        process,
    }
}

/// The result of the run.
fn assemble(a: Assembly) -> RunResult {
    let loadgen_resources = loadgen_resources(&a);
    let (config, total, measured) = (a.config, &a.total, a.measured);
    let per_second = |n: f64| if measured > 0.0 { n / measured } else { 0.0 };
    let mut totals = total.totals.clone();
    totals.unfinished = total.open_loop.unfinished;
    totals.connections.connected_at_window_start = total.open_loop.connected_at_window_start;
    let open_loop =
        crate::verdict::open_loop_report(config, total, measured, a.coordinated.run_queue_wait_s);
    let latency_us = total.latency.summary();
    let verdict = crate::verdict::judge(config, &totals, &latency_us, open_loop.as_ref());
    let warnings = warnings::warnings(&Observed {
        config,
        totals: &totals,
        loadgen: &loadgen_resources,
        server: a.server.as_ref(),
        measured_s: measured,
        interrupted: a.coordinated.interrupted_at.is_some(),
        longest_stall: total.longest_stall,
        open_loop: open_loop.as_ref(),
    });
    let mut timeline = a.coordinated.timeline.into_points();
    if let Some(at) = a.coordinated.interrupted_at {
        // Intervals after the interrupt are empty by construction, not by measurement.
        let last = (at - a.t0).as_secs_f64().ceil();
        timeline.retain(|p| p.t_s <= last);
    }
    let cost = CostReport {
        server: a
            .coordinated
            .server_cost
            .as_ref()
            .and_then(|c| c.cost(totals.messages, measured)),
        loadgen: a.coordinated.own_cost.cost(totals.messages, measured),
    };
    let open = config.is_open_loop();
    RunResult {
        schema_version: SCHEMA_VERSION,
        loadgen: LoadgenInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit: crate::metadata::git_commit().to_string(),
        },
        started_at: humantime::format_rfc3339_seconds(a.started_at).to_string(),
        machine: machine_info(),
        config: config.clone(),
        target_addr: a.target.to_string(),
        measured_s: measured,
        window_start_unix_ns: a.coordinated.window_start_unix_ns,
        window_end_unix_ns: a.coordinated.window_end_unix_ns,
        passed: totals.errors.total() == 0 && totals.unanswered == 0 && verdict.trustworthy,
        throughput: Throughput {
            msgs_per_sec: per_second(totals.messages as f64),
            bytes_per_sec: per_second(totals.bytes_received as f64),
        },
        totals,
        latency_us,
        service_time_us: open.then(|| total.service.summary()),
        connect_latency_us: total.connect.summary(),
        timeline,
        server: a.server,
        loadgen_resources,
        warnings,
        histograms: SerializedHistograms {
            latency: total.latency.to_base64(),
            service_time: open.then(|| total.service.to_base64()),
            connect: total.connect.to_base64(),
        },
        cost: Some(cost),
        meta: Some(crate::metadata::finish(a.meta, SystemTime::now())),
        merged_from: Vec::new(),
        open_loop,
        verdict: Some(verdict),
    }
}

/// Splits clients, rates and CPUs over `threads` workers as evenly as possible.
fn plans(config: &RunConfig, threads: usize) -> Vec<WorkerPlan> {
    let n = config.clients;
    (0..threads)
        .map(|i| {
            let first = n * i / threads;
            let clients = n * (i + 1) / threads - first;
            let share = clients as f64 / n as f64;
            WorkerPlan {
                index: i,
                first_client: config.first_client() + first as u64,
                clients,
                rate: config.rate.map(|r| r * share),
                connect_rate: config.connect_rate.map(|r| r * share),
                cpu: config
                    .pin
                    .as_ref()
                    .and_then(|cpus| cpus.get(i % cpus.len().max(1)).copied()),
                // Staggered so the workers' sends interleave instead of going out in bursts.
                phase: config
                    .rate
                    .map_or(Duration::ZERO, |r| Duration::from_secs_f64(i as f64 / r)),
            }
        })
        .collect()
}

/// CPUs, kernel and host name of this machine.
pub fn machine_info() -> MachineInfo {
    let uname = nix::sys::utsname::uname().ok();
    MachineInfo {
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        kernel: uname.as_ref().map_or_else(
            || "unknown".to_string(),
            |u| {
                format!(
                    "{} {}",
                    u.sysname().to_string_lossy(),
                    u.release().to_string_lossy()
                )
            },
        ),
        hostname: nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "unknown".to_string()),
    }
}

/// The process-wide interrupt flag, set by the first SIGINT or SIGTERM (handlers installed on
/// first use). A run in progress then ends its window at once and still returns a result; runs
/// started afterwards end immediately; a second signal exits with status 130 (the server child
/// then gets SIGTERM from the kernel, see spawn.rs).
fn interrupt_flag() -> Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    Arc::clone(FLAG.get_or_init(|| {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let flag = Arc::new(AtomicBool::new(false));
        for signal in [SIGINT, SIGTERM] {
            // The conditional exit goes first: on the first signal it still sees `false`.
            // If registering fails the signal keeps its default action, which is also safe.
            let _ =
                signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&flag));
            let _ = signal_hook::flag::register(signal, Arc::clone(&flag));
        }
        flag
    }))
}

/// Whether SIGINT or SIGTERM was received: callers running many benchmarks (sweeps) stop.
pub fn interrupted() -> bool {
    interrupt_flag().load(Ordering::Relaxed)
}
