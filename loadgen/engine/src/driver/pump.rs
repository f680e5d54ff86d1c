//! The pump of one client's socket: read and verify what came back, then write what the client
//! may now send.
//!
//! Edge-triggered, so neither side is retried without a reason: reads stop at a short read
//! (the buffer was emptied; a later arrival raises a new edge), and no read follows the write
//! (its echo cannot be back yet; when it is, an edge says so). That keeps a closed-loop message
//! at one `write` and one `read`.

use std::io::{self, Read, Write};
use std::ops::Range;
use std::time::Instant;

use mio::net::TcpStream;

use crate::openloop::carry::LagCarry;
use crate::openloop::schedule::OpenLoopSchedule;
use crate::window::Window;

use super::client::{Client, ErrorKind, SendPolicy};
use super::payload::Payload;
use super::rx_stamp::{self, Clocks};
use super::stats::{Recorder, WorkerStats};
use super::worker::{Conn, Slot, Worker};

/// What reading and writing a client's socket uses of its worker, borrowed apart from the
/// client's slot.
struct Pumping<'w> {
    scratch: &'w mut [u8],
    pipeline: usize,
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
        let Slot {
            client,
            conn,
            due,
            carry,
            ..
        } = &mut slots[idx];
        let Conn::Open { stream } = conn else {
            return;
        };
        let mut io = Pumping {
            scratch,
            pipeline,
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
            error = io.read_echoes(stream, client, carry, idx);
        }
        if error.is_none() {
            let policy = SendPolicy {
                pipeline,
                due: io.schedule.map(|_| *due),
                may_start,
            };
            error = io.write_all(stream, (client, carry), idx, &policy);
        }
        if let Some(kind) = error {
            self.fail(idx, kind);
        }
        self.update_held(idx);
    }

    /// Open loop: notes whether client `idx` now holds a due message back.
    fn update_held(&mut self, idx: usize) {
        let slot = &mut self.slots[idx];
        let held = self.schedule.is_some()
            && matches!(slot.conn, Conn::Open { .. })
            && (slot.client.started() < slot.due || slot.client.mid_message());
        if held != slot.held {
            slot.held = held;
            if held {
                self.held += 1;
            } else {
                self.held -= 1;
            }
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
        carry: &mut LagCarry,
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
                    let stamped = stamp.and_then(|s| self.clocks.instant(s, read_at));
                    let open_loop = self.schedule.is_some();
                    if open_loop {
                        self.stats.open_loop.read(stamped, read_at, self.window);
                    }
                    let now = stamped.unwrap_or(read_at);
                    let mut recorder = Recorder {
                        stats: self.stats,
                        schedule: self.schedule,
                        window: self.window,
                        wire_len: self.wire_len,
                        carry: open_loop.then_some(&mut *carry),
                        pipeline: self.pipeline,
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
        (client, carry): (&mut Client, &mut LagCarry),
        idx: usize,
        policy: &SendPolicy,
    ) -> Option<ErrorKind> {
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
                    self.started(before..client.started(), idx, carry, at);
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

    /// Open loop: messages `ks` of client `idx` had their first bytes written by a `write`
    /// made at `at`; records each one's send lag, taken at that write.
    fn started(&mut self, ks: Range<u64>, idx: usize, carry: &mut LagCarry, at: Instant) {
        let Some(schedule) = self.schedule else {
            return;
        };
        let ol = &mut self.stats.open_loop;
        ol.sent_n(ks.end - ks.start, at, self.window);
        for k in ks {
            let intended = schedule.intended(idx, k);
            let lag = carry.started(k, intended, at, self.pipeline);
            ol.record(intended, lag, self.window);
        }
    }
}
