//! Whose wait a message held back by the pipeline limit was.
//!
//! With `--pipeline P`, message `k` of a client cannot start before the echo of message
//! `k − P` is in. When that echo arrives after `k` was due, the wait until it arrived is the
//! server's, so `k`'s send lag runs from the echo's arrival to `k`'s write: the time loadgen
//! took to act on the freed slot. But if message `k − P` itself went out late, its echo came
//! back that much later through no fault of the server, so its lag carries over to `k`. A
//! message's lag is therefore `min(write − intended, write − freed + lag of the freeing one)`:
//! a stall of loadgen is charged to loadgen all along the chain it delays, and a slow server
//! is never charged to loadgen.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// One client's lags in flight and its last completions.
#[derive(Debug, Default)]
pub struct LagCarry {
    /// Send lag of each started, unanswered message, oldest first.
    in_flight: VecDeque<Duration>,
    /// The last completions (message index, arrival, its send lag), oldest first, at most the
    /// pipeline's depth.
    freed: VecDeque<(u64, Instant, Duration)>,
}

impl LagCarry {
    /// Message `index` was fully echoed at `done`; `pipeline` is the client's depth.
    pub fn completed(&mut self, index: u64, done: Instant, pipeline: usize) {
        let lag = self.in_flight.pop_front().unwrap_or_default();
        self.freed.push_back((index, done, lag));
        while self.freed.len() > pipeline.max(1) {
            self.freed.pop_front();
        }
    }

    /// Message `k`, intended at `intended`, had its first byte written at `at`: its send lag.
    pub fn started(&mut self, k: u64, intended: Instant, at: Instant, pipeline: usize) -> Duration {
        let plain = at.saturating_duration_since(intended);
        let lag = match self.freeing(k, pipeline) {
            Some((done, carried)) if done > intended => {
                plain.min(at.saturating_duration_since(done) + carried)
            }
            _ => plain,
        };
        self.in_flight.push_back(lag);
        lag
    }

    /// The completion that let message `k` start: message `k − pipeline`'s.
    fn freeing(&self, k: u64, pipeline: usize) -> Option<(Instant, Duration)> {
        let j = k.checked_sub(pipeline as u64)?;
        let first = self.freed.front()?.0;
        let (index, done, lag) = *self
            .freed
            .get(usize::try_from(j.checked_sub(first)?).ok()?)?;
        (index == j).then_some((done, lag))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn a_message_sent_when_due_is_charged_from_its_intended_time() {
        let t = Instant::now();
        let mut c = LagCarry::default();
        assert_eq!(c.started(0, t, t + MS(3), 1), MS(3));
        c.completed(0, t + MS(4), 1);
        assert_eq!(c.started(1, t + MS(10), t + MS(10), 1), Duration::ZERO);
    }

    #[test]
    fn a_slow_server_is_not_charged_to_loadgen() {
        let t = Instant::now();
        let mut c = LagCarry::default();
        c.started(0, t, t, 1);
        // The echo of 0 takes 50 ms; 1 was due at 10 ms and goes out 1 ms after the echo.
        c.completed(0, t + MS(50), 1);
        assert_eq!(c.started(1, t + MS(10), t + MS(51), 1), MS(1));
    }

    #[test]
    fn a_loadgen_stall_is_charged_all_along_the_chain_it_delays() {
        let t = Instant::now();
        let mut c = LagCarry::default();
        // loadgen stalls: 0 (due at 0) goes out at 100 ms; the server answers in 1 ms.
        assert_eq!(c.started(0, t, t + MS(100), 1), MS(100));
        c.completed(0, t + MS(101), 1);
        // 1 was due at 10 ms: held by 0, which was late by 100 ms; out at 101 ms.
        assert_eq!(c.started(1, t + MS(10), t + MS(101), 1), MS(91));
        c.completed(1, t + MS(102), 1);
        assert_eq!(c.started(2, t + MS(20), t + MS(102), 1), MS(82));
    }

    #[test]
    fn deeper_pipelines_look_back_to_the_freeing_message() {
        let t = Instant::now();
        let mut c = LagCarry::default();
        for k in 0..3 {
            c.started(k, t, t, 3);
        }
        c.completed(0, t + MS(30), 3);
        c.completed(1, t + MS(31), 3);
        // 3 is freed by 0 (arrived 30 ms), not by 1.
        assert_eq!(c.started(3, t + MS(5), t + MS(32), 3), MS(2));
        // 4 is freed by 1 (31 ms).
        assert_eq!(c.started(4, t + MS(5), t + MS(32), 3), MS(1));
    }
}
