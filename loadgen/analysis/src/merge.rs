//! `loadgen merge`: combines runs made at the same time by several processes (or hosts) into
//! one result, as if one loadgen had driven all their clients.
//!
//! Before merging, [`shards`] checks the inputs belong together: all the shards of one run
//! (same configuration, disjoint, all present, windows aligned within a tolerance), or runs
//! made side by side ([`side_by_side`]: overlapping windows, one target, one configuration
//! apart from each loadgen's share, no input twice); never open loop with closed loop. It
//! refuses with the reason otherwise. The merged verdict is the worst of the inputs'.
//!
//! Exact: histograms are added bucket by bucket and counters summed, so every percentile of
//! the merged result is the percentile of all messages together. Rates are summed (the runs
//! ran side by side). Two things cannot be exact and are documented in results/README.md: the
//! timeline's per-second p50/p99 (the maximum of the inputs; per-second histograms are not
//! stored) and `memory_per_client_bytes` (weighted by clients). Open-loop reports add up and
//! the merged run is judged again ([`open_loop`]).

use std::time::Duration;

use anyhow::{bail, Context};

use results_model::histogram::LatencyHistogram;
use results_model::result::{ProcessResources, RunResult, SerializedHistograms};

pub mod config_diff;
pub mod open_loop;
pub mod shards;
pub mod side_by_side;

/// How far apart shards' windows may open by default (`--window-tolerance`).
pub const DEFAULT_WINDOW_TOLERANCE: Duration = Duration::from_millis(10);

/// Merges `inputs` (label, result) into one result, shards' windows aligned within
/// [`DEFAULT_WINDOW_TOLERANCE`]; see [`merge_with_tolerance`].
pub fn merge(inputs: &[(String, RunResult)]) -> anyhow::Result<RunResult> {
    merge_with_tolerance(inputs, DEFAULT_WINDOW_TOLERANCE)
}

/// Merges `inputs` (label, result) into one result, after checking they belong together
/// (shards' windows must open within `tolerance`). The first input supplies the
/// configuration, with `clients` and `rate` summed; a merge of shards records the whole run
/// in `config.shard` (with `index` null).
pub fn merge_with_tolerance(
    inputs: &[(String, RunResult)],
    tolerance: Duration,
) -> anyhow::Result<RunResult> {
    let shard = shards::check(inputs, tolerance)?;
    let mut out = combine(inputs)?;
    shards::finish(&mut out, inputs, shard);
    open_loop::apply(&mut out, inputs)?;
    Ok(out)
}

