//! The load engine of loadgen: drives an echo server with thousands of verified clients and
//! records latency the way it should be recorded (HdrHistogram, coordinated omission corrected).
//!
//! Grouped by stage, each group a folder:
//! - [`run`](mod@run): one run end to end ([`run()`]), its coordinator, progress, warnings and result.
//! - [`target`]: the server under load: finding and starting echo-server (and echo-proxy for
//!   a delayed link), and the sockets, fd limit and source addresses that reach it.
//! - [`driver`]: worker threads multiplexing the clients, each client's state and bytes.
//! - `openloop`: send times, the release timer, and how late loadgen sent.
//! - [`window`]: when the measured window opens (every client connected, or `--start-at`).
//! - `probes`: what loadgen reads from /proc (resource use, cost per message, run-queue
//!   wait) and what makes a run reproducible.
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
