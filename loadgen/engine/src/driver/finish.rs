//! The end of a worker: after the deadline, every message is accounted for (answered, lost,
//! unsent, or unfinished and censored), every socket closed, and the timeline completed.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::client::ErrorKind;
use super::worker::{Conn, Worker};

/// The longest a worker keeps its sockets open for the coordinator's reading of the window's
/// end (which normally came before the drain ended): a coordinator that never reads it (no
/// window) cannot hold the run.
const END_READ_WAIT: Duration = Duration::from_secs(1);

impl Worker<'_> {
    /// After the deadline: counts what never finished, closes everything, flushes the timeline.
    pub(super) fn finish(&mut self) {
        self.release_remaining();
        for idx in 0..self.slots.len() {
            self.finish_client(idx);
        }
        self.stats.totals.connections.source_addrs = self.shared.sources.in_use();
        while self.next_interval < self.shared.interval_ends.len() {
            self.emit_tick();
        }
        self.await_end_read();
        // Sockets close when the slots drop.
        self.slots.clear();
    }

    /// Waits (at most [`END_READ_WAIT`]) until the coordinator has read the counters at the
    /// window's end, so closing these sockets cannot end server threads before they are read.
    fn await_end_read(&self) {
        let give_up = Instant::now() + END_READ_WAIT;
        while !self.shared.end_read.load(Ordering::Acquire) && Instant::now() < give_up {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Accounts for client `idx` at the deadline: its unsent messages, its censored ones (open
    /// loop), and its connection's end.
    fn finish_client(&mut self, idx: usize) {
        let window = self.current_window();
        let slot = &self.slots[idx];
        self.stats.totals.unsent += slot.due.saturating_sub(slot.client.started());
        if let Some(schedule) = &self.schedule {
            self.stats.censor_unanswered(
                schedule,
                idx,
                &slot.client,
                slot.due,
                window,
                self.ends.deadline,
            );
        }
        match slot.conn {
            Conn::Open { .. }
                if slot.client.in_flight() > 0
                    && slot.client.unfinished_kind() == ErrorKind::ReplyTimeout
                    && !slot
                        .client
                        .overdue(self.ends.deadline, self.shared.reply_timeout) =>
            {
                // Still within its reply timeout: the run ended first, the server did
                // not fail. Reported as unfinished (and censored in open loop).
                self.stats.open_loop.unfinished += slot.client.in_flight() as u64;
                if let Conn::Open { mut stream } =
                    std::mem::replace(&mut self.slots[idx].conn, Conn::Closed)
                {
                    let _ = self.poll.registry().deregister(&mut stream);
                    self.open -= 1;
                }
            }
            Conn::Open { .. } if slot.client.in_flight() > 0 => {
                let kind = slot.client.unfinished_kind();
                self.fail(idx, kind);
            }
            Conn::Connecting { .. } => self.fail(idx, ErrorKind::ConnectTimeout),
            _ => {}
        }
    }
}
