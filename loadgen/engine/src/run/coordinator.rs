//! The coordinator of a run: while the workers drive the clients, it folds their ticks into the
//! timeline and samples `/proc` once a second and at the measured window's edges (usage, and
//! the per-thread counters of the cost per message), until every
//! worker has finished (they end by the deadline on their own).

use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::driver::stats::Tick;
use crate::driver::Shared;
use crate::probes::cost::CostWindow;
use crate::probes::proc::{ProcReader, Sample, TaskSampler};
use crate::probes::run_queue::RunQueueWait;
use crate::probes::sides::KernelSides;
use crate::probes::usage::Usage;
use crate::window::start_at;
use crate::window::start_line::StartLine;
use crate::window::Window;

use super::progress::{Reporter, Timeline};

/// The processes a run samples: loadgen itself and, when it started one, the server.
pub(crate) struct Probes {
    /// loadgen itself.
    pub own: ProcReader,
    /// The child server, if any.
    pub server: Option<ProcReader>,
    /// loadgen's resident memory before the first connection, bytes.
    pub rss_before: u64,
    /// The server's open fds before the first connection.
    pub server_fds_idle: Option<u64>,
    /// The server's process id, for its per-thread counters.
    pub server_pid: Option<u32>,
}

impl Probes {
    /// Probes loadgen and the server `server_pid`, taking the idle readings now.
    pub fn new(server_pid: Option<u32>) -> Self {
        let own = ProcReader::current();
        let server = server_pid.map(ProcReader::new);
        Probes {
            rss_before: own.sample().map_or(0, |s| s.rss_bytes),
            server_fds_idle: server.as_ref().and_then(|p| p.sample()).map(|s| s.fds),
            own,
            server,
            server_pid,
        }
    }
}

/// What the coordinator gathered by the time the last worker finished.
pub(crate) struct Coordinated {
    /// The per-second points, complete.
    pub timeline: Timeline,
    /// loadgen's resource use.
    pub own_usage: Usage,
    /// The server's resource use.
    pub server_usage: Usage,
    /// loadgen's larger RSS at the window's two edges, bytes.
    pub rss_clients: u64,
    /// When SIGINT/SIGTERM arrived, if it did.
    pub interrupted_at: Option<Instant>,
    /// loadgen's per-thread counters at the window's edges.
    pub own_cost: CostWindow,
    /// The server's per-thread counters at the window's edges.
    pub server_cost: Option<CostWindow>,
    /// Both sides' kernel counters, read at the window's edges.
    pub kernel: KernelSides,
    /// The measured window, as the start line opened it.
    pub window: Window,
    /// The longest run-queue wait of a loadgen thread over the window, seconds.
    pub run_queue_wait_s: f64,
    /// The wall-clock time the window opened, ns since the Unix epoch (if it did).
    pub window_start_unix_ns: Option<u64>,
    /// The wall-clock time the window closed, ns since the Unix epoch.
    pub window_end_unix_ns: Option<u64>,
}

/// The sampling state: which window edges were sampled, and when the next periodic sample is due.
struct Sampler<'a> {
    probes: &'a Probes,
    start_line: &'a StartLine,
    /// The window: the latest it can be until the start line opens it.
    window: Window,
    /// Whether the start line opened the window (so `window` is final).
    opened: bool,
    run_queue: (Option<RunQueueWait>, Option<RunQueueWait>),
    own_usage: Usage,
    server_usage: Usage,
    rss_clients: u64,
    interrupted_at: Option<Instant>,
    next_sample: Instant,
    window_started: bool,
    window_ended: bool,
    own_cost: CostWindow,
    server_cost: Option<CostWindow>,
    kernel: KernelSides,
    window_start_unix_ns: Option<u64>,
    window_end_unix_ns: Option<u64>,
}

