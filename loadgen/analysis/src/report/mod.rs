//! `loadgen report DIR`: everything a sweep shows, rebuilt from its JSON alone.
//!
//! The run files are grouped into cells (model × clients × size × protocol × pipeline); each
//! cell's repeats become a median and a spread ([`Spread`]); their histograms are added exactly
//! for the latency spectrum. Output is a pure function of the input files: no clock, stable
//! ordering (models in [`Model::ALL`] order, then clients ascending), so running `report` twice
//! writes identical bytes.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use results_model::cost::{CostReport, ProcessCost};
use results_model::histogram::LatencyHistogram;
use results_model::result::{MachineInfo, RunResult};
use results_model::Model;
use serde::{Deserialize, Serialize};

use crate::sweep::record::{SweepRecord, SWEEP_FILE};

pub mod noise;
pub mod ranking;
pub mod samples;
mod spread;
pub mod write;

pub use noise::AaNoise;
pub use spread::{Interval, Spread};

/// The table and everything behind it, as JSON.
pub const SUMMARY_JSON: &str = "summary.json";
/// The table, as markdown.
pub const SUMMARY_MD: &str = "summary.md";
/// Table and charts in one page that opens from disk.
pub const INDEX_HTML: &str = "index.html";
/// Files in a sweep directory that are not run results.
const NOT_RUNS: [&str; 3] = [SUMMARY_JSON, SWEEP_FILE, "schema.json"];
/// Bumped when a field of [`Summary`] changes meaning.
pub const SUMMARY_VERSION: u32 = 1;

/// How a cell went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CellStatus {
    /// Every repeat ran and passed.
    Ok,
    /// It ran, but echoes were lost or corrupted, or connections failed.
    Errors,
    /// Not attempted: a known limit (e.g. `select` past FD_SETSIZE).
    Skipped,
    /// Attempted, but could not run (server did not start, limits, ...).
    Failed,
}

impl CellStatus {
    /// How the status reads in tables.
    pub fn label(self) -> &'static str {
        match self {
            CellStatus::Ok => "ok",
            CellStatus::Errors => "ERRORS",
            CellStatus::Skipped => "skipped",
            CellStatus::Failed => "FAILED",
        }
    }
}

/// What identifies a cell across sweeps.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CellKey {
    /// Model name (`external` for `--addr` runs).
    pub model: String,
    /// Concurrent clients.
    pub clients: usize,
    /// Payload bytes per message.
    pub size: usize,
    /// Wire protocol name.
    pub protocol: String,
    /// Messages outstanding per client.
    pub pipeline: usize,
}

impl CellKey {
    /// The key of a run.
    pub fn of(r: &RunResult) -> CellKey {
        CellKey {
            model: r.config.target.label().to_string(),
            clients: r.config.clients,
            size: r.config.size,
            protocol: r.config.protocol.name().to_string(),
            pipeline: r.config.pipeline,
        }
    }

    /// `mio × 100 clients`.
    pub fn label(&self) -> String {
        format!("{} × {} clients", self.model, self.clients)
    }

    /// Sort key: models in [`Model::ALL`] order (unknown names after, alphabetically).
    fn order(&self) -> (usize, String, usize, usize, String, usize) {
        let base = self.model.strip_suffix(noise::AA_LABEL);
        let rank = Model::from_name(base.unwrap_or(&self.model))
            .and_then(|m| Model::ALL.iter().position(|&x| x == m))
            .unwrap_or(Model::ALL.len());
        let k = self.clone();
        (rank, k.model, k.clients, k.size, k.protocol, k.pipeline)
    }
}

