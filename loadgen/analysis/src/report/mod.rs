//! `loadgen report DIR`: everything a sweep shows, rebuilt from its JSON alone.
//!
//! The run files are grouped into cells (model × clients × size × protocol × pipeline); each
//! cell's repeats become a median and a spread ([`Spread`]); their histograms are added exactly
//! for the latency spectrum. Output is a pure function of the input files: no clock, stable
//! ordering (models in [`results_model::Model::ALL`] order, then clients ascending), so running `report` twice
//! writes identical bytes.

pub mod cell;
pub mod collect;
pub mod noise;
pub mod ranking;
pub mod samples;
mod spread;
pub mod sweep_summary;
pub mod write;

pub use cell::{Cell, CellKey, CellStatus, CellSummary};
pub use collect::{collect, collect_runs, spectrum_clients};
pub use noise::AaNoise;
pub use spread::{Interval, Spread};
pub use sweep_summary::{Collected, SourceInfo, SweepSummary, SUMMARY_VERSION};

#[cfg(test)]
mod tests;
