//! `loadgen`: drives an echo server with thousands of verified clients and reports latency the
//! way it should be reported: HdrHistogram, coordinated omission corrected, full JSON.
//!
//! This crate is the command line ([`cli`]) in front of three others, re-exported here under
//! the module names they always had:
//! - [`results_model`]: the result model ([`RunResult`], [`RunConfig`], [`LatencyHistogram`]);
//! - [`loadgen_engine`]: connect, drive, record, the child server ([`run()`]);
//! - [`loadgen_analysis`]: sweep, report, compare, merge, export (no sockets).

pub mod cli;
pub mod engine_runner;

pub use loadgen_analysis::{capacity, compare, export, merge, report, summary, sweep};
pub use loadgen_engine::target::connect;
pub use loadgen_engine::{run, Progress};
pub use results_model::{config, histogram, result, verdict};
pub use results_model::{
    LatencyHistogram, Percentiles, RunConfig, RunResult, Target, SCHEMA_VERSION,
};
