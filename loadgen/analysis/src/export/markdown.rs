//! Markdown views: the sweep table (`summary.md`) and the comparison table of `loadgen compare`.
//! Both are meant for a terminal, a PR comment or `$GITHUB_STEP_SUMMARY`.

use std::fmt::Write;

use crate::compare::{interval, Comparison, MetricDelta, Row};
use crate::report::{CellStatus, CellSummary, Spread, SweepSummary};
use loadgen_inference::Pairing;
use results_model::format;

/// The A/A section: one line per pair, or why there is none to show.
fn noise_floor(out: &mut String, s: &SweepSummary) {
    if s.noise_floor.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n## Noise floor\n");
    for aa in &s.noise_floor {
        let _ = writeln!(out, "- {}", aa.describe());
    }
    let _ = writeln!(
        out,
        "\nThe A/A pair ran one model twice, interleaved with the other cells; run k of one is \
         paired with run k of the other. The floor is the half-width of the paired A/A \
         \u{0394}'s 95% bootstrap interval: a difference between two cells smaller than it \
         cannot be told from this machine's noise."
    );
}

/// The sweep table: model × clients → msgs/s, latency, errors, server CPU and RSS.
pub fn summary(s: &SweepSummary) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# echobench sweep\n");
    let src = &s.source;
    if let Some(first) = s.cells.iter().find(|c| !c.runs.is_empty()) {
        let _ = writeln!(
            out,
            "{} B {} messages, pipeline {}; {} s measured after {} s warm-up; median of {} run(s) per cell.",
            first.key.size, first.key.protocol, first.key.pipeline, src.duration_s, src.warmup_s, src.runs
        );
    }
    if let Some(link) = &src.link {
        let _ = writeln!(out, "Link: {}.", link.describe());
    }
    if let Some(m) = &src.machine {
        let _ = writeln!(
            out,
            "Machine: {} CPUs, {}, host `{}`; loadgen {}.",
            m.cpus, m.kernel, m.hostname, src.loadgen
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| model | clients | msgs/s | p50 | p99 | p99.9 | errors | server CPU | server CPU/msg | loadgen CPU/msg | server syscalls/msg | server RSS/conn | status |"
    );
    let _ = writeln!(out, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|");
    for c in &s.cells {
        let [msgs, p50, p99, p99_9, errors] = figures(c);
        let _ = writeln!(
            out,
            "| {} | {} | {msgs} | {p50} | {p99} | {p99_9} | {errors} | {} | {} | {} | {} | {} | {} |",
            c.key.model,
            format::count(c.key.clients as f64),
            c.server_cpu_cores
                .map_or("—".to_string(), |v| format!("{v:.2} cores")),
            ns_per_msg(c.server_cpu_ns_per_msg),
            ns_per_msg(c.loadgen_cpu_ns_per_msg),
            c.server_syscalls_per_msg
                .map_or("—".to_string(), |s| format!("{:.2}{}", s.median, noise(&s))),
            c.server_rss_per_conn_bytes
                .map_or("—".to_string(), format::bytes),
            status(c),
        );
    }
    let saturated: Vec<String> = s
        .cells
        .iter()
        .filter(|c| c.loadgen_saturated)
        .map(|c| c.key.label())
        .collect();
    if !saturated.is_empty() {
        let _ = writeln!(
            out,
            "\nloadgen was saturated (the figure may measure loadgen, not the server) in: {}.",
            saturated.join("; ")
        );
    }
    out.push_str(&super::confidence::markdown(s));
    noise_floor(&mut out, s);
    let _ = writeln!(
        out,
        "\nServer RSS/conn is the server's peak RSS divided by clients (includes its fixed size, \
         so it falls as clients grow). ±x% is half the run-to-run spread: (max − min) / 2 / median."
    );
    let _ = writeln!(
        out,
        "CPU/msg is the process's CPU time (user + system, all threads) over the measured window \
         divided by the messages echoed in it; syscalls/msg are the server's system calls over the \
         window per message, counted by the kernel (— where not counted; by name in each run's JSON \
         and `loadgen explain`)."
    );
    out
}

/// The comparison table of `loadgen compare`, with a verdict line.
pub fn comparison(c: &Comparison) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# loadgen compare\n");
    let _ = writeln!(out, "BASE `{}` → NEW `{}`  ", c.base, c.new);
    let _ = writeln!(
        out,
        "Thresholds: msgs/s −{}%, p99 +{}%, server CPU/msg {}. A difference no larger than the repeats' spread is \
         \"within noise\"; with one run per cell the noise is unknown and only the threshold applies.\n",
        c.msgs_threshold_pct,
        c.p99_threshold_pct,
        if c.cpu_threshold_pct.is_finite() {
            format!("+{}%", c.cpu_threshold_pct)
        } else {
            "shown, not judged (--cpu-threshold judges it)".to_string()
        }
    );
    if c.best {
        let _ = writeln!(
            out,
            "Each cell's best repeat is compared (highest msgs/s, lowest p99), not its median.\n"
        );
    }
    if let Some((msgs, p99)) = c.machine_factor {
        let _ = writeln!(
            out,
            "Normalized: over all cells NEW ran at {msgs:.2}× BASE's msgs/s and {p99:.2}× its p99 \
             (the machine factor, median of the ratios); each Δ below is relative to it.\n"
        );
    }
    let _ = writeln!(
        out,
        "| cell | msgs/s BASE | msgs/s NEW | Δ msgs/s | p99 BASE | p99 NEW | Δ p99 | Δ server CPU/msg | verdict |"
    );
    let _ = writeln!(out, "|---|--:|--:|--:|--:|--:|--:|--:|---|");
    for row in &c.rows {
        let (mb, mn, md) = metric_cells(row.msgs.as_ref(), rate);
        let (pb, pn, pd) = metric_cells(row.p99.as_ref(), latency);
        let (_, _, cd) = metric_cells(row.cpu.as_ref(), ns_per_msg);
        let _ = writeln!(
            out,
            "| {} | {mb} | {mn} | {md} | {pb} | {pn} | {pd} | {cd} | {} |",
            row.label, row.outcome
        );
    }
    let _ = writeln!(out);
    intervals(&mut out, c);
    if c.failures.is_empty() {
        let _ = writeln!(out, "**No regression** ({} cells compared).", c.rows.len());
    } else {
        let _ = writeln!(out, "**FAILED** ({} problem(s)):\n", c.failures.len());
        for f in &c.failures {
            let _ = writeln!(out, "- {f}");
        }
    }
    out
}

