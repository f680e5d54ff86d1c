//! `loadgen compare BASE NEW`: two result files or two sweep directories, cell by cell.
//!
//! For each cell in both, msgs/s (higher is better), p99 and server CPU per message (lower is
//! better) are compared. When both sides have at least two runs, each Δ = NEW / BASE − 1 gets a
//! 95% bootstrap interval, paired by run index when the rounds visibly alternated in time
//! ([`interval`]), and the interval is judged: a regression lies wholly beyond the threshold on
//! the worse side, an improvement wholly beyond it on the better side, a point estimate within
//! the threshold is "ok", anything else "within noise". Otherwise the medians are judged
//! ([`judge`]), in this order:
//! 1. within the metric's threshold: "ok";
//! 2. beyond it, but no larger than the run-to-run spread (max − min) / median of either side
//!    (when a side has repeats): "within noise": the data cannot tell, so no verdict is guessed;
//! 3. otherwise a regression, or "improved".
//!
//! `--best` compares each cell's best repeat instead of its median. `--normalize` first divides NEW by the machine factor (the median NEW / BASE ratio over all
//! cells), so a machine that is uniformly busier or faster than when BASE was measured shifts
//! nothing, while one cell or model moving against the rest still does (server CPU per message,
//! which a busier machine moves far less, is not normalized).
//!
//! Independently of any threshold, a lost or corrupted echo (or failed connection) in NEW, or a
//! cell that ran in BASE but not in NEW, is a failure. Exit codes: 0 no regression, 1 regression
//! or failure, 2 error (unreadable input).

use std::fmt;
use std::path::Path;

use crate::report::samples::{RunSample, Samples};
use crate::report::{self, CellStatus, CellSummary, Spread};
use loadgen_inference::Delta;
use results_model::result::RunResult;

pub mod command;
pub mod interval;
mod point;

pub use point::judge;

/// How one metric of one cell changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Within the threshold.
    Ok,
    /// No larger than the repeats' spread: cannot be told from noise.
    WithinNoise,
    /// Better by more than the threshold.
    Improved,
    /// Worse by more than the threshold.
    Regression,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Ok => "ok",
            Verdict::WithinNoise => "within noise",
            Verdict::Improved => "improved",
            Verdict::Regression => "REGRESSION",
        })
    }
}

/// One metric, BASE against NEW.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetricDelta {
    /// BASE's value over its repeats.
    pub base: Spread,
    /// NEW's value over its repeats.
    pub new: Spread,
    /// (NEW − BASE) / BASE of the medians, percent (with an interval: its point estimate).
    pub delta_pct: f64,
    /// The judgement.
    pub verdict: Verdict,
    /// Δ with its 95% bootstrap interval, when both sides have at least two runs.
    pub interval: Option<Delta>,
}

/// One cell.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// `mio × 100 clients`.
    pub label: String,
    /// Throughput change, if both sides have one.
    pub msgs: Option<MetricDelta>,
    /// p99 change, if both sides have one.
    pub p99: Option<MetricDelta>,
    /// Server CPU per message change, if both sides recorded it.
    pub cpu: Option<MetricDelta>,
    /// The row's overall verdict, as shown.
    pub verdict: String,
}

/// The whole comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// What BASE was.
    pub base: String,
    /// What NEW was.
    pub new: String,
    /// Throughput threshold, percent.
    pub msgs_threshold_pct: f64,
    /// p99 threshold, percent.
    pub p99_threshold_pct: f64,
    /// Server CPU per message threshold, percent.
    pub cpu_threshold_pct: f64,
    /// Whether cells were compared by their best repeat rather than their median.
    pub best: bool,
    /// With `--normalize`: median over cells of NEW / BASE throughput, and of NEW / BASE p99.
    pub machine_factor: Option<(f64, f64)>,
    /// Every cell.
    pub rows: Vec<Row>,
    /// Everything that makes the exit code 1, one line each.
    pub failures: Vec<String>,
}

