//! The load engine of loadgen: drives an echo server with thousands of verified clients and
//! records latency the way it should be recorded (HdrHistogram, coordinated omission corrected).
//!
//! Grouped by stage, one folder each:
//! - [`run`](mod@run): one run end to end ([`run()`]): coordinator, progress, warnings, result.
//! - [`target`]: the server under load: its binaries, its child processes, the sockets to it.
//! - [`driver`]: worker threads multiplexing the clients, each client's state and bytes.
//! - `openloop`: send times, the release timer, and how late loadgen sent.
//! - [`window`]: when the measured window opens (every client connected, or `--start-at`).
//! - `probes`: all /proc reading (resource use, cost, run-queue wait) and the run's metadata.
//!
//! What a run is asked to do and what it produced are data, in [`results_model`].

pub mod driver;
pub(crate) mod openloop;
pub(crate) mod probes;
pub mod run;
pub mod target;
pub mod window;

pub use run::progress::Progress;
pub use run::run;
