//! Proxy-wide counters, printed as one JSON line on shutdown.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use serde::Serialize;

/// How a proxied connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseKind {
    /// Both directions reached end of stream and every byte was written.
    Clean,
    /// One side reset the connection (or the upstream could not be reached).
    Reset,
    /// A read or write failed some other way.
    IoError,
}

impl CloseKind {
    /// Classifies the error that ended a connection.
    pub fn from_io(err: &std::io::Error) -> Self {
        use std::io::ErrorKind::*;
        match err.kind() {
            ConnectionReset | BrokenPipe | ConnectionAborted => CloseKind::Reset,
            _ => CloseKind::IoError,
        }
    }
}

/// Counters shared by every connection. Relaxed: they are totals, read at the end.
#[derive(Debug, Default)]
pub struct ProxyStats {
    accepted: AtomicU64,
    active: AtomicU64,
    accept_errors: AtomicU64,
    upstream_connect_failed: AtomicU64,
    closed_clean: AtomicU64,
    closed_reset: AtomicU64,
    closed_io_error: AtomicU64,
    bytes_forwarded: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StatsSnapshot {
    /// Client connections accepted.
    pub accepted: u64,
    /// Connections open now.
    pub active: u64,
    /// `accept` calls that failed (e.g. out of file descriptors).
    pub accept_errors: u64,
    /// Client connections reset because the upstream could not be reached.
    pub upstream_connect_failed: u64,
    /// Connections where both directions reached end of stream.
    pub closed_clean: u64,
    /// Connections torn down because one side reset (ECONNRESET, EPIPE): the other was reset too.
    pub closed_reset: u64,
    /// Connections torn down by any other read or write error: both sides were reset.
    pub closed_io_error: u64,
    /// Bytes written out, both directions together.
    pub bytes_forwarded: u64,
}

impl ProxyStats {
    /// Counts an accepted connection as open.
    pub fn opened(&self) {
        self.accepted.fetch_add(1, Relaxed);
        self.active.fetch_add(1, Relaxed);
    }

    /// Counts an open connection as closed, for the given reason.
    pub fn closed(&self, how: CloseKind) {
        self.active.fetch_sub(1, Relaxed);
        let counter = match how {
            CloseKind::Clean => &self.closed_clean,
            CloseKind::Reset => &self.closed_reset,
            CloseKind::IoError => &self.closed_io_error,
        };
        counter.fetch_add(1, Relaxed);
    }

    /// Counts a failed `accept`.
    pub fn accept_failed(&self) {
        self.accept_errors.fetch_add(1, Relaxed);
    }

    /// Counts a client turned away because the upstream connect failed.
    pub fn upstream_failed(&self) {
        self.upstream_connect_failed.fetch_add(1, Relaxed);
    }

    /// Counts bytes written to either side.
    pub fn add_forwarded(&self, n: usize) {
        self.bytes_forwarded.fetch_add(n as u64, Relaxed);
    }

    /// Reads every counter.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            accepted: self.accepted.load(Relaxed),
            active: self.active.load(Relaxed),
            accept_errors: self.accept_errors.load(Relaxed),
            upstream_connect_failed: self.upstream_connect_failed.load(Relaxed),
            closed_clean: self.closed_clean.load(Relaxed),
            closed_reset: self.closed_reset.load(Relaxed),
            closed_io_error: self.closed_io_error.load(Relaxed),
            bytes_forwarded: self.bytes_forwarded.load(Relaxed),
        }
    }
}
