//! Comparing two sides cell by cell: cells matched, each metric classified (by interval with
//! repeats on both sides, by medians otherwise), and every failure listed.

use super::interval;
use super::outcome::{Comparison, MetricDelta, Outcome, Row, Thresholds};
use super::point;
use super::side::Side;
use crate::report::samples::{RunSample, Samples};
use crate::report::{CellStatus, CellSummary, Spread};

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
            outcome: "MISSING in NEW".to_string(),
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
        let outcome = format!("{} in NEW", new.status.label());
        return Row {
            label,
            msgs: None,
            p99: None,
            cpu: None,
            outcome,
        };
    }
    let Some(base) = base.filter(|_| base_ran) else {
        let outcome = if new.has_failures() {
            "ERRORS in NEW"
        } else {
            "new cell (no BASE)"
        };
        return Row {
            label,
            msgs: None,
            p99: None,
            cpu: None,
            outcome: outcome.to_string(),
        };
    };
    both_ran(label, (base, new), runs, thresholds, factors, failures)
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
        if let Some(d) = d.filter(|d| d.outcome == Outcome::Regression) {
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
fn both_ran(
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
            d.outcome = interval::classify(&i, threshold, hib);
            d.interval = Some(i);
        }
        Some(d)
    };
    let msgs = point::classify(
        base.msgs_per_sec,
        scaled(new.msgs_per_sec, msgs_factor),
        t.msgs,
        true,
    );
    let msgs = with_interval(msgs, |r| Some(r.msgs_per_sec), msgs_factor, t.msgs, true);
    // A p99 of 0 means no latency was recorded: nothing to compare.
    let p99 = point::classify(
        base.p99_us.filter(|s| s.median > 0.0),
        scaled(new.p99_us.filter(|s| s.median > 0.0), p99_factor),
        t.p99,
        false,
    );
    let p99 = with_interval(p99, |r| r.p99_us, p99_factor, t.p99, false);
    let cpu = point::classify(
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
        .map(|d| d.outcome)
        .max_by_key(|v| match v {
            Outcome::Ok => 0,
            Outcome::Improved => 1,
            Outcome::WithinNoise => 2,
            Outcome::Regression => 3,
        })
        .unwrap_or(Outcome::Ok);
    let outcome = if new.has_failures() {
        "ERRORS in NEW".to_string()
    } else {
        worst.to_string()
    };
    Row {
        label,
        msgs,
        p99,
        cpu,
        outcome,
    }
}
