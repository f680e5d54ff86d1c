//! Worker threads: each multiplexes its share of the clients on one mio (epoll) instance.
//!
//! **How it works.** A worker owns a slice of clients, each a socket plus a [`client::Client`]
//! state. Sockets are registered once for read and write, edge-triggered; on each event the
//! client is pumped (`pump.rs`): write what it may send, read and verify what came back, and
//! write again if echoes completed. Connects are non-blocking and paced (`--connect-rate`, and
//! a bounded number in progress, so a burst never overflows the server's SYN backlog: see
//! `connections.rs`). In open loop a timerfd wakes the worker at the next intended send time
//! with sub-millisecond precision (epoll's own timeout is in milliseconds; see
//! `event_loop.rs`). Once every client is connected, a worker with a uniform schedule stops
//! waking for echoes and reads them on its ticks (see `harvest.rs`); open-loop echoes are timed
//! by the kernel's receive stamps (`rx_stamp.rs`).
//!
//! **What it costs.** Per client: a socket, a [`client::Client`] (~100 bytes plus one
//! timestamp per pipelined message). Per worker: one 64 KiB scratch buffer shared by every
//! client (payloads are regenerated, never stored), and a few histograms. No allocation per
//! message, no thread per client, no lock on the hot path: timeline figures go to the
//! coordinator once a second.
//!
//! **When it ends.** At warm-up + duration + drain: at the end of the window no new message
//! is started, outstanding echoes get until the drain deadline, and whatever is still
//! unanswered then is counted as lost (`finish.rs`). A worker that was off the CPU across the
//! deadline first reads what arrived meanwhile (and allows a short grace): its own stall is no
//! lost echo.
//!
//! The worker's state is in `worker.rs`; the files beside it each add one duty of it.

use std::io;
use std::sync::mpsc::Sender;
use std::sync::Arc;

pub mod client;
mod connections;
mod event_loop;
mod finish;
mod pacer;
pub mod payload;
mod pump;
mod release;
pub(crate) mod rx_stamp;
mod shared;
pub mod stats;
mod worker;

pub(crate) use shared::{Shared, WorkerPlan};

/// Runs one worker to the end and returns its figures.
pub(crate) fn run_worker(
    shared: Arc<Shared>,
    plan: WorkerPlan,
    ticks: Sender<stats::Tick>,
) -> io::Result<stats::WorkerStats> {
    worker::prepare_thread(&plan);
    let mut worker = worker::Worker::new(&shared, &plan, ticks)?;
    worker.event_loop()?;
    worker.finish();
    Ok(worker.into_stats())
}
