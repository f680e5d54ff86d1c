//! A worker's connections: paced connects, the pump of one client's socket (write what it may
//! send, read and verify the echoes), open-loop releases, timeouts and failures.

use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use mio::{Interest, Token};

use mio::net::TcpStream;

use crate::client::{Client, ErrorKind, SendPolicy};
use crate::connect;
use crate::payload::Payload;
use crate::rx_stamp;
use crate::stats::Recorder;
use crate::stats::{Window, WorkerStats};

use super::{Conn, Worker, MAX_PENDING_CONNECTS};

impl Worker<'_> {
    pub(super) fn next_connect_at(&self) -> Option<Instant> {
        if self.next_connect >= self.slots.len() || self.pending_connects >= MAX_PENDING_CONNECTS {
            return None;
        }
        Some(match self.plan.connect_rate {
            Some(rate) => self.shared.t0 + Duration::from_secs_f64(self.next_connect as f64 / rate),
            None => self.shared.t0,
        })
    }

    pub(super) fn start_connects(&mut self, now: Instant) {
        while self.next_connect_at().is_some_and(|at| at <= now) {
            let idx = self.next_connect;
            self.next_connect += 1;
            self.connect(idx, now);
        }
    }

    pub(super) fn connect(&mut self, idx: usize, now: Instant) {
        self.stats.totals.connections.attempted += 1;
        let id = self.slots[idx].client.id();
        let sources = &self.shared.sources;
        let mut result = connect::start(self.shared.target, sources.for_client(id));
        if matches!(&result, Err(e) if e.raw_os_error() == Some(libc::EADDRNOTAVAIL))
            && sources.start_spreading()
        {
            // Out of ephemeral ports towards this address: from now on every new client binds
            // one of 127.0.0.2.. as its source, and this one retries that way.
            result = connect::start(self.shared.target, sources.for_client(id));
        }
        let mut stream = match result {
            Ok(stream) => stream,
            Err(_) => return self.fail(idx, ErrorKind::ConnectFailed),
        };
        if self.schedule.is_some() {
            // Without stamps an echo's arrival is when it was read: less precise, not wrong.
            let _ = rx_stamp::enable(&stream);
        }
        if let Err(_e) = self.poll.registry().register(
            &mut stream,
            Token(idx),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            return self.fail(idx, ErrorKind::ConnectFailed);
        }
        self.pending_connects += 1;
        self.slots[idx].conn = Conn::Connecting { stream, since: now };
    }

    pub(super) fn on_event(&mut self, idx: usize, readable: bool) {
        let Some(slot) = self.slots.get_mut(idx) else {
            return;
        };
        if let Conn::Connecting { stream, since } = &slot.conn {
            let since = *since;
            match connect::outcome(stream) {
                Ok(false) => return,
                Ok(true) => {
                    let now = Instant::now();
                    self.pending_connects -= 1;
                    self.open += 1;
                    self.stats.totals.connections.established += 1;
                    self.stats.connect.record(now - since);
                    self.shared.gate.settle(now);
                    let Conn::Connecting { stream, .. } =
                        std::mem::replace(&mut slot.conn, Conn::Closed)
                    else {
                        unreachable!("matched above")
                    };
                    slot.conn = Conn::Open { stream };
                }
                Err(_) => return self.fail(idx, ErrorKind::ConnectFailed),
            }
        }
        self.pump(idx, readable);
    }

    /// Reads and verifies what came back (if the socket signalled readable), then writes what
    /// the client may now send. Edge-triggered, so neither side is retried without a reason:
    /// reads stop at a short read (the buffer was emptied; a later arrival raises a new edge),
    /// and no read follows the write (its echo cannot be back yet; when it is, an edge says so).
    /// That keeps a closed-loop message at one `write` and one `read`.
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
        let wire_len = self.shared.payload.wire_len() as u64;
        let payload = self.shared.payload;
        let window = self.current_window();
        let Worker {
            slots,
            scratch,
            stats,
            schedule,
            shared,
            control,
            clocks,
            ..
        } = self;
        let slot = &mut slots[idx];
        let Conn::Open { stream } = &mut slot.conn else {
            return;
        };
        let error = 'pump: {
            if readable {
                loop {
                    // Open loop: an echo arrived when the kernel stamped it, which may be a
                    // tick before this read (see `harvest`).
                    let read = match schedule {
                        Some(_) => rx_stamp::read(stream, scratch, control),
                        None => stream.read(scratch).map(|n| (n, None)),
                    };
                    match read {
                        Ok((0, _)) => break 'pump Some(slot.client.eof_kind()),
                        Ok((n, stamp)) => {
                            let mut recorder = Recorder {
                                stats,
                                schedule: schedule.as_ref(),
                                window,
                                wire_len,
                            };
                            let read_at = Instant::now();
                            let now = stamp
                                .and_then(|s| clocks.instant(s, read_at))
                                .unwrap_or(read_at);
                            let data = &scratch[..n];
                            if let Err(kind) =
                                slot.client
                                    .received(&payload, idx, data, now, &mut recorder)
                            {
                                break 'pump Some(kind);
                            }
                            if n < scratch.len() {
                                break;
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => break 'pump Some(ErrorKind::from_io(&e)),
                    }
                }
            }
            let policy = SendPolicy {
                pipeline: shared.pipeline,
                due: schedule.as_ref().map(|_| slot.due),
                may_start,
            };
            let open_loop = schedule.is_some().then_some(window);
            write_all(
                stream,
                &mut slot.client,
                &payload,
                &policy,
                scratch,
                stats,
                open_loop,
            )
        };
        if let Some(kind) = error {
            self.fail(idx, kind);
        }
    }

    pub(super) fn check_timeouts(&mut self, now: Instant) {
        let (connect_timeout, reply_timeout) =
            (self.shared.connect_timeout, self.shared.reply_timeout);
        for idx in 0..self.slots.len() {
            let slot = &self.slots[idx];
            let kind = match &slot.conn {
                Conn::Connecting { since, .. } if now - *since >= connect_timeout => {
                    ErrorKind::ConnectTimeout
                }
                Conn::Open { .. } if slot.client.overdue(now, reply_timeout) => {
                    ErrorKind::ReplyTimeout
                }
                _ => continue,
            };
            self.fail(idx, kind);
        }
    }

    /// Reads, without waiting, every open connection that still expects echoes.
    pub(super) fn read_arrived(&mut self) {
        for idx in 0..self.slots.len() {
            if self.slots[idx].client.in_flight() > 0 {
                self.pump(idx, true);
            }
        }
    }

    pub(super) fn all_answered(&self) -> bool {
        let open_loop = self.schedule.is_some();
        self.slots.iter().all(|s| match s.conn {
            Conn::Open { .. } => {
                s.client.in_flight() == 0
                    && (!open_loop
                        || s.client.started() >= s.due
                        || Instant::now() >= self.ends.backlog_cutoff)
            }
            Conn::Connecting { .. } => false,
            Conn::NotStarted | Conn::Closed => true,
        })
    }

    /// Ends connection `idx` with the error `kind`, counting its unanswered messages as lost.
    pub(super) fn fail(&mut self, idx: usize, kind: ErrorKind) {
        let slot = &mut self.slots[idx];
        match std::mem::replace(&mut slot.conn, Conn::Closed) {
            Conn::Open { mut stream } => {
                let _ = self.poll.registry().deregister(&mut stream);
                self.open -= 1;
            }
            Conn::Connecting { mut stream, .. } => {
                let _ = self.poll.registry().deregister(&mut stream);
                self.pending_connects -= 1;
                self.shared.gate.settle(Instant::now());
            }
            Conn::NotStarted => self.shared.gate.settle(Instant::now()),
            Conn::Closed => {}
        }
        self.stats.error(kind, slot.client.in_flight());
    }
}

/// Writes until the socket is full or nothing more may be sent; counts open-loop sends in the
/// window (`open_loop`). Returns the error that ends the connection, if one did.
fn write_all(
    stream: &mut TcpStream,
    client: &mut Client,
    payload: &Payload,
    policy: &SendPolicy,
    scratch: &mut [u8],
    stats: &mut WorkerStats,
    open_loop: Option<Window>,
) -> Option<ErrorKind> {
    loop {
        let n = client.next_write(payload, policy, scratch);
        if n == 0 {
            return None;
        }
        let at = Instant::now();
        match stream.write(&scratch[..n]) {
            Ok(0) => return Some(ErrorKind::OtherIo),
            Ok(w) => {
                let before = client.started();
                client.wrote(payload, w, at);
                if let Some(window) = open_loop {
                    stats
                        .open_loop
                        .sent_n(client.started() - before, at, window);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Some(ErrorKind::from_io(&e)),
        }
    }
}
