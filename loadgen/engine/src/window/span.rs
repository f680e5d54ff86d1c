//! The measured window of a run, as instants.

use std::time::Instant;

/// The measured window, as instants.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    /// Messages starting (closed loop) or intended (open loop) before this are warm-up.
    pub start: Instant,
    /// No message is started at or after this.
    pub end: Instant,
}
