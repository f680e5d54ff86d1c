//! The open loop: messages sent on a schedule whatever the replies do.
//!
//! - [`arrival`]: uniform or Poisson send times and their self-check.
//! - [`schedule`]: every client's intended send times, in order.
//! - [`tick`]: the periodic release timer whose ticks fall on intended times.
//! - [`send_lag`]: how late loadgen itself sent, and the censored messages.

pub(crate) mod arrival;
pub(crate) mod schedule;
pub(crate) mod send_lag;
pub(crate) mod tick;
