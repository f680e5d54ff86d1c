//! `loadgen report DIR`: the summary, table, charts and index of a directory of runs, written
//! beside them.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::collect::{collect, spectrum_clients};
use crate::sweep_dir::names::{INDEX_HTML, SUMMARY_JSON, SUMMARY_MD};

/// Options of `loadgen report`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// A sweep directory (run JSON files, optionally sweep.json).
    pub dir: PathBuf,
    /// Client count of the latency-spectrum chart (default: the one most models completed).
    #[arg(long)]
    pub spectrum_clients: Option<usize>,
}

/// Writes summary.json, summary.md, the SVG charts and index.html into `dir` from the JSON in
/// it, and returns the paths written.
pub fn write_report(dir: &Path, spectrum: Option<usize>) -> anyhow::Result<Vec<PathBuf>> {
    let collected = collect(dir)?;
    let summary = collected.summary();
    let mut files: Vec<(String, String)> = Vec::new();
    let mut json = serde_json::to_string_pretty(&summary).expect("a summary serializes");
    json.push('\n');
    files.push((SUMMARY_JSON.to_string(), json));
    let md = crate::export::markdown::summary(&summary);
    files.push((SUMMARY_MD.to_string(), md));
    let spectrum = spectrum_clients(&collected.cells, spectrum);
    let charts = crate::export::svg::charts(&collected.cells, spectrum)?;
    let html = crate::export::html::index(&summary, &charts);
    for chart in charts {
        files.push((chart.file.to_string(), chart.svg));
    }
    files.push((INDEX_HTML.to_string(), html));
    let mut written = Vec::with_capacity(files.len());
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// `loadgen report DIR`.
pub fn report_command(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let written = write_report(&args.dir, args.spectrum_clients)?;
    for path in written {
        println!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
