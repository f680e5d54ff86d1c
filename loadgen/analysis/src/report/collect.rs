//! Reading a sweep directory back: its run files grouped into cells, each cell's repeats
//! summarized, and the cells that did not run added from `sweep.json`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use results_model::cost::{CostReport, ProcessCost};
use results_model::histogram::LatencyHistogram;
use results_model::result::RunResult;

use super::cell::{Cell, CellKey, CellStatus, CellSummary};
use super::spread::{Interval, Spread};
use super::sweep_summary::{Collected, SourceInfo};
use super::{noise, ranking, samples};
use crate::sweep_dir::names::{cell_model, record_model, NOT_RUNS};
use crate::sweep_dir::record::SweepRecord;

/// Reads every run file in `dir` (and `sweep.json` when present). A file that is not a valid
/// result is an error naming it: a report must not silently leave a run out.
pub fn collect(dir: &Path) -> anyhow::Result<Collected> {
    if !dir.is_dir() {
        anyhow::bail!("{} is not a directory", dir.display());
    }
    let record = SweepRecord::load(dir)?;
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json") && !NOT_RUNS.contains(&n.as_str()))
        .collect();
    names.sort();
    let mut runs = Vec::with_capacity(names.len());
    for name in names {
        runs.push((name.clone(), RunResult::load(&dir.join(&name))?));
    }
    if runs.is_empty() && record.is_none() {
        anyhow::bail!("{} holds no loadgen result files", dir.display());
    }
    collect_runs(runs, record.as_ref())
}

/// Groups named runs into cells, adds the cells `record` says did not run, and orders them.
pub fn collect_runs(
    runs: Vec<(String, RunResult)>,
    record: Option<&SweepRecord>,
) -> anyhow::Result<Collected> {
    let mut source = SourceInfo {
        runs: record.map_or(1, |r| r.runs),
        ..SourceInfo::default()
    };
    if let Some((_, first)) = runs.first() {
        source.loadgen = format!("{} ({})", first.loadgen.version, first.loadgen.git_commit);
        source.machine = Some(first.machine.clone());
        source.duration_s = first.config.duration.as_secs_f64();
        source.warmup_s = first.config.warmup.as_secs_f64();
        source.link = first.config.link;
    } else if let Some(r) = record {
        source.duration_s = r.duration_s;
        source.warmup_s = r.warmup_s;
    }
    let keyed: Vec<(CellKey, String, RunResult)> = runs
        .into_iter()
        .map(|(name, run)| {
            let mut key = CellKey::of(&run);
            key.model = cell_model(&name, &key.model);
            (key, name, run)
        })
        .collect();
    let noise_floor = noise::noise_floors(&keyed);
    let mut samples = samples::Samples::new();
    for (key, name, run) in &keyed {
        let sample = samples::RunSample::of(name, run);
        samples.entry(key.clone()).or_default().push(sample);
    }
    let mut groups: BTreeMap<CellKey, Vec<(String, RunResult)>> = BTreeMap::new();
    for (key, name, run) in keyed {
        groups.entry(key).or_default().push((name, run));
    }
    let mut cells = Vec::with_capacity(groups.len());
    for (key, group) in groups {
        cells.push(summarize(key, &group)?);
    }
    if let Some(record) = record {
        for nr in &record.not_run {
            let key = CellKey {
                model: record_model(&nr.model),
                clients: nr.clients,
                size: record.size,
                protocol: record.protocol.clone(),
                pipeline: cells.first().map_or(1, |c: &Cell| c.summary.key.pipeline),
            };
            if let Some(cell) = cells.iter_mut().find(|c| c.summary.key == key) {
                // Some repeats ran, a later one could not start: the cell failed.
                if !nr.skipped {
                    cell.summary.status = CellStatus::Failed;
                    cell.summary.note = Some(nr.reason.clone());
                }
                continue;
            }
            cells.push(Cell {
                summary: empty_cell(key, nr.skipped, &nr.reason),
                latency: None,
            });
        }
    }
    cells.sort_by_key(|c| c.summary.key.order());
    Ok(Collected {
        source,
        cells,
        noise_floor,
        samples,
    })
}

