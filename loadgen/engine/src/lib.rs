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
//! - Open loop: [`arrival`]: uniform or Poisson send times and their self-check;
//!   [`send_lag`]: how late loadgen sent; [`tick`]: the periodic release timer; [`gate`]: the
//!   window opens once the clients are connected; [`schedstat`]: loadgen's own run-queue
//!   wait; [`verdict`]: the open-loop report and the judgement; [`placement`]: default
//!   threads and CPU oversubscription warnings.
//! - [`progress`]: the live progress line and the per-second timeline.
//!
//! What a run is asked to do and what it produced are data, in [`results_model`].

pub mod arrival;
pub mod client;
pub mod connect;
pub mod coordinator;
pub mod cost;
pub mod driver;
pub mod gate;
pub mod link;
pub mod metadata;
pub mod payload;
pub mod placement;
pub mod procfs;
pub mod progress;
pub mod run;
pub mod rx_stamp;
pub mod schedstat;
pub mod schedule;
pub mod send_lag;
pub mod shard;
pub mod spawn;
pub mod start_at;
pub mod stats;
pub mod task_sampler;
pub mod tick;
pub mod verdict;
pub mod warnings;
pub mod window;

pub use progress::Progress;
pub use run::run;