impl Comparison {
    /// 0 when nothing failed, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        u8::from(!self.failures.is_empty())
    }
}

/// One side of a comparison.
#[derive(Clone, Debug)]
pub struct Side {
    /// How it is named (its path).
    pub name: String,
    /// Its cells.
    pub cells: Vec<CellSummary>,
    /// Whether it was a single result file.
    pub single: bool,
    /// Every cell's repeats.
    pub samples: Samples,
}

/// Thresholds, percent: msgs/s drop, p99 rise, server CPU per message rise.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    /// Largest tolerated throughput drop.
    pub msgs: f64,
    /// Largest tolerated p99 rise.
    pub p99: f64,
    /// Largest tolerated server CPU per message rise (infinite: shown, never judged).
    pub cpu: f64,
}

/// Reads one side: a sweep directory's cells, or a single result file as one cell.
pub fn read_side(path: &Path) -> anyhow::Result<Side> {
    let name = path.display().to_string();
    if path.is_dir() {
        let collected = report::collect(path)?;
        return Ok(Side {
            name,
            cells: collected.cells.into_iter().map(|c| c.summary).collect(),
            single: false,
            samples: collected.samples,
        });
    }
    let (cells, single) = load_side(path)?;
    let run = RunResult::load(path)?;
    let samples = cells
        .iter()
        .map(|c| (c.key.clone(), vec![RunSample::of(&name, &run)]))
        .collect();
    Ok(Side {
        name,
        cells,
        single,
        samples,
    })
}

/// Reads one side: a sweep directory's cells, or a single result file as one cell. The flag
/// says whether it was a single file.
pub fn load_side(path: &Path) -> anyhow::Result<(Vec<CellSummary>, bool)> {
    if path.is_dir() {
        let collected = report::collect(path)?;
        return Ok((
            collected.cells.into_iter().map(|c| c.summary).collect(),
            false,
        ));
    }
    let run = RunResult::load(path)?;
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let collected = report::collect_runs(vec![(name, run)], None)?;
    Ok((
        collected.cells.into_iter().map(|c| c.summary).collect(),
        true,
    ))
}

/// Compares cell by cell. Two single files are compared with each other whatever their
/// configurations; otherwise cells are matched by model, clients, size, protocol and pipeline.
/// Cells with at least two runs on both sides are judged by the interval of their Δ
/// ([`interval`]), except with `best`, which compares one run per side.
pub fn compare(
    base: &Side,
    new: &Side,
    thresholds: Thresholds,
    (normalize, best): (bool, bool),
) -> anyhow::Result<Comparison> {
    let (base_name, base_cells, base_single) = (&base.name, &base.cells, base.single);
    let (new_name, new_cells, new_single) = (&new.name, &new.cells, new.single);
    let no_samples = Samples::new();
    let samples = if best {
        (&no_samples, &no_samples)
    } else {
        (&base.samples, &new.samples)
    };
    let mut out = Comparison {
        base: base_name.to_string(),
        new: new_name.to_string(),
        msgs_threshold_pct: thresholds.msgs,
        p99_threshold_pct: thresholds.p99,
        cpu_threshold_pct: thresholds.cpu,
        best,
        machine_factor: None,
        rows: Vec::new(),
        failures: Vec::new(),
    };
    let (base_cells, new_cells) = if best {
        (
            base_cells.iter().map(best_of).collect(),
            new_cells.iter().map(best_of).collect(),
        )
    } else {
        (base_cells.to_vec(), new_cells.to_vec())
    };
    let pairs: Vec<(Option<&CellSummary>, Option<&CellSummary>)> = if base_single && new_single {
        vec![(base_cells.first(), new_cells.first())]
    } else {
        let mut pairs: Vec<_> = base_cells
            .iter()
            .map(|b| (Some(b), new_cells.iter().find(|n| n.key == b.key)))
            .collect();
        pairs.extend(
            new_cells
                .iter()
                .filter(|n| !base_cells.iter().any(|b| b.key == n.key))
                .map(|n| (None, Some(n))),
        );
        pairs
    };
    let factor = normalize.then(|| machine_factor(&pairs));
    out.machine_factor = factor;
    let factor = factor.unwrap_or((1.0, 1.0));
    for (b, n) in pairs {
        let runs = |side: &Samples, c: Option<&CellSummary>| {
            c.and_then(|c| side.get(&c.key))
                .cloned()
                .unwrap_or_default()
        };
        let runs = (runs(samples.0, b), runs(samples.1, n));
        out.rows
            .push(row((b, n), &runs, thresholds, factor, &mut out.failures));
    }
    let compared = out.rows.iter().filter(|r| r.msgs.is_some()).count();
    if compared == 0 && out.failures.is_empty() {
        anyhow::bail!(
            "nothing to compare: no cell ran in both {base_name} and {new_name} \
             (cells match on model, clients, size, protocol and pipeline)"
        );
    }
    Ok(out)
}

