//! The defaults of one run's options, written once: [`crate::RunConfig::new`] and loadgen's
//! command line both read them.

use std::time::Duration;

use crate::open_loop::Arrival;
use proto::Protocol;

/// Concurrent client connections of `loadgen run`.
pub const CLIENTS: usize = 50;
/// Length of the measured window.
pub const DURATION: Duration = Duration::from_secs(10);
/// Time before the measured window.
pub const WARMUP: Duration = Duration::from_secs(2);
/// Payload bytes per message.
pub const SIZE: usize = 64;
/// Wire protocol.
pub const PROTOCOL: Protocol = Protocol::Raw;
/// Messages outstanding per client.
pub const PIPELINE: usize = 1;
/// A connect that takes longer is a connect timeout.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// An echo that takes longer is a reply timeout.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long outstanding echoes may still arrive after the window.
pub const DRAIN: Duration = Duration::from_secs(1);
/// Seed of the payloads.
pub const SEED: u64 = 1;
/// Open-loop spacing of send times.
pub const ARRIVAL: Arrival = Arrival::Uniform;
