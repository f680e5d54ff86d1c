//! What each worker records, and how the workers' records add up.
//!
//! Each worker owns its histograms and counters outright (no locks, no atomics on the hot
//! path); once per timeline interval it sends a `Tick` to the coordinator, and at the end it
//! hands back its whole [`WorkerStats`], which are added with [`WorkerStats::add`].

use std::time::{Duration, Instant};

use results_model::histogram::LatencyHistogram;
use results_model::result::Totals;

use crate::openloop::carry::LagCarry;
use crate::openloop::schedule::OpenLoopSchedule;
use crate::openloop::send_lag::{self, SendLagStats};
use crate::window::Window;

use super::client::{Client, Completion, ErrorKind};

/// One worker's counters and histograms.
#[derive(Clone, Debug, Default)]
pub struct WorkerStats {
    /// Latency to quote (closed: from first byte written; open: from intended send time).
    pub latency: LatencyHistogram,
    /// Open loop: from the actual send. Empty in closed loop.
    pub service: LatencyHistogram,
    /// Connect latency.
    pub connect: LatencyHistogram,
    /// Totals (messages and bytes in the window, errors always).
    pub totals: Totals,
    /// This interval's latencies (all phases), for the timeline.
    pub interval: LatencyHistogram,
    /// Messages completed this interval.
    pub interval_msgs: u64,
    /// Errors this interval.
    pub interval_errors: u64,
    /// CPU time the worker thread used during the window (set when the window ends).
    pub busy: Option<Duration>,
    /// Longest time the worker's loop came back late from waiting for events: the thread was
    /// off the CPU, so echoes waited for loadgen, not for the server.
    pub longest_stall: Duration,
    /// Open loop: send lag, sends in the window, censored and unfinished messages.
    pub open_loop: SendLagStats,
}

impl WorkerStats {
    /// At the deadline: every message of client `local` due in the window (`0 .. due`) but not
    /// answered (never sent, or sent and still in flight) enters the corrected histogram
    /// censored at `deadline`.
    pub fn censor_unanswered(
        &mut self,
        schedule: &OpenLoopSchedule,
        local: usize,
        client: &Client,
        due: u64,
        window: Window,
        deadline: Instant,
    ) {
        for k in client.completed()..due {
            let intended = schedule.intended(local, k);
            if intended >= window.start && intended < window.end {
                send_lag::censor(&mut self.latency, &mut self.open_loop, intended, deadline);
            }
        }
    }

    /// Counts the error that ended a connection holding `unanswered` messages.
    pub fn error(&mut self, kind: ErrorKind, unanswered: usize) {
        let e = &mut self.totals.errors;
        let counter = match kind {
            ErrorKind::Mismatch => &mut e.mismatch,
            ErrorKind::ShortReply => &mut e.short_reply,
            ErrorKind::UnexpectedEof => &mut e.unexpected_eof,
            ErrorKind::Reset => &mut e.reset,
            ErrorKind::ConnectFailed => &mut e.connect_failed,
            ErrorKind::ConnectTimeout => &mut e.connect_timeout,
            ErrorKind::ReplyTimeout => &mut e.reply_timeout,
            ErrorKind::OtherIo => &mut e.other_io,
        };
        *counter += 1;
        self.totals.connections.failed += 1;
        self.totals.unanswered += unanswered as u64;
        self.interval_errors += 1;
    }

    /// Takes this interval's figures and starts the next interval.
    pub fn take_interval(&mut self) -> (LatencyHistogram, u64, u64) {
        let hist = self.interval.clone();
        self.interval.reset();
        let out = (hist, self.interval_msgs, self.interval_errors);
        self.interval_msgs = 0;
        self.interval_errors = 0;
        out
    }

    /// Adds another worker's final figures (`busy` becomes the busiest worker's).
    pub fn add(&mut self, other: &WorkerStats) {
        self.latency.add(&other.latency);
        self.service.add(&other.service);
        self.connect.add(&other.connect);
        self.busy = self.busy.max(other.busy);
        self.longest_stall = self.longest_stall.max(other.longest_stall);
        self.open_loop.add(&other.open_loop);
        self.totals.add(&other.totals);
    }
}

/// Records completions into a worker's stats, placing each in the window or the warm-up.
pub struct Recorder<'a> {
    /// Where to record.
    pub stats: &'a mut WorkerStats,
    /// The open-loop schedule (gives intended send times); `None` in closed loop.
    pub schedule: Option<&'a OpenLoopSchedule>,
    /// The measured window.
    pub window: Window,
    /// Wire bytes per message.
    pub wire_len: u64,
    /// Open loop: the client's lags in flight, to carry over to the messages it holds back.
    pub carry: Option<&'a mut LagCarry>,
    /// Most messages in flight per client.
    pub pipeline: usize,
}

