//! A worker's event loop: each turn does what fell due (the window's edges, connects, open-loop
//! releases, timeline ticks, timeout scans), then waits for socket events or the next duty.
//!
//! A turn that comes back much later than the wait it asked for means the thread was off the
//! CPU (a busy machine, a paused VM) while the clock ran on; such a stall is measured and never
//! judged against the server (see [`STALL`]).

use std::io;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use mio::Events;
use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{Expiration, TimerSetTimeFlags};

use crate::openloop::{pacing, tick};

use super::pacer::Step;
use super::rx_stamp::Clocks;
use super::stats::Tick;
use super::worker::{Ends, Worker, TIMER};

/// How often timeouts are checked: a scan visits every client, so not too often.
const SCAN_EVERY: Duration = Duration::from_millis(100);
/// While draining, how often the worker checks whether every echo is in.
const DRAIN_CHECK_EVERY: Duration = Duration::from_millis(10);
/// After an interrupt, how long echoes in flight may still arrive.
const INTERRUPT_DRAIN: Duration = Duration::from_millis(500);
/// A turn of the event loop this much later than its poll's timeout means the thread was off
/// the CPU (an overloaded machine, a paused VM): far above a turn's own work.
const STALL: Duration = Duration::from_millis(20);
/// After this many reads without a receive stamp, a worker stops pacing and waits on its
/// sockets again (the first packets after stamping is enabled may come unstamped).
const UNSTAMPED_LIMIT: u64 = 16;
/// After a stall, echoes in flight get at least this long before the worker stops.
const STALL_GRACE: Duration = Duration::from_millis(100);

/// What the loop carries from one turn to the next.
struct Turns {
    /// When timeouts are scanned next.
    next_scan: Instant,
    /// The thread's CPU time when the window opened.
    cpu_at_start: Option<Duration>,
    /// When the last turn began, and how long it meant to wait.
    last_top: Instant,
    last_wait: Duration,
}