/// One row of the table: a cell's repeats summarized.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellSummary {
    /// Which cell.
    #[serde(flatten)]
    pub key: CellKey,
    /// How it went.
    pub status: CellStatus,
    /// Why it did not run, or what went wrong.
    pub note: Option<String>,
    /// Result files of its repeats, by name.
    pub runs: Vec<String>,
    /// Completed messages per second.
    pub msgs_per_sec: Option<Spread>,
    /// Median latency, µs.
    pub p50_us: Option<Spread>,
    /// 99th percentile latency, µs.
    pub p99_us: Option<Spread>,
    /// 99.9th percentile latency, µs.
    pub p99_9_us: Option<Spread>,
    /// Errors of every kind, summed over repeats.
    pub errors: u64,
    /// Echoes never answered (lost), summed over repeats.
    pub lost: u64,
    /// Server CPU cores used in the window (median).
    pub server_cpu_cores: Option<f64>,
    /// Server peak RSS divided by clients, bytes (median).
    pub server_rss_per_conn_bytes: Option<f64>,
    /// Whether loadgen itself was saturated in any repeat (figures may measure loadgen).
    pub loadgen_saturated: bool,
    /// Server CPU time per echoed message, ns (runs that recorded a cost).
    #[serde(default)]
    pub server_cpu_ns_per_msg: Option<Spread>,
    /// loadgen CPU time per echoed message, ns.
    #[serde(default)]
    pub loadgen_cpu_ns_per_msg: Option<Spread>,
    /// msgs/s: median and 95% bootstrap interval (two or more repeats).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msgs_per_sec_ci: Option<Interval>,
    /// p99 latency, µs: median and 95% bootstrap interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_us_ci: Option<Interval>,
    /// Server CPU per message, ns: median and 95% bootstrap interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_cpu_ns_per_msg_ci: Option<Interval>,
    /// Why the cell is left out of the msgs/s and p99 rankings (loadgen was the bottleneck).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loadgen_bound: Option<String>,
}

impl CellSummary {
    /// Whether any repeat lost or corrupted an echo, or failed a connection.
    pub fn has_failures(&self) -> bool {
        self.status == CellStatus::Errors || self.errors > 0 || self.lost > 0
    }
}

/// Where the figures came from (taken from the first run file, never from the clock).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// loadgen version and git commit.
    pub loadgen: String,
    /// The machine of the first run.
    pub machine: Option<MachineInfo>,
    /// Measured seconds per run and warm-up seconds (of the first run).
    pub duration_s: f64,
    /// Warm-up seconds per run.
    pub warmup_s: f64,
    /// Repeats per cell the sweep asked for (1 when unknown).
    pub runs: usize,
    /// The delayed link (echo-proxy) the runs went through, when they had one (of the first run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<results_model::Link>,
}

/// `summary.json`: the whole table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Version of this format.
    pub summary_version: u32,
    /// Where the figures came from.
    pub source: SourceInfo,
    /// Every cell, in table order.
    pub cells: Vec<CellSummary>,
    /// The machine's noise floor from each A/A pair (`sweep --aa`), per client count.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub noise_floor: Vec<AaNoise>,
    /// Models ranked per client count and metric (cells with two or more runs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranking: Vec<ranking::MetricRanking>,
}

/// A cell with what the charts need beyond the table.
#[derive(Clone, Debug)]
pub struct Cell {
    /// The table row.
    pub summary: CellSummary,
    /// Every repeat's latency histogram added together (`None` when it did not run).
    pub latency: Option<LatencyHistogram>,
}

/// A sweep directory read back.
#[derive(Clone, Debug)]
pub struct Collected {
    /// Where the figures came from.
    pub source: SourceInfo,
    /// Every cell, in table order.
    pub cells: Vec<Cell>,
    /// The noise floor of each A/A pair.
    pub noise_floor: Vec<AaNoise>,
    /// Every cell's repeats, for paired or resampled comparisons.
    pub samples: samples::Samples,
}

impl Collected {
    /// The table.
    pub fn summary(&self) -> Summary {
        let cells: Vec<CellSummary> = self.cells.iter().map(|c| c.summary.clone()).collect();
        Summary {
            summary_version: SUMMARY_VERSION,
            source: self.source.clone(),
            ranking: ranking::rankings(&cells, &self.samples),
            cells,
            noise_floor: self.noise_floor.clone(),
        }
    }
}

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
            key.model = noise::cell_model(&name, &key.model);
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
                model: noise::record_model(&nr.model),
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

#[cfg(test)]
mod tests;
