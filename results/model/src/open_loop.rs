//! The open-loop part of a result: how send times were spaced ([`Arrival`]), the figures
//! loadgen measured about itself ([`OpenLoopReport`]) and whether the gaps it sent followed
//! the intended distribution ([`ArrivalCheck`]).

use serde::{Deserialize, Serialize};

use crate::histogram::Percentiles;

/// How intended send times are spaced.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum Arrival {
    /// Evenly spaced: gap = 1 / rate.
    #[default]
    Uniform,
    /// Exponential gaps with mean 1 / rate (seeded, reproducible).
    Poisson,
}

/// Whether the gaps sent follow the intended distribution.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ArrivalCheck {
    /// The intended process.
    pub process: Arrival,
    /// Gaps examined.
    pub samples: u64,
    /// Coefficient of variation the intended gaps have: 1 for Poisson, 0 for uniform.
    pub cv_intended: f64,
    /// Coefficient of variation of the gaps actually sent.
    pub cv_achieved: f64,
    /// Kolmogorov–Smirnov distance between the sent gaps and the exponential (Poisson only;
    /// `null` for uniform, whose intended distribution is a single value).
    pub ks_distance: Option<f64>,
    /// True when the sent gaps are within the limits named in the docs
    /// (the engine's `POISSON_CV_TOLERANCE`, `POISSON_KS_LIMIT`, `UNIFORM_CV_LIMIT`).
    pub passed: bool,
}

/// The open-loop figures of a run (`null` in closed loop).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OpenLoopReport {
    /// `--rate`: messages per second asked for.
    pub offered_rate: f64,
    /// Messages whose first byte was written in the window, per second.
    pub achieved_send_rate: f64,
    /// Messages due in the window and answered, per second of the window.
    pub achieved_rate: f64,
    /// Intended send → the `write` that carried the message's first byte, µs, messages due in
    /// the window. A message the pipeline limit held back is charged from the arrival of the
    /// echo that freed it, plus that echo's own lag (see results/README.md).
    pub send_lag: Percentiles,
    /// The histogram behind `send_lag`, HdrHistogram V2 compressed, base64.
    pub send_lag_histogram: String,
    /// Messages due in the window not answered by the deadline (never sent, or unanswered):
    /// recorded in the corrected latency at deadline − intended.
    pub censored: u64,
    /// True when any value is censored: the corrected percentiles are lower bounds.
    pub lower_bound: bool,
    /// Longest run-queue wait of a worker thread over the window, as a share of the window.
    pub loadgen_run_queue_share: f64,
    /// Whether the gaps actually sent follow `--arrival`.
    pub arrival_check: ArrivalCheck,
    /// How the workers kept time (schema 3; `null` in older files).
    #[serde(default)]
    pub pacing: Option<Pacing>,
    /// loadgen's read delay: an echo's kernel receive stamp → the `recvmsg` that read it, µs
    /// (reads in the window that carried a stamp; schema 3).
    #[serde(default)]
    pub read_delay: Percentiles,
    /// The histogram behind `read_delay`, HdrHistogram V2 compressed, base64.
    #[serde(default)]
    pub read_delay_histogram: String,
    /// Reads in the window that returned data without a kernel receive stamp: their echoes are
    /// timed at the read, so their latency includes the read delay.
    #[serde(default)]
    pub unstamped_reads: u64,
    /// Steps of the system clock seen between two turns of a worker (stamps near a step are
    /// misplaced by its size).
    #[serde(default)]
    pub clock_steps: u64,
}

/// How a worker keeps open-loop time (see the engine's `openloop::pacing`).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PaceMode {
    /// One wake-up per message, on an absolute timer, spinning the last few µs.
    #[default]
    Precise,
    /// One wake-up per tick (whole message intervals); every message due by a tick goes then.
    Batched,
}

/// The pacing a run chose, and why.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Pacing {
    /// Precise or batched.
    pub mode: PaceMode,
    /// Time between wake-ups, µs: the message interval (precise) or the tick (batched).
    pub tick_us: f64,
    /// How long before a wake-up's target the worker stops sleeping and spins, µs.
    pub spin_us: f64,
    /// Measured CPU cost of one sleep and wake-up, µs.
    pub wake_cpu_us: f64,
    /// Measured lateness of a timed wake-up: median and 99th percentile, µs.
    pub wake_late_p50_us: f64,
    /// See `wake_late_p50_us`.
    pub wake_late_p99_us: f64,
    /// Why this mode, in words.
    pub reason: String,
    /// The 0 µs CPU wake-up latency request: `held`, `off` (`--no-cpu-qos`), or why it
    /// could not be held.
    #[serde(default)]
    pub cpu_qos: String,
}
