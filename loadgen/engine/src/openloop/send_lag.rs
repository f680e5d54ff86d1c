//! How late loadgen itself was: per open-loop message, the time from its intended send to the
//! moment loadgen acted on it, plus the counts that tell an honest open loop from a hidden
//! overload (messages sent in the window, censored, unfinished).
//!
//! A message's send lag is measured at the `write` that carried its first byte: that instant
//! minus its intended time. A message held back by the client's pipeline limit (the server
//! owes it earlier echoes) is charged as [`super::carry`] explains. The read delay (an echo's
//! kernel receive stamp to loadgen's read) is measured apart: it does not enter the latency
//! of stamped echoes, but it does enter unstamped ones, and it holds back pipelined sends.

use std::time::{Duration, Instant};

use crate::openloop::arrival::GapSample;
use crate::window::Window;
use results_model::histogram::LatencyHistogram;

/// One worker's open-loop figures (all zero in closed loop).
#[derive(Clone, Debug, Default)]
pub struct SendLagStats {
    /// Intended send → the write of the first byte (see [`super::carry`]), µs.
    pub lag: LatencyHistogram,
    /// Kernel receive stamp → loadgen's read, µs (stamped reads in the window).
    pub read_delay: LatencyHistogram,
    /// Reads in the window that carried no receive stamp.
    pub unstamped_reads: u64,
    /// Steps of the realtime clock seen between turns.
    pub clock_steps: u64,
    /// Messages whose first byte was written inside the measured window.
    pub sent_in_window: u64,
    /// Messages due in the window that were never answered by the deadline (never sent, or
    /// sent and still unanswered): recorded in the corrected histogram at deadline − intended.
    pub censored: u64,
    /// Echoes still in flight at the deadline that had waited less than the reply timeout.
    pub unfinished: u64,
    /// Clients connected when the measured window opened.
    pub connected_at_window_start: u64,
    /// Inter-send gaps of this worker's stream, for the arrival self-check.
    pub gaps: GapSample,
}

impl SendLagStats {
    /// Records the send `lag` of a message intended at `intended`, if it belongs to the window.
    pub fn record(&mut self, intended: Instant, lag: Duration, window: Window) {
        if intended < window.start || intended >= window.end {
            return;
        }
        self.lag.record(lag);
    }

    /// Records a read at `read_at` of data the kernel stamped at `stamp` (`None`: unstamped).
    pub fn read(&mut self, stamp: Option<Instant>, read_at: Instant, window: Window) {
        if read_at < window.start || read_at >= window.end {
            return;
        }
        match stamp {
            Some(at) => self
                .read_delay
                .record(read_at.saturating_duration_since(at)),
            None => self.unstamped_reads += 1,
        }
    }

    /// Counts `n` messages whose first bytes were written by one `write` at `at`.
    pub fn sent_n(&mut self, n: u64, at: Instant, window: Window) {
        if at >= window.start && at < window.end {
            self.sent_in_window += n;
            for _ in 0..n {
                self.gaps.observe(at);
            }
        }
    }

    /// Adds another worker's figures.
    pub fn add(&mut self, other: &SendLagStats) {
        self.lag.add(&other.lag);
        self.read_delay.add(&other.read_delay);
        self.unstamped_reads += other.unstamped_reads;
        self.clock_steps += other.clock_steps;
        self.sent_in_window += other.sent_in_window;
        self.censored += other.censored;
        self.unfinished += other.unfinished;
        self.connected_at_window_start += other.connected_at_window_start;
        self.gaps.merge(&other.gaps);
    }
}

/// Records the censored latency of a message intended at `intended` that was still
/// unanswered at `deadline`: its true latency is at least this, so leaving it out would make
/// every percentile too low exactly when the server falls behind.
pub fn censor(
    latency: &mut LatencyHistogram,
    stats: &mut SendLagStats,
    intended: Instant,
    deadline: Instant,
) {
    latency.record(
        deadline
            .saturating_duration_since(intended)
            .max(Duration::from_micros(1)),
    );
    stats.censored += 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_and_sends_count_only_inside_the_window() {
        let t0 = Instant::now();
        let w = Window {
            start: t0 + Duration::from_secs(1),
            end: t0 + Duration::from_secs(2),
        };
        let mut s = SendLagStats::default();
        s.record(t0, Duration::from_millis(5), w);
        assert!(s.lag.is_empty(), "warm-up message");
        let due = w.start + Duration::from_millis(10);
        s.record(due, Duration::from_micros(300), w);
        assert_eq!(s.lag.len(), 1);
        assert!((299..=301).contains(&s.lag.value_at_quantile(1.0)));
        s.sent_n(2, due, w);
        s.sent_n(1, w.end, w);
        assert_eq!(s.sent_in_window, 2);
        s.read(Some(due), due + Duration::from_micros(40), w);
        s.read(None, due, w);
        s.read(None, t0, w);
        assert_eq!(s.read_delay.len(), 1);
        assert!((39..=41).contains(&s.read_delay.value_at_quantile(1.0)));
        assert_eq!(s.unstamped_reads, 1, "the warm-up read is not counted");
    }

    #[test]
    fn censored_values_are_deadline_minus_intended_and_counted() {
        let t0 = Instant::now();
        let mut h = LatencyHistogram::new();
        let mut s = SendLagStats::default();
        censor(&mut h, &mut s, t0, t0 + Duration::from_millis(1500));
        assert_eq!(s.censored, 1);
        let v = h.value_at_quantile(1.0);
        assert!((1_499_000..=1_501_000).contains(&v), "{v}");
        let mut total = SendLagStats::default();
        total.add(&s);
        total.add(&s);
        assert_eq!(total.censored, 2);
    }
}
