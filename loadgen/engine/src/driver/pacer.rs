//! The open loop's wait between messages, as [`crate::openloop::pacing`] chose it.
//!
//! **Why.** Woken for every echo as well as every message, a worker sleeps and wakes about
//! twice per message, and on a virtual machine a wake-up costs more than the message itself.
//! Echoes need not wake it: the kernel stamps each packet on arrival
//! ([`super::rx_stamp`]), so an echo read later keeps its arrival time.
//!
//! **How.** While pacing, the worker sleeps until the spin margin before its next wake-up target
//! (the next message due, or in batched mode the tick that releases it), then collects the
//! socket events that queued meanwhile with a zero-timeout poll, and spins the rest of the way:
//! busy-polling its sockets while more than [`POLL_SPIN`] remains, then on the clock alone, so
//! no read stands between the due time and the write. The periodic timerfd is stopped
//! meanwhile. The worker paces only while the window is on, every connect has settled and no
//! interrupt came; otherwise (the ramp, the drain, closed loop) it waits on all its events. A
//! sleep never runs past the loop's own next duty (scan, timeline tick, deadline).
//!
//! While a client holds a due message back (its pipeline or its socket is full), the worker
//! waits on its sockets and a one-shot timer instead of sleeping, so the held message goes out
//! as soon as the echo or the room that frees it arrives.

use std::time::{Duration, Instant};

use nix::sys::timerfd::TimerFd;
use results_model::open_loop::{PaceMode, Pacing};

use crate::openloop::pacing::MAX_MARGIN;
use crate::openloop::tick::Grid;

/// While more than this remains before the target, the spin polls the sockets between
/// checks of the clock; closer than this it only watches the clock.
pub(super) const POLL_SPIN: Duration = Duration::from_micros(5);

/// What the worker does next while pacing.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// Sleep until this instant, then poll the sockets without waiting.
    Sleep(Instant),
    /// Poll the sockets without waiting (the target is near, but not this near).
    Poll,
    /// Spin on the clock until the target, then act: no read in between.
    Spin(Instant),
}

/// Whether the worker is pacing, and how.
#[derive(Debug)]
pub(super) struct Pacer {
    /// Batched: the ticks' grid. Precise: `None` (every message is its own target).
    grid: Option<Grid>,
    /// How long before its target the worker stops sleeping.
    margin: Duration,
    /// Whether the run paces at all (open loop with a pacing chosen).
    allowed: bool,
    /// Pacing now.
    active: bool,
    /// Whether the margin follows the lateness of recent sleeps (no: `--no-spin`).
    adapt: bool,
    /// How late the latest sleeps ended, to keep `margin` at their 99th percentile.
    recent: Vec<Duration>,
    /// The margin never exceeds 80% of the time between wake-ups: the worker must keep
    /// sleeping to keep measuring (a margin as long as the interval would spin all the time).
    most: Duration,
}

/// Sleeps whose lateness sets the margin, and the margin's bounds.
const RECENT: usize = 128;
const MIN_MARGIN: Duration = Duration::from_micros(2);

impl Pacer {
    /// A worker's pacer for `pacing` (`None`: closed loop); batched ticks fall on `grid`.
    pub fn new(pacing: Option<&Pacing>, grid: Option<Grid>) -> Pacer {
        let batched = pacing.is_some_and(|p| p.mode == PaceMode::Batched);
        Pacer {
            grid: grid.filter(|_| batched),
            margin: pacing.map_or(Duration::ZERO, |p| Duration::from_secs_f64(p.spin_us / 1e6)),
            allowed: pacing.is_some() && (!batched || grid.is_some()),
            active: false,
            adapt: pacing.is_some_and(|p| p.spin_us > 0.0),
            recent: Vec::with_capacity(RECENT),
            most: pacing.map_or(MAX_MARGIN, |p| {
                MAX_MARGIN.min(Duration::from_secs_f64(p.tick_us * 0.8 / 1e6))
            }),
        }
    }

    /// A sleep meant to end at `at` ended at `now`. A sleep later than the margin raises it at
    /// once to that lateness (+2 µs): late wake-ups come in spells (another thread on the CPU,
    /// a busy host), and the next sleeps of a spell would otherwise be late too. Every
    /// [`RECENT`] sleeps the margin comes back down to their second-largest lateness (+2 µs),
    /// so the spin follows the machine's timer as it is now instead of as calibrated.
    pub fn woke(&mut self, at: Instant, now: Instant) {
        if !self.adapt {
            return;
        }
        let late = now.saturating_duration_since(at);
        self.recent.push(late);
        if late + MIN_MARGIN > self.margin {
            self.margin = (late + MIN_MARGIN).min(self.most.max(MIN_MARGIN));
        }
        if self.recent.len() == RECENT {
            self.recent.sort_unstable();
            // The second latest of 128 (about the 99.2nd percentile): a margin at the 99th
            // would leave the p99 send lag right at its edge.
            let high = self.recent[RECENT - 2];
            self.margin = (high + MIN_MARGIN).clamp(MIN_MARGIN, self.most.max(MIN_MARGIN));
            self.recent.clear();
        }
    }