/// Median over cells that ran on both sides of NEW / BASE, for throughput and for p99 (1.0
/// when no cell did).
fn machine_factor(pairs: &[(Option<&CellSummary>, Option<&CellSummary>)]) -> (f64, f64) {
    let ratios = |pick: fn(&CellSummary) -> Option<Spread>| -> f64 {
        let values: Vec<f64> = pairs
            .iter()
            .filter_map(|(b, n)| {
                let (b, n) = (pick((*b)?)?.median, pick((*n)?)?.median);
                (b > 0.0 && n > 0.0).then_some(n / b)
            })
            .collect();
        Spread::of(&values).map_or(1.0, |s| s.median)
    };
    (ratios(|c| c.msgs_per_sec), ratios(|c| c.p99_us))
}

/// `c` with its best repeat in place of the median: highest msgs/s, lowest latencies.
fn best_of(c: &CellSummary) -> CellSummary {
    let pick = |s: Option<Spread>, higher_is_better: bool| {
        s.map(|s| Spread {
            median: if higher_is_better { s.max } else { s.min },
            ..s
        })
    };
    CellSummary {
        msgs_per_sec: pick(c.msgs_per_sec, true),
        p50_us: pick(c.p50_us, false),
        p99_us: pick(c.p99_us, false),
        p99_9_us: pick(c.p99_9_us, false),
        ..c.clone()
    }
}

/// `s` divided by `factor` (NEW expressed at BASE's machine speed).
fn scaled(s: Option<Spread>, factor: f64) -> Option<Spread> {
    s.map(|s| Spread {
        median: s.median / factor,
        min: s.min / factor,
        max: s.max / factor,
        n: s.n,
    })
}

/// The row of one cell, present on either side or both; pushes every failure it finds.
fn row(
    (base, new): (Option<&CellSummary>, Option<&CellSummary>),
    runs: &(Vec<RunSample>, Vec<RunSample>),
    thresholds: Thresholds,
    factors: (f64, f64),
    failures: &mut Vec<String>,
) -> Row {
    let label = match (base, new) {
        (Some(b), Some(n)) if b.key != n.key => format!("{} vs {}", b.key.label(), n.key.label()),
        (Some(c), _) | (None, Some(c)) => c.key.label(),
        (None, None) => String::new(),
    };
    let Some(new) = new else {
        failures.push(format!("{label}: ran in BASE, missing from NEW"));
        return Row {
            label,
            msgs: None,
            p99: None,
            cpu: None,
            verdict: "MISSING in NEW".to_string(),
        };
    };
    if new.has_failures() {
        let note = new.note.clone().unwrap_or_else(|| "errors".to_string());
        failures.push(format!(
            "{label}: lost or corrupted echoes / failed connections in NEW ({note})"
        ));
    }
    let base_ran = base.is_some_and(|b| b.msgs_per_sec.is_some());
    if new.msgs_per_sec.is_none() {
        let why = new.note.clone().unwrap_or_default();
        if base_ran {
            failures.push(format!(
                "{label}: ran in BASE, {} in NEW: {why}",
                new.status.label()
            ));
        }
        let verdict = format!("{} in NEW", new.status.label());
        return Row {
            label,
            msgs: None,
            p99: None,
            cpu: None,
            verdict,
        };
    }
    let Some(base) = base.filter(|_| base_ran) else {
        let verdict = if new.has_failures() {
            "ERRORS in NEW"
        } else {
            "new cell (no BASE)"
        };
        return Row {
            label,
            msgs: None,
            p99: None,
            cpu: None,
            verdict: verdict.to_string(),
        };
    };
    judged(label, (base, new), runs, thresholds, factors, failures)
}

