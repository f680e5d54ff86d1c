//! What the loop keeps per connection.

use std::os::fd::OwnedFd;
use std::time::Instant;

use proto::Conn;

use crate::stats::CloseReason;

/// Where a connection's multishot receive stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Recv {
    /// Not armed: read closed, backpressure, or waiting to be re-armed.
    Idle,
    Armed,
    /// A cancel is on its way; the final completion has not arrived yet.
    Cancelling,
}

/// One connection: its socket, its protocol state and the operations it has in flight.
pub(super) struct Connection {
    pub(super) fd: OwnedFd,
    pub(super) conn: Conn,
    pub(super) recv: Recv,
    /// Bytes being sent, taken from `conn`. The kernel reads them until the send completes, so
    /// this buffer is neither changed nor dropped while `send_armed`.
    pub(super) sending: Vec<u8>,
    pub(super) send_off: usize,
    pub(super) send_armed: bool,
    /// The one send allowed after a protocol error was issued.
    pub(super) final_flush_sent: bool,
    pub(super) read_closed: bool,
    /// Set when the connection must go; it is freed once no operation is in flight.
    pub(super) closing: Option<CloseReason>,
    pub(super) last_active: Instant,
}

impl Connection {
    pub(super) fn has_ops(&self) -> bool {
        self.recv != Recv::Idle || self.send_armed
    }

    pub(super) fn unsent(&self) -> usize {
        self.conn.pending_output().len() + (self.sending.len() - self.send_off)
    }
}
