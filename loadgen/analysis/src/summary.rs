//! The human summary printed at the end of a run, laid out the way wrk users expect: what ran,
//! latency, throughput, errors, server resources, and where the JSON went.

use std::fmt::Write;

use results_model::config::Target;
use results_model::format;
use results_model::histogram::Percentiles;
use results_model::result::{ProcessResources, RunResult};

/// Renders `r` as text; `json` is where the result was written, if anywhere.
pub fn render(r: &RunResult, json: Option<&str>) -> String {
    let mut s = String::new();
    header(&mut s, r);
    latency_table(&mut s, r);
    counts(&mut s, r);
    resource_lines(&mut s, r);
    if let Some(cost) = &r.cost {
        for (side, c) in [("server", &cost.server), ("loadgen", &cost.loadgen)] {
            if let Some(c) = c {
                let _ = writeln!(s, "{side} cost: {}", c.one_line());
            }
        }
    }
    kernel_lines(&mut s, r, json);
    for w in &r.warnings {
        let _ = writeln!(s, "WARNING: {w}");
    }
    if let Some(v) = &r.verdict {
        s.push_str(&crate::verdict_text::verdict_lines(v));
    }
    if let Some(path) = json {
        let _ = writeln!(s, "JSON: {path}");
    }
    s
}

/// Each side's kernel counters, what was not counted and why, and the flamegraph.
fn kernel_lines(s: &mut String, r: &RunResult, json: Option<&str>) {
    let Some(k) = &r.kernel else {
        return;
    };
    for (side, c) in [("server", &k.server), ("loadgen", &k.loadgen)] {
        if let Some(c) = c {
            let _ = writeln!(s, "{side} kernel: {}", c.one_line());
            // One line per reason: a missing tracefs refuses every system-call event alike.
            let mut by_reason: Vec<(&str, Vec<&str>)> = Vec::new();
            for a in &c.absent {
                match by_reason.iter_mut().find(|(r, _)| *r == a.reason) {
                    Some((_, events)) => events.push(&a.event),
                    None => by_reason.push((&a.reason, vec![&a.event])),
                }
            }
            for (reason, events) in by_reason {
                let _ = writeln!(s, "  not counted: {}: {reason}", events.join(", "));
            }
        }
    }
    if let Some(f) = &k.flamegraph {
        // The SVG is written beside the JSON, under the JSON's name.
        let svg = match (&f.rendered, json) {
            (Some(_), Some(path)) if path != "stdout" => std::path::Path::new(path)
                .with_extension("svg")
                .display()
                .to_string(),
            _ => f.svg.clone().unwrap_or_else(|| "not written".into()),
        };
        let _ = writeln!(s, "flamegraph: {svg} ({} samples)", f.samples);
        for note in &f.notes {
            let _ = writeln!(s, "  {note}");
        }
    }
}

/// What ran: target, protocol, size, threads, connections, loop shape.
fn header(s: &mut String, r: &RunResult) {
    let c = &r.config;
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
    if let Some(link) = &c.link {
        let _ = writeln!(s, "  link: {}", link.describe());
    }
}

/// The latency percentiles, one row per measure.
fn latency_table(s: &mut String, r: &RunResult) {
    let _ = writeln!(
        s,
        "  {:<16}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}",
        "Latency", "p50", "p90", "p99", "p99.9", "p99.99", "max", "mean", "stdev"
    );
    let label = match (&r.service_time_us, &r.open_loop) {
        (Some(_), Some(ol)) if ol.lower_bound => "corrected ≥",
        (Some(_), _) => "corrected",
        _ => "latency",
    };
    latency_row(s, label, &r.latency_us);
    if let Some(service) = &r.service_time_us {
        latency_row(s, "uncorrected", service);
    }
    latency_row(s, "connect", &r.connect_latency_us);
    if let Some(ol) = &r.open_loop {
        s.push_str(&crate::verdict_text::open_loop_lines(ol));
    }
}

/// Messages, rates and errors.
fn counts(s: &mut String, r: &RunResult) {
    let t = &r.totals;
    let _ = writeln!(
        s,
        "  {} messages in {:.2}s, {} echoed (verified)",
        t.messages,
        r.measured_s,
        format::bytes(t.bytes_received as f64)
    );
    let _ = writeln!(
        s,
        "Msgs/sec: {:>12.1}\nTransfer/sec: {:>8}",
        r.throughput.msgs_per_sec,
        format::bytes(r.throughput.bytes_per_sec)
    );
    if t.errors.total() == 0 && t.unanswered == 0 {
        let _ = writeln!(
            s,
            "Errors: none ({} connections)",
            t.connections.established
        );
        return;
    }
    let _ = writeln!(
        s,
        "Errors: {} ({}); {} echoes lost; {}/{} connections established",
        t.errors.total(),
        t.errors.nonzero_summary(),
        t.unanswered,
        t.connections.established,
        r.config.clients
    );
}

/// What the server and loadgen used.
fn resource_lines(s: &mut String, r: &RunResult) {
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
        format::bytes(lr.memory_per_client_bytes as f64),
        lr.busiest_worker_cpu * 100.0
    );
}

fn latency_row(s: &mut String, label: &str, p: &Percentiles) {
    let _ = writeln!(
        s,
        "    {label:<14}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}",
        format::duration_us(p.p50 as f64),
        format::duration_us(p.p90 as f64),
        format::duration_us(p.p99 as f64),
        format::duration_us(p.p99_9 as f64),
        format::duration_us(p.p99_99 as f64),
        format::duration_us(p.max as f64),
        format::duration_us(p.mean),
        format::duration_us(p.stdev),
    );
}

fn resources(r: &ProcessResources) -> String {
    format!(
        "CPU {:.2} cores (user {:.2}s, sys {:.2}s), peak RSS {}, {} threads, {} fds",
        r.cpu_cores_used,
        r.user_cpu_s,
        r.system_cpu_s,
        format::bytes(r.peak_rss_bytes as f64),
        r.max_threads,
        r.max_open_fds
    )
}
