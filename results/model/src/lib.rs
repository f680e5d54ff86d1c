//! The result model of echobench: what a run produced, as data.
//!
//! - [`result`]: the result JSON ([`RunResult`]) and its JSON Schema; [`config`]: how the run
//!   was configured ([`RunConfig`]); [`histogram`]: the latency histograms and [`Percentiles`].
//! - [`cost`]: cost per echoed message ([`cost::CostReport`]); [`meta`]: what makes a run
//!   reproducible ([`meta::RunMeta`]); [`kernel`]: kernel work per echoed message and the
//!   flamegraph ([`kernel::KernelReport`]).
//! - [`server_stats`]: the counters a server prints on shutdown ([`StatsSnapshot`]), the same
//!   struct on the printing and the reading side.
//! - [`link`]: the delayed link (echo-proxy) between loadgen and its server ([`Link`]).
//! - [`shard`]: one run split over several processes ([`Shard`], [`ShardSpec`]).
//! - [`open_loop`]: the open-loop figures ([`OpenLoopReport`], [`Arrival`]); [`verdict`]:
//!   whether a run's figures describe the server ([`Verdict`], [`judge::judge`]);
//!   [`capacity`]: a capacity search's curve ([`Capacity`]).
//! - [`model`]: the names of the concurrency models ([`Model`]).
//! - [`format`](mod@format): how durations, counts and sizes read; [`cpus`]: CPU lists; [`prng`]: the
//!   seeded mixing function (splitmix64).
//! - [`defaults`]: the defaults of a run's options ([`RunConfig::new`] and loadgen's flags).
//!
//! Data only: serde, schemars and HdrHistogram, no I/O runtime.

pub mod capacity;
pub mod config;
pub mod cost;
pub mod cpus;
pub mod defaults;
pub mod format;
pub mod histogram;
pub mod judge;
pub mod kernel;
pub mod link;
pub mod meta;
pub mod model;
pub mod open_loop;
pub mod prng;
pub mod result;
pub(crate) mod seconds;
pub mod server_stats;
pub mod shard;
pub mod verdict;

pub use capacity::{Capacity, Slo};
pub use config::{RunConfig, Target};
pub use cpus::CpuList;
pub use histogram::{LatencyHistogram, Percentiles};
pub use link::Link;
pub use model::Model;
pub use open_loop::{Arrival, ArrivalCheck, OpenLoopReport};
pub use result::{RunResult, SCHEMA_VERSION};
pub use server_stats::StatsSnapshot;
pub use shard::{Shard, ShardSpec};
pub use verdict::{LateSide, Verdict};
