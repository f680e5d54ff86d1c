//! The start line: the measured window opens only once every client is connected (or has
//! failed for good), at the earliest after the warm-up and at the latest one connect timeout
//! after it. A window that opens while clients are still connecting measures a smaller load
//! than the one asked for, and a client never attempted must not pass unnoticed.
//!
//! With `--start-at` the window opens at that instant whatever the clients do: every shard
//! measures the same stretch of time, and clients not connected by then fail the run.
//!
//! Workers report each client that settled ([`StartLine::settle`]); every party reads the
//! window with [`StartLine::window`], which opens it for good once the last client settled or
//! the bound passed. Two atomics, touched once per connection and read once per loop turn.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::span::Window;
use results_model::config::RunConfig;

const NOT_OPEN: u64 = u64::MAX;

/// Shared by the workers and the coordinator of one run.
#[derive(Debug)]
pub struct StartLine {
    t0: Instant,
    clients: u64,
    warmup: Duration,
    duration: Duration,
    /// The window opens by here whatever the clients do.
    latest_open: Instant,
    settled: AtomicU64,
    /// When the window opened, ns after `t0` ([`NOT_OPEN`] until then).
    opened_ns: AtomicU64,
}

impl StartLine {
    /// The start line of `config.clients` clients of a run started at `t0`.
    pub fn new(t0: Instant, config: &RunConfig) -> Self {
        let opened_ns = if config.start_at.is_some() {
            u64::try_from(config.warmup.as_nanos()).unwrap_or(NOT_OPEN - 1)
        } else {
            NOT_OPEN
        };
        StartLine {
            t0,
            clients: config.clients as u64,
            warmup: config.warmup,
            duration: config.duration,
            latest_open: t0 + config.warmup + ramp_bound(config),
            settled: AtomicU64::new(0),
            opened_ns: AtomicU64::new(opened_ns),
        }
    }

    /// A client connected, or failed for good, at `now`.
    pub fn settle(&self, now: Instant) {
        if self.settled.fetch_add(1, Ordering::AcqRel) + 1 >= self.clients {
            self.open(now);
        }
    }

    fn open(&self, now: Instant) {
        let at = now.saturating_duration_since(self.t0).max(self.warmup);
        let ns = u64::try_from(at.as_nanos()).unwrap_or(NOT_OPEN - 1);
        let _ = self
            .opened_ns
            .compare_exchange(NOT_OPEN, ns, Ordering::AcqRel, Ordering::Acquire);
    }

    /// The measured window, once it is known at `now` (`None` while clients still connect).
    pub fn window(&self, now: Instant) -> Option<Window> {
        if now >= self.latest_open {
            self.open(self.latest_open);
        }
        match self.opened_ns.load(Ordering::Acquire) {
            NOT_OPEN => None,
            ns => {
                let start = self.t0 + Duration::from_nanos(ns);
                Some(Window {
                    start,
                    end: start + self.duration,
                })
            }
        }
    }

    /// When the window will have opened at the latest (for waits before it is known).
    pub fn latest_open(&self) -> Instant {
        self.latest_open
    }
}

/// How long past the warm-up the window may wait for clients: the connect timeout, or nothing
/// with `--start-at` (the window opens at the agreed instant).
fn ramp_bound(config: &RunConfig) -> Duration {
    if config.start_at.is_some() {
        Duration::ZERO
    } else {
        config.connect_timeout
    }
}

/// Rejects a connect pace that cannot connect every client before the window must open.
pub fn check_ramp(config: &RunConfig) -> anyhow::Result<()> {
    let Some(rate) = config.connect_rate else {
        return Ok(());
    };
    let need = config.clients as f64 / rate;
    let bound = (config.warmup + ramp_bound(config)).as_secs_f64();
    if need > bound {
        anyhow::bail!(
            "--connect-rate {rate} needs {need:.3e}s to start {} clients, more than warm-up + \
             connect timeout ({bound:.1}s): the window would open with clients never attempted; \
             raise --connect-rate or --warmup",
            config.clients
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(clients: usize) -> RunConfig {
        let mut c = RunConfig::new("mio", clients);
        c.warmup = Duration::from_secs(1);
        c.duration = Duration::from_secs(2);
        c.connect_timeout = Duration::from_secs(3);
        c
    }

    #[test]
    fn opens_after_warmup_when_every_client_settled_early() {
        let t0 = Instant::now();
        let line = StartLine::new(t0, &config(2));
        assert!(line.window(t0).is_none());
        line.settle(t0 + Duration::from_millis(10));
        assert!(line.window(t0 + Duration::from_millis(20)).is_none());
        line.settle(t0 + Duration::from_millis(30));
        let w = line.window(t0 + Duration::from_millis(40)).unwrap();
        assert_eq!(w.start, t0 + Duration::from_secs(1));
        assert_eq!(w.end, t0 + Duration::from_secs(3));
    }

    #[test]
    fn waits_for_a_slow_ramp_but_no_longer_than_the_connect_timeout() {
        let t0 = Instant::now();
        let line = StartLine::new(t0, &config(2));
        line.settle(t0);
        line.settle(t0 + Duration::from_millis(2500));
        let w = line.window(t0 + Duration::from_secs(3)).unwrap();
        assert_eq!(w.start, t0 + Duration::from_millis(2500));
        let line = StartLine::new(t0, &config(2));
        line.settle(t0);
        assert!(line.window(t0 + Duration::from_millis(3999)).is_none());
        let w = line.window(t0 + Duration::from_secs(5)).unwrap();
        assert_eq!(
            w.start,
            t0 + Duration::from_secs(4),
            "bounded by the timeout"
        );
    }

    #[test]
    fn with_start_at_the_window_opens_after_the_warmup_whatever_the_clients_do() {
        let t0 = Instant::now();
        let mut c = config(2);
        c.start_at = Some(std::time::SystemTime::now());
        let line = StartLine::new(t0, &c);
        let w = line.window(t0).unwrap();
        assert_eq!(w.start, t0 + Duration::from_secs(1));
        assert_eq!(line.latest_open(), w.start);
    }

    #[test]
    fn a_pace_that_cannot_start_every_client_is_rejected() {
        let mut c = config(4);
        c.connect_rate = Some(1e-30);
        assert!(check_ramp(&c).is_err());
        c.connect_rate = Some(100.0);
        assert!(check_ramp(&c).is_ok());
    }
}
