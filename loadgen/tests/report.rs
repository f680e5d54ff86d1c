//! `loadgen report DIR` on a crafted sweep: the same JSON always gives the same bytes, cells
//! that did not run are shown, and every chart is valid SVG with every model's series.

mod common;
mod crafted;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::{loadgen_bin, run_bounded};
use loadgen::sweep_dir::{NotRun, SweepRecord, SWEEP_FILE};

const MODELS: [&str; 3] = ["threads", "select", "mio"];
const CHARTS: [&str; 5] = [
    "throughput.svg",
    "p99.svg",
    "spectrum.svg",
    "rss.svg",
    "server-cpu-per-msg.svg",
];

/// A sweep of MODELS × {1, 100} plus `select × 2000`, skipped as a sweep would record it.
fn crafted_sweep() -> std::path::PathBuf {
    let dir = crafted::sweep_dir("report", &MODELS, &[1, 100], |m, c| {
        (c as f64 + 1.0) * 1000.0 + m.len() as f64
    });
    let record = SweepRecord {
        models: MODELS.iter().map(|m| m.to_string()).collect(),
        clients: vec![1, 100, 2000],
        size: 64,
        protocol: "raw".into(),
        runs: 1,
        duration_s: 2.0,
        warmup_s: 1.0,
        not_run: vec![NotRun {
            model: "select".into(),
            clients: 2000,
            skipped: true,
            reason: "select(2) watches only fds below FD_SETSIZE (1024)".into(),
        }],
        ..SweepRecord::default()
    };
    std::fs::write(
        dir.join(SWEEP_FILE),
        serde_json::to_string(&record).unwrap(),
    )
    .unwrap();
    dir
}

fn report(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut cmd = Command::new(loadgen_bin());
    cmd.arg("report").arg(dir);
    let out = run_bounded(cmd);
    out.assert_code(0);
    let mut files = BTreeMap::new();
    for name in ["summary.json", "summary.md", "index.html"]
        .iter()
        .chain(&CHARTS)
    {
        let bytes = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        files.insert(name.to_string(), bytes);
    }
    files
}

#[test]
fn report_regenerates_identical_files() {
    let dir = crafted_sweep();
    let first = report(&dir);
    for name in first.keys() {
        std::fs::remove_file(dir.join(name)).unwrap();
    }
    let second = report(&dir);
    assert_eq!(first.len(), second.len());
    for (name, bytes) in &first {
        assert!(
            bytes == &second[name],
            "{name} differs between two reports of the same JSON"
        );
    }
    // Once more over its own output: the generated files are not mistaken for runs.
    assert_eq!(report(&dir), first);
}

#[test]
fn table_shows_every_cell_including_the_skipped_one() {
    let dir = crafted_sweep();
    let files = report(&dir);
    let md = String::from_utf8(files["summary.md"].clone()).unwrap();
    for m in MODELS {
        assert!(md.contains(&format!("| {m} | 1 |")), "{md}");
        assert!(md.contains(&format!("| {m} | 100 |")), "{md}");
    }
    assert!(md.contains("| select | 2,000 |"), "{md}");
    assert!(md.contains("skipped: select(2) watches only fds"), "{md}");
    let summary: serde_json::Value = serde_json::from_slice(&files["summary.json"]).unwrap();
    let cells = summary["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 7);
    assert_eq!(cells[0]["model"], "threads", "models in Model::ALL order");
    let html = String::from_utf8(files["index.html"].clone()).unwrap();
    for chart in CHARTS {
        assert!(html.contains(&format!("src=\"{chart}\"")), "{html}");
    }
    assert!(html.contains("FD_SETSIZE"), "{html}");
}

#[test]
fn charts_are_valid_svg_with_every_models_series() {
    let dir = crafted_sweep();
    let files = report(&dir);
    for chart in CHARTS {
        let text = String::from_utf8(files[chart].clone()).unwrap();
        let doc = roxmltree::Document::parse(&text)
            .unwrap_or_else(|e| panic!("{chart} is not well-formed XML: {e}"));
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg", "{chart}");
        let texts: Vec<&str> = doc
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text())
            .map(str::trim)
            .collect();
        for m in MODELS {
            assert!(
                texts.contains(&m),
                "{chart}: no legend entry for {m}; texts: {texts:?}"
            );
        }
        let lines = doc
            .descendants()
            .filter(|n| n.has_tag_name("polyline"))
            .count();
        assert!(
            lines >= MODELS.len(),
            "{chart}: {lines} polylines for {} models",
            MODELS.len()
        );
    }
}

#[test]
fn a_directory_without_results_is_an_error() {
    let dir = crafted::scratch_dir("empty");
    let mut cmd = Command::new(loadgen_bin());
    cmd.arg("report").arg(&dir);
    let out = run_bounded(cmd);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("no loadgen result files"),
        "{}",
        out.stderr
    );
}