/// Adds up the inputs' histograms, counters and resources.
fn combine(inputs: &[(String, RunResult)]) -> anyhow::Result<RunResult> {
    let Some((_, first)) = inputs.first() else {
        bail!("nothing to merge");
    };
    let mut out = first.clone();
    out.merged_from = inputs.iter().map(|(label, _)| label.clone()).collect();
    // Each input's cost divides its own processes' CPU by its own messages: they do not add.
    out.cost = None;
    out.warnings = Vec::new();
    let mut latency = LatencyHistogram::new();
    let mut service: Option<LatencyHistogram> = None;
    let mut connect = LatencyHistogram::new();
    let mut weighted_memory = 0u128;
    for (i, (label, r)) in inputs.iter().enumerate() {
        let decode = |what: &str| format!("{label}: bad {what} histogram");
        latency.add(&r.histograms.latency().with_context(|| decode("latency"))?);
        connect.add(&r.histograms.connect().with_context(|| decode("connect"))?);
        if let Some(h) = r
            .histograms
            .service_time()
            .with_context(|| decode("service"))?
        {
            service.get_or_insert_with(LatencyHistogram::new).add(&h);
        }
        weighted_memory +=
            u128::from(r.loadgen_resources.memory_per_client_bytes) * r.config.clients as u128;
        for w in &r.warnings {
            out.warnings.push(format!("{label}: {w}"));
        }
        if (r.config.protocol, r.config.size, r.config.pipeline)
            != (
                first.config.protocol,
                first.config.size,
                first.config.pipeline,
            )
        {
            out.warnings.push(format!(
                "{label} used a different protocol, size or pipeline than {}",
                inputs[0].0
            ));
        }
        if i == 0 {
            continue;
        }
        out.config.clients += r.config.clients;
        out.started_at = out.started_at.clone().min(r.started_at.clone());
        out.measured_s = out.measured_s.max(r.measured_s);
        out.passed &= r.passed;
        out.totals.add(&r.totals);
        out.throughput.msgs_per_sec += r.throughput.msgs_per_sec;
        out.throughput.bytes_per_sec += r.throughput.bytes_per_sec;
        merge_timeline(&mut out, r);
        merge_server(&mut out, r);
        let lr = &mut out.loadgen_resources;
        lr.worker_threads += r.loadgen_resources.worker_threads;
        lr.saturated |= r.loadgen_resources.saturated;
        lr.busiest_worker_cpu = lr
            .busiest_worker_cpu
            .max(r.loadgen_resources.busiest_worker_cpu);
        add_resources(&mut lr.process, &r.loadgen_resources.process);
    }
    out.loadgen_resources.memory_per_client_bytes =
        (weighted_memory / out.config.clients.max(1) as u128) as u64;
    out.latency_us = latency.summary();
    out.service_time_us = service.as_ref().map(LatencyHistogram::summary);
    out.connect_latency_us = connect.summary();
    out.histograms = SerializedHistograms {
        latency: latency.to_base64(),
        service_time: service.as_ref().map(LatencyHistogram::to_base64),
        connect: connect.to_base64(),
    };
    Ok(out)
}

fn merge_timeline(out: &mut RunResult, r: &RunResult) {
    for (i, p) in r.timeline.iter().enumerate() {
        match out.timeline.get_mut(i) {
            Some(o) => {
                o.connected += p.connected;
                o.msgs += p.msgs;
                o.msgs_per_sec += p.msgs_per_sec;
                o.errors += p.errors;
                o.p50_us = o.p50_us.max(p.p50_us);
                o.p99_us = o.p99_us.max(p.p99_us);
            }
            None => out.timeline.push(p.clone()),
        }
    }
}

fn merge_server(out: &mut RunResult, r: &RunResult) {
    match (&mut out.server, &r.server) {
        (Some(a), Some(b)) => {
            add_resources(&mut a.resources, &b.resources);
            a.stats = match (a.stats.take(), &b.stats) {
                (Some(mut x), Some(y)) => {
                    x.add(y);
                    Some(x)
                }
                _ => None,
            };
        }
        (None, Some(b)) => out.server = Some(b.clone()),
        _ => {}
    }
}

/// CPU adds up across processes; peaks are per process, so the largest is kept.
fn add_resources(a: &mut ProcessResources, b: &ProcessResources) {
    a.user_cpu_s += b.user_cpu_s;
    a.system_cpu_s += b.system_cpu_s;
    a.cpu_cores_used += b.cpu_cores_used;
    a.total_user_cpu_s += b.total_user_cpu_s;
    a.total_system_cpu_s += b.total_system_cpu_s;
    a.peak_rss_bytes = a.peak_rss_bytes.max(b.peak_rss_bytes);
    a.max_threads = a.max_threads.max(b.max_threads);
    a.max_open_fds = a.max_open_fds.max(b.max_open_fds);
}

#[cfg(test)]
mod tests {
    use super::*;
    use results_model::config::RunConfig;
    use results_model::result::*;

