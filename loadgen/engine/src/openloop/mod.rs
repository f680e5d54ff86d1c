//! The open loop: messages sent on a schedule whatever the replies do.
//!
//! - [`arrival`]: uniform or Poisson send times and their self-check.
//! - [`schedule`]: every client's intended send times, in order.
//! - [`tick`]: the periodic release timer whose ticks fall on intended times.
//! - [`pacing`]: precise or batched wake-ups, chosen from the rate and the wake-up cost.
//! - [`send_lag`]: how late loadgen itself sent and read, and the censored messages.
//! - [`cpu_qos`]: holding the CPUs' wake-up latency at 0 µs while the run lasts.
//! - [`carry`]: whose wait a message held back by the pipeline limit was.

pub(crate) mod arrival;
pub(crate) mod carry;
pub(crate) mod cpu_qos;
pub(crate) mod pacing;
pub(crate) mod schedule;
pub(crate) mod send_lag;
pub(crate) mod tick;
