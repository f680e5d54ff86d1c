//! Server-wide counters, shared by every connection, printed as one JSON line on shutdown.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

use proto::{Conn, ProtocolError};
pub use results_model::server_stats::{ClosedBy, ProtocolErrors, Refused, StatsSnapshot};

/// Why a connection ended. Each reason has its own counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The peer closed its side and every echo was written.
    Eof,
    /// The peer broke the protocol (oversized frame, over-long line).
    Protocol(ProtocolError),
    /// The peer reset the connection (ECONNRESET, EPIPE).
    Reset,
    /// Any other I/O error on the connection.
    IoError,
    /// No traffic for longer than `--idle-timeout`.
    IdleTimeout,
    /// The server is shutting down.
    Shutdown,
    /// The event loop serving the connection failed and stopped (see `fatal_error`).
    LoopFailed,
}

impl CloseReason {
    /// Classifies an I/O error from a connected socket.
    pub fn from_io(err: &std::io::Error) -> Self {
        use std::io::ErrorKind::*;
        match err.kind() {
            ConnectionReset | BrokenPipe | ConnectionAborted => CloseReason::Reset,
            _ => CloseReason::IoError,
        }
    }
}

/// Why a connection was turned away right after `accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefuseReason {
    /// More than `--max-conns` connections would be open.
    MaxConns,
    /// The fd does not fit in `select(2)`'s `FD_SETSIZE`.
    FdSetSize,
    /// A thread for the connection could not be spawned.
    SpawnFailed,
    /// The connection could not be registered with the event loop.
    RegisterFailed,
}

/// Counters shared by every thread of a server. All updates are relaxed: they are totals, read
/// once at the end.
#[derive(Debug, Default)]
pub struct Stats {
    accepted: AtomicU64,
    active: AtomicU64,
    peak_active: AtomicU64,
    closed: AtomicU64,
    refused_max_conns: AtomicU64,
    refused_fd_setsize: AtomicU64,
    refused_spawn_failed: AtomicU64,
    refused_register_failed: AtomicU64,
    accept_errors: AtomicU64,
    accept_backoffs: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    messages: AtomicU64,
    frame_too_large: AtomicU64,
    line_too_long: AtomicU64,
    truncated_at_eof: AtomicU64,
    closed_eof: AtomicU64,
    resets: AtomicU64,
    io_errors: AtomicU64,
    idle_timeouts: AtomicU64,
    closed_at_shutdown: AtomicU64,
    closed_loop_failed: AtomicU64,
    extra_work_messages: AtomicU64,
    per_worker_accepted: Vec<AtomicU64>,
    fatal_error: Mutex<Option<String>>,
}

impl Stats {
    /// Counters for a server with `workers` accepting threads (per-worker accept counts).
    pub fn new(workers: usize) -> Self {
        Stats {
            per_worker_accepted: (0..workers).map(|_| AtomicU64::new(0)).collect(),
            ..Stats::default()
        }
    }

    /// Counts an accepted connection and decides whether it may stay under `max_conns`.
    /// Returns false (and counts the refusal) when the limit is reached; the caller closes it.
    pub fn admit(&self, max_conns: Option<usize>) -> bool {
        self.accepted.fetch_add(1, Relaxed);
        let now = self.active.fetch_add(1, Relaxed) + 1;
        if max_conns.is_some_and(|max| now > max as u64) {
            self.active.fetch_sub(1, Relaxed);
            self.refused_max_conns.fetch_add(1, Relaxed);
            return false;
        }
        self.peak_active.fetch_max(now, Relaxed);
        true
    }

    /// Counts a connection that was admitted but then turned away (the caller closes it).
    pub fn refuse(&self, reason: RefuseReason) {
        self.active.fetch_sub(1, Relaxed);
        let counter = match reason {
            RefuseReason::MaxConns => &self.refused_max_conns,
            RefuseReason::FdSetSize => &self.refused_fd_setsize,
            RefuseReason::SpawnFailed => &self.refused_spawn_failed,
            RefuseReason::RegisterFailed => &self.refused_register_failed,
        };
        counter.fetch_add(1, Relaxed);
    }

