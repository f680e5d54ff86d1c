//! The kernel counters of both sides of a run, the server (when loadgen started it) and
//! loadgen itself, read together at the window's edges.

use results_model::kernel::{KernelCounters, KernelProbes};

use super::counters::ProcessCounters;
use super::tracefs::Tracefs;
use super::window::KernelWindow;

/// Both sides' counters (none when the run asked for none).
pub(crate) struct KernelSides {
    server: Option<KernelWindow>,
    own: Option<KernelWindow>,
}

impl KernelSides {
    /// Opens the counters `probes` asks for on the server `server_pid` and on loadgen, counting
    /// from now: call it before loadgen starts its workers and the clients connect, so that
    /// every thread either side starts for them is counted.
    pub fn open(probes: &KernelProbes, server_pid: Option<u32>) -> Self {
        if !probes.counters {
            return KernelSides {
                server: None,
                own: None,
            };
        }
        let tracefs = Tracefs::find();
        let window = |pid| KernelWindow::new(ProcessCounters::open(pid, &tracefs));
        KernelSides {
            server: server_pid.map(window),
            own: Some(window(std::process::id())),
        }
    }

    /// Reads both sides at the window's start, the server first (the side a late reading
    /// would misattribute).
    pub fn window_started(&mut self) {
        self.server
            .iter_mut()
            .for_each(KernelWindow::window_started);
        self.own.iter_mut().for_each(KernelWindow::window_started);
    }

    /// Reads both sides at the window's end (once).
    pub fn window_ended(&mut self) {
        self.server.iter_mut().for_each(KernelWindow::window_ended);
        self.own.iter_mut().for_each(KernelWindow::window_ended);
    }

    /// Whether anything was counted.
    pub fn counting(&self) -> bool {
        self.own.is_some()
    }

    /// The server's and loadgen's counters per message.
    pub fn per_message(
        &self,
        messages: u64,
        measured_s: f64,
    ) -> (Option<KernelCounters>, Option<KernelCounters>) {
        let side = |w: &Option<KernelWindow>| w.as_ref()?.counters(messages, measured_s);
        (side(&self.server), side(&self.own))
    }
}
