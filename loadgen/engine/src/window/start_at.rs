//! `--start-at`: opening the measured window at an agreed wall-clock instant, so shards on
//! several hosts measure the same stretch of time; and reading the wall clock at the window's
//! edges, which every result records.
//!
//! The run's own clock is monotonic ([`Instant`]). A wall-clock time is turned into an instant
//! once, from a pair of readings taken together; the run then starts (connects, warms up) at
//! `start_at - warmup` and its window opens at `start_at`. The edges are recorded from the
//! system clock read when the coordinator sees each edge pass, less the time since the edge, so
//! a late wake-up does not shift them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::bail;

/// Longest single sleep while waiting for the start, so an interrupt is seen promptly.
const WAIT_STEP: Duration = Duration::from_millis(100);

/// How long to wait from `now` before the run starts (connects) so that its window opens at
/// `start_at`, after `warmup`. Refuses a `start_at` already past, or too close to leave the
/// warm-up.
pub fn wait_before_start(
    start_at: SystemTime,
    warmup: Duration,
    now: SystemTime,
) -> anyhow::Result<Duration> {
    let stamp = |t: SystemTime| humantime::format_rfc3339_millis(t).to_string();
    let Ok(lead) = start_at.duration_since(now) else {
        bail!(
            "--start-at {} is already past (the clock reads {}): give a time in the future",
            stamp(start_at),
            stamp(now)
        );
    };
    let Some(wait) = lead.checked_sub(warmup) else {
        bail!(
            "--start-at {} is only {} away, less than the warm-up ({}) in which the clients \
             connect: give a later time or a shorter --warmup",
            stamp(start_at),
            humantime::format_duration(round_ms(lead)),
            humantime::format_duration(warmup)
        );
    };
    Ok(wait)
}

/// The run's start instant for `start_at` (`None`: now), having waited for it. Returns
/// `Ok(None)` when interrupted while waiting.
pub fn start_instant(
    start_at: Option<SystemTime>,
    warmup: Duration,
    interrupted: &AtomicBool,
) -> anyhow::Result<Option<Instant>> {
    let Some(start_at) = start_at else {
        return Ok(Some(Instant::now()));
    };
    let (now, wall) = (Instant::now(), SystemTime::now());
    let t0 = now + wait_before_start(start_at, warmup, wall)?;
    loop {
        if interrupted.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let left = t0.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(Some(t0));
        }
        std::thread::sleep(left.min(WAIT_STEP));
    }
}

/// The wall-clock time of `edge` (an instant at or before now), nanoseconds since the Unix
/// epoch: the system clock read now, less the time elapsed since `edge`.
pub fn unix_ns_at(edge: Instant) -> u64 {
    let (now, wall) = (Instant::now(), SystemTime::now());
    let at = wall - now.saturating_duration_since(edge);
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Message for a window that opened before every client was connected.
pub fn not_connected_warning(connected: u64, clients: usize) -> Option<String> {
    (connected < clients as u64).then(|| {
        format!(
            "only {connected} of {clients} clients were connected when the window opened at \
             --start-at: the warm-up was too short to connect them (raise --warmup or \
             --connect-rate), so this shard did not offer its share of the load"
        )
    })
}

fn round_ms(d: Duration) -> Duration {
    Duration::from_millis(d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> SystemTime {
        humantime::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn waits_so_the_window_opens_at_start_at() {
        let now = at("2026-01-31T12:00:00Z");
        let wait =
            wait_before_start(at("2026-01-31T12:00:05.5Z"), Duration::from_secs(2), now).unwrap();
        assert_eq!(wait, Duration::from_millis(3500));
    }

    #[test]
    fn a_past_start_is_refused() {
        let now = at("2026-01-31T12:00:00Z");
        let err = wait_before_start(at("2026-01-31T11:59:59Z"), Duration::ZERO, now)
            .unwrap_err()
            .to_string();
        assert!(err.contains("already past"), "{err}");
        assert!(err.contains("2026-01-31T11:59:59.000Z"), "{err}");
    }

    #[test]
    fn a_start_inside_the_warmup_is_refused() {
        let now = at("2026-01-31T12:00:00Z");
        let err = wait_before_start(at("2026-01-31T12:00:01Z"), Duration::from_secs(2), now)
            .unwrap_err()
            .to_string();
        assert!(err.contains("only 1s away"), "{err}");
        assert!(err.contains("shorter --warmup"), "{err}");
    }

    #[test]
    fn an_edge_reads_no_later_than_the_wall_clock() {
        let edge = Instant::now();
        let ns = unix_ns_at(edge);
        let after = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        assert!(u128::from(ns) <= after);
        assert!(ns > 1_700_000_000_000_000_000, "{ns} is after 2023");
    }

    #[test]
    fn late_clients_are_reported() {
        assert_eq!(not_connected_warning(10, 10), None);
        let w = not_connected_warning(7, 10).unwrap();
        assert!(w.contains("only 7 of 10"), "{w}");
    }
}