impl Sampler<'_> {
    /// Samples both processes into their usage with `fold`; returns loadgen's own sample.
    fn sample(&mut self, fold: fn(&mut Usage, Sample)) -> Option<Sample> {
        if let Some(p) = &self.probes.server {
            sample_into(p, &mut self.server_usage, fold);
        }
        sample_into(&self.probes.own, &mut self.own_usage, fold)
    }

    /// Takes whichever samples fell due by `now`.
    fn due(&mut self, now: Instant) {
        if !self.opened {
            if let Some(w) = self.start_line.window(now) {
                self.window = w;
                self.opened = true;
            }
        }
        if !self.window_started && now >= self.window.start {
            self.window_started = true;
            self.cost_edge(CostWindow::window_started);
            self.window_start_unix_ns = Some(start_at::unix_ns_at(self.window.start));
            self.run_queue.0 = Some(RunQueueWait::sample());
            let s = self.sample(Usage::window_started);
            self.rss_clients = self.rss_clients.max(s.map_or(0, |s| s.rss_bytes));
        }
        if !self.window_ended && (now >= self.window.end || self.interrupted_at.is_some()) {
            self.close_window();
        }
        if now >= self.next_sample {
            self.next_sample += Duration::from_secs(1);
            self.sample(Usage::observe);
        }
    }

    /// Takes the sample of the window's end (once).
    fn close_window(&mut self) {
        if !self.window_ended {
            self.window_ended = true;
            self.cost_edge(CostWindow::window_ended);
            let end = self
                .interrupted_at
                .map_or(self.window.end, |t| t.min(self.window.end));
            self.window_end_unix_ns = Some(start_at::unix_ns_at(end));
            self.run_queue.1 = Some(RunQueueWait::sample());
            let s = self.sample(Usage::window_ended);
            self.rss_clients = self.rss_clients.max(s.map_or(0, |s| s.rss_bytes));
        }
    }

    /// Samples both sides' per-thread counters at a window edge, server first: the server's
    /// threads are the ones a late sample would misattribute.
    fn cost_edge(&mut self, edge: fn(&mut CostWindow)) {
        if let Some(c) = &mut self.server_cost {
            edge(c);
        }
        edge(&mut self.own_cost);
        if self.window_ended {
            self.kernel.window_ended();
        } else {
            self.kernel.window_started();
        }
    }

    /// When the next sample falls due.
    fn wake(&self) -> Instant {
        let mut wake = self.next_sample;
        if !self.window_started {
            wake = wake.min(self.window.start);
        }
        if !self.window_ended {
            wake = wake.min(self.window.end);
        }
        if !self.opened {
            // Clients still connecting: look again soon for the window's opening.
            wake = wake.min(Instant::now() + Duration::from_millis(5));
        }
        wake
    }
}

/// Runs the coordinator until every worker has dropped its end of `ticks`.
pub(crate) fn coordinate(
    shared: &Shared,
    probes: &Probes,
    kernel: KernelSides,
    ticks: mpsc::Receiver<Tick>,
    mut timeline: Timeline,
    mut reporter: Reporter,
) -> Coordinated {
    let mut sampler = Sampler {
        probes,
        start_line: &shared.start_line,
        window: shared.window,
        opened: false,
        run_queue: (None, None),
        next_sample: shared.t0,
        window_started: false,
        window_ended: false,
        window_start_unix_ns: None,
        window_end_unix_ns: None,
        own_usage: Usage::default(),
        server_usage: Usage::default(),
        rss_clients: 0,
        interrupted_at: None,
        own_cost: CostWindow::new(TaskSampler::current()),
        server_cost: probes
            .server_pid
            .map(|pid| CostWindow::new(TaskSampler::new(pid))),
        kernel,
    };
    loop {
        let now = Instant::now();
        if sampler.interrupted_at.is_none() && shared.interrupted.load(Ordering::Relaxed) {
            sampler.interrupted_at = Some(now);
        }
        sampler.due(now);
        if sampler.window_ended {
            shared.end_read.store(true, Ordering::Release);
        }
        let wait = sampler.wake().saturating_duration_since(Instant::now());
        match ticks.recv_timeout(wait) {
            Ok(tick) => {
                let new = timeline.add(tick);
                let points = timeline.points();
                for p in &points[points.len() - new..] {
                    reporter.point(p);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    reporter.finish();
    sampler.due(Instant::now());
    sampler.close_window();
    let run_queue_wait_s = match &sampler.run_queue {
        (Some(a), Some(b)) => a.longest_since(b).as_secs_f64(),
        _ => 0.0,
    };
    Coordinated {
        window: sampler.window,
        run_queue_wait_s,
        timeline,
        own_usage: sampler.own_usage,
        server_usage: sampler.server_usage,
        rss_clients: sampler.rss_clients,
        interrupted_at: sampler.interrupted_at,
        own_cost: sampler.own_cost,
        server_cost: sampler.server_cost,
        kernel: sampler.kernel,
        window_start_unix_ns: sampler.window_start_unix_ns,
        window_end_unix_ns: sampler.window_end_unix_ns,
    }
}

/// Reads `reader` and folds the sample into `usage` with `fold`.
fn sample_into(
    reader: &ProcReader,
    usage: &mut Usage,
    fold: fn(&mut Usage, Sample),
) -> Option<Sample> {
    let s = reader.sample()?;
    fold(usage, s);
    Some(s)
}
