//! The shape of the load: how long, what each message is, open or closed loop, and how
//! connections are made and timed out. Defaults: [`results_model::defaults`].

use std::time::Duration;

use clap::Args;
use proto::Protocol;
use results_model::defaults;
use results_model::open_loop::Arrival;
use serde::{Deserialize, Serialize};

use super::text::HumanDuration;

/// The measured window and the warm-up before it.
#[derive(Args, Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WindowArgs {
    /// Measured time (e.g. 10s, 500ms, 1m).
    #[arg(long, default_value_t = HumanDuration(defaults::DURATION))]
    pub duration: HumanDuration,
    /// Time before measuring; its messages are not recorded.
    #[arg(long, default_value_t = HumanDuration(defaults::WARMUP))]
    pub warmup: HumanDuration,
}

/// What each message is and how many each client keeps in flight.
#[derive(Args, Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MessageArgs {
    /// Payload bytes per message (`line` includes the newline; `framed` adds a 4-byte header).
    #[arg(long, default_value_t = defaults::SIZE)]
    pub size: usize,
    /// Wire protocol: raw, line or framed.
    #[arg(long, default_value_t = defaults::PROTOCOL)]
    #[serde(with = "super::text::display")]
    pub protocol: Protocol,
    /// Messages outstanding per client (closed loop); in open loop, the most unanswered.
    #[arg(long, default_value_t = defaults::PIPELINE)]
    pub pipeline: usize,
    /// Seed of the payloads (each shard, and each repeat of a sweep, derives its own from it).
    #[arg(long, default_value_t = defaults::SEED)]
    pub seed: u64,
}

/// How open-loop send times are spaced.
#[derive(Args, Debug, Clone, Copy, PartialEq)]
pub struct ArrivalArgs {
    /// Open loop: spacing of send times, `uniform` (even) or `poisson` (exponential, seeded).
    #[arg(long, value_enum, default_value_t = defaults::ARRIVAL)]
    pub arrival: Arrival,
}

/// Open loop: a fixed rate, sent on schedule whatever the replies do.
#[derive(Args, Debug, Clone, Copy, PartialEq)]
pub struct OpenLoopArgs {
    /// Open loop: total messages per second, sent on schedule whatever the replies do (with
    /// --shard: of the whole run, split like the clients).
    #[arg(long, value_name = "MSGS_PER_SEC")]
    pub rate: Option<f64>,
    /// The spacing of send times.
    #[command(flatten)]
    pub arrival: ArrivalArgs,
    /// Open loop, uniform arrivals: batch releases on ticks at least this far apart (e.g.
    /// 40us). Default: chosen from the rate and this machine's measured wake-up cost (one
    /// wake-up per message when it fits 60% of a CPU, else whole-interval ticks; the summary
    /// says which and why). Coarser ticks cost loadgen less CPU and send in bursts; the send
    /// lag and the arrival check show it.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub tick: Option<Duration>,
    /// Open loop: leave the CPUs' power management alone. By default loadgen holds a 0 µs
    /// wake-up latency request (/dev/cpu_dma_latency, as cyclictest does) for the run, so its
    /// timed wake-ups, and the server's, are on time; it needs root and says when it cannot.
    #[arg(long)]
    pub no_cpu_qos: bool,
    /// Open loop: never spin; sleep until each message is due and send when the timer fires
    /// (by default the worker wakes a measured margin early and spins the rest).
    #[arg(long)]
    pub no_spin: bool,
}

/// How connections are made, and how long loadgen waits for them and their echoes.
#[derive(Args, Debug, Clone, Copy, PartialEq)]
pub struct ConnectionArgs {
    /// New connections per second over all clients (default: as fast as the backlog allows);
    /// with --shard, per shard.
    #[arg(long, value_name = "CONNS_PER_SEC")]
    pub connect_rate: Option<f64>,
    /// A connect that takes longer is counted as a connect timeout.
    #[arg(long, default_value_t = HumanDuration(defaults::CONNECT_TIMEOUT))]
    pub connect_timeout: HumanDuration,
    /// An echo that takes longer is counted as a reply timeout (and ends its connection).
    #[arg(long, default_value_t = HumanDuration(defaults::REPLY_TIMEOUT))]
    pub reply_timeout: HumanDuration,
    /// After the window, how long outstanding echoes may still arrive.
    #[arg(long, default_value_t = HumanDuration(defaults::DRAIN))]
    pub drain: HumanDuration,
}

/// The whole load of one run.
#[derive(Args, Debug, Clone, Copy, PartialEq)]
pub struct LoadArgs {
    /// Concurrent client connections (with --shard: of the whole run, split over the shards).
    #[arg(long, default_value_t = defaults::CLIENTS)]
    pub clients: usize,
    /// How long.
    #[command(flatten)]
    pub window: WindowArgs,
    /// What each message is.
    #[command(flatten)]
    pub message: MessageArgs,
    /// Open loop.
    #[command(flatten)]
    pub open_loop: OpenLoopArgs,
    /// Connections and timeouts.
    #[command(flatten)]
    pub connection: ConnectionArgs,
}
