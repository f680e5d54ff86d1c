//! `loadgen`: drives an echo server with thousands of verified clients and reports latency the
//! way it should be reported: HdrHistogram, coordinated omission corrected, full JSON.
//!
//! This crate is the command line ([`cli`], with one benchmark run in [`benchmark`] and the
//! load engine as a sweep's runner in [`engine_runner`]) in front of three others:
//! - [`results_model`]: the result model ([`RunResult`], [`RunConfig`], [`LatencyHistogram`]);
//! - [`loadgen_engine`]: connect, drive, record, the child server ([`run()`]);
//! - [`loadgen_analysis`]: sweep, report, compare, merge, export (no sockets).
//!
//! The re-exports below are what the integration tests name.

pub mod benchmark;
pub mod cli;
pub mod engine_runner;

pub use loadgen_analysis::{capacity, export, merge, sweep_dir};
pub use loadgen_engine::target::connect;
pub use loadgen_engine::{run, Progress};
pub use results_model::{open_loop, result, verdict};
pub use results_model::{LatencyHistogram, RunConfig, RunResult, Target, SCHEMA_VERSION};
