//! Worker threads: each multiplexes its share of the clients on one mio (epoll) instance.
//!
//! **How it works.** A worker owns a slice of clients, each a socket plus a [`Client`] state.
//! Sockets are registered once for read and write, edge-triggered; on each event the client is
//! pumped: write what it may send, read and verify what came back, and write again if echoes
//! completed. Connects are non-blocking and paced (`--connect-rate`, and at most
//! [`MAX_PENDING_CONNECTS`] in progress, so a burst never overflows the server's SYN backlog).
//! In open loop a timerfd wakes the worker at the next intended send time with sub-millisecond
//! precision (epoll's own timeout is in milliseconds). Once every client is connected, a worker
//! with a uniform schedule stops waking for echoes and reads them on its ticks (see `harvest.rs`);
//! open-loop echoes are timed by the kernel's receive stamps ([`crate::rx_stamp`]).
//!
//! **What it costs.** Per client: a socket, a [`Client`] (~100 bytes plus one timestamp per
//! pipelined message). Per worker: one 64 KiB scratch buffer shared by every client (payloads
//! are regenerated, never stored), and a few histograms. No allocation per message, no thread
//! per client, no lock on the hot path: timeline figures go to the coordinator once a second.
//!
//! **When it ends.** At warm-up + duration + drain: at the end of the window no new message
//! is started, outstanding echoes get until the drain deadline, and whatever is still
//! unanswered then is counted as lost. A worker that was off the CPU across the deadline first
//! reads what arrived meanwhile (and allows [`STALL_GRACE`]): its own stall is no lost echo.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};

use crate::arrival::{Arrival, GapSample};
use crate::client::{Client, ErrorKind};
use crate::connect::SourceAddrs;
use crate::gate::RampGate;
use crate::payload::Payload;
use crate::rx_stamp::{self, Clocks};
use crate::schedule::OpenLoopSchedule;
use crate::stats::{Tick, Window, WorkerStats};

mod connections;
mod harvest;
mod release;

use harvest::Harvest;

/// Connects in progress per worker at most: keeps bursts under the server's accept backlog.
pub const MAX_PENDING_CONNECTS: usize = 256;
/// How often timeouts are checked: a scan visits every client, so not too often.
const SCAN_EVERY: Duration = Duration::from_millis(100);
/// While draining, how often the worker checks whether every echo is in.
const DRAIN_CHECK_EVERY: Duration = Duration::from_millis(10);
/// Read/write buffer shared by every client of a worker.
const SCRATCH_LEN: usize = 64 * 1024;
const TIMER: Token = Token(usize::MAX);
/// After an interrupt, how long echoes in flight may still arrive.
pub const INTERRUPT_DRAIN: Duration = Duration::from_millis(500);
/// A turn of the event loop this much later than its poll's timeout means the thread was off
/// the CPU (an overloaded machine, a paused VM): far above a turn's own work.
const STALL: Duration = Duration::from_millis(20);
/// After a stall, echoes in flight get at least this long before the worker stops.
const STALL_GRACE: Duration = Duration::from_millis(100);

/// What every worker shares.
#[derive(Debug)]
pub struct Shared {
    /// Where to connect.
    pub target: SocketAddr,
    /// Message generator.
    pub payload: Payload,
    /// Most messages in flight per client.
    pub pipeline: usize,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Reply timeout.
    pub reply_timeout: Duration,
    /// The run started here; timeline intervals are offsets from it.
    pub t0: Instant,
    /// The measured window at its latest (the ramp gate may open it earlier).
    pub window: Window,
    /// Hard end: window end + drain (at the latest; see `window`).
    pub deadline: Instant,
    /// Open loop: messages that fell due in the window may still be started until here
    /// (the middle of the drain; at the latest, see `window`).
    pub backlog_cutoff: Instant,
    /// Opens the measured window once every client is connected.
    pub gate: RampGate,
    /// How open-loop send times are spaced.
    pub arrival: Arrival,
    /// Open loop, uniform: the shortest time between two release ticks.
    pub min_tick: Duration,
    /// Seed of the arrival process (each worker derives its own).
    pub seed: u64,
    /// Ends of the timeline intervals (offsets from `t0`).
    pub interval_ends: Vec<Duration>,
    /// Source address plan.
    pub sources: SourceAddrs,
    /// Set on SIGINT/SIGTERM: end the window now and finish quickly.
    pub interrupted: Arc<AtomicBool>,
}

