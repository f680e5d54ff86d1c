//! The load engine of loadgen: drives an echo server with thousands of verified clients and
//! records latency the way it should be recorded (HdrHistogram, coordinated omission corrected).
//!
//! One concern per module:
//! - [`run()`]: one run end to end; [`coordinator`]: the timeline and /proc samples while it
//!   runs; [`warnings`]: what a reader must know about it; [`driver`]: worker threads multiplexing clients;
//!   [`client`]: one client's state; [`payload`]: verifiable message bytes;
//!   [`schedule`]: open-loop send times; [`stats`]: counters and their sums.
//! - [`connect`]: sockets, fd limit, source addresses; [`spawn`]: the echo-server child;
//!   [`link`]: the echo-proxy child of a delayed link;
//!   [`procfs`]: resource use from /proc; [`task_sampler`], [`cost`]: cost per message;
//!   [`metadata`]: what makes a run reproducible.
//! - [`shard`]: which shard of a split run this process is; [`start_at`]: a window opening at
//!   an agreed wall-clock time, and the wall-clock times of the window's edges.
//! - [`progress`]: the live progress line and the per-second timeline.
//!
//! What a run is asked to do and what it produced are data, in [`echo_results`].

pub mod client;
pub mod connect;
pub mod coordinator;
pub mod cost;
pub mod driver;
pub mod link;
pub mod metadata;
pub mod payload;
pub mod procfs;
pub mod progress;
pub mod run;
pub mod schedule;
pub mod shard;
pub mod spawn;
pub mod start_at;
pub mod stats;
pub mod task_sampler;
pub mod warnings;

pub use progress::Progress;
pub use run::run;
