//! What every model is given besides its listener. Kept apart from [`crate::models`] so that the
//! models and the loops they share ([`crate::reactor`]) can take it without importing the module
//! that dispatches to them.

use std::sync::Arc;

use crate::config::ServerConfig;
use crate::shutdown::Shutdown;
use crate::stats::Stats;

/// What every model is given besides its listener.
#[derive(Clone)]
pub struct Context {
    /// Protocol, limits and tuning.
    pub config: ServerConfig,
    /// Counters shared with the caller.
    pub stats: Arc<Stats>,
    /// Fires when the server must stop.
    pub shutdown: Shutdown,
}