    /// Whether pacing is on.
    pub fn active(&self) -> bool {
        self.active
    }

    /// Turns pacing on when `wanted` and allowed (stopping the periodic `timer`, whose ticks
    /// the sleep replaces), or off. Once off it stays off: it ends with the window.
    pub fn set(&mut self, wanted: bool, timer: Option<&TimerFd>) {
        if wanted && !self.active && self.allowed {
            if let Some(timer) = timer {
                let _ = timer.unset();
            }
            self.active = true;
        } else if !wanted && self.active {
            self.active = false;
            self.allowed = false;
        }
    }

    /// The instant the worker must act for the message due at `due`: that instant (precise) or
    /// the tick that releases it (batched); never after the loop's next duty `wake`.
    pub fn target(&self, due: Instant, wake: Instant) -> Instant {
        match self.grid {
            Some(grid) => grid.tick_at(due).min(wake),
            None => due.min(wake),
        }
    }

    /// What to do at `now` to act at `target`.
    pub fn step(&self, now: Instant, target: Instant) -> Step {
        let left = target.saturating_duration_since(now);
        if left > self.margin {
            Step::Sleep(target - self.margin)
        } else if left > POLL_SPIN {
            Step::Poll
        } else {
            Step::Spin(target)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pacing(mode: PaceMode, spin_us: f64) -> Pacing {
        Pacing {
            mode,
            spin_us,
            tick_us: 1000.0,
            ..Pacing::default()
        }
    }

    #[test]
    fn precise_sleeps_to_the_margin_then_polls_then_spins_to_the_due_time() {
        let t = Instant::now();
        let us = Duration::from_micros;
        let p = Pacer::new(Some(&pacing(PaceMode::Precise, 30.0)), None);
        let due = p.target(t + us(1000), t + us(5000));
        assert_eq!(due, t + us(1000), "precise: the message's own due time");
        assert_eq!(p.step(t, due), Step::Sleep(t + us(970)));
        assert_eq!(p.step(t + us(975), due), Step::Poll);
        assert_eq!(p.step(t + us(996), due), Step::Spin(due));
        assert_eq!(
            p.step(t + us(1200), due),
            Step::Spin(due),
            "late: act at once"
        );
        assert_eq!(
            p.target(t + us(1000), t + us(500)),
            t + us(500),
            "a duty first"
        );
    }

    #[test]
    fn batched_acts_on_the_releasing_tick() {
        let t = Instant::now();
        let us = Duration::from_micros;
        let grid = Grid::new(t, us(40));
        let p = Pacer::new(Some(&pacing(PaceMode::Batched, 10.0)), Some(grid));
        let at = p.target(t + us(50), t + us(10_000));
        assert_eq!(at, grid.tick_at(t + us(50)));
        assert!(at >= t + us(80) && at < t + us(90), "the 80 µs tick");
    }

    #[test]
    fn the_margin_follows_the_lateness_of_recent_sleeps() {
        let t = Instant::now();
        let us = Duration::from_micros;
        let mut p = Pacer::new(Some(&pacing(PaceMode::Precise, 100.0)), None);
        for i in 0..RECENT as u64 {
            // Mostly 10 µs late, two of them 30 µs.
            let late = if i % 100 == 0 { 30 } else { 10 };
            p.woke(t, t + us(late));
        }
        assert_eq!(p.margin, us(32), "second-largest lateness + 2 µs");
        p.woke(t, t + us(60));
        assert_eq!(
            p.margin,
            us(62),
            "a sleep later than the margin raises it at once"
        );
        for _ in 1..RECENT {
            p.woke(t, t + us(10));
        }
        assert_eq!(
            p.margin,
            us(12),
            "the spell is over: back to the second-largest + 2 µs"
        );
        for _ in 0..RECENT {
            p.woke(t, t + us(5_000));
        }
        assert_eq!(p.margin, MAX_MARGIN);
        let mut fast = Pacer::new(
            Some(&Pacing {
                tick_us: 50.0,
                ..pacing(PaceMode::Precise, 20.0)
            }),
            None,
        );
        for _ in 0..RECENT {
            fast.woke(t, t + us(5_000));
        }
        assert_eq!(fast.margin, us(40), "at most 80% of the 50 µs interval");
    }

    #[test]
    fn closed_loop_never_paces_and_an_ended_window_stays_off() {
        let mut closed = Pacer::new(None, None);
        closed.set(true, None);
        assert!(!closed.active());
        let mut p = Pacer::new(Some(&pacing(PaceMode::Precise, 10.0)), None);
        p.set(true, None);
        assert!(p.active());
        p.set(false, None);
        p.set(true, None);
        assert!(!p.active(), "off for good once the window ended");
    }
}