impl Completion for Recorder<'_> {
    fn complete(&mut self, local: usize, index: u64, sent_at: Instant, done: Instant) {
        let start = match self.schedule {
            Some(s) => s.intended(local, index),
            None => sent_at,
        };
        if let Some(carry) = self.carry.as_deref_mut() {
            carry.completed(index, done, self.pipeline);
        }
        let latency = done.saturating_duration_since(start);
        let s = &mut *self.stats;
        s.interval.record(latency);
        s.interval_msgs += 1;
        if start < self.window.start || start >= self.window.end {
            s.totals.warmup_messages += 1;
            return;
        }
        s.latency.record(latency);
        if self.schedule.is_some() {
            s.service.record(done.saturating_duration_since(sent_at));
        }
        s.totals.messages += 1;
        s.totals.bytes_sent += self.wire_len;
        s.totals.bytes_received += self.wire_len;
    }
}

/// One worker's figures for one timeline interval.
#[derive(Debug)]
pub(crate) struct Tick {
    /// Which interval (index into the run's interval boundaries).
    pub interval: usize,
    /// Clients connected at its end.
    pub connected: u64,
    /// Messages completed in it.
    pub msgs: u64,
    /// Errors in it.
    pub errors: u64,
    /// Its latencies.
    pub hist: LatencyHistogram,
}

/// The ends of the timeline intervals, as offsets from the run start: every whole second,
/// plus the end of warm-up and the end of the window, so no interval straddles a phase.
pub(crate) fn interval_ends(warmup: Duration, duration: Duration) -> Vec<Duration> {
    let end = warmup + duration;
    let mut ends: Vec<Duration> = (1..)
        .map(Duration::from_secs)
        .take_while(|&t| t < end)
        .collect();
    ends.push(end);
    if !warmup.is_zero() {
        ends.push(warmup);
    }
    ends.sort();
    ends.dedup();
    ends
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_split_at_seconds_and_phases() {
        let secs = |v: &[f64]| {
            v.iter()
                .map(|&s| Duration::from_secs_f64(s))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            interval_ends(Duration::from_millis(1500), Duration::from_secs(2)),
            secs(&[1.0, 1.5, 2.0, 3.0, 3.5])
        );
        assert_eq!(
            interval_ends(Duration::ZERO, Duration::from_secs(1)),
            secs(&[1.0])
        );
    }

    #[test]
    fn warmup_completions_are_not_recorded() {
        let t0 = Instant::now();
        let window = Window {
            start: t0 + Duration::from_secs(1),
            end: t0 + Duration::from_secs(2),
        };
        let mut stats = WorkerStats::default();
        let mut rec = Recorder {
            stats: &mut stats,
            schedule: None,
            window,
            wire_len: 64,
            carry: None,
            pipeline: 1,
        };
        rec.complete(0, 0, t0, t0 + Duration::from_millis(1));
        rec.complete(0, 1, window.start, window.start + Duration::from_millis(1));
        assert_eq!(stats.totals.warmup_messages, 1);
        assert_eq!(stats.totals.messages, 1);
        assert_eq!(stats.latency.len(), 1);
        assert_eq!(stats.interval_msgs, 2);
    }

    #[test]
    fn open_loop_records_from_the_intended_time() {
        let t0 = Instant::now();
        let schedule = OpenLoopSchedule::new(t0, 1, 1000.0);
        let window = Window {
            start: t0,
            end: t0 + Duration::from_secs(1),
        };
        let mut stats = WorkerStats::default();
        let mut rec = Recorder {
            stats: &mut stats,
            schedule: Some(&schedule),
            window,
            wire_len: 8,
            carry: None,
            pipeline: 1,
        };
        // Message 0 was due at t0, actually sent 200 ms late, answered 1 ms after that.
        let sent = t0 + Duration::from_millis(200);
        rec.complete(0, 0, sent, sent + Duration::from_millis(1));
        assert!(stats.latency.value_at_quantile(1.0) >= 200_000);
        assert!(stats.service.value_at_quantile(1.0) <= 1_001);
    }

    #[test]
    fn unanswered_messages_of_the_window_are_censored_and_others_not() {
        use crate::driver::payload::Payload;
        let t0 = Instant::now();
        // 1000 msgs/s on one client; window covers messages 2..5 (intended 2 ms .. 5 ms).
        let schedule = OpenLoopSchedule::new(t0, 1, 1000.0);
        let w = Window {
            start: t0 + Duration::from_millis(2),
            end: t0 + Duration::from_millis(5),
        };
        let p = Payload::new(1, proto::Protocol::Raw, 4);
        let mut client = crate::driver::client::Client::new(0, 8);
        client.wrote(&p, 8, t0); // messages 0 and 1 sent, none answered
        let mut stats = WorkerStats::default();
        let deadline = t0 + Duration::from_millis(100);
        stats.censor_unanswered(&schedule, 0, &client, 7, w, deadline);
        assert_eq!(stats.open_loop.censored, 3, "messages 2, 3, 4");
        assert_eq!(stats.latency.len(), 3);
        assert!(stats.latency.value_at_quantile(0.0) >= 95_000);
    }
}
