//! One run from start to finish, in named steps: check limits, start the target, connect and
//! drive the workers, coordinate the window, collect, stop the server, assemble the
//! [`RunResult`] with its warnings.
//!
//! Its parts: `coordinator.rs` (the timeline and /proc samples while the workers run),
//! `assemble.rs` (the result), `warnings.rs` (what a reader must know about it),
//! [`placement`] (default threads, CPU oversubscription), [`progress`] (the live line and the
//! per-second timeline), [`shard`] (which shard of a split run this process is) and
//! [`interrupted`] (SIGINT and SIGTERM).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use results_model::config::{RunConfig, Target};
use results_model::open_loop::{Arrival, Pacing};
use results_model::result::{RunResult, ServerReport};

use crate::driver::payload::Payload;
use crate::driver::stats::{self, Tick, WorkerStats};
use crate::driver::{self, Shared, WorkerPlan};
use crate::openloop::cpu_qos::CpuQos;
use crate::openloop::pacing;
use crate::openloop::tick::MIN_TICK;
use crate::probes::metadata;
use crate::probes::run_queue::WORKER_PREFIX;
use crate::probes::sides::KernelSides;
use crate::probes::usage::Usage;
use crate::target::connect::{self, SourceAddrs};
use crate::target::link::{self, LinkProxy};
use crate::target::locate::{self, ECHO_SERVER};
use crate::target::spawn::ServerChild;
use crate::window::start_at;
use crate::window::start_line::{self, StartLine};
use crate::window::Window;

mod assemble;
mod coordinator;
mod interrupt;
pub mod placement;
pub mod progress;
pub mod shard;
mod warnings;

use assemble::{assemble, Assembly};
use coordinator::{coordinate, Probes};
use progress::{Progress, Reporter, Timeline};

pub use interrupt::interrupted;

/// Most time given to the server to close its side of the connections before SIGTERM.
const SERVER_SETTLE: Duration = Duration::from_secs(2);

/// Runs one benchmark. Setup failures (limits, server start) are errors; failures during the
/// run (lost or corrupted echoes, failed connections) are counted in the result, whose
/// `passed` is then false.
pub fn run(config: &RunConfig, progress: Progress) -> anyhow::Result<RunResult> {
    config.validate()?;
    start_line::check_ramp(config)?;
    let started_at = SystemTime::now();
    let meta = metadata::before_run(started_at);
    if let Some(at) = config.start_at {
        // Refused before anything starts; the wait itself comes once the server is up.
        start_at::wait_before_start(at, config.warmup, started_at)?;
    }
    check_limits(config)?;
    let interrupted = interrupt::flag();
    if interrupted.load(Ordering::Relaxed) {
        anyhow::bail!("interrupted");
    }
    let mut server = start_target(config)?;
    let proxy = link::start_for(config, server.as_ref())?;
    let target = match (&proxy, &config.target, &server) {
        (Some(proxy), _, _) => proxy.addr(),
        (None, _, Some(child)) => child.addr,
        (None, Target::External { addr }, None) => *addr,
        (None, Target::Spawn { .. }, None) => unreachable!("a spawn target always has a child"),
    };
    let threads = config.threads.min(config.clients).max(1);
    let probes = Probes::new(server.as_ref().map(ServerChild::pid));
    // Held until the run ends (dropped with this frame).
    let (_qos, pacing) = match config.rate {
        Some(rate) => {
            let (qos, pacing) = choose_pacing(config, threads, rate);
            (qos, Some(pacing))
        }
        None => (CpuQos::none(), None),
    };
    let kernel = KernelSides::open(&config.kernel, probes.server_pid);
    let Some(t0) = start_at::start_instant(config.start_at, config.warmup, &interrupted)? else {
        anyhow::bail!("interrupted while waiting for --start-at");
    };
    let shared = Arc::new(shared_state(config, target, interrupted, t0, pacing));
    let (handles, ticks) = start_workers(config, threads, &shared)?;
    let timeline = Timeline::new(shared.interval_ends.clone(), config.warmup, threads);
    let reporter = Reporter::new(progress, config.warmup + config.duration, config.clients);
    let mut coordinated = coordinate(&shared, &probes, kernel, ticks, timeline, reporter);
    let title = format!("{} × {} clients", config.target.label(), config.clients);
    coordinated.kernel.draw_flamegraph(&title);
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
        pacing: shared.pacing.clone(),
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
            let bin = locate::find(&ECHO_SERVER, server_bin.as_deref())?;
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
    pacing: Option<Pacing>,
) -> Shared {
    // The latest the window can be; the start line opens it as soon as every client is in.
    let start_line = StartLine::new(t0, config);
    let window = Window {
        start: start_line.latest_open(),
        end: start_line.latest_open() + config.duration,
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
        end_read: AtomicBool::new(false),
        start_line,
        arrival: config.arrival,
        min_tick: config.tick_us.map_or(MIN_TICK, Duration::from_micros),
        pacing,
        seed: config.seed,
    }
}

/// Open loop: holds the CPU wake-up latency request (unless `--no-cpu-qos`), measures this
/// machine's wake-up cost under it (on this thread, with the workers' timer slack) and chooses
/// how each worker, sending `rate / threads` msgs/s, keeps time.
fn choose_pacing(config: &RunConfig, threads: usize, rate: f64) -> (CpuQos, Pacing) {
    let (qos, state) = if config.cpu_qos {
        CpuQos::hold()
    } else {
        (CpuQos::none(), "off".to_string())
    };
    let _ = nix::sys::prctl::set_timerslack(1);
    let cost = pacing::calibrate();
    let interval = Duration::from_secs_f64(threads as f64 / rate.max(1e-9));
    let uniform = config.arrival == Arrival::Uniform;
    let tick = config.tick_us.map(Duration::from_micros);
    let chosen = pacing::choose(interval, uniform, cost, tick);
    let pacing = Pacing {
        cpu_qos: state,
        spin_us: if config.spin { chosen.spin_us } else { 0.0 },
        ..chosen
    };
    (qos, pacing)
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
            .name(format!("{WORKER_PREFIX}{}", plan.index))
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