    fn result_with(values: &[u64], clients: usize) -> RunResult {
        let mut h = LatencyHistogram::new();
        for &v in values {
            h.record_us(v);
        }
        let mut config = RunConfig::new("mio", clients);
        config.seed = 9;
        RunResult {
            schema_version: SCHEMA_VERSION,
            loadgen: LoadgenInfo {
                version: "0".into(),
                git_commit: "x".into(),
            },
            started_at: "2026-01-01T00:00:00Z".into(),
            machine: MachineInfo {
                cpus: 2,
                kernel: "Linux 6".into(),
                hostname: "h".into(),
            },
            config,
            target_addr: "127.0.0.1:1".into(),
            measured_s: 1.0,
            window_start_unix_ns: Some(1_000_000_000),
            window_end_unix_ns: Some(2_000_000_000),
            passed: true,
            totals: Totals {
                messages: values.len() as u64,
                ..Totals::default()
            },
            throughput: Throughput {
                msgs_per_sec: values.len() as f64,
                bytes_per_sec: 0.0,
            },
            latency_us: h.summary(),
            service_time_us: None,
            connect_latency_us: h.summary(),
            timeline: vec![],
            server: None,
            loadgen_resources: LoadgenResources::default(),
            warnings: vec![],
            cost: None,
            meta: None,
            kernel: None,
            histograms: SerializedHistograms {
                latency: h.to_base64(),
                service_time: None,
                connect: h.to_base64(),
            },
            merged_from: vec![],
            open_loop: None,
            verdict: None,
        }
    }

    #[test]
    fn merged_histogram_equals_one_recording_both() {
        let a: Vec<u64> = (1..=5000).map(|i| i * 7 % 90_001 + 3).collect();
        let b: Vec<u64> = (1..=3000).map(|i| i * i % 1_000_003 + 40).collect();
        let merged = merge(&[
            ("a".into(), result_with(&a, 10)),
            ("b".into(), result_with(&b, 20)),
        ])
        .unwrap();
        let mut both = LatencyHistogram::new();
        for &v in a.iter().chain(&b) {
            both.record_us(v);
        }
        assert_eq!(merged.histograms.latency().unwrap(), both);
        assert_eq!(merged.latency_us, both.summary());
        assert_eq!(merged.totals.messages, 8000);
        assert_eq!(merged.config.clients, 30);
        assert_eq!(merged.throughput.msgs_per_sec, 8000.0);
        assert_eq!(merged.merged_from, vec!["a", "b"]);
    }

    /// Merges `b` (a variant of a run like `a`) with `a`; the refusal's text, if refused.
    fn refusal(change: impl FnOnce(&mut RunResult)) -> Option<String> {
        let a = result_with(&[10, 20, 30], 10);
        let mut b = result_with(&[40, 50], 20);
        change(&mut b);
        merge(&[("a.json".into(), a), ("b.json".into(), b)])
            .err()
            .map(|e| format!("{e:#}"))
    }

    #[test]
    fn runs_that_were_not_one_run_are_refused_with_the_reason() {
        assert_eq!(refusal(|_| {}), None, "runs side by side merge");
        let after = refusal(|b| {
            b.window_start_unix_ns = Some(2_500_000_000);
            b.window_end_unix_ns = Some(3_500_000_000);
        });
        assert!(
            after.as_deref().unwrap().contains("windows do not overlap"),
            "{after:?}"
        );
        let unknown = refusal(|b| b.window_end_unix_ns = None);
        assert!(unknown.unwrap().contains("records no measured window"));
        let elsewhere = refusal(|b| b.target_addr = "127.0.0.1:2".into());
        assert!(elsewhere.unwrap().contains("different servers"));
        let model = refusal(|b| b.config = RunConfig::new("tokio", 20)).unwrap();
        assert!(model.contains("config.target.model differs"), "{model}");
        let size = refusal(|b| b.config.size = 128).unwrap();
        assert!(size.contains("config.size differs"), "{size}");
        let share = refusal(|b| {
            b.config.threads = 3;
            b.config.seed = 4;
        });
        assert_eq!(
            share, None,
            "each loadgen's own threads and seed may differ"
        );
    }

    #[test]
    fn a_duplicate_input_is_refused() {
        let a = result_with(&[10, 20, 30], 10);
        let same_file = merge(&[("a.json".into(), a.clone()), ("a.json".into(), a.clone())]);
        assert!(format!("{:#}", same_file.unwrap_err()).contains("a.json is given twice"));
        let copy = merge(&[("a.json".into(), a.clone()), ("copy.json".into(), a)]);
        assert!(format!("{:#}", copy.unwrap_err()).contains("are the same run"));
    }
}
