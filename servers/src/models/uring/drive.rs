//! What a connection needs next after any event: a send, a receive armed or cancelled, or
//! closing once the kernel has reported every operation it had in flight.

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use io_uring::opcode;
use io_uring::types::Fd;

use super::connection::{Connection, Recv};
use super::ring::{user_data, BUF_GROUP, OP_CANCEL, OP_RECV, OP_SEND};
use super::server::Server;
use crate::session::idle_keys;
use crate::stats::CloseReason;

impl Server<'_> {
    /// Decides what a connection needs next: a send, a receive armed or cancelled, or closing.
    /// Called after every event that concerns it.
    pub(super) fn drive(&mut self, key: usize) {
        let cap = self.ctx.config.limits.max_pending_output;
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        if let Some(reason) = c.closing {
            if !c.has_ops() {
                self.finalize(key, reason);
            }
            return;
        }
        let error = c.conn.error();
        if !c.send_armed && !c.final_flush_sent {
            if c.conn.has_pending_output() {
                let more = c.conn.take_ready();
                if c.send_off == c.sending.len() {
                    c.sending = more;
                } else {
                    // Not armed, so the kernel is done with `sending`: merge to send in one go.
                    c.sending.drain(..c.send_off);
                    c.sending.extend_from_slice(&more);
                }
                c.send_off = 0;
            }
            if c.send_off < c.sending.len() {
                // After a protocol error the echoes still owed get one non-blocking attempt, as
                // in `mio`: a peer that stopped reading cannot hold the connection open.
                c.final_flush_sent = error.is_some();
                let dontwait = if error.is_some() {
                    libc::MSG_DONTWAIT
                } else {
                    0
                };
                let rest = &c.sending[c.send_off..];
                let len = u32::try_from(rest.len()).unwrap_or(u32::MAX);
                let entry = opcode::Send::new(Fd(c.fd.as_raw_fd()), rest.as_ptr(), len)
                    .flags(libc::MSG_NOSIGNAL | dontwait)
                    .build()
                    .user_data(user_data(key, OP_SEND));
                c.send_armed = true;
                self.queued.push_back(entry);
            }
        }
        if !c.send_armed {
            if let Some(err) = error {
                self.begin_close(key, CloseReason::Protocol(err));
                return;
            }
            if c.read_closed && c.unsent() == 0 {
                self.begin_close(key, CloseReason::Eof);
                return;
            }
        }
        self.drive_reads(key, cap);
    }

    /// Arms the multishot receive when the connection may read, cancels it when it may not.
    fn drive_reads(&mut self, key: usize, cap: usize) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        let wants = !c.read_closed && c.conn.wants_read() && c.unsent() < cap;
        let entry = match (wants, c.recv) {
            (true, Recv::Idle) => {
                c.recv = Recv::Armed;
                opcode::RecvMulti::new(Fd(c.fd.as_raw_fd()), BUF_GROUP)
                    .build()
                    .user_data(user_data(key, OP_RECV))
            }
            (false, Recv::Armed) => {
                c.recv = Recv::Cancelling;
                opcode::AsyncCancel::new(user_data(key, OP_RECV))
                    .build()
                    .user_data(user_data(key, OP_CANCEL))
            }
            _ => return,
        };
        self.queue(entry);
    }

    /// Marks a connection for closing and cancels whatever it has in flight; it is freed (and
    /// counted) when the last operation reports.
    pub(super) fn begin_close(&mut self, key: usize, reason: CloseReason) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        if c.closing.is_some() {
            return;
        }
        c.closing = Some(reason);
        if !c.has_ops() {
            self.finalize(key, reason);
            return;
        }
        // Cancelled by `user_data`, which the kernel looks up by hash. A cancel by fd scans every
        // request in flight: 10,000 idle timeouts at once stalled the loop for seconds.
        let mut targets = [None, None];
        if c.recv == Recv::Armed {
            c.recv = Recv::Cancelling;
            targets[0] = Some(OP_RECV);
        }
        if c.send_armed {
            targets[1] = Some(OP_SEND);
        }
        for op in targets.into_iter().flatten() {
            self.queue(
                opcode::AsyncCancel::new(user_data(key, op))
                    .build()
                    .user_data(user_data(key, OP_CANCEL)),
            );
        }
    }

    pub(super) fn finalize(&mut self, key: usize, reason: CloseReason) {
        let c = self.conns.remove(key);
        self.ctx.stats.closed(&c.conn, reason);
        // Dropping `c` closes the fd; the kernel holds no reference to it any more.
    }

    pub(super) fn close_idle(&mut self, now: Instant, idle: Duration) {
        let open = |c: &Connection| c.closing.is_none().then_some(c.last_active);
        for key in idle_keys(&self.conns, now, idle, open) {
            self.begin_close(key, CloseReason::IdleTimeout);
        }
    }
}
