//! The analysis of loadgen results: it reads and writes result JSON through [`echo_results`]
//! and never opens a socket.
//!
//! - [`sweep`]: a grid of runs, each made by a [`sweep::CellRunner`] the caller supplies.
//! - [`report`]: the tables and charts of a directory of runs; [`compare`]: regressions
//!   between two of them; [`merge`]: runs made side by side, combined into one.
//! - [`gate`]: the paired same-job CI gate's verdict.
//! - [`summary`]: one run, as text; [`export`]: JSON, Markdown, SVG and HTML writers.

pub mod compare;
pub mod export;
pub mod gate;
pub mod merge;
pub mod report;
pub mod summary;
pub mod sweep;

/// Exit code when a run failed (errors, lost echoes) or a cell did not run.
pub const EXIT_RUN_FAILED: u8 = 1;
/// Exit code when SIGINT/SIGTERM cut the work short.
pub const EXIT_INTERRUPTED: u8 = 130;