/// One worker's part of the run.
#[derive(Clone, Debug)]
pub struct WorkerPlan {
    /// Worker number.
    pub index: usize,
    /// Global number of its first client.
    pub first_client: u64,
    /// How many clients it drives.
    pub clients: usize,
    /// Its share of the open-loop rate (messages/s), `None` in closed loop.
    pub rate: Option<f64>,
    /// Its share of the connect rate (connections/s), `None` = unpaced.
    pub connect_rate: Option<f64>,
    /// CPU to pin the thread to.
    pub cpu: Option<usize>,
    /// Open loop: this worker's schedule starts this long after the run, so the workers'
    /// sends interleave instead of going out in bursts of one per worker.
    pub phase: Duration,
}

enum Conn {
    NotStarted,
    Connecting { stream: TcpStream, since: Instant },
    Open { stream: TcpStream },
    Closed,
}

struct Slot {
    client: Client,
    conn: Conn,
    /// Open loop: messages due so far.
    due: u64,
}

struct Worker<'a> {
    shared: &'a Shared,
    plan: &'a WorkerPlan,
    poll: Poll,
    slots: Vec<Slot>,
    scratch: Vec<u8>,
    stats: WorkerStats,
    schedule: Option<OpenLoopSchedule>,
    timer: Option<TimerFd>,
    timer_armed_for: Option<Instant>,
    next_connect: usize,
    pending_connects: usize,
    open: u64,
    next_interval: usize,
    ticks: Sender<Tick>,
    /// The window's end, deadline and backlog cutoff: the shared ones, or earlier after an
    /// interrupt.
    ends: Ends,
    /// The measured window, once the ramp gate opened it.
    window: Option<Window>,
    /// Open loop: clients given messages in this batch, with their first new message.
    batch: Vec<(usize, u64)>,
    /// Whether each client is in `batch` already.
    in_batch: Vec<bool>,
    /// Open loop: waking on timer ticks only, and reading the echoes then.
    harvest: Harvest,
    /// Open loop: control-message space for the kernel's receive stamps.
    control: Vec<u8>,
    /// Open loop: the clock offset that turns receive stamps into `Instant`s.
    clocks: Clocks,
}

/// When a worker stops starting messages and when it stops altogether.
#[derive(Clone, Copy)]
struct Ends {
    window: Instant,
    backlog_cutoff: Instant,
    deadline: Instant,
}

