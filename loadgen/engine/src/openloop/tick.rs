//! The open-loop timer: one periodic timerfd per worker, armed once, whose ticks fall exactly
//! on the schedule's intended times (whole nanoseconds apart). No timer syscall per message:
//! each tick wakes the worker (its `epoll_wait`, whose own timeout has only millisecond
//! resolution, or its harvesting sleep), and the worker then releases every message due by
//! then as one batch.
//!
//! At high per-worker rates, or with a coarser `--tick`, a tick covers several messages
//! ([`tick_for`]): a message then waits at most one tick, which its send lag shows, and the
//! sends go out in bursts, which the arrival check shows. Fewer ticks cost loadgen fewer
//! wake-ups, the largest part of an open loop's CPU per message.

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{Expiration, TimerFd, TimerSetTimeFlags};

use crate::openloop::schedule::OpenLoopSchedule;

/// Shortest tick: below this, wake-ups cost more than the precision is worth.
pub const MIN_TICK: Duration = Duration::from_micros(10);

/// The tick for messages `interval` apart: the interval itself, or the smallest multiple of it
/// not below `min_tick` (at least [`MIN_TICK`]), so ticks stay on intended times.
pub fn tick_for(interval: Duration, min_tick: Duration) -> Duration {
    let min_tick = min_tick.max(MIN_TICK);
    if interval.is_zero() {
        return min_tick;
    }
    let n = min_tick.as_nanos().div_ceil(interval.as_nanos()).max(1);
    let ns = interval.as_nanos().saturating_mul(n);
    Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
}

/// Ticks fire this long after the intended times they stand for, so the reading of the two
/// clocks can never put a tick just before a message is due (which would cost it a tick).
const GUARD: Duration = Duration::from_micros(2);

/// Where a uniform schedule's ticks fall: `start + k·tick` (each a `GUARD` late).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grid {
    start: Instant,
    tick: Duration,
}

impl Grid {
    /// Ticks `tick` apart from `start`.
    pub fn new(start: Instant, tick: Duration) -> Grid {
        Grid { start, tick }
    }

    /// The first tick that releases a message due at `due`.
    pub fn tick_at(&self, due: Instant) -> Instant {
        let since = due.saturating_duration_since(self.start).as_nanos();
        let k = since.div_ceil(self.tick.as_nanos().max(1));
        let offset = self.tick.as_nanos().saturating_mul(k);
        self.start + Duration::from_nanos(u64::try_from(offset).unwrap_or(u64::MAX)) + GUARD
    }
}

/// Arms `timer` to tick from `start` on the uniform schedule's intended times, at most
/// `min_tick` apart ([`tick_for`]), and returns the ticks' grid. A Poisson schedule is left to
/// one-shot arming by the worker (`None`), as is a timer that could not be armed.
pub fn arm_periodic(
    timer: &TimerFd,
    schedule: &OpenLoopSchedule,
    start: Instant,
    min_tick: Duration,
) -> Option<Grid> {
    if !schedule.is_uniform() {
        return None;
    }
    let tick = tick_for(schedule.mean_interval(), min_tick);
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
    let mono = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).ok()?;
    let at = Duration::from(mono) + first.saturating_duration_since(Instant::now()) + GUARD;
    timer
        .set(
            Expiration::IntervalDelayed(TimeSpec::from_duration(at), TimeSpec::from_duration(tick)),
            TimerSetTimeFlags::TFD_TIMER_ABSTIME,
        )
        .ok()?;
    Some(Grid::new(start, tick))
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
        let us = Duration::from_micros;
        assert_eq!(tick_for(us(40), MIN_TICK), us(40));
        assert_eq!(tick_for(us(3), MIN_TICK), us(12));
        assert_eq!(tick_for(us(10), MIN_TICK), us(10));
        assert_eq!(tick_for(Duration::ZERO, MIN_TICK), MIN_TICK);
        assert_eq!(tick_for(us(20), us(40)), us(40), "--tick 40us: pairs");
        assert_eq!(tick_for(us(20), us(50)), us(60), "never off the grid");
        assert_eq!(tick_for(us(20), us(1)), us(20), "never below MIN_TICK");
        let hour = Duration::from_secs(3600);
        assert_eq!(tick_for(Duration::from_nanos(1), hour), hour, "no overflow");
    }

    #[test]
    fn a_due_message_goes_out_on_the_first_tick_not_before_it() {
        let start = Instant::now();
        let us = Duration::from_micros;
        let grid = Grid::new(start, us(40));
        assert_eq!(grid.tick_at(start), start + GUARD);
        assert_eq!(grid.tick_at(start + us(40)), start + us(40) + GUARD);
        assert_eq!(grid.tick_at(start + us(41)), start + us(80) + GUARD);
        assert_eq!(grid.tick_at(start + us(60)), start + us(80) + GUARD);
    }
}
