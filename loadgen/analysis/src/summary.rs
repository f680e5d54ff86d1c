//! The human summary printed at the end of a run, laid out the way wrk users expect: what ran,
//! latency, throughput, errors, server resources, and where the JSON went.

use std::fmt::Write;

use echo_results::config::Target;
use echo_results::format;
use echo_results::histogram::Percentiles;
use echo_results::result::{ProcessResources, RunResult};

/// Renders `r` as text; `json` is where the result was written, if anywhere.
pub fn render(r: &RunResult, json: Option<&str>) -> String {
    let c = &r.config;
    let mut s = String::new();
    let what = match &c.target {
        Target::Spawn { model, .. } => format!("echo-server --model {model}"),
        Target::External { .. } => "external server".to_string(),
    };
    let _ = writeln!(
        s,
        "Running {:.1}s test @ {} ({what}, {}, {} B messages)",
        r.measured_s, r.target_addr, c.protocol, c.size
    );
    let shape = match c.rate {
        Some(rate) => format!(
            "open loop at {rate:.0} msgs/s, up to {} in flight",
            c.pipeline
        ),
        None => format!("closed loop, pipeline {}", c.pipeline),
    };
    let _ = writeln!(
        s,
        "  {} threads and {} connections, {shape}, {:.1}s warm-up",
        r.loadgen_resources.worker_threads,
        c.clients,
        c.warmup.as_secs_f64()
    );
    let _ = writeln!(
        s,
        "  {:<16}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}",
        "Latency", "p50", "p90", "p99", "p99.9", "p99.99", "max", "mean", "stdev"
    );
    let label = if r.service_time_us.is_some() {
        "corrected"
    } else {
        "latency"
    };
    latency_row(&mut s, label, &r.latency_us);
    if let Some(service) = &r.service_time_us {
        latency_row(&mut s, "uncorrected", service);
    }
    latency_row(&mut s, "connect", &r.connect_latency_us);
    let t = &r.totals;
    let _ = writeln!(
        s,
        "  {} messages in {:.2}s, {} echoed (verified)",
        t.messages,
        r.measured_s,
        bytes(t.bytes_received as f64)
    );
    let _ = writeln!(
        s,
        "Msgs/sec: {:>12.1}\nTransfer/sec: {:>8}",
        r.throughput.msgs_per_sec,
        bytes(r.throughput.bytes_per_sec)
    );
    if t.errors.total() == 0 && t.unanswered == 0 {
        let _ = writeln!(
            s,
            "Errors: none ({} connections)",
            t.connections.established
        );
    } else {
        let kinds: Vec<String> = t
            .errors
            .by_kind()
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        let _ = writeln!(
            s,
            "Errors: {} ({}); {} echoes lost; {}/{} connections established",
            t.errors.total(),
            kinds.join(", "),
            t.unanswered,
            t.connections.established,
            c.clients
        );
    }
    if let Some(server) = &r.server {
        let _ = writeln!(
            s,
            "Server ({}): {}",
            server.model,
            resources(&server.resources)
        );
    }
    let lr = &r.loadgen_resources;
    let _ = writeln!(
        s,
        "loadgen: {}, {} per client, busiest worker {:.0}% busy",
        resources(&lr.process),
        bytes(lr.memory_per_client_bytes as f64),
        lr.busiest_worker_cpu * 100.0
    );
    for w in &r.warnings {
        let _ = writeln!(s, "WARNING: {w}");
    }
    if let Some(path) = json {
        let _ = writeln!(s, "JSON: {path}");
    }
    s
}

fn latency_row(s: &mut String, label: &str, p: &Percentiles) {
    let _ = writeln!(
        s,
        "    {label:<14}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}",
        format::duration_us(p.p50),
        format::duration_us(p.p90),
        format::duration_us(p.p99),
        format::duration_us(p.p99_9),
        format::duration_us(p.p99_99),
        format::duration_us(p.max),
        format::duration_us(p.mean.round() as u64),
        format::duration_us(p.stdev.round() as u64),
    );
}

fn resources(r: &ProcessResources) -> String {
    format!(
        "CPU {:.2} cores (user {:.2}s, sys {:.2}s), peak RSS {}, {} threads, {} fds",
        r.cpu_cores_used,
        r.user_cpu_s,
        r.system_cpu_s,
        bytes(r.peak_rss_bytes as f64),
        r.max_threads,
        r.max_open_fds
    )
}

/// Bytes with a binary unit: `512B`, `1.50KiB`, `7.25MiB`.
fn bytes(n: f64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024.0 {
        return format!("{n:.0}B");
    }
    let mut v = n / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.2}{}", UNITS[unit])
}
