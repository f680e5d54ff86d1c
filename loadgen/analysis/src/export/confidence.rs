//! The sweep's statistics views: each cell's medians with 95% bootstrap intervals, and the
//! ranking per client count, as markdown (for `summary.md`) and as HTML (for `index.html`).

use std::fmt::Write;

use results_model::format;

use crate::report::ranking::{MetricRanking, ALPHA, LOADGEN_WAIT_RATIO};
use crate::report::{Interval, SweepSummary};

/// `102k [92k, 140k]`, or `—` without an interval.
fn interval(i: Option<Interval>, fmt: fn(f64) -> String) -> String {
    i.map_or("—".to_string(), |i| {
        format!("{} [{}, {}]", fmt(i.median), fmt(i.low), fmt(i.high))
    })
}

fn count(v: f64) -> String {
    format::count(v)
}

fn micros(v: f64) -> String {
    format::duration_us(v)
}

fn ns_as_us(v: f64) -> String {
    format!("{:.2} µs", v / 1000.0)
}

/// A ranked metric's median in its unit.
fn median(metric: &str, v: f64) -> String {
    match metric {
        "msgs/s" => count(v),
        "p99" => micros(v),
        _ => ns_as_us(v),
    }
}

/// The intervals table and the ranking, as markdown sections.
pub fn markdown(s: &SweepSummary) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\n## Medians with 95% intervals\n");
    if s.cells.iter().all(|c| c.msgs_per_sec_ci.is_none()) {
        let _ = writeln!(
            out,
            "One run per cell: no interval and no ranking (sweep with `--runs N`, N ≥ 2)."
        );
        return out;
    }
    let _ = writeln!(
        out,
        "| model | clients | runs | msgs/s | p99 | server CPU/msg | loadgen-bound |"
    );
    let _ = writeln!(out, "|---|--:|--:|--:|--:|--:|---|");
    for c in s.cells.iter().filter(|c| !c.runs.is_empty()) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            c.key.model,
            count(c.key.clients as f64),
            c.runs.len(),
            interval(c.msgs_per_sec_ci, count),
            interval(c.p99_us_ci, micros),
            interval(c.server_cpu_ns_per_msg_ci, ns_as_us),
            c.loadgen_bound.as_deref().unwrap_or("").replace('|', "/"),
        );
    }
    let _ = writeln!(
        out,
        "\nMedian [95% percentile-bootstrap interval of the median] over the cell's repeats."
    );
    let _ = writeln!(out, "\n## Ranking\n");
    let _ = writeln!(
        out,
        "Per client count and metric, best first. Every pair is tested (bootstrap interval of \
         Δ; p the larger of the bootstrap's and a t-test's on the log scale; Holm-corrected over \
         all pairs, α = {ALPHA}); a tier starts at the first model that differs significantly \
         from the current tier's leader. \
         Loadgen-bound (saturated in a run, or its median run-queue wait per message above \
         {LOADGEN_WAIT_RATIO}× its CPU per message) cells are left out of the msgs/s and p99 \
         rankings; server CPU/msg ranks every cell."
    );
    for r in &s.ranking {
        ranking_md(&mut out, r);
    }
    out
}

/// One metric's ranking as markdown.
fn ranking_md(out: &mut String, r: &MetricRanking) {
    let _ = writeln!(
        out,
        "\n**{} at {} clients** ({}):\n",
        r.metric,
        count(r.clients as f64),
        r.pairing
    );
    let order: Vec<String> = r
        .order
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let m = median(&r.metric, g.median);
            format!("{}. {} {m} (tier {})", i + 1, g.model, g.tier)
        })
        .collect();
    if !order.is_empty() {
        let _ = writeln!(out, "{}\n", order.join(" · "));
    }
    for st in &r.statements {
        let _ = writeln!(out, "- {st}");
    }
    if !r.left_out.is_empty() {
        let _ = writeln!(out, "- left out, loadgen-bound: {}", r.left_out.join("; "));
    }
}

/// The ranking as HTML: one list per metric and client count.
pub fn html(s: &SweepSummary, escape: fn(&str) -> String) -> String {
    let mut out = String::new();
    if s.cells.iter().any(|c| c.msgs_per_sec_ci.is_some()) {
        let _ = writeln!(
            out,
            "<h2>Medians with 95% intervals</h2>\n<table>\n<tr><th>model</th><th>clients</th>\
             <th>runs</th><th>msgs/s</th><th>p99</th><th>server CPU/msg</th><th>loadgen-bound</th></tr>"
        );
        for c in s.cells.iter().filter(|c| !c.runs.is_empty()) {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&c.key.model),
                c.key.clients,
                c.runs.len(),
                interval(c.msgs_per_sec_ci, count),
                interval(c.p99_us_ci, micros),
                interval(c.server_cpu_ns_per_msg_ci, ns_as_us),
                escape(c.loadgen_bound.as_deref().unwrap_or("")),
            );
        }
        let _ = writeln!(out, "</table>");
    }
    if s.ranking.is_empty() {
        return out;
    }
    let _ = writeln!(out, "<h2>Ranking</h2>");
    for r in &s.ranking {
        let order: Vec<String> = r
            .order
            .iter()
            .map(|g| format!("{} (tier {})", g.model, g.tier))
            .collect();
        let _ = writeln!(
            out,
            "<h3>{} at {} clients ({})</h3>\n<p>{}</p>\n<ul>",
            escape(&r.metric),
            r.clients,
            r.pairing,
            escape(&order.join(" > "))
        );
        for st in &r.statements {
            let _ = writeln!(out, "<li>{}</li>", escape(st));
        }
        if !r.left_out.is_empty() {
            let _ = writeln!(
                out,
                "<li>left out, loadgen-bound: {}</li>",
                escape(&r.left_out.join("; "))
            );
        }
        let _ = writeln!(out, "</ul>");
    }
    out
}