/// Runs one worker to the end and returns its figures.
pub fn run_worker(
    shared: Arc<Shared>,
    plan: WorkerPlan,
    ticks: Sender<Tick>,
) -> io::Result<WorkerStats> {
    // Timers of a normal thread may fire up to 50 µs late (the kernel's default timer slack,
    // there to batch wake-ups); an open loop's sends would inherit that lag. 1 ns asks for
    // wake-ups on time. Failure only costs precision, so it is not fatal.
    let _ = nix::sys::prctl::set_timerslack(1);
    if let Some(cpu) = plan.cpu {
        let mut set = nix::sched::CpuSet::new();
        if set.set(cpu).is_ok() {
            // Pinning is a request: a CPU outside the allowed set is reported, not fatal.
            if let Err(e) = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set) {
                eprintln!(
                    "loadgen: cannot pin worker {} to CPU {cpu}: {e}",
                    plan.index
                );
            }
        }
    }
    let poll = Poll::new()?;
    let (schedule, timer, periodic) = match plan.rate {
        Some(rate) if plan.clients > 0 => {
            let timer = TimerFd::new(ClockId::CLOCK_MONOTONIC, TimerFlags::TFD_NONBLOCK)
                .map_err(io::Error::from)?;
            let fd = timer.as_fd().as_raw_fd();
            poll.registry()
                .register(&mut mio::unix::SourceFd(&fd), TIMER, Interest::READABLE)?;
            let schedule = OpenLoopSchedule::new(shared.t0 + plan.phase, plan.clients, rate);
            let schedule = match shared.arrival {
                Arrival::Uniform => schedule,
                Arrival::Poisson => schedule.poisson(shared.seed ^ (plan.index as u64 + 1)),
            };
            let start = shared.t0 + plan.phase;
            let periodic = crate::tick::arm_periodic(&timer, &schedule, start, shared.min_tick);
            (Some(schedule), Some(timer), periodic)
        }
        _ => (None, None, None),
    };
    let slots = (0..plan.clients)
        .map(|i| Slot {
            client: Client::new(plan.first_client + i as u64, shared.pipeline),
            conn: Conn::NotStarted,
            due: 0,
        })
        .collect();
    let mut worker = Worker {
        shared: &shared,
        plan: &plan,
        poll,
        slots,
        scratch: vec![0; SCRATCH_LEN],
        stats: WorkerStats::default(),
        schedule,
        timer,
        timer_armed_for: None,
        next_connect: 0,
        pending_connects: 0,
        open: 0,
        next_interval: 0,
        ticks,
        ends: Ends {
            window: shared.window.end,
            backlog_cutoff: shared.backlog_cutoff,
            deadline: shared.deadline,
        },
        window: None,
        batch: Vec::new(),
        in_batch: vec![false; plan.clients],
        harvest: Harvest::new(periodic, shared.min_tick),
        control: rx_stamp::control_buffer(),
        clocks: Clocks::now(),
    };
    if let Some(s) = &worker.schedule {
        worker.stats.open_loop.gaps = GapSample::new(s.mean_interval().as_nanos() as f64);
    }
    worker.event_loop()?;
    worker.finish();
    Ok(worker.stats)
}

