//! The format of a sweep directory, which `loadgen sweep` writes and `loadgen report` and
//! `loadgen compare` read: the names of its files ([`names`]), its record `sweep.json`
//! ([`record`]) and the options it was made with ([`plan`]).

pub mod names;
pub mod plan;
pub mod record;

pub use names::{run_file_name, AA_FILE_TAG, INDEX_HTML, SUMMARY_JSON, SUMMARY_MD, SWEEP_FILE};
pub use plan::SweepPlan;
pub use record::{NotRun, SweepRecord};
