//! A connection owned by a task or coroutine, counted exactly once however its owner ends: by
//! returning a reason, or by being dropped (cancelled at shutdown, or unwound).

use std::sync::Arc;

use proto::Conn;

use crate::context::Context;
use crate::stats::{CloseReason, Stats};
use crate::stop_signal::LiveTask;

/// Bytes a connection reads at first, per read, into its own buffer. Completion-based runtimes
/// hand the kernel a buffer per pending read, so a small one keeps 10,000 idle clients cheap; a
/// read that fills it doubles it, up to [`crate::session::SCRATCH_LEN`].
pub const FIRST_READ_LEN: usize = 4 * 1024;

/// The read length after a read of `filled` bytes into a buffer of `len`: doubled when full.
pub fn next_read_len(filled: usize, len: usize) -> usize {
    if filled == len {
        (len * 2).min(crate::session::SCRATCH_LEN)
    } else {
        len
    }
}

/// A connection's protocol state. Dropping it folds its counters in: with the reason given to
/// [`ClientGuard::finish`], or [`CloseReason::Shutdown`] if its owner was dropped first.
pub struct ClientGuard {
    /// The protocol state.
    pub conn: Conn,
    reason: CloseReason,
    stats: Arc<Stats>,
    _live: Option<LiveTask>,
}

impl ClientGuard {
    /// Counts a connection accepted by `worker` and admits it under `--max-conns`; `None` when
    /// it is refused (the caller drops the socket, which closes it).
    pub fn admit(ctx: &Context, worker: usize, live: Option<LiveTask>) -> Option<Self> {
        ctx.stats.worker_accepted(worker);
        if !ctx.stats.admit(ctx.config.max_conns) {
            return None;
        }
        Some(ClientGuard {
            conn: Conn::new(ctx.config.protocol, ctx.config.limits),
            reason: CloseReason::Shutdown,
            stats: Arc::clone(&ctx.stats),
            _live: live,
        })
    }

    /// Ends the connection for `reason` (the drop does the counting).
    pub fn finish(mut self, reason: CloseReason) {
        self.reason = reason;
    }
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        self.stats.closed(&self.conn, self.reason);
    }
}
