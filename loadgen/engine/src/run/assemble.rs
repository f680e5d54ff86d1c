//! The result of a run, assembled from what the workers, the coordinator and the server
//! left: totals, latency, the open-loop report and its verdict (judged with the result model,
//! so a merge judges the same way), warnings, resources and cost.

use std::net::SocketAddr;
use std::time::{Instant, SystemTime};

use results_model::config::RunConfig;
use results_model::cost::CostReport;
use results_model::judge::judge;
use results_model::meta::RunMeta;
use results_model::open_loop::OpenLoopReport;
use results_model::open_loop::Pacing;
use results_model::result::{
    LoadgenInfo, LoadgenResources, MachineInfo, RunResult, SerializedHistograms, ServerReport,
    Throughput, SCHEMA_VERSION,
};

use crate::driver::stats::WorkerStats;
use crate::probes::metadata;

use super::coordinator::{Coordinated, Probes};
use super::warnings::{self, Observed};

/// loadgen counts as saturated above this share of its worker threads' CPU time.
const SATURATED: f64 = 0.9;

/// Everything the result is assembled from.
pub(super) struct Assembly<'a> {
    pub config: &'a RunConfig,
    pub started_at: SystemTime,
    pub meta: RunMeta,
    pub target: SocketAddr,
    pub threads: usize,
    pub measured: f64,
    pub t0: Instant,
    /// Open loop: how the workers kept time.
    pub pacing: Option<Pacing>,
    pub probes: &'a Probes,
    pub coordinated: Coordinated,
    pub total: WorkerStats,
    pub server: Option<ServerReport>,
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
pub(super) fn assemble(a: Assembly) -> RunResult {
    let loadgen_resources = loadgen_resources(&a);
    let (config, total, measured) = (a.config, &a.total, a.measured);
    let per_second = |n: f64| if measured > 0.0 { n / measured } else { 0.0 };
    let mut totals = total.totals.clone();
    totals.unfinished = total.open_loop.unfinished;
    totals.connections.connected_at_window_start = total.open_loop.connected_at_window_start;
    let mut open_loop = open_loop_report(config, total, measured, a.coordinated.run_queue_wait_s);
    if let Some(ol) = open_loop.as_mut() {
        ol.pacing = a.pacing.clone();
    }
    let latency_us = total.latency.summary();
    let verdict = judge(config, &totals, &latency_us, open_loop.as_ref());
    let warnings = warnings::warnings(&Observed {
        config,
        totals: &totals,
        loadgen: &loadgen_resources,
        server: a.server.as_ref(),
        measured_s: measured,
        interrupted: a.coordinated.interrupted_at.is_some(),
        longest_stall: total.longest_stall,
        open_loop: open_loop.as_ref(),
        latency: &latency_us,
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
    let kernel = a.coordinated.kernel.report(totals.messages, measured);
    let open = config.is_open_loop();
    RunResult {
        schema_version: SCHEMA_VERSION,
        loadgen: LoadgenInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit: metadata::git_commit().to_string(),
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
        meta: Some(metadata::finish(a.meta, SystemTime::now())),
        kernel,
        merged_from: Vec::new(),
        open_loop,
        verdict: Some(verdict),
    }
}

/// CPUs, kernel and host name of this machine.
fn machine_info() -> MachineInfo {
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

/// Builds the open-loop report of a run (`None` in closed loop).
fn open_loop_report(
    config: &RunConfig,
    total: &WorkerStats,
    measured_s: f64,
    run_queue_wait_s: f64,
) -> Option<OpenLoopReport> {
    let rate = config.rate?;
    let per_s = |n: f64| {
        if measured_s > 0.0 {
            n / measured_s
        } else {
            0.0
        }
    };
    let ol = &total.open_loop;
    Some(OpenLoopReport {
        offered_rate: rate,
        achieved_send_rate: per_s(ol.sent_in_window as f64),
        achieved_rate: per_s(total.totals.messages as f64),
        send_lag: ol.lag.summary(),
        send_lag_histogram: ol.lag.to_base64(),
        censored: ol.censored,
        lower_bound: ol.censored > 0,
        loadgen_run_queue_share: per_s(run_queue_wait_s),
        arrival_check: ol.gaps.check(config.arrival),
        pacing: None,
        read_delay: ol.read_delay.summary(),
        read_delay_histogram: ol.read_delay.to_base64(),
        unstamped_reads: ol.unstamped_reads,
        clock_steps: ol.clock_steps,
    })
}
