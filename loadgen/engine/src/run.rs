//! One run from start to finish: check limits, start the server, drive the workers, sample
//! resources, stop the server, and assemble the [`RunResult`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;

use crate::connect::{self, SourceAddrs};
use crate::driver::{self, Shared, WorkerPlan};
use crate::payload::Payload;
use crate::procfs::{ProcReader, Sample, Usage};
use crate::progress::{Progress, Reporter, Timeline};
use crate::spawn::{self, ServerChild};
use crate::stats::{self, Window, WorkerStats};
use echo_results::config::{RunConfig, Target};
use echo_results::result::{
    LoadgenInfo, LoadgenResources, MachineInfo, RunResult, SerializedHistograms, ServerReport,
    Throughput, SCHEMA_VERSION,
};

/// Most time given to the server to close its side of the connections before SIGTERM.
const SERVER_SETTLE: Duration = Duration::from_secs(2);
/// loadgen counts as saturated above this share of its worker threads' CPU time.
const SATURATED: f64 = 0.9;
/// A worker thread off the CPU this long at once is worth a warning: every echo waited for it.
const STALL_WARNING: Duration = Duration::from_millis(500);

/// Runs one benchmark. Setup failures (limits, server start) are errors; failures during the
/// run (lost or corrupted echoes, failed connections) are counted in the result, whose
/// `passed` is then false.
pub fn run(config: &RunConfig, progress: Progress) -> anyhow::Result<RunResult> {
    config.validate()?;
    let started_at = SystemTime::now();
    let (soft, hard) = connect::fd_limits().context("cannot read the fd limit")?;
    let spawns = matches!(config.target, Target::Spawn { .. });
    connect::check_fd_limit(config.clients, soft, hard, spawns).map_err(anyhow::Error::msg)?;

    let interrupted = interrupt_flag();
    if interrupted.load(Ordering::Relaxed) {
        anyhow::bail!("interrupted");
    }

    let mut server = match &config.target {
        Target::Spawn {
            model,
            server_bin,
            server_args,
            server_pin,
        } => {
            let bin = spawn::find_server_bin(server_bin.as_deref())?;
            Some(ServerChild::start(
                &bin,
                model,
                config.protocol,
                server_args,
                server_pin.as_deref(),
            )?)
        }
        Target::External { .. } => None,
    };
    let target = match (&config.target, &server) {
        (_, Some(child)) => child.addr,
        (Target::External { addr }, None) => *addr,
        (Target::Spawn { .. }, None) => unreachable!("a spawn target always has a child"),
    };

    let threads = config.threads.min(config.clients).max(1);
    let self_proc = ProcReader::current();
    let server_proc = server.as_ref().map(|s| ProcReader::new(s.pid()));
    let rss_before = self_proc.sample().map_or(0, |s| s.rss_bytes);
    let server_fds_idle = server_proc.as_ref().and_then(|p| p.sample()).map(|s| s.fds);

    let t0 = Instant::now();
    let window = Window {
        start: t0 + config.warmup,
        end: t0 + config.warmup + config.duration,
    };
    let interval_ends = stats::interval_ends(config.warmup, config.duration);
    let shared = Arc::new(Shared {
        target,
        payload: Payload::new(config.seed, config.protocol, config.size),
        pipeline: config.pipeline,
        connect_timeout: config.connect_timeout,
        reply_timeout: config.reply_timeout,
        t0,
        window,
        deadline: window.end + config.drain,
        backlog_cutoff: window.end + config.drain / 2,
        interval_ends: interval_ends.clone(),
        sources: SourceAddrs::new(target, config.clients),
        interrupted: Arc::clone(&interrupted),
    });

    let (tx, rx) = mpsc::channel();
    let mut handles = Vec::with_capacity(threads);
    for plan in plans(config, threads) {
        let (shared, tx) = (Arc::clone(&shared), tx.clone());
        let handle = std::thread::Builder::new()
            .name(format!("loadgen-{}", plan.index))
            .spawn(move || driver::run_worker(shared, plan, tx))
            .context("cannot start a worker thread")?;
        handles.push(handle);
    }
    drop(tx);

    // The coordinator: collect ticks into the timeline, sample /proc once a second and at the
    // window's edges, until every worker has finished (they end by the deadline on their own).
    let mut timeline = Timeline::new(interval_ends, config.warmup, threads);
    let mut reporter = Reporter::new(progress, config.warmup + config.duration, config.clients);
    let (mut self_usage, mut server_usage) = (Usage::default(), Usage::default());
    let mut next_sample = t0;
    let (mut window_started, mut window_ended) = (false, false);
    let mut rss_clients = 0;
    let mut interrupted_at = None;
    loop {
        let now = Instant::now();
        if interrupted_at.is_none() && interrupted.load(Ordering::Relaxed) {
            interrupted_at = Some(now);
        }
        if !window_started && now >= window.start {
            window_started = true;
            let s = sample_into(&self_proc, &mut self_usage, Usage::window_started);
            rss_clients = rss_clients.max(s.map_or(0, |s| s.rss_bytes));
            if let Some(p) = &server_proc {
                sample_into(p, &mut server_usage, Usage::window_started);
            }
        }
        if !window_ended && (now >= window.end || interrupted_at.is_some()) {
            window_ended = true;
            let s = sample_into(&self_proc, &mut self_usage, Usage::window_ended);
            rss_clients = rss_clients.max(s.map_or(0, |s| s.rss_bytes));
            if let Some(p) = &server_proc {
                sample_into(p, &mut server_usage, Usage::window_ended);
            }
        }
        if now >= next_sample {
            next_sample += Duration::from_secs(1);
            sample_into(&self_proc, &mut self_usage, Usage::observe);
            if let Some(p) = &server_proc {
                sample_into(p, &mut server_usage, Usage::observe);
            }
        }
        let mut wake = next_sample;
        if !window_started {
            wake = wake.min(window.start);
        }
        if !window_ended {
            wake = wake.min(window.end);
        }
        match rx.recv_timeout(wake.saturating_duration_since(Instant::now())) {
            Ok(tick) => {
                let new = timeline.add(tick);
                let points = timeline.points();
                for p in &points[points.len() - new..] {
                    reporter.point(p);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    reporter.finish();
    if !window_ended {
        sample_into(&self_proc, &mut self_usage, Usage::window_ended);
        if let Some(p) = &server_proc {
            sample_into(p, &mut server_usage, Usage::window_ended);
        }
    }

    let mut total = WorkerStats::default();
    for handle in handles {
        let stats = handle
            .join()
            .map_err(|_| anyhow::anyhow!("a loadgen worker thread panicked"))?
            .context("a loadgen worker failed")?;
        total.add(&stats);
    }
    let window_closed = interrupted_at.map_or(window.end, |t: Instant| t.min(window.end));
    let measured = window_closed
        .saturating_duration_since(window.start)
        .as_secs_f64();
    let per_second = |n: f64| if measured > 0.0 { n / measured } else { 0.0 };
    let mut timeline = timeline.into_points();
    if let Some(at) = interrupted_at {
        // Intervals after the interrupt are empty by construction, not by measurement.
        let last = (at - t0).as_secs_f64().ceil();
        timeline.retain(|p| p.t_s <= last);
    }
    if let (Some(p), Some(idle)) = (&server_proc, server_fds_idle) {
        // The workers have closed every socket; let the server see those EOFs before SIGTERM,
        // so its counters say "closed by the client", not "closed at shutdown".
        let deadline = Instant::now() + SERVER_SETTLE;
        while Instant::now() < deadline && p.sample().is_some_and(|s| s.fds > idle) {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let server_report = server.as_mut().map(|child| {
        let exit = child.stop();
        ServerReport {
            model: config.target.label().to_string(),
            bin: child.bin.display().to_string(),
            args: child.args.clone(),
            pid: child.pid(),
            exit_code: exit.code,
            stats: exit.stats,
            resources: server_usage.resources(measured),
        }
    });

    let process = self_usage.resources(measured);
    let busiest_worker_cpu = per_second(total.busy.unwrap_or_default().as_secs_f64());
    let saturated =
        busiest_worker_cpu >= SATURATED || process.cpu_cores_used >= SATURATED * threads as f64;
    let loadgen_resources = LoadgenResources {
        worker_threads: threads,
        memory_per_client_bytes: rss_clients.saturating_sub(rss_before) / config.clients as u64,
        saturated,
        busiest_worker_cpu,
        process,
    };
    let totals = total.totals.clone();
    let mut warnings = Vec::new();
    if interrupted_at.is_some() {
        warnings.push(format!(
            "interrupted: the window was cut to {measured:.1}s of the {:.1}s asked for",
            config.duration.as_secs_f64()
        ));
    }
    if saturated {
        warnings.push(format!(
            "loadgen was saturated: its busiest worker thread was on CPU {:.0}% of the window \
             ({:.2} cores in all, {threads} workers); the figures may measure loadgen, not the \
             server (try more --threads, --pin, or a second loadgen process and `merge`)",
            busiest_worker_cpu * 100.0,
            loadgen_resources.process.cpu_cores_used
        ));
    }
    if total.longest_stall >= STALL_WARNING {
        warnings.push(format!(
            "a loadgen worker thread was off the CPU for {:.2}s at once (machine overloaded or \
             paused): latencies and throughput include that wait, rerun on a quieter machine",
            total.longest_stall.as_secs_f64()
        ));
    }
    if totals.errors.total() > 0 || totals.unanswered > 0 {
        let kinds: Vec<String> = totals
            .errors
            .by_kind()
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        warnings.push(format!(
            "{} connection(s) failed ({}); {} echo(es) lost",
            totals.connections.failed,
            kinds.join(", "),
            totals.unanswered
        ));
    }
    if totals.unsent > 0 {
        warnings.push(format!(
            "{} message(s) fell due but were never sent: the server (or loadgen) fell behind \
             the open-loop rate by more than the drain time, or clients were not connected",
            totals.unsent
        ));
    }
    if totals.connections.established < config.clients as u64 {
        warnings.push(format!(
            "only {} of {} clients connected",
            totals.connections.established, config.clients
        ));
    }
    if let Some(report) = &server_report {
        if report.stats.is_none() {
            warnings.push("the server printed no counters on shutdown".to_string());
        }
    }
    let open = config.is_open_loop();
    Ok(RunResult {
        schema_version: SCHEMA_VERSION,
        loadgen: LoadgenInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit: env!("LOADGEN_GIT_COMMIT").to_string(),
        },
        started_at: humantime::format_rfc3339_seconds(started_at).to_string(),
        machine: machine_info(),
        config: config.clone(),
        target_addr: target.to_string(),
        measured_s: measured,
        passed: totals.errors.total() == 0 && totals.unanswered == 0,
        throughput: Throughput {
            msgs_per_sec: per_second(totals.messages as f64),
            bytes_per_sec: per_second(totals.bytes_received as f64),
        },
        totals,
        latency_us: total.latency.summary(),
        service_time_us: open.then(|| total.service.summary()),
        connect_latency_us: total.connect.summary(),
        timeline,
        server: server_report,
        loadgen_resources,
        warnings,
        histograms: SerializedHistograms {
            latency: total.latency.to_base64(),
            service_time: open.then(|| total.service.to_base64()),
            connect: total.connect.to_base64(),
        },
        merged_from: Vec::new(),
    })
}

/// Reads `reader` and folds the sample into `usage` with `fold`.
fn sample_into(
    reader: &ProcReader,
    usage: &mut Usage,
    fold: fn(&mut Usage, Sample),
) -> Option<Sample> {
    let s = reader.sample()?;
    fold(usage, s);
    Some(s)
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
                first_client: first as u64,
                clients,
                rate: config.rate.map(|r| r * share),
                connect_rate: config.connect_rate.map(|r| r * share),
                cpu: config
                    .pin
                    .as_ref()
                    .and_then(|cpus| cpus.get(i % cpus.len().max(1)).copied()),
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
