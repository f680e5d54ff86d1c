//! What every worker of a run shares, and what each one is given.

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use results_model::open_loop::Pacing;

use crate::openloop::arrival::Arrival;
use crate::target::connect::SourceAddrs;
use crate::window::start_line::StartLine;
use crate::window::Window;

use super::payload::Payload;

/// What every worker shares.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Where to connect.
    pub target: SocketAddr,
    /// Message generator.
    pub payload: Payload,
    /// Most messages in flight per client.
    pub pipeline: usize,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Reply timeout.
    pub reply_timeout: Duration,
    /// The run started here; timeline intervals are offsets from it.
    pub t0: Instant,
    /// The measured window at its latest (the start line may open it earlier).
    pub window: Window,
    /// Hard end: window end + drain (at the latest; see `window`).
    pub deadline: Instant,
    /// Open loop: messages that fell due in the window may still be started until here
    /// (the middle of the drain; at the latest, see `window`).
    pub backlog_cutoff: Instant,
    /// Opens the measured window once every client is connected.
    pub start_line: StartLine,
    /// How open-loop send times are spaced.
    pub arrival: Arrival,
    /// Open loop, uniform: the shortest time between two release ticks.
    pub min_tick: Duration,
    /// Open loop: how the workers keep time (`None` in closed loop).
    pub pacing: Option<Pacing>,
    /// Seed of the arrival process (each worker derives its own).
    pub seed: u64,
    /// Ends of the timeline intervals (offsets from `t0`).
    pub interval_ends: Vec<Duration>,
    /// Source address plan.
    pub sources: SourceAddrs,
    /// Set on SIGINT/SIGTERM: end the window now and finish quickly.
    pub interrupted: Arc<AtomicBool>,
    /// Set once the coordinator has read both sides' counters at the window's end. Workers
    /// keep their sockets open until then: a server with a thread per connection would
    /// otherwise lose threads (and their context switches) before they are read.
    pub end_read: AtomicBool,
}

/// One worker's part of the run.
#[derive(Clone, Debug)]
pub(crate) struct WorkerPlan {
    /// Worker number.
    pub index: usize,
    /// Global number of its first client.
    pub first_client: u64,
    /// How many clients it drives.
    pub clients: usize,
    /// Its share of the open-loop rate (messages/s), `None` in closed loop.
    pub rate: Option<f64>,
    /// Its share of the connect rate (connections/s), `None` = unpaced.
    pub connect_rate: Option<f64>,
    /// CPU to pin the thread to.
    pub cpu: Option<usize>,
    /// Open loop: this worker's schedule starts this long after the run, so the workers'
    /// sends interleave instead of going out in bursts of one per worker.
    pub phase: Duration,
}
