//! The pump of one client's socket: read and verify what came back, then write what the client
//! may now send.
//!
//! Edge-triggered, so neither side is retried without a reason: reads stop at a short read
//! (the buffer was emptied; a later arrival raises a new edge), and no read follows the write
//! (its echo cannot be back yet; when it is, an edge says so). That keeps a closed-loop message
//! at one `write` and one `read`.

use std::io::{self, Read, Write};
use std::time::Instant;

use mio::net::TcpStream;

use crate::openloop::schedule::OpenLoopSchedule;
use crate::window::Window;

use super::client::{Client, ErrorKind, SendPolicy};
use super::payload::Payload;
use super::rx_stamp::{self, Clocks};
use super::stats::{Recorder, WorkerStats};
use super::worker::{Conn, Worker};

/// What reading and writing a client's socket uses of its worker, borrowed apart from the
/// client's slot.
struct Pumping<'w> {
    scratch: &'w mut [u8],
    control: &'w mut [u8],
    stats: &'w mut WorkerStats,
    schedule: Option<&'w OpenLoopSchedule>,
    clocks: Clocks,
    payload: Payload,
    window: Window,
    wire_len: u64,
}

impl Worker<'_> {
    /// Reads and verifies what came back (if the socket signalled readable), then writes what
    /// the client may now send; a failure ends the connection.
    pub(super) fn pump(&mut self, idx: usize, readable: bool) {
        // Closed loop starts nothing after the window. Open loop keeps sending what fell due
        // inside it (a backlog is exactly what the corrected latency must see) until the
        // middle of the drain, so whatever is still unanswered at the deadline has had half the
        // drain to come back and is fairly counted as lost.
        let now = Instant::now();
        let may_start = match self.schedule {
            Some(_) => now < self.ends.backlog_cutoff,
            None => now < self.ends.window,
        };
        let payload = self.shared.payload;
        let pipeline = self.shared.pipeline;
        let window = self.current_window();
        let Worker {
            slots,
            scratch,
            stats,
            schedule,
            control,
            clocks,
            ..
        } = self;
        let slot = &mut slots[idx];
        let Conn::Open { stream } = &mut slot.conn else {
            return;
        };
        let mut io = Pumping {
            scratch,
            control,
            stats,
            schedule: schedule.as_ref(),
            clocks: *clocks,
            payload,
            window,
            wire_len: payload.wire_len() as u64,
        };
        let mut error = None;
        if readable {
            error = io.read_echoes(stream, &mut slot.client, idx);
        }
        if error.is_none() {
            let policy = SendPolicy {
                pipeline,
                due: io.schedule.map(|_| slot.due),
                may_start,
            };
            error = io.write_all(stream, &mut slot.client, &policy);
        }
        if let Some(kind) = error {
            self.fail(idx, kind);
        }
    }
}

impl Pumping<'_> {
    /// Reads until the socket is empty, verifying and recording every echo completed. Returns
    /// the error that ends the connection, if one did.
    fn read_echoes(
        &mut self,
        stream: &mut TcpStream,
        client: &mut Client,
        idx: usize,
    ) -> Option<ErrorKind> {
        loop {
            // Open loop: an echo arrived when the kernel stamped it, which may be a tick
            // before this read (see `harvest.rs`).
            let read = match self.schedule {
                Some(_) => rx_stamp::read(stream, self.scratch, self.control),
                None => stream.read(self.scratch).map(|n| (n, None)),
            };
            match read {
                Ok((0, _)) => return Some(client.eof_kind()),
                Ok((n, stamp)) => {
                    let read_at = Instant::now();
                    let now = stamp
                        .and_then(|s| self.clocks.instant(s, read_at))
                        .unwrap_or(read_at);
                    let mut recorder = Recorder {
                        stats: self.stats,
                        schedule: self.schedule,
                        window: self.window,
                        wire_len: self.wire_len,
                    };
                    let data = &self.scratch[..n];
                    if let Err(kind) = client.received(&self.payload, idx, data, now, &mut recorder)
                    {
                        return Some(kind);
                    }
                    if n < self.scratch.len() {
                        return None;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Some(ErrorKind::from_io(&e)),
            }
        }
    }

    /// Writes until the socket is full or nothing more may be sent; counts open-loop sends in
    /// the window. Returns the error that ends the connection, if one did.
    fn write_all(
        &mut self,
        stream: &mut TcpStream,
        client: &mut Client,
        policy: &SendPolicy,
    ) -> Option<ErrorKind> {
        let open_loop = self.schedule.is_some();
        loop {
            let n = client.next_write(&self.payload, policy, self.scratch);
            if n == 0 {
                return None;
            }
            let at = Instant::now();
            match stream.write(&self.scratch[..n]) {
                Ok(0) => return Some(ErrorKind::OtherIo),
                Ok(w) => {
                    let before = client.started();
                    client.wrote(&self.payload, w, at);
                    if open_loop {
                        let sent = client.started() - before;
                        self.stats.open_loop.sent_n(sent, at, self.window);
                    }
                    if w < n {
                        // The send buffer is full: another try would regenerate the rest only
                        // to be refused. Its echo's arrival, or writability, pumps again.
                        return None;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Some(ErrorKind::from_io(&e)),
            }
        }
    }
}
