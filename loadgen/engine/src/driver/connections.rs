//! A worker's connections: paced connects, connect outcomes, timeouts and failures.

use std::time::{Duration, Instant};

use mio::{Interest, Token};

use crate::target::connect;

use super::client::ErrorKind;
use super::rx_stamp;
use super::worker::{Conn, Worker};

/// Connects in progress per worker at most: keeps bursts under the server's accept backlog.
const MAX_PENDING_CONNECTS: usize = 256;

impl Worker<'_> {
    /// When the next client may start connecting; `None` while none may.
    pub(super) fn next_connect_at(&self) -> Option<Instant> {
        if self.next_connect >= self.slots.len() || self.pending_connects >= MAX_PENDING_CONNECTS {
            return None;
        }
        Some(match self.plan.connect_rate {
            Some(rate) => self.shared.t0 + Duration::from_secs_f64(self.next_connect as f64 / rate),
            None => self.shared.t0,
        })
    }

    /// Starts every connect whose time has come by `now`.
    pub(super) fn start_connects(&mut self, now: Instant) {
        while self.next_connect_at().is_some_and(|at| at <= now) {
            let idx = self.next_connect;
            self.next_connect += 1;
            self.connect(idx, now);
        }
    }

    /// Starts connecting client `idx`, spreading over source addresses once the ports to the
    /// target run out.
    fn connect(&mut self, idx: usize, now: Instant) {
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

    /// A socket event for client `idx`: completes its connect, then pumps it.
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
                    self.shared.start_line.settle(now);
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

    /// Fails every connect and reply that waited past its timeout.
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

    /// Whether nothing is in flight or still to be sent (the drain may end).
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
                self.shared.start_line.settle(Instant::now());
            }
            Conn::NotStarted => self.shared.start_line.settle(Instant::now()),
            Conn::Closed => {}
        }
        self.stats.error(kind, slot.client.in_flight());
        if std::mem::take(&mut slot.held) {
            self.held -= 1;
        }
    }
}
