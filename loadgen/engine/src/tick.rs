//! The open-loop timer: one periodic timerfd per worker, armed once, whose ticks fall exactly
//! on the schedule's intended times (whole nanoseconds apart). No timer syscall per message:
//! each tick wakes the worker's `epoll_wait` (whose own timeout has only millisecond
//! resolution), and the worker then releases every message due by then as one batch.
//!
//! At high per-worker rates a tick covers several messages ([`MIN_TICK`]): a message then
//! waits at most one tick, which its send lag shows.

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{Expiration, TimerFd, TimerSetTimeFlags};

use crate::schedule::OpenLoopSchedule;

/// Shortest tick: below this, wake-ups cost more than the precision is worth.
pub const MIN_TICK: Duration = Duration::from_micros(10);

/// The tick for messages `interval` apart: the interval itself, or the smallest multiple of it
/// not below [`MIN_TICK`], so ticks stay on intended times.
pub fn tick_for(interval: Duration) -> Duration {
    if interval.is_zero() {
        return MIN_TICK;
    }
    let n = MIN_TICK.as_nanos().div_ceil(interval.as_nanos()).max(1);
    interval * n as u32
}

/// Ticks fire this long after the intended times they stand for, so the reading of the two
/// clocks can never put a tick just before a message is due (which would cost it a tick).
const GUARD: Duration = Duration::from_micros(2);

/// Arms `timer` to tick from `start` on the uniform schedule's intended times; a Poisson
/// schedule is left to one-shot arming by the worker.
pub fn arm_periodic(timer: &TimerFd, schedule: &OpenLoopSchedule, start: Instant) {
    if !schedule.is_uniform() {
        return;
    }
    let tick = tick_for(schedule.mean_interval());
    // The first tick on the schedule's grid not in the past: a worker that started after
    // `start` must keep the grid, or every tick would fall just before its message.
    let now = Instant::now();
    let first = if now <= start {
        start
    } else {
        let behind = (now - start).as_nanos().div_ceil(tick.as_nanos());
        start + tick * u32::try_from(behind).unwrap_or(u32::MAX)
    };
    // An absolute expiration: `Instant` is CLOCK_MONOTONIC, read next to the same clock.
    let Ok(mono) = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC) else {
        return;
    };
    let at = Duration::from(mono) + first.saturating_duration_since(Instant::now()) + GUARD;
    let _ = timer.set(
        Expiration::IntervalDelayed(TimeSpec::from_duration(at), TimeSpec::from_duration(tick)),
        TimerSetTimeFlags::TFD_TIMER_ABSTIME,
    );
}

/// Reads the expiration count of a fired timer: the edge-triggered poll reports a periodic
/// timer again only once its count was read (one `read` per tick, not per message).
pub fn acknowledge(timer: Option<&TimerFd>) {
    if let Some(timer) = timer {
        let mut buf = [0u8; 8];
        // Non-blocking: EAGAIN (nothing pending) is as good as a read.
        let _ = nix::unistd::read(timer.as_fd(), &mut buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_whole_multiples_of_the_interval() {
        assert_eq!(
            tick_for(Duration::from_micros(40)),
            Duration::from_micros(40)
        );
        assert_eq!(
            tick_for(Duration::from_micros(3)),
            Duration::from_micros(12)
        );
        assert_eq!(
            tick_for(Duration::from_micros(10)),
            Duration::from_micros(10)
        );
        assert_eq!(tick_for(Duration::ZERO), MIN_TICK);
    }
}