/// Pushes one failure line per metric (msgs/s, p99, server CPU/msg) judged a regression.
fn push_regressions(
    label: &str,
    deltas: [Option<MetricDelta>; 3],
    t: Thresholds,
    failures: &mut Vec<String>,
) {
    let names = [
        ("msgs/s", t.msgs),
        ("p99", t.p99),
        ("server CPU/msg", t.cpu),
    ];
    for ((name, threshold), d) in names.into_iter().zip(deltas) {
        if let Some(d) = d.filter(|d| d.verdict == Verdict::Regression) {
            let interval = d
                .interval
                .map_or(String::new(), |i| format!(" {}", interval::describe(&i)));
            failures.push(format!(
                "{label}: {name} {:+.1}%{interval} (threshold {threshold}%)",
                d.delta_pct
            ));
        }
    }
}

/// The row of a cell that ran on both sides: each metric judged against its threshold.
fn judged(
    label: String,
    (base, new): (&CellSummary, &CellSummary),
    (base_runs, new_runs): &(Vec<RunSample>, Vec<RunSample>),
    t: Thresholds,
    (msgs_factor, p99_factor): (f64, f64),
    failures: &mut Vec<String>,
) -> Row {
    if new.status == CellStatus::Failed {
        let why = new.note.clone().unwrap_or_default();
        failures.push(format!("{label}: a repeat could not run in NEW: {why}"));
    }
    let how = interval::pairing(base_runs, new_runs);
    let with_interval = |d: Option<MetricDelta>, read: interval::Read, factor, threshold, hib| {
        let mut d = d?;
        if let Some(i) = interval::delta(base_runs, new_runs, read, factor, how) {
            d.delta_pct = i.estimate * 100.0;
            d.verdict = interval::verdict(&i, threshold, hib);
            d.interval = Some(i);
        }
        Some(d)
    };
    let msgs = judge(
        base.msgs_per_sec,
        scaled(new.msgs_per_sec, msgs_factor),
        t.msgs,
        true,
    );
    let msgs = with_interval(msgs, |r| Some(r.msgs_per_sec), msgs_factor, t.msgs, true);
    // A p99 of 0 means no latency was recorded: nothing to compare.
    let p99 = judge(
        base.p99_us.filter(|s| s.median > 0.0),
        scaled(new.p99_us.filter(|s| s.median > 0.0), p99_factor),
        t.p99,
        false,
    );
    let p99 = with_interval(p99, |r| r.p99_us, p99_factor, t.p99, false);
    let cpu = judge(
        base.server_cpu_ns_per_msg,
        new.server_cpu_ns_per_msg,
        t.cpu,
        false,
    );
    let cpu = with_interval(cpu, |r| r.server_cpu_ns_per_msg, 1.0, t.cpu, false);
    push_regressions(&label, [msgs, p99, cpu], t, failures);
    let worst = [msgs, p99, cpu]
        .into_iter()
        .flatten()
        .map(|d| d.verdict)
        .max_by_key(|v| match v {
            Verdict::Ok => 0,
            Verdict::Improved => 1,
            Verdict::WithinNoise => 2,
            Verdict::Regression => 3,
        })
        .unwrap_or(Verdict::Ok);
    let verdict = if new.has_failures() {
        "ERRORS in NEW".to_string()
    } else {
        worst.to_string()
    };
    Row {
        label,
        msgs,
        p99,
        cpu,
        verdict,
    }
}
