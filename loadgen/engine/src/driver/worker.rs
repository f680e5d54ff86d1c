//! A worker's state: its clients' slots, its poll and open-loop timer, its figures, and the
//! instants it works to. The files beside this one each add one duty to [`Worker`].

use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Interest, Poll, Token};
use nix::sys::timerfd::{ClockId, TimerFd, TimerFlags};
use results_model::open_loop::PaceMode;

use crate::openloop::arrival::{Arrival, GapSample};
use crate::openloop::carry::LagCarry;
use crate::openloop::schedule::OpenLoopSchedule;
use crate::openloop::tick::{self, Grid};
use crate::window::Window;

use super::client::Client;
use super::pacer::Pacer;
use super::rx_stamp::{self, Clocks};
use super::shared::{Shared, WorkerPlan};
use super::stats::{Tick, WorkerStats};

/// Read/write buffer shared by every client of a worker: large enough that streaming takes few
/// system calls per byte, small enough to stay in a core's L2 cache while its bytes are checked.
const SCRATCH_LEN: usize = 256 * 1024;
/// The poll token of the open-loop timer (clients' tokens are their slot numbers).
pub(super) const TIMER: Token = Token(usize::MAX);

/// One client's connection.
pub(super) enum Conn {
    NotStarted,
    Connecting { stream: TcpStream, since: Instant },
    Open { stream: TcpStream },
    Closed,
}

/// One client of the worker: its state and its connection.
pub(super) struct Slot {
    pub client: Client,
    pub conn: Conn,
    /// Open loop: messages due so far.
    pub due: u64,
    /// Open loop: lags to carry over to messages the pipeline holds back.
    pub carry: LagCarry,
    /// Open loop: a message is due that the client could not start (its pipeline is full, or
    /// its socket is), or one is partly written, so the worker must watch for the echo or the
    /// room that frees it.
    pub held: bool,
}

/// When a worker stops starting messages and when it stops altogether.
#[derive(Clone, Copy)]
pub(super) struct Ends {
    pub window: Instant,
    pub backlog_cutoff: Instant,
    pub deadline: Instant,
}

/// One worker thread's state.
pub(super) struct Worker<'a> {
    pub shared: &'a Shared,
    pub plan: &'a WorkerPlan,
    pub poll: Poll,
    pub slots: Vec<Slot>,
    pub scratch: Vec<u8>,
    pub stats: WorkerStats,
    pub schedule: Option<OpenLoopSchedule>,
    pub timer: Option<TimerFd>,
    pub timer_armed_for: Option<Instant>,
    pub next_connect: usize,
    pub pending_connects: usize,
    pub open: u64,
    pub next_interval: usize,
    pub ticks: Sender<Tick>,
    /// The window's end, deadline and backlog cutoff: the shared ones, or earlier after an
    /// interrupt.
    pub ends: Ends,
    /// The measured window, once the start line opened it.
    pub window: Option<Window>,
    /// Open loop: clients given messages in this batch.
    pub batch: Vec<usize>,
    /// Whether each client is in `batch` already.
    pub in_batch: Vec<bool>,
    /// Open loop: waking when a message is due, and reading the echoes then.
    pub pacer: Pacer,
    /// Open loop: clients holding a due message back (see [`Slot::held`]).
    pub held: usize,
    /// Open loop: control-message space for the kernel's receive stamps.
    pub control: Vec<u8>,
    /// Open loop: the clock offset that turns receive stamps into `Instant`s.
    pub clocks: Clocks,
}

/// Sets up the calling thread for `plan`: timers on time, and pinned when asked.
pub(super) fn prepare_thread(plan: &WorkerPlan) {
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
}

/// Open loop: the worker's schedule, its timer registered with `poll`, and the periodic
/// timer's grid (uniform schedules only).
type OpenLoop = (OpenLoopSchedule, TimerFd, Option<Grid>);

/// The open-loop parts of a worker with `plan`'s rate; `None` in closed loop.
fn open_loop(shared: &Shared, plan: &WorkerPlan, poll: &Poll) -> io::Result<Option<OpenLoop>> {
    let Some(rate) = plan.rate.filter(|_| plan.clients > 0) else {
        return Ok(None);
    };
    let timer = TimerFd::new(ClockId::CLOCK_MONOTONIC, TimerFlags::TFD_NONBLOCK)
        .map_err(io::Error::from)?;
    let fd = timer.as_fd().as_raw_fd();
    poll.registry()
        .register(&mut mio::unix::SourceFd(&fd), TIMER, Interest::READABLE)?;
    let start = shared.t0 + plan.phase;
    let schedule = OpenLoopSchedule::new(start, plan.clients, rate);
    let schedule = match shared.arrival {
        Arrival::Uniform => schedule,
        Arrival::Poisson => schedule.poisson(shared.seed ^ (plan.index as u64 + 1)),
    };
    // Batched pacing ticks on its own grid; otherwise the timer serves the ramp and drain.
    let min_tick = shared
        .pacing
        .as_ref()
        .filter(|p| p.mode == PaceMode::Batched)
        .map_or(shared.min_tick, |p| {
            Duration::from_secs_f64(p.tick_us / 1e6)
        });
    let periodic = tick::arm_periodic(&timer, &schedule, start, min_tick);
    Ok(Some((schedule, timer, periodic)))
}

impl<'a> Worker<'a> {
    /// A worker for `plan`, its clients not started yet; sends its timeline ticks to `ticks`.
    pub fn new(shared: &'a Shared, plan: &'a WorkerPlan, ticks: Sender<Tick>) -> io::Result<Self> {
        let poll = Poll::new()?;
        let (schedule, timer, periodic) = match open_loop(shared, plan, &poll)? {
            Some((schedule, timer, periodic)) => (Some(schedule), Some(timer), periodic),
            None => (None, None, None),
        };
        let mut stats = WorkerStats::default();
        if let Some(s) = &schedule {
            stats.open_loop.gaps = GapSample::new(s.mean_interval().as_nanos() as f64);
        }
        let slots = (0..plan.clients)
            .map(|i| Slot {
                client: Client::new(plan.first_client + i as u64, shared.pipeline),
                conn: Conn::NotStarted,
                due: 0,
                carry: LagCarry::default(),
                held: false,
            })
            .collect();
        Ok(Worker {
            shared,
            plan,
            poll,
            slots,
            scratch: vec![0; SCRATCH_LEN],
            stats,
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
            pacer: Pacer::new(shared.pacing.as_ref(), periodic),
            held: 0,
            control: rx_stamp::control_buffer(),
            clocks: Clocks::now(),
        })
    }

    /// The window to classify messages by: the start line's, or the latest possible one before
    /// it opened (nothing completed before the opening belongs to the window either way).
    pub fn current_window(&self) -> Window {
        self.window.unwrap_or(self.shared.window)
    }

    /// The worker's figures, once it has finished.
    pub fn into_stats(self) -> WorkerStats {
        self.stats
    }
}
