//! Whether a run's figures describe the server, and if not, which side was late.
//!
//! An open loop charges every delay between a message's intended send and its echo to the
//! corrected latency. That is right when the delay is the server's, and wrong when loadgen
//! itself sent late (its threads fighting the server for CPUs, a stall): then the figures
//! blame the server for loadgen's lateness. So loadgen measures its own lateness (the send
//! lag and its threads' run-queue wait, measured by the engine) and judges:
//!
//! - **loadgen late** (rule `loadgen-send-lag`): the p99 send lag, taken at the write of each
//!   message's first byte, exceeds [`LAG_SHARE`] of the corrected p99, the latency it
//!   inflates (plus [`RESOLUTION_US`], how finely a lag is known; there is no other floor). Or
//!   (rule `loadgen-read-delay`) more than [`UNSTAMPED_SHARE`] of the echoes came without a
//!   kernel receive stamp, so they were timed at the read, and loadgen's read delay exceeds
//!   the same share (or is unknown). Or (rule `loadgen-run-queue`) a worker thread waited for
//!   a CPU more than [`RUN_QUEUE_SHARE`] of the window while its p99 send lag exceeded
//!   [`RUN_QUEUE_LAG_SHARE`] of the corrected p99 (a thread that waited while it had nothing
//!   to send delayed nothing); it names loadgen only when no rule before it named a side.
//! - **clock step** (rule `clock-step`): the system clock stepped during the run, so receive
//!   stamps near the step are misplaced.
//! - **server short** (rule `server-short`): fewer than [`ACHIEVED_SHARE`] of the messages
//!   due in the window were answered by the deadline while loadgen sent on time: answers came
//!   late and the backlog of unanswered messages grew.
//! - **ramp** (rule `ramp`): a client was never attempted, or the window opened with clients
//!   not connected: the load was smaller than asked.
//!
//! Any of these makes the run fail (`passed: false`, exit 1), like lost echoes do. The rules
//! are applied by [`crate::judge`].

use serde::{Deserialize, Serialize};

/// Loadgen is late when its p99 send lag exceeds this share of the corrected p99: beyond it
/// the corrected figure is materially loadgen's own delay.
pub const LAG_SHARE: f64 = 0.10;
/// How finely a send lag is known (µs): the histograms' 1 µs unit, plus up to 1 µs between
/// reading the clock and the `write` entering the kernel. A lag is compared with the latency to
/// within it.
pub const RESOLUTION_US: f64 = 2.0;
/// The run-queue rule needs at least this share of the corrected p99 as send lag.
pub const RUN_QUEUE_LAG_SHARE: f64 = 0.05;
/// Echoes read without a kernel stamp above this share of the messages make the read delay
/// part of the latency.
pub const UNSTAMPED_SHARE: f64 = 0.01;
/// Loadgen is late when one worker thread waited for a CPU more than this share of the window.
pub const RUN_QUEUE_SHARE: f64 = 0.10;
/// A run answering fewer than this share of the messages due in its window fell short.
pub const ACHIEVED_SHARE: f64 = 0.99;

/// Which side made the figures wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LateSide {
    /// The load generator sent late or could not keep up.
    Loadgen,
    /// The server answered fewer messages than were due (overload).
    Server,
}

/// The judgement of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Verdict {
    /// False when the figures do not describe the server at the load asked for.
    pub trustworthy: bool,
    /// Which side was late, when one was.
    pub late_side: Option<LateSide>,
    /// Names of the rules that fired (`loadgen-send-lag`, `loadgen-read-delay`,
    /// `loadgen-run-queue`, `server-short`, `ramp`, `clock-step`), see the module docs.
    pub rules: Vec<String>,
    /// The same in words.
    pub reasons: Vec<String>,
}
