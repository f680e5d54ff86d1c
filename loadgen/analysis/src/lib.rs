//! The analysis of loadgen results: it reads and writes result JSON through [`results_model`]
//! and never opens a socket.
//!
//! - [`sweep`]: a grid of runs, each made by a [`runner::CellRunner`] the caller supplies.
//! - [`report`]: the tables and charts of a directory of runs; [`compare`]: regressions
//!   between two of them; [`merge`]: runs made side by side, combined into one.
//! - [`capacity`]: the highest open-loop rate a model holds under a latency SLO.
//! - [`explain`]: where each side's CPU went per message, from one result.
//! - [`summary`]: one run, as text ([`verdict_text`]: its open-loop and verdict lines);
//!   [`export`]: JSON, Markdown, SVG and HTML writers.
//! - [`options`]: the command-line options of run, sweep and capacity, one group per concept;
//!   [`sweep_dir`]: the files of a sweep directory and what they hold.
//! - [`gate`]: the paired same-job CI gate's verdict.

pub mod capacity;
pub mod compare;
pub mod explain;
pub mod export;
pub mod gate;
pub mod merge;
pub mod options;
pub mod report;
pub mod runner;
pub mod summary;
pub mod sweep;
pub mod sweep_dir;
pub mod verdict_text;

/// Exit code when a run failed (errors, lost echoes) or a cell did not run.
pub const EXIT_RUN_FAILED: u8 = 1;
/// Exit code when SIGINT/SIGTERM cut the work short.
pub const EXIT_INTERRUPTED: u8 = 130;
