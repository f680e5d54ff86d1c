//! `index.html`: the sweep table and its charts on one page that opens from disk (no server,
//! no script, no network): the charts are the SVG files beside it, referenced by relative path.

use std::fmt::Write;

use results_model::format;

use crate::export::markdown::{figures, status};
use crate::export::svg::Chart;
use crate::report::{CellStatus, CellSummary, SourceInfo, SweepSummary};

const STYLE: &str = "body{font-family:sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;font-size:14px}\
th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}\
th:first-child,td:first-child,td:last-child{text-align:left}\
tr.bad td{background:#fdd}tr.na td{color:#888}\
figure{display:inline-block;margin:1em 1em 0 0}img{max-width:100%;border:1px solid #eee}";

/// The page for `summary` with `charts` (written beside it under their file names).
pub fn index(summary: &SweepSummary, charts: &[Chart]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>echobench sweep</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>echobench sweep</h1>"
    );
    source(&mut out, &summary.source);
    table(&mut out, &summary.cells);
    out.push_str(&super::confidence::html(summary, escape));
    if !summary.noise_floor.is_empty() {
        let _ = writeln!(out, "<h2>Noise floor (A/A pair)</h2>\n<ul>");
        for aa in &summary.noise_floor {
            let _ = writeln!(out, "<li>{}</li>", escape(&aa.describe()));
        }
        let _ = writeln!(out, "</ul>");
    }
    for chart in charts {
        let _ = writeln!(
            out,
            "<figure><img src=\"{0}\" alt=\"{1}\"><figcaption>{1} (<a href=\"{0}\">{0}</a>)\
             </figcaption></figure>",
            chart.file,
            escape(&chart.title)
        );
    }
    let _ = writeln!(
        out,
        "<p>Raw data: every run's JSON in this directory; <code>summary.json</code>; \
         regenerate with <code>loadgen report DIR</code>.</p>\n</body>\n</html>"
    );
    out
}

/// The paragraph that says how the figures were measured, and where.
fn source(out: &mut String, src: &SourceInfo) {
    let _ = write!(
        out,
        "<p>{} s measured after {} s warm-up, median of {} run(s) per cell",
        src.duration_s, src.warmup_s, src.runs
    );
    if let Some(link) = &src.link {
        let _ = write!(out, "; link: {}", escape(&link.describe()));
    }
    if let Some(m) = &src.machine {
        let _ = write!(
            out,
            "; {} CPUs, {}, host <code>{}</code>; loadgen {}",
            m.cpus,
            escape(&m.kernel),
            escape(&m.hostname),
            escape(&src.loadgen)
        );
    }
}

/// The table: a row per cell, failed ones marked, skipped ones greyed.
fn table(out: &mut String, cells: &[CellSummary]) {
    let _ = writeln!(
        out,
        ".</p>\n<table>\n<tr><th>model</th><th>clients</th><th>size</th>\
        <th>msgs/s</th><th>p50</th><th>p99</th><th>p99.9</th><th>errors</th>\
        <th>server CPU</th><th>server RSS/conn</th><th>status</th></tr>"
    );
    for c in cells {
        let class = match c.status {
            CellStatus::Ok => "",
            CellStatus::Errors | CellStatus::Failed => " class=\"bad\"",
            CellStatus::Skipped => " class=\"na\"",
        };
        let [msgs, p50, p99, p99_9, errors] = figures(c);
        let _ = writeln!(
            out,
            "<tr{class}><td>{}</td><td>{}</td><td>{} B</td><td>{msgs}</td><td>{p50}</td>\
             <td>{p99}</td><td>{p99_9}</td><td>{errors}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&c.key.model),
            format::count(c.key.clients as f64),
            c.key.size,
            c.server_cpu_cores
                .map_or("—".to_string(), |v| format!("{v:.2}")),
            c.server_rss_per_conn_bytes
                .map_or("—".to_string(), format::bytes),
            escape(&status(c)),
        );
    }
    let _ = writeln!(out, "</table>");
}

/// Text safe inside HTML elements and attribute values.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup() {
        assert_eq!(
            super::escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