/// One cell from its repeats.
fn summarize(key: CellKey, group: &[(String, RunResult)]) -> anyhow::Result<Cell> {
    let values =
        |f: &dyn Fn(&RunResult) -> f64| -> Vec<f64> { group.iter().map(|(_, r)| f(r)).collect() };
    let mut latency = LatencyHistogram::new();
    for (name, r) in group {
        let h = r
            .histograms
            .latency()
            .with_context(|| format!("{name}: bad latency histogram"))?;
        latency.add(&h);
    }
    let errors: u64 = group.iter().map(|(_, r)| r.totals.errors.total()).sum();
    let lost: u64 = group.iter().map(|(_, r)| r.totals.unanswered).sum();
    let passed = group.iter().all(|(_, r)| r.passed) && errors == 0 && lost == 0;
    let servers: Vec<_> = group
        .iter()
        .filter_map(|(_, r)| r.server.as_ref())
        .collect();
    let cpu = Spread::of(
        &servers
            .iter()
            .map(|s| s.resources.cpu_cores_used)
            .collect::<Vec<_>>(),
    );
    let rss = Spread::of(
        &group
            .iter()
            .filter_map(|(_, r)| {
                let s = r.server.as_ref()?;
                Some(s.resources.peak_rss_bytes as f64 / r.config.clients.max(1) as f64)
            })
            .collect::<Vec<_>>(),
    );
    let note = (!passed).then(|| {
        let mut kinds = results_model::result::ErrorCounts::default();
        for (_, r) in group {
            kinds.add(&r.totals.errors);
        }
        let parts: Vec<String> = kinds
            .by_kind()
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| format!("{k} {n}"))
            .chain((lost > 0).then(|| format!("lost {lost}")))
            .collect();
        parts.join(", ")
    });
    Ok(Cell {
        summary: CellSummary {
            key,
            status: if passed {
                CellStatus::Ok
            } else {
                CellStatus::Errors
            },
            note,
            runs: group.iter().map(|(n, _)| n.clone()).collect(),
            msgs_per_sec: Spread::of(&values(&|r| r.throughput.msgs_per_sec)),
            p50_us: Spread::of(&values(&|r| r.latency_us.p50 as f64)),
            p99_us: Spread::of(&values(&|r| r.latency_us.p99 as f64)),
            p99_9_us: Spread::of(&values(&|r| r.latency_us.p99_9 as f64)),
            errors,
            lost,
            server_cpu_cores: cpu.map(|s| s.median),
            server_rss_per_conn_bytes: rss.map(|s| s.median),
            loadgen_saturated: group.iter().any(|(_, r)| r.loadgen_resources.saturated),
            server_cpu_ns_per_msg: cpu_per_msg(group, |c| c.server.as_ref()),
            loadgen_cpu_ns_per_msg: cpu_per_msg(group, |c| c.loadgen.as_ref()),
            msgs_per_sec_ci: Interval::of(&values(&|r| r.throughput.msgs_per_sec)),
            p99_us_ci: Interval::of(&values(&|r| r.latency_us.p99 as f64)),
            server_cpu_ns_per_msg_ci: Interval::of(&server_cpu(group)),
            server_syscalls_per_msg: server_syscalls(group),
            loadgen_bound: ranking::loadgen_bound(group),
        },
        latency: Some(latency),
    })
}

/// A row for a cell with no result.
fn empty_cell(key: CellKey, skipped: bool, reason: &str) -> CellSummary {
    CellSummary {
        key,
        status: if skipped {
            CellStatus::Skipped
        } else {
            CellStatus::Failed
        },
        note: Some(reason.to_string()),
        runs: Vec::new(),
        msgs_per_sec: None,
        p50_us: None,
        p99_us: None,
        p99_9_us: None,
        errors: 0,
        lost: 0,
        server_cpu_cores: None,
        server_rss_per_conn_bytes: None,
        loadgen_saturated: false,
        server_cpu_ns_per_msg: None,
        loadgen_cpu_ns_per_msg: None,
        msgs_per_sec_ci: None,
        p99_us_ci: None,
        server_cpu_ns_per_msg_ci: None,
        server_syscalls_per_msg: None,
        loadgen_bound: None,
    }
}

/// Server CPU ns per message of the repeats that recorded it.
fn server_cpu(group: &[(String, RunResult)]) -> Vec<f64> {
    group
        .iter()
        .filter_map(|(_, r)| Some(r.cost.as_ref()?.server.as_ref()?.cpu_ns_per_msg))
        .collect()
}

/// The spread of one side's CPU ns per message over the repeats that recorded it.
fn cpu_per_msg(
    group: &[(String, RunResult)],
    side: fn(&CostReport) -> Option<&ProcessCost>,
) -> Option<Spread> {
    let values: Vec<f64> = group
        .iter()
        .filter_map(|(_, r)| side(r.cost.as_ref()?))
        .map(|c| c.cpu_ns_per_msg)
        .collect();
    Spread::of(&values)
}

/// The server's system calls per message, over the repeats that counted them.
fn server_syscalls(group: &[(String, RunResult)]) -> Option<Spread> {
    let values: Vec<f64> = group
        .iter()
        .filter_map(|(_, r)| r.kernel.as_ref()?.server.as_ref()?.syscalls_per_msg.total)
        .collect();
    Spread::of(&values)
}

/// The client count for the latency spectrum: `wanted`, else the one with the most cells that
/// ran cleanly (the larger on a tie).
pub fn spectrum_clients(cells: &[Cell], wanted: Option<usize>) -> Option<usize> {
    if wanted.is_some() {
        return wanted;
    }
    let mut ok: BTreeMap<usize, usize> = BTreeMap::new();
    for c in cells.iter().filter(|c| c.latency.is_some()) {
        *ok.entry(c.summary.key.clients).or_default() += 1;
    }
    ok.into_iter()
        .max_by_key(|&(clients, n)| (n, clients))
        .map(|(clients, _)| clients)
}
