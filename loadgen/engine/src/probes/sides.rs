//! What a run asks of the kernel, for both sides together: the server's (when loadgen started
//! it) and loadgen's own counters, read at the window's edges, and the server's profile,
//! sampled while the window is open.

use results_model::kernel::{FlamegraphInfo, KernelProbes, KernelReport};

use super::kernel::counters::ProcessCounters;
use super::kernel::tracefs::Tracefs;
use super::kernel::window::KernelWindow;
use super::profile::flamegraph;
use super::profile::sampler::Profiler;

/// Both sides' counters and the server's profile (each only when asked for).
pub(crate) struct KernelSides {
    server: Option<KernelWindow>,
    own: Option<KernelWindow>,
    /// The server's pid and its sampler (or why it could not be had).
    profiler: Option<(u32, Result<Profiler, String>)>,
    flamegraph: Option<FlamegraphInfo>,
}

impl KernelSides {
    /// Opens what `probes` asks for on the server `server_pid` and on loadgen, counting from
    /// now: call it before loadgen starts its workers and the clients connect, so that every
    /// thread either side starts for them is counted.
    pub fn open(probes: &KernelProbes, server_pid: Option<u32>) -> Self {
        let (server, own) = if probes.counters {
            let tracefs = Tracefs::find();
            let window = |pid| KernelWindow::new(ProcessCounters::open(pid, &tracefs));
            (server_pid.map(window), Some(window(std::process::id())))
        } else {
            (None, None)
        };
        let profiler = server_pid
            .filter(|_| probes.flamegraph)
            .map(|pid| (pid, Profiler::open(pid)));
        KernelSides {
            server,
            own,
            profiler,
            flamegraph: None,
        }
    }

    /// Reads both sides at the window's start, the server first (the side a late reading
    /// would misattribute), and starts sampling the server.
    pub fn window_started(&mut self) {
        self.server
            .iter_mut()
            .for_each(KernelWindow::window_started);
        self.own.iter_mut().for_each(KernelWindow::window_started);
        if let Some((_, Ok(p))) = &self.profiler {
            p.start();
        }
    }

    /// Stops sampling and reads both sides at the window's end (once).
    pub fn window_ended(&mut self) {
        if let Some((_, Ok(p))) = &self.profiler {
            p.stop();
        }
        self.server.iter_mut().for_each(KernelWindow::window_ended);
        self.own.iter_mut().for_each(KernelWindow::window_ended);
    }

    /// Draws the server's flamegraph, titled `title`: call it while the server still runs
    /// (its symbols are read from its mappings).
    pub fn draw_flamegraph(&mut self, title: &str) {
        self.flamegraph = self.profiler.take().map(|(pid, p)| match p {
            Ok(p) => flamegraph::finish(p, pid, title),
            Err(why) => flamegraph::refused(why),
        });
    }

    /// The server's and loadgen's counters per message for `messages` echoed over
    /// `measured_s`, and the flamegraph; `None` when nothing was asked of the kernel.
    pub fn report(&self, messages: u64, measured_s: f64) -> Option<KernelReport> {
        if self.own.is_none() && self.flamegraph.is_none() {
            return None;
        }
        let side = |w: &Option<KernelWindow>| w.as_ref()?.counters(messages, measured_s);
        Some(KernelReport {
            server: side(&self.server),
            loadgen: side(&self.own),
            flamegraph: self.flamegraph.clone(),
        })
    }
}
