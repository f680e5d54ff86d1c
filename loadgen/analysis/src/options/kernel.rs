//! `--no-kernel-counters` and `--flamegraph`, shared by `loadgen run` and `loadgen sweep`.

use clap::Args;
use results_model::kernel::KernelProbes;
use serde::{Deserialize, Serialize};

/// What loadgen asks the kernel about a run.
#[derive(Args, Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct KernelArgs {
    /// Do not count the kernel's work (system calls by name, context switches, migrations,
    /// page faults) with perf_event_open; counting is on by default.
    #[arg(long)]
    #[serde(default)]
    pub no_kernel_counters: bool,
    /// Sample the server's CPU over the measured window (with call chains, kernel frames where
    /// the kernel allows) and write an on-CPU flamegraph SVG beside the result JSON.
    #[arg(long)]
    #[serde(default)]
    pub flamegraph: bool,
}

impl KernelArgs {
    /// The probes these options ask for.
    pub fn probes(&self) -> KernelProbes {
        KernelProbes {
            counters: !self.no_kernel_counters,
            flamegraph: self.flamegraph,
        }
    }
}