impl Worker<'_> {
    /// Runs turns until the deadline, or until every echo is in after the window.
    pub(super) fn event_loop(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        let now = Instant::now();
        let mut turns = Turns {
            next_scan: now,
            cpu_at_start: None,
            last_top: now,
            last_wait: Duration::ZERO,
        };
        loop {
            let now = Instant::now();
            self.begin_turn(&mut turns, now);
            self.watch_start_line(now);
            self.window_edges(&mut turns, now);
            if self.duties(&mut turns, now) {
                return Ok(());
            }
            let wake = self.next_wake(turns.next_scan);
            let (waited, polled) = self.wait(&mut events, now, wake);
            turns.last_wait = waited;
            match polled {
                Ok(()) => {}
                // A signal handler ran (none of ours): just wait again.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            self.dispatch(&events);
        }
    }

    /// Measures how late this turn began and applies an interrupt. A turn longer than the wait
    /// it asked for: the thread was off the CPU while the clock ran on. Then judge no timeout
    /// and end nothing before this turn's poll has read what arrived meanwhile, and give what
    /// was written as the thread resumed a short grace past the deadline.
    fn begin_turn(&mut self, turns: &mut Turns, now: Instant) {
        let late = (now - turns.last_top).saturating_sub(turns.last_wait);
        self.stats.longest_stall = self.stats.longest_stall.max(late);
        turns.last_top = now;
        self.check_interrupt(now);
        if late >= STALL {
            turns.next_scan = turns.next_scan.max(now + Duration::from_millis(1));
            self.ends.deadline = self.ends.deadline.max(now + STALL_GRACE);
        }
    }

    /// At the window's opening, notes the thread's CPU time and the clients connected; at its
    /// end, the CPU time the thread used over it.
    fn window_edges(&mut self, turns: &mut Turns, now: Instant) {
        if turns.cpu_at_start.is_none() && self.window.is_some_and(|w| now >= w.start) {
            turns.cpu_at_start = Some(thread_cpu());
            self.stats.open_loop.connected_at_window_start = self.open;
        }
        if now >= self.ends.window && self.stats.busy.is_none() {
            // This thread's CPU time over the window: near 100% means clients waited for
            // loadgen, not for the server.
            let start = turns.cpu_at_start.unwrap_or_default();
            self.stats.busy = Some(thread_cpu().saturating_sub(start));
        }
    }

    /// Does what fell due by `now`; true when the worker is done.
    fn duties(&mut self, turns: &mut Turns, now: Instant) -> bool {
        if now >= self.ends.deadline {
            // Echoes whose events this loop has not looked at yet are not lost.
            self.read_arrived();
            return true;
        }
        let in_window = now < self.ends.window;
        if in_window {
            self.start_connects(now);
        }
        // Every message due inside the window is released, however late this turn is.
        self.release_due(now);
        self.send_ticks(now);
        if now >= turns.next_scan {
            self.check_timeouts(now);
            self.forget_answered();
            if !in_window && self.all_answered() {
                return true;
            }
            turns.next_scan = now
                + if in_window {
                    SCAN_EVERY
                } else {
                    DRAIN_CHECK_EVERY
                };
        }
        false
    }

    /// Hands the polled events to the timer and the clients.
    fn dispatch(&mut self, events: &Events) {
        if self.schedule.is_some() && !events.is_empty() {
            self.reread_clocks();
        }
        for event in events.iter() {
            if event.token() == TIMER {
                tick::acknowledge(self.timer.as_ref());
            }
            if event.token() != TIMER {
                // Errors and hang-ups surface through read(), so they count as readable.
                let readable = event.is_readable() || event.is_read_closed() || event.is_error();
                self.on_event(event.token().0, readable);
            }
        }
    }

    /// Re-reads the clocks that place receive stamps, counting a step of the realtime clock.
    fn reread_clocks(&mut self) {
        let now = Clocks::now();
        if self.clocks.stepped(&now) {
            self.stats.open_loop.clock_steps += 1;
        }
        self.clocks = now;
    }

    /// After an interrupt the window ends now: nothing new starts, and echoes in flight get
    /// [`INTERRUPT_DRAIN`] (a healthy server answers in far less) before the worker stops.
    fn check_interrupt(&mut self, now: Instant) {
        if !self.shared.interrupted.load(Ordering::Relaxed) {
            return;
        }
        let e = self.ends;
        self.ends = Ends {
            window: e.window.min(now),
            backlog_cutoff: e.backlog_cutoff.min(now),
            deadline: e.deadline.min(now + INTERRUPT_DRAIN),
        };
    }

    /// Asks the start line for the window until it is known; then the worker's ends follow it
    /// (never later than they already are, e.g. after an interrupt).
    fn watch_start_line(&mut self, now: Instant) {
        if self.window.is_some() {
            return;
        }
        let Some(w) = self.shared.start_line.window(now) else {
            return;
        };
        self.window = Some(w);
        let drain = self.shared.deadline - self.shared.window.end;
        let e = self.ends;
        self.ends = Ends {
            window: e.window.min(w.end),
            backlog_cutoff: e.backlog_cutoff.min(w.end + drain / 2),
            deadline: e.deadline.min(w.end + drain),
        };
    }

    /// The earliest moment the loop must act without a socket event.
    fn next_wake(&mut self, next_scan: Instant) -> Instant {
        let s = self.shared;
        let ends = self.ends;
        let mut wake = next_scan.min(ends.deadline);
        if let Some(end) = s.interval_ends.get(self.next_interval) {
            wake = wake.min(s.t0 + *end);
        }
        if let Some(at) = self
            .next_connect_at()
            .filter(|_| Instant::now() < ends.window)
        {
            wake = wake.min(at);
        }
        self.arm_timer();
        wake
    }

    /// Open loop: stops the timer once nothing more falls due, and arms a Poisson schedule's
    /// one-shot timer for its next message (a uniform one ticks periodically on its own).
    fn arm_timer(&mut self) {
        let end = self.ends.window;
        let (Some(schedule), Some(timer)) = (&self.schedule, &self.timer) else {
            return;
        };
        let due = schedule.next_due();
        if due >= end && self.timer_armed_for != Some(end) {
            // Nothing more falls due: a periodic timer would only wake the drain.
            let _ = timer.unset();
            self.timer_armed_for = Some(end);
        }
        let paced = self.pacer.active();
        if due < end && !paced && !schedule.is_uniform() && self.timer_armed_for != Some(due) {
            // Relative to now; a zero expiration would disarm the timer, hence the floor.
            let wait = due
                .saturating_duration_since(Instant::now())
                .max(Duration::from_micros(1));
            let _ = timer.set(
                Expiration::OneShot(TimeSpec::from_duration(wait)),
                TimerSetTimeFlags::empty(),
            );
            self.timer_armed_for = Some(due);
        }
    }

    /// Waits for the turn's events until `wake` at the latest: while pacing, a sleep to the
    /// spin margin, a zero-timeout poll, then a spin to the target (see `pacer.rs`);
    /// otherwise a poll of every event. Returns how long the worker meant to wait (for the
    /// stall check) and the poll's outcome.
    fn wait(
        &mut self,
        events: &mut Events,
        now: Instant,
        wake: Instant,
    ) -> (Duration, io::Result<()>) {
        self.pacer.set(self.may_pace(now), self.timer.as_ref());
        let target = match &self.schedule {
            Some(schedule) if self.pacer.active() => self.pacer.target(schedule.next_due(), wake),
            _ => {
                let wait = wake.saturating_duration_since(now);
                return (wait, self.poll.poll(events, Some(wait)));
            }
        };
        match self.pacer.step(now, target) {
            Step::Sleep(at) if self.held > 0 => (
                at.saturating_duration_since(now),
                self.watch_until(events, now, at),
            ),
            Step::Sleep(at) => {
                pacing::sleep_until(at);
                self.pacer.woke(at, Instant::now());
                let polled = self.poll.poll(events, Some(Duration::ZERO));
                (at.saturating_duration_since(now), polled)
            }
            Step::Poll => (Duration::ZERO, self.poll.poll(events, Some(Duration::ZERO))),
            Step::Spin(at) => {
                pacing::spin_until(at);
                events.clear();
                (at.saturating_duration_since(now), Ok(()))
            }
        }
    }

    /// While a client holds a due message back, a pacing worker waits on its sockets (for the
    /// echo or the room that frees it) as well as on a one-shot timer at `at`, instead of
    /// sleeping through them: the held message then goes out as soon as it may.
    fn watch_until(&mut self, events: &mut Events, now: Instant, at: Instant) -> io::Result<()> {
        if let Some(timer) = &self.timer {
            let wait = at
                .saturating_duration_since(now)
                .max(Duration::from_micros(1));
            let _ = timer.set(
                Expiration::OneShot(TimeSpec::from_duration(wait)),
                TimerSetTimeFlags::empty(),
            );
        }
        // The timer wakes the poll at `at`; the poll's own timeout (whole milliseconds, rounded
        // up) only backs it up.
        let backstop = at.saturating_duration_since(now) + Duration::from_millis(1);
        self.poll.poll(events, Some(backstop))
    }

    /// Whether the worker may pace its sends without watching its sockets: the window is on,
    /// every connect has settled, and echoes carry kernel receive stamps (an unstamped echo
    /// is timed at its read, so reads must then follow arrivals).
    fn may_pace(&self, now: Instant) -> bool {
        now < self.ends.window
            && self.stats.open_loop.unstamped_reads < UNSTAMPED_LIMIT
            && self.next_connect >= self.slots.len()
            && self.pending_connects == 0
            && !self.shared.interrupted.load(Ordering::Relaxed)
    }

    /// Sends the timeline tick of every interval that ended by `now`.
    fn send_ticks(&mut self, now: Instant) {
        let s = self.shared;
        while let Some(end) = s.interval_ends.get(self.next_interval) {
            if now < s.t0 + *end {
                break;
            }
            self.emit_tick();
        }
    }

    /// Sends the figures of the current timeline interval and moves to the next.
    pub(super) fn emit_tick(&mut self) {
        let (hist, msgs, errors) = self.stats.take_interval();
        let _ = self.ticks.send(Tick {
            interval: self.next_interval,
            connected: self.open,
            msgs,
            errors,
            hist,
        });
        self.next_interval += 1;
    }
}

use pacing::thread_cpu;
