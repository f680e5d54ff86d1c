//! Open loop at speed: the worker wakes only on its ticks and reads the echoes then.
//!
//! **Why.** Woken for every echo as well as every tick, a worker sending 50k msgs/s sleeps and
//! wakes about once per message, and on a virtual machine a wake-up costs more than the
//! message itself. Echoes need not wake it: the kernel stamps each packet on arrival
//! ([`super::rx_stamp`]), so an echo read a tick later keeps its arrival time.
//!
//! **How.** While harvesting, the worker sleeps (`nanosleep`, with the thread's timer slack
//! at 1 ns) until the tick that releases its next due message, then collects the socket
//! events that queued meanwhile with a zero-timeout poll of its epoll. The periodic timerfd is
//! stopped meanwhile: one timer per tick, not two. The worker harvests only when the
//! schedule is uniform with ticks at most [`MAX_TICK`] apart (or as `--tick` asked), every
//! connect has settled and the window is on. Otherwise (the ramp, the drain, Poisson
//! schedules, closed loop) it waits on all its events. A sleep never exceeds the loop's own
//! next duty (scan, timeline tick, deadline), so nothing the loop does on time is delayed.
//!
//! **What it costs.** A send held back by the pipeline limit waits for the tick after its
//! echo arrived, not for the echo itself: at most one tick more send lag, which is measured.
//!
//! This file holds the policy ([`Harvest`]); the worker's wait that follows it is in
//! `event_loop.rs`.

use std::time::{Duration, Instant};

use nix::sys::timerfd::TimerFd;

use crate::openloop::tick::Grid;

/// Harvest only when ticks are at most this far apart (or twice the `--tick` asked for): a
/// send held by the pipeline limit waits up to one tick longer.
const MAX_TICK: Duration = Duration::from_micros(100);

/// Whether the worker is harvesting on ticks, and whether it may.
#[derive(Debug)]
pub(super) struct Harvest {
    /// The ticks' grid, when the schedule allows harvesting at all.
    grid: Option<Grid>,
    /// Harvesting now.
    active: bool,
}

impl Harvest {
    /// A worker whose periodic timer ticks on `grid` (`None`: no periodic timer), asked for
    /// ticks at least `min_tick` apart.
    pub fn new(grid: Option<Grid>, min_tick: Duration) -> Harvest {
        let longest = MAX_TICK.max(min_tick * 2);
        Harvest {
            grid: grid.filter(|g| g.tick() <= longest),
            active: false,
        }
    }

    /// Whether harvesting is on.
    pub fn active(&self) -> bool {
        self.active
    }

    /// Turns harvesting on when `wanted` and allowed (stopping the periodic `timer`, whose
    /// ticks the sleep replaces), or off. Once off it stays off: it ends with the window.
    pub fn set(&mut self, wanted: bool, timer: Option<&TimerFd>) {
        if wanted && !self.active && self.grid.is_some() {
            if let Some(timer) = timer {
                let _ = timer.unset();
            }
            self.active = true;
        } else if !wanted && self.active {
            self.active = false;
            self.grid = None;
        }
    }

    /// When a harvesting worker wakes: the tick that releases the message due at `due`, or the
    /// loop's next duty `wake` if that is sooner.
    pub fn wake_at(&self, due: Instant, wake: Instant) -> Instant {
        match self.grid {
            Some(grid) => grid.tick_at(due).min(wake),
            None => wake,
        }
    }

    /// Sleeps until `at` (returns at once if that has passed).
    pub fn sleep_until(at: Instant) {
        let now = Instant::now();
        if at > now {
            std::thread::sleep(at - now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openloop::tick::MIN_TICK;

    #[test]
    fn it_wakes_on_the_releasing_tick_unless_a_duty_comes_first() {
        let start = Instant::now();
        let us = Duration::from_micros;
        let h = Harvest::new(Some(Grid::new(start, us(40))), MIN_TICK);
        let far = start + us(10_000);
        let at = h.wake_at(start + us(50), far);
        assert!(
            at >= start + us(80) && at < start + us(90),
            "the 80 µs tick"
        );
        assert_eq!(h.wake_at(start + us(50), start + us(60)), start + us(60));
    }

    #[test]
    fn a_coarse_tick_asked_for_harvests() {
        let ms = Duration::from_millis(1);
        let mut h = Harvest::new(Some(Grid::new(Instant::now(), ms)), ms);
        h.set(true, None);
        assert!(h.active());
    }

    #[test]
    fn coarse_ticks_and_ended_windows_do_not_harvest() {
        let start = Instant::now();
        let mut coarse = Harvest::new(Some(Grid::new(start, MAX_TICK * 2)), MIN_TICK);
        coarse.set(true, None);
        assert!(!coarse.active());
        let mut h = Harvest::new(Some(Grid::new(start, MAX_TICK)), MIN_TICK);
        h.set(true, None);
        assert!(h.active());
        h.set(false, None);
        h.set(true, None);
        assert!(!h.active(), "off for good once the window ended");
    }
}
