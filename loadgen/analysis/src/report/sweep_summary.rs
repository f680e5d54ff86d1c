//! `summary.json`: a sweep's table with where its figures came from ([`SweepSummary`]), and the
//! sweep directory read back that it is made from ([`Collected`]).

use results_model::result::MachineInfo;
use serde::{Deserialize, Serialize};

use super::cell::{Cell, CellSummary};
use super::noise::AaNoise;
use super::ranking;
use super::samples::Samples;

/// Bumped when a field of [`SweepSummary`] changes meaning.
pub const SUMMARY_VERSION: u32 = 1;

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

/// `summary.json`: a sweep's whole table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepSummary {
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
    pub samples: Samples,
}

impl Collected {
    /// The table.
    pub fn summary(&self) -> SweepSummary {
        let cells: Vec<CellSummary> = self.cells.iter().map(|c| c.summary.clone()).collect();
        SweepSummary {
            summary_version: SUMMARY_VERSION,
            source: self.source.clone(),
            ranking: ranking::rankings(&cells, &self.samples),
            cells,
            noise_floor: self.noise_floor.clone(),
        }
    }
}
