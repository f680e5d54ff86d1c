//! `--kernel-counters` and `--flamegraph`, shared by `loadgen run` and `loadgen sweep`.

use clap::Args;
use results_model::kernel::KernelProbes;
use serde::{Deserialize, Serialize};

/// What loadgen asks the kernel about a run.
#[derive(Args, Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct KernelArgs {
    /// Count the kernel's work for the server and loadgen (system calls by name, context
    /// switches, migrations, page faults) with perf_event_open. Off by default: counting makes
    /// every system call and context switch of the counted threads dearer (see docs/why.md),
    /// so CPU per message measured with it on is not comparable with runs without it.
    #[arg(long)]
    #[serde(default)]
    pub kernel_counters: bool,
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
            counters: self.kernel_counters,
            flamegraph: self.flamegraph,
        }
    }
}
