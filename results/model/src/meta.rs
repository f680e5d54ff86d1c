//! What makes a run reproducible (the result's `meta`): the command line, the build (commit,
//! dirty flag, rustc, profile), the CPU's model, SMT and governor, the run's start and end
//! times, and the load average before it. Collected by loadgen-engine's `metadata`.

use serde::{Deserialize, Serialize};

/// The run's reproducibility record.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunMeta {
    /// The exact command line loadgen was started with (argv, program name first).
    pub argv: Vec<String>,
    /// Git commit loadgen was built from, or `unknown`.
    pub git_commit: String,
    /// Whether the checkout had uncommitted changes to tracked files at build time (`null`:
    /// unknown).
    pub git_dirty: Option<bool>,
    /// `rustc --version` of the compiler that built loadgen (`null`: unknown).
    pub rustc_version: Option<String>,
    /// Cargo profile loadgen was built with (`release`, `debug`, ...).
    pub build_profile: String,
    /// CPU model name (`/proc/cpuinfo`), `null` where not shown.
    pub cpu_model: Option<String>,
    /// Whether SMT (hyper-threading) is active (`/sys/devices/system/cpu/smt/active`).
    pub smt_active: Option<bool>,
    /// cpufreq governor of cpu0, where the VM or kernel exposes one.
    pub governor: Option<String>,
    /// When the run started, UTC, RFC 3339 with nanoseconds.
    pub started_at: String,
    /// When the run ended (result assembled), UTC, RFC 3339 with nanoseconds.
    pub ended_at: String,
    /// 1-, 5- and 15-minute load averages just before the run (`/proc/loadavg`).
    pub loadavg_before: Option<[f64; 3]>,
}
