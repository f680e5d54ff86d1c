//! Open loop: handing due messages to their clients. A timer tick releases every message due
//! by then as one batch (one `write` per client carries all of its due messages); at the end,
//! messages due in the window that no turn released are counted, not lost.

use std::time::Instant;

use super::worker::{Conn, Worker};

impl Worker<'_> {
    /// Open loop: hands every message due by `now` (and before the window's end) to its
    /// client, then pumps each client given any once: one `write` carries all of a client's
    /// due messages, and one timer tick releases the whole batch.
    pub(super) fn release_due(&mut self, now: Instant) {
        let end = self.ends.window;
        let Some(schedule) = self.schedule.as_mut() else {
            return;
        };
        while schedule.next_due() < end {
            let Some(local) = schedule.pop_due(now) else {
                break;
            };
            let slot = &mut self.slots[local];
            if !self.in_batch[local] {
                self.in_batch[local] = true;
                self.batch.push(local);
            }
            slot.due += 1;
        }
        // Each message's send lag is taken at the write that carries it (see `pump.rs`).
        let batch = std::mem::take(&mut self.batch);
        for &local in &batch {
            self.in_batch[local] = false;
            self.pump(local, false);
        }
        self.batch = batch;
        self.batch.clear();
    }

    /// Open loop at the end: messages due before the window's end that no turn released are
    /// handed out now, so they count as unsent (and censored) instead of vanishing.
    pub(super) fn release_remaining(&mut self) {
        let end = self.ends.window;
        if let Some(schedule) = self.schedule.as_mut() {
            while schedule.next_due() < end {
                let Some(local) = schedule.pop_due(end) else {
                    break;
                };
                self.slots[local].due += 1;
            }
        }
    }

    /// Poisson schedules keep intended times until every message before them is answered.
    pub(super) fn forget_answered(&mut self) {
        let Some(schedule) = self.schedule.as_mut() else {
            return;
        };
        let n = schedule.clients();
        let oldest = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| !matches!(s.conn, Conn::Closed))
            .map(|(c, s)| s.client.completed() * n + c as u64)
            .min();
        if let Some(j) = oldest {
            schedule.forget_before(j);
        }
    }
}
