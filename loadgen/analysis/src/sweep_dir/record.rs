//! The record of a sweep (`sweep.json`): the grid asked for, and every cell that produced no
//! result file, with why.

use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::names::SWEEP_FILE;
use super::plan::SweepPlan;

/// What a sweep was asked to do, and every cell that produced no result file, with why.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SweepRecord {
    /// Models in the order tables show them.
    pub models: Vec<String>,
    /// Client counts, ascending.
    pub clients: Vec<usize>,
    /// Payload bytes per message.
    pub size: usize,
    /// Wire protocol name.
    pub protocol: String,
    /// Repeats per cell.
    pub runs: usize,
    /// Measured seconds per run.
    pub duration_s: f64,
    /// Warm-up seconds per run.
    pub warmup_s: f64,
    /// Cells without a result file.
    pub not_run: Vec<NotRun>,
    /// The options the sweep ran with, for `--resume`.
    #[serde(default)]
    pub plan: Option<SweepPlan>,
    /// True when SIGINT/SIGTERM cut the sweep short (`--resume` finishes it).
    #[serde(default)]
    pub interrupted: bool,
}

/// A cell that produced no result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NotRun {
    /// Model name.
    pub model: String,
    /// Client count.
    pub clients: usize,
    /// True when known not to work before trying (a documented limit); false when it failed.
    pub skipped: bool,
    /// Why, in one line.
    pub reason: String,
}

impl SweepRecord {
    /// Reads `dir/sweep.json` if it exists.
    pub fn load(dir: &Path) -> anyhow::Result<Option<SweepRecord>> {
        let path = dir.join(SWEEP_FILE);
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let record = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a loadgen sweep record", path.display()))?;
        Ok(Some(record))
    }

    /// Writes `dir/sweep.json`, atomically.
    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        let path = dir.join(SWEEP_FILE);
        let mut json = serde_json::to_string_pretty(self).expect("a sweep record serializes");
        json.push('\n');
        // Write then rename: an interrupted sweep must never leave half a plan behind.
        let tmp = dir.join(format!("{SWEEP_FILE}.tmp"));
        std::fs::write(&tmp, json).with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))
    }
}