impl Worker<'_> {
    fn event_loop(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        let mut next_scan = Instant::now();
        let mut cpu_at_start = None;
        let (mut last_top, mut last_wait) = (Instant::now(), Duration::ZERO);
        loop {
            let now = Instant::now();
            // A turn longer than the wait it asked for: the thread was off the CPU (a busy
            // machine, a paused VM) while the clock ran on. Then judge no timeout and end
            // nothing before this turn's poll has read what arrived meanwhile, and give what
            // was written as the thread resumed a short grace past the deadline.
            let late = (now - last_top).saturating_sub(last_wait);
            self.stats.longest_stall = self.stats.longest_stall.max(late);
            last_top = now;
            self.check_interrupt(now);
            if late >= STALL {
                next_scan = next_scan.max(now + Duration::from_millis(1));
                self.ends.deadline = self.ends.deadline.max(now + STALL_GRACE);
            }
            self.poll_gate(now);
            if cpu_at_start.is_none() && self.window.is_some_and(|w| now >= w.start) {
                cpu_at_start = Some(thread_cpu());
                self.stats.open_loop.connected_at_window_start = self.open;
            }
            if now >= self.ends.window && self.stats.busy.is_none() {
                // This thread's CPU time over the window: near 100% means clients waited for
                // loadgen, not for the server.
                let start = cpu_at_start.unwrap_or_default();
                self.stats.busy = Some(thread_cpu().saturating_sub(start));
            }
            if now >= self.ends.deadline {
                // Echoes whose events this loop has not looked at yet are not lost.
                self.read_arrived();
                return Ok(());
            }
            let in_window = now < self.ends.window;
            if in_window {
                self.start_connects(now);
            }
            // Every message due inside the window is released, however late this turn is.
            self.release_due(now);
            self.send_ticks(now);
            if now >= next_scan {
                self.check_timeouts(now);
                self.forget_answered();
                if !in_window && self.all_answered() {
                    return Ok(());
                }
                next_scan = now
                    + if in_window {
                        SCAN_EVERY
                    } else {
                        DRAIN_CHECK_EVERY
                    };
            }
            let wake = self.next_wake(next_scan);
            let (waited, polled) = self.wait(&mut events, now, wake);
            last_wait = waited;
            match polled {
                Ok(()) => {}
                // A signal handler ran (none of ours): just wait again.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            if self.schedule.is_some() && !events.is_empty() {
                self.clocks = Clocks::now();
            }
            for event in events.iter() {
                if event.token() == TIMER {
                    crate::tick::acknowledge(self.timer.as_ref());
                }
                if event.token() != TIMER {
                    // Errors and hang-ups surface through read(), so they count as readable.
                    let readable =
                        event.is_readable() || event.is_read_closed() || event.is_error();
                    self.on_event(event.token().0, readable);
                }
            }
        }
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
        if let (Some(schedule), Some(timer)) = (&self.schedule, &self.timer) {
            let due = schedule.next_due();
            if due >= ends.window && self.timer_armed_for != Some(ends.window) {
                // Nothing more falls due: a periodic timer would only wake the drain.
                let _ = timer.unset();
                self.timer_armed_for = Some(ends.window);
            }
            if due < ends.window && !schedule.is_uniform() && self.timer_armed_for != Some(due) {
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
        wake
    }

    fn send_ticks(&mut self, now: Instant) {
        let s = self.shared;
        while let Some(end) = s.interval_ends.get(self.next_interval) {
            if now < s.t0 + *end {
                break;
            }
            self.emit_tick();
        }
    }

    fn emit_tick(&mut self) {
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

    /// After the deadline: counts what never finished, closes everything, flushes the timeline.
    fn finish(&mut self) {
        self.release_remaining();
        let window = self.current_window();
        for idx in 0..self.slots.len() {
            let slot = &self.slots[idx];
            self.stats.totals.unsent += slot.due.saturating_sub(slot.client.started());
            if let Some(schedule) = &self.schedule {
                self.stats.censor_unanswered(
                    schedule,
                    idx,
                    &slot.client,
                    slot.due,
                    window,
                    self.ends.deadline,
                );
            }
            match slot.conn {
                Conn::Open { .. }
                    if slot.client.in_flight() > 0
                        && slot.client.unfinished_kind() == ErrorKind::ReplyTimeout
                        && !slot
                            .client
                            .overdue(self.ends.deadline, self.shared.reply_timeout) =>
                {
                    // Still within its reply timeout: the run ended first, the server did
                    // not fail. Reported as unfinished (and censored in open loop).
                    self.stats.open_loop.unfinished += slot.client.in_flight() as u64;
                    if let Conn::Open { mut stream } =
                        std::mem::replace(&mut self.slots[idx].conn, Conn::Closed)
                    {
                        let _ = self.poll.registry().deregister(&mut stream);
                        self.open -= 1;
                    }
                }
                Conn::Open { .. } if slot.client.in_flight() > 0 => {
                    let kind = slot.client.unfinished_kind();
                    self.fail(idx, kind);
                }
                Conn::Connecting { .. } => self.fail(idx, ErrorKind::ConnectTimeout),
                _ => {}
            }
        }
        self.stats.totals.connections.source_addrs = self.shared.sources.in_use();
        while self.next_interval < self.shared.interval_ends.len() {
            self.emit_tick();
        }
        // Sockets close when the slots drop.
        self.slots.clear();
    }
}

impl Worker<'_> {
    /// Asks the ramp gate for the window until it is known; then the worker's ends follow it
    /// (never later than they already are, e.g. after an interrupt).
    fn poll_gate(&mut self, now: Instant) {
        if self.window.is_some() {
            return;
        }
        let Some(w) = self.shared.gate.window(now) else {
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

    /// The window to classify messages by: the gate's, or the latest possible one before it
    /// opened (nothing completed before the opening belongs to the window either way).
    fn current_window(&self) -> Window {
        self.window.unwrap_or(self.shared.window)
    }
}

/// CPU time used by the calling thread so far.
fn thread_cpu() -> Duration {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID)
        .map_or(Duration::ZERO, Duration::from)
}
