//! The completion side of the `uring` loop: what each reported operation (accept, receive,
//! send, wake-up) means for its connection. Submitting is in `server`, what a connection needs
//! next in `drive`.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::time::Instant;

use anyhow::anyhow;
use io_uring::cqueue;

use io_uring::opcode;
use proto::Conn;

use super::connection::{Connection, Recv};
use super::ring::{user_data, OP_ACCEPT, OP_BITS, OP_CANCEL, OP_RECV, OP_SEND, OP_WAKE};
use super::server::Server;
use crate::listener::{classify_accept_error, configure_fd, AcceptError, ACCEPT_BACKOFF};
use crate::stats::CloseReason;

impl Server<'_> {
    /// Reaps every completion the kernel posted and acts on each.
    pub(super) fn handle_completions(&mut self) -> anyhow::Result<()> {
        let mut batch = std::mem::take(&mut self.completions);
        batch.extend(
            self.ring
                .completion()
                .map(|c| (c.user_data(), c.result(), c.flags())),
        );
        for &(data, res, flags) in &batch {
            let key = (data >> OP_BITS) as usize;
            match data & ((1 << OP_BITS) - 1) {
                OP_ACCEPT => self.on_accept(res, flags),
                OP_RECV => self.on_recv(key, res, flags),
                OP_SEND => self.on_send(key, res),
                OP_WAKE => self.wake_armed = false,
                _ => {} // OP_CANCEL: the cancelled operation reports for itself
            }
        }
        batch.clear();
        self.completions = batch;
        self.fatal.take().map_or(Ok(()), Err)
    }

    fn on_accept(&mut self, res: i32, flags: u32) {
        if !cqueue::more(flags) {
            self.accept_armed = false;
        }
        if res >= 0 {
            // SAFETY: a non-negative accept result is a new fd that nothing else owns.
            let fd = unsafe { OwnedFd::from_raw_fd(res) };
            self.add(fd);
            return;
        }
        if res == -libc::ECANCELED {
            return;
        }
        if res == -libc::EINVAL {
            self.fatal = Some(anyhow!(
                "io_uring multishot accept was rejected (EINVAL): it needs Linux 5.19+"
            ));
            return;
        }
        let err = io::Error::from_raw_os_error(-res);
        match classify_accept_error(&err) {
            AcceptError::WouldBlock | AcceptError::Retry => {}
            kind => {
                // Out of fds (or worse): pause accepting, keep serving the open connections.
                self.ctx.stats.accept_error(kind == AcceptError::Backoff);
                if kind == AcceptError::Fatal {
                    eprintln!("echo-server: accept failed: {err}");
                }
                self.accept_paused_until = Some(Instant::now() + ACCEPT_BACKOFF);
                if self.accept_armed {
                    self.queue(
                        opcode::AsyncCancel::new(user_data(0, OP_ACCEPT))
                            .build()
                            .user_data(user_data(0, OP_CANCEL)),
                    );
                }
            }
        }
    }

    fn add(&mut self, fd: OwnedFd) {
        let stats = &self.ctx.stats;
        stats.worker_accepted(0);
        if !stats.admit(self.ctx.config.max_conns) {
            return; // dropping the fd closes it
        }
        let config = &self.ctx.config;
        let conn = Conn::new(config.protocol, config.limits);
        if self.stopping {
            stats.closed(&conn, CloseReason::Shutdown);
            return;
        }
        let _ = configure_fd(&fd);
        let key = self.conns.insert(Connection {
            fd,
            conn,
            recv: Recv::Idle,
            sending: Vec::new(),
            send_off: 0,
            send_armed: false,
            final_flush_sent: false,
            read_closed: false,
            closing: None,
            last_active: Instant::now(),
        });
        self.drive(key);
    }

    fn on_recv(&mut self, key: usize, res: i32, flags: u32) {
        let bid = cqueue::buffer_select(flags);
        let Some(c) = self.conns.get_mut(key) else {
            // Cannot happen (slots are freed only with no operation in flight), but a buffer
            // must never be lost from the pool.
            if let Some(bid) = bid {
                self.bufs.recycle(bid);
            }
            return;
        };
        if !cqueue::more(flags) {
            c.recv = Recv::Idle;
        }
        let mut failure = None;
        if let Some(bid) = bid {
            if res > 0 && c.closing.is_none() {
                match self.bufs.data(bid, res as usize) {
                    Some(data) => {
                        self.recv_worked = true;
                        c.last_active = Instant::now();
                        // A protocol error is picked up by `drive`, after the complete messages
                        // before it were taken for sending.
                        let _ =
                            self.ctx
                                .config
                                .extra_work
                                .receive(&mut c.conn, data, &self.ctx.stats);
                    }
                    None => failure = Some(CloseReason::IoError),
                }
            }
            self.bufs.recycle(bid);
        } else if res > 0 {
            failure = Some(CloseReason::IoError); // bytes without a buffer: cannot be trusted
        }
        match res {
            0 if c.closing.is_none() && !c.read_closed => {
                c.read_closed = true;
                c.conn.receive_eof();
            }
            // Out of provided buffers, or our own cancel: nothing lost, `drive` re-arms.
            r if r >= 0 || r == -libc::ENOBUFS || r == -libc::ECANCELED => {}
            r if r == -libc::EINVAL && !self.recv_worked => {
                self.fatal = Some(anyhow!(
                    "io_uring multishot receive was rejected (EINVAL): it needs Linux 6.0+"
                ));
                failure = Some(CloseReason::IoError);
            }
            r => failure = Some(CloseReason::from_io(&io::Error::from_raw_os_error(-r))),
        }
        if let Some(reason) = failure {
            self.begin_close(key, reason);
        }
        self.drive(key);
    }

    fn on_send(&mut self, key: usize, res: i32) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        c.send_armed = false;
        let failure = match res {
            n if n > 0 => {
                let n = n as usize;
                c.conn.record_output(n);
                c.last_active = Instant::now();
                c.send_off += n;
                if c.send_off >= c.sending.len() {
                    c.sending = Vec::new();
                    c.send_off = 0;
                }
                None
            }
            0 => Some(CloseReason::IoError), // a send of a non-empty buffer wrote nothing
            e if e == -libc::EAGAIN || e == -libc::ECANCELED => None,
            e => Some(CloseReason::from_io(&io::Error::from_raw_os_error(-e))),
        };
        if let Some(reason) = failure {
            self.begin_close(key, reason);
        }
        self.drive(key);
    }
}
