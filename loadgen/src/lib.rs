//! `loadgen`: drives an echo server with thousands of verified clients and reports latency the
//! way it should be reported: HdrHistogram, coordinated omission corrected, full JSON.
//!
//! One concern per module:
//! - [`config`]: what a run is asked to do ([`RunConfig`]); also the `config` of the JSON.
//! - [`result`]: the result JSON ([`RunResult`]); [`histogram`]: the latency histograms.
//! - [`run()`]: one run end to end; [`driver`]: worker threads multiplexing clients;
//!   [`client`]: one client's state; [`payload`]: verifiable message bytes;
//!   [`schedule`]: open-loop send times; [`stats`]: counters and their sums.
//! - [`connect`]: sockets, fd limit, source addresses; [`spawn`]: the echo-server child;
//!   [`procfs`]: resource use from /proc.
//! - [`progress`], [`summary`], [`export`]: what the user sees; [`merge`]: combining runs.
//! - [`sweep`], [`report`], [`compare`]: grids of runs, their tables and charts, regressions.
//! - [`cli`]: the command line (`main.rs` only calls [`cli::main`]).

pub mod cli;
pub mod client;
pub mod compare;
pub mod config;
pub mod connect;
pub mod driver;
pub mod export;
pub mod histogram;
pub mod merge;
pub mod payload;
pub mod procfs;
pub mod progress;
pub mod report;
pub mod result;
pub mod run;
pub mod schedule;
pub mod spawn;
pub mod stats;
pub mod summary;
pub mod sweep;

pub use config::{RunConfig, Target};
pub use histogram::{LatencyHistogram, Percentiles};
pub use progress::Progress;
pub use result::{RunResult, SCHEMA_VERSION};
pub use run::run;
