//! Crafted result files for the compare and report tests: every figure chosen, no run needed.

#![allow(dead_code)] // each test file uses a different part of this module

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use loadgen::result::{
    LoadgenInfo, LoadgenResources, MachineInfo, ProcessResources, SerializedHistograms,
    ServerReport, Throughput, Totals,
};
use loadgen::{LatencyHistogram, RunConfig, RunResult, SCHEMA_VERSION};

/// A passing closed-loop run of `clients` against `model` at `msgs_per_sec`, whose latencies
/// spread around `p50_us` (p99 about 4× it).
pub fn result(model: &str, clients: usize, msgs_per_sec: f64, p50_us: u64) -> RunResult {
    let mut config = RunConfig::new(model, clients);
    config.duration = Duration::from_secs(2);
    config.warmup = Duration::from_secs(1);
    config.threads = 2;
    let mut hist = LatencyHistogram::new();
    for i in 0..1000u64 {
        // 98% near p50, the top 2% at ~4× p50: p99 lands in the tail.
        let us = if i < 980 {
            p50_us + i % 7
        } else {
            p50_us * 4 + i % 5
        };
        hist.record_us(us);
    }
    let messages = (msgs_per_sec * 2.0) as u64;
    RunResult {
        schema_version: SCHEMA_VERSION,
        loadgen: LoadgenInfo {
            version: "0.1.0".into(),
            git_commit: "crafted".into(),
        },
        started_at: "2026-01-31T12:00:00Z".into(),
        machine: MachineInfo {
            cpus: 2,
            kernel: "Linux 6.18".into(),
            hostname: "test".into(),
        },
        config,
        target_addr: "127.0.0.1:7".into(),
        measured_s: 2.0,
        window_start_unix_ns: Some(1_769_860_801_000_000_000),
        window_end_unix_ns: Some(1_769_860_803_000_000_000),
        passed: true,
        totals: Totals {
            messages,
            bytes_sent: messages * 64,
            bytes_received: messages * 64,
            ..Totals::default()
        },
        throughput: Throughput {
            msgs_per_sec,
            bytes_per_sec: msgs_per_sec * 64.0,
        },
        latency_us: hist.summary(),
        service_time_us: None,
        connect_latency_us: hist.summary(),
        timeline: Vec::new(),
        server: Some(ServerReport {
            model: model.into(),
            bin: "echo-server".into(),
            args: Vec::new(),
            pid: 1,
            exit_code: Some(0),
            stats: None,
            resources: ProcessResources {
                cpu_cores_used: 0.5,
                peak_rss_bytes: 4 << 20,
                ..ProcessResources::default()
            },
        }),
        loadgen_resources: LoadgenResources {
            worker_threads: 2,
            ..LoadgenResources::default()
        },
        warnings: Vec::new(),
        cost: None,
        meta: None,
        kernel: None,
        histograms: SerializedHistograms {
            latency: hist.to_base64(),
            service_time: None,
            connect: hist.to_base64(),
        },
        merged_from: Vec::new(),
        open_loop: None,
        verdict: None,
    }
}

/// Marks `r` as having lost and corrupted echoes, the way a real run records them.
pub fn corrupt(r: &mut RunResult) {
    r.totals.errors.mismatch = 1;
    r.totals.unanswered = 1;
    r.totals.connections.failed = 1;
    r.passed = false;
}

/// A fresh empty directory under the target's tmp dir, unique per call.
pub fn scratch_dir(name: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// Writes `r` as `dir/<name>` and returns the path.
pub fn write(dir: &Path, name: &str, r: &RunResult) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, r.to_json()).expect("write result");
    path
}

/// A sweep directory: `models` × `clients`, one run each, throughput from `rate(model, clients)`.
pub fn sweep_dir(
    name: &str,
    models: &[&str],
    clients: &[usize],
    rate: impl Fn(&str, usize) -> f64,
) -> PathBuf {
    let dir = scratch_dir(name);
    for &m in models {
        for &c in clients {
            let r = result(m, c, rate(m, c), 50 + c as u64);
            write(&dir, &loadgen::sweep_dir::run_file_name(m, c, 64, 1), &r);
        }
    }
    dir
}

/// `r` with a recorded server cost of `ns` CPU per message.
pub fn with_server_cpu(mut r: RunResult, ns: f64) -> RunResult {
    r.cost = Some(results_model::cost::CostReport {
        server: Some(results_model::cost::ProcessCost {
            cpu_ns_per_msg: ns,
            ..Default::default()
        }),
        loadgen: None,
    });
    r
}

/// `r` with its measured window opening `s` seconds after the crafted default.
pub fn opened_at(mut r: RunResult, s: u64) -> RunResult {
    let start = 1_769_860_801_000_000_000 + s * 1_000_000_000;
    r.window_start_unix_ns = Some(start);
    r.window_end_unix_ns = Some(start + 2_000_000_000);
    r
}
