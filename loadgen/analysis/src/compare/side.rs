//! One side of a comparison: a sweep directory, or a single result file as one cell.

use std::path::Path;

use results_model::result::RunResult;

use crate::report::samples::{RunSample, Samples};
use crate::report::{collect, collect_runs, CellSummary};

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

/// Reads one side: a sweep directory's cells, or a single result file as one cell.
pub fn read_side(path: &Path) -> anyhow::Result<Side> {
    let name = path.display().to_string();
    if path.is_dir() {
        let collected = collect(path)?;
        return Ok(Side {
            name,
            cells: collected.cells.into_iter().map(|c| c.summary).collect(),
            single: false,
            samples: collected.samples,
        });
    }
    let run = RunResult::load(path)?;
    let file_name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let sample = RunSample::of(&name, &run);
    let collected = collect_runs(vec![(file_name, run)], None)?;
    let cells: Vec<CellSummary> = collected.cells.into_iter().map(|c| c.summary).collect();
    let samples = cells
        .iter()
        .map(|c| (c.key.clone(), vec![sample]))
        .collect();
    Ok(Side {
        name,
        cells,
        single: true,
        samples,
    })
}
