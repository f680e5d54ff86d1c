//! Open-loop scheduling: when each message *should* be sent, whatever the server is doing.
//!
//! A worker with `n` clients and a share `r` of the total rate sends its `j`-th message at
//! `start + j / r`, to client `j mod n`; so client `c`'s `k`-th message is due at
//! `start + (k·n + c) / r`. Latency measured from that *intended* time includes every delay a
//! real user would see, including the time a message waited because the server (or the
//! connection) was stalled: that is the coordinated-omission correction. Measuring from the
//! actual send instead would hide a stall behind the single message that was in flight.
//!
//! Time is passed in (`now`), never read here, so the schedule is tested without sleeping.

use std::time::{Duration, Instant};

use crate::openloop::arrival::PoissonTimes;

/// One worker's fixed-rate schedule over its clients.
#[derive(Clone, Debug)]
pub struct OpenLoopSchedule {
    start: Instant,
    clients: u64,
    /// Nanoseconds between two consecutive messages of this worker.
    interval_ns: f64,
    /// Index `j` of the next message not yet handed out.
    next: u64,
    /// Exponential gaps instead of even ones (see [`crate::openloop::arrival`]).
    poisson: Option<PoissonTimes>,
}

impl OpenLoopSchedule {
    /// `rate` messages per second spread round-robin over `clients`, the first due at `start`.
    pub fn new(start: Instant, clients: usize, rate: f64) -> Self {
        assert!(
            clients > 0 && rate > 0.0,
            "schedule needs clients and a positive rate"
        );
        OpenLoopSchedule {
            start,
            clients: clients as u64,
            // Whole nanoseconds, so a periodic timer ticks exactly on the intended times.
            interval_ns: (1e9 / rate).round().max(1.0),
            next: 0,
            poisson: None,
        }
    }

    /// The same rate with seeded exponential (Poisson) gaps instead of even ones.
    pub fn poisson(mut self, seed: u64) -> Self {
        self.poisson = Some(PoissonTimes::new(seed, self.interval_ns));
        self
    }

    /// Mean time between two consecutive messages of this worker.
    pub fn mean_interval(&self) -> Duration {
        Duration::from_nanos(self.interval_ns as u64)
    }

    /// Whether gaps are even (so a periodic timer matches the schedule exactly).
    pub fn is_uniform(&self) -> bool {
        self.poisson.is_none()
    }

    /// Lets go of intended times before message `j` (Poisson keeps them until then).
    pub fn forget_before(&mut self, j: u64) {
        if let Some(p) = &mut self.poisson {
            p.forget_before(j);
        }
    }

    /// Clients this schedule spreads over.
    pub fn clients(&self) -> u64 {
        self.clients
    }

    fn time_of(&self, j: u64) -> Instant {
        if let Some(p) = &self.poisson {
            return self.start + Duration::from_nanos(p.offset_ns(j));
        }
        // f64 keeps ~15 significant digits: exact to the nanosecond for far longer than any run.
        self.start + Duration::from_nanos((j as f64 * self.interval_ns) as u64)
    }

    /// When message `k` of client `client` is due.
    pub fn intended(&self, client: usize, k: u64) -> Instant {
        self.time_of(k * self.clients + client as u64)
    }

    /// When the next message not yet handed out is due (for the worker's timer).
    pub fn next_due(&self) -> Instant {
        self.time_of(self.next)
    }

    /// The client whose next message is due at or before `now`, if any (call until `None`).
    pub fn pop_due(&mut self, now: Instant) -> Option<usize> {
        if self.time_of(self.next) > now {
            return None;
        }
        let client = (self.next % self.clients) as usize;
        self.next += 1;
        if let Some(p) = &mut self.poisson {
            p.ensure(self.next);
        }
        Some(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hands_out_messages_round_robin_at_the_rate() {
        let t0 = Instant::now();
        // 1000 msg/s over 4 clients: one message per ms, each client every 4 ms.
        let mut s = OpenLoopSchedule::new(t0, 4, 1000.0);
        assert_eq!(s.pop_due(t0), Some(0));
        assert_eq!(s.pop_due(t0), None);
        let due: Vec<_> =
            std::iter::from_fn(|| s.pop_due(t0 + Duration::from_micros(5500))).collect();
        assert_eq!(due, vec![1, 2, 3, 0, 1]);
        assert_eq!(s.next_due(), t0 + Duration::from_millis(6));
        assert_eq!(s.intended(2, 0), t0 + Duration::from_millis(2));
        assert_eq!(s.intended(2, 3), t0 + Duration::from_millis(14));
    }

    #[test]
    fn a_late_worker_catches_up_with_past_intended_times() {
        let t0 = Instant::now();
        let mut s = OpenLoopSchedule::new(t0, 1, 100.0);
        // Nothing handed out for 200 ms (a stall): 21 messages are now due, all intended in the
        // past, which is what makes the corrected latency include the stall.
        let late = t0 + Duration::from_millis(200);
        let n = std::iter::from_fn(|| s.pop_due(late)).count();
        assert_eq!(n, 21);
        assert!(s.intended(0, 0) < late && s.intended(0, 20) == late);
    }
}