/// One line per cell with its Δs and 95% intervals, and which method produced them.
fn intervals(out: &mut String, c: &Comparison) {
    let lines: Vec<String> = c.rows.iter().filter_map(interval_line).collect();
    if lines.is_empty() {
        let _ = writeln!(
            out,
            "No intervals: a side has one run per cell (sweep with --runs N, N ≥ 2, for \
             intervals).\n"
        );
        return;
    }
    let _ = writeln!(
        out,
        "Δ = NEW / BASE − 1 with its 95% bootstrap interval; a regression needs the whole \
         interval beyond the threshold. Paired: run k of BASE with run k of NEW (their rounds \
         alternated in time). Unpaired: medians of independent runs.\n"
    );
    for line in lines {
        let _ = writeln!(out, "- {line}");
    }
    let _ = writeln!(out);
}

/// `mio × 1000 clients (paired, 5 runs): msgs/s +4.1% [−2.0%, +9.8%] (no difference
/// detected), server CPU/msg −12.0% [−18.0%, −6.0%] (better)`.
fn interval_line(row: &Row) -> Option<String> {
    let metrics = [
        ("msgs/s", row.msgs.as_ref(), true),
        ("p99", row.p99.as_ref(), false),
        ("server CPU/msg", row.cpu.as_ref(), false),
    ];
    let mut how = None;
    let parts: Vec<String> = metrics
        .iter()
        .filter_map(|(name, d, hib)| {
            let i = d.as_ref()?.interval?;
            how.get_or_insert((i.pairing, i.n_base.max(i.n_new)));
            Some(format!(
                "{name} {} ({})",
                interval::describe(&i),
                interval::significance(&i, *hib)
            ))
        })
        .collect();
    let (pairing, n) = how?;
    let method = match pairing {
        Pairing::Paired => format!("paired, {n} pairs"),
        Pairing::Unpaired => format!("unpaired, up to {n} runs a side"),
    };
    Some(format!("{} ({method}): {}", row.label, parts.join(", ")))
}

/// Median CPU ns per message as µs, with the spread when there are repeats.
fn ns_per_msg(s: Option<Spread>) -> String {
    match s {
        None => "—".to_string(),
        Some(s) => format!("{:.2} µs{}", s.median / 1000.0, noise(&s)),
    }
}

fn metric_cells(
    d: Option<&MetricDelta>,
    fmt: fn(Option<Spread>) -> String,
) -> (String, String, String) {
    match d {
        None => ("—".into(), "—".into(), "—".into()),
        Some(d) => (
            fmt(Some(d.base)),
            fmt(Some(d.new)),
            format!("{:+.1}% {}", d.delta_pct, d.outcome),
        ),
    }
}

/// A cell's msgs/s, p50, p99, p99.9 and errors, as every table shows them.
pub(crate) fn figures(c: &CellSummary) -> [String; 5] {
    [
        rate(c.msgs_per_sec),
        latency(c.p50_us),
        latency(c.p99_us),
        latency(c.p99_9_us),
        errors(c),
    ]
}

/// A cell's status, with its note when it has one.
pub(crate) fn status(c: &CellSummary) -> String {
    match (&c.status, &c.note) {
        (CellStatus::Ok, _) => "ok".to_string(),
        (s, Some(note)) => format!("{}: {}", s.label(), note.replace('|', "/")),
        (s, None) => s.label().to_string(),
    }
}

/// A cell's errors, with the lost echoes when there were any.
pub(crate) fn errors(c: &CellSummary) -> String {
    match c.status {
        CellStatus::Skipped | CellStatus::Failed => "—".to_string(),
        _ if c.lost > 0 => format!("{} (+{} lost)", c.errors, c.lost),
        _ => c.errors.to_string(),
    }
}

/// `12,345 ±3%` (the spread only when there were repeats).
pub(crate) fn rate(s: Option<Spread>) -> String {
    match s {
        None => "—".to_string(),
        Some(s) => format!("{}{}", format::count(s.median), noise(&s)),
    }
}

/// `210us ±5%`.
pub(crate) fn latency(s: Option<Spread>) -> String {
    match s {
        None => "—".to_string(),
        Some(s) => format!("{}{}", format::duration_us(s.median), noise(&s)),
    }
}

fn noise(s: &Spread) -> String {
    match s.noise_pct() {
        Some(p) if p.is_finite() => format!(" ±{:.0}%", p / 2.0),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        let s = Spread::of(&[90.0, 100.0, 110.0]);
        assert_eq!(rate(s), "100 ±10%");
        assert_eq!(latency(Spread::of(&[1500.0])), "1.5ms");
    }
}