    /// Counts an accept on worker `worker` (for models with several accepting threads).
    pub fn worker_accepted(&self, worker: usize) {
        if let Some(c) = self.per_worker_accepted.get(worker) {
            c.fetch_add(1, Relaxed);
        }
    }

    /// Counts a failed `accept` (EMFILE and friends); `backoff` when the loop paused for it.
    pub fn accept_error(&self, backoff: bool) {
        self.accept_errors.fetch_add(1, Relaxed);
        if backoff {
            self.accept_backoffs.fetch_add(1, Relaxed);
        }
    }

    /// Folds a finished connection's totals into the server's and counts why it ended.
    pub fn closed(&self, conn: &Conn, reason: CloseReason) {
        let c = conn.counters();
        self.active.fetch_sub(1, Relaxed);
        self.closed.fetch_add(1, Relaxed);
        self.bytes_in.fetch_add(c.bytes_in, Relaxed);
        self.bytes_out.fetch_add(c.bytes_out, Relaxed);
        self.messages.fetch_add(c.messages, Relaxed);
        self.truncated_at_eof.fetch_add(c.truncated_at_eof, Relaxed);
        let counter = match reason {
            CloseReason::Eof => &self.closed_eof,
            CloseReason::Protocol(ProtocolError::FrameTooLarge { .. }) => &self.frame_too_large,
            CloseReason::Protocol(ProtocolError::LineTooLong { .. }) => &self.line_too_long,
            CloseReason::Reset => &self.resets,
            CloseReason::IoError => &self.io_errors,
            CloseReason::IdleTimeout => &self.idle_timeouts,
            CloseReason::Shutdown => &self.closed_at_shutdown,
            CloseReason::LoopFailed => &self.closed_loop_failed,
        };
        counter.fetch_add(1, Relaxed);
    }

    /// Counts `n` messages charged with `--extra-work`.
    pub fn extra_work(&self, n: u64) {
        self.extra_work_messages.fetch_add(n, Relaxed);
    }

    /// Records an error that stopped an event loop. The first one is kept.
    pub fn fatal(&self, error: &anyhow::Error) {
        let mut slot = self.fatal_error.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some(format!("{error:#}"));
        }
    }

    /// Connections open right now.
    pub fn active(&self) -> u64 {
        self.active.load(Relaxed)
    }

    /// A consistent-enough copy of every counter, for printing.
    pub fn snapshot(&self, model: &str) -> StatsSnapshot {
        let l = |a: &AtomicU64| a.load(Relaxed);
        StatsSnapshot {
            model: model.to_string(),
            accepted: l(&self.accepted),
            active: l(&self.active),
            peak_active: l(&self.peak_active),
            closed: l(&self.closed),
            refused: Refused {
                max_conns: l(&self.refused_max_conns),
                fd_setsize: l(&self.refused_fd_setsize),
                spawn_failed: l(&self.refused_spawn_failed),
                register_failed: l(&self.refused_register_failed),
            },
            accept_errors: l(&self.accept_errors),
            accept_backoffs: l(&self.accept_backoffs),
            bytes_in: l(&self.bytes_in),
            bytes_out: l(&self.bytes_out),
            messages: l(&self.messages),
            protocol_errors: ProtocolErrors {
                frame_too_large: l(&self.frame_too_large),
                line_too_long: l(&self.line_too_long),
            },
            truncated_at_eof_bytes: l(&self.truncated_at_eof),
            closed_by: ClosedBy {
                eof: l(&self.closed_eof),
                reset: l(&self.resets),
                io_error: l(&self.io_errors),
                idle_timeout: l(&self.idle_timeouts),
                shutdown: l(&self.closed_at_shutdown),
                loop_failed: l(&self.closed_loop_failed),
            },
            per_worker_accepted: self.per_worker_accepted.iter().map(l).collect(),
            extra_work_messages: l(&self.extra_work_messages),
            fatal_error: self
                .fatal_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }
}
