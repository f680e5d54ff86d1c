//! One echo protocol ([`proto`]) served by many concurrency models.
//!
//! Each model in [`models`] is only an I/O driver: it accepts connections, moves bytes between
//! sockets and an [`proto::Conn`], and reports to [`Stats`]. [`Server::run`] starts one on a
//! listener made by [`listener::bind`] and returns the counters when [`Shutdown`] fires.
//!
//! `--extra-work KIND` ([`extra_work`]) plants a known cost in every model alike, per echoed
//! message on the thread that produces the echo: CPU by the thread's CPU clock, N KiB of memory
//! touched, or N system calls ([`work_kind`]). A message is a complete line or frame; in `raw`
//! mode, which has no boundaries, every 64 bytes received (rounded up per read).
//! A fatal event-loop error ends the server with a non-zero exit; its counters still print, with
//! the error in `fatal_error` and the connections it cut off under `closed_by.loop_failed`.

pub mod cli;
pub mod client_guard;
pub mod config;
pub mod context;
pub mod extra_work;
pub mod listener;
pub mod models;
pub mod reactor;
pub mod session;
pub mod shutdown;
pub mod stats;
pub mod stop_signal;
pub mod work_kind;
pub mod worker_threads;

pub use config::{Model, ServerConfig};
pub use shutdown::Shutdown;
pub use stats::{Stats, StatsSnapshot};

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

/// A bound server, ready to run: the address is known before any client is served.
pub struct Server {
    model: Model,
    config: ServerConfig,
    listener: TcpListener,
    stats: Arc<Stats>,
}

impl Server {
    /// Binds the listening socket for `model` (SO_REUSEPORT where the model needs it).
    pub fn bind(model: Model, config: ServerConfig) -> anyhow::Result<Self> {
        use anyhow::Context;
        if model == Model::Uring {
            // Refuse before binding, so no harness sees a listening line from a dead server.
            models::uring::check_available()?;
        }
        let listener = listener::bind(config.addr, config.backlog, model.uses_reuse_port())
            .with_context(|| format!("cannot listen on {}", config.addr))?;
        // Only models with one accept loop per worker have per-worker accept counts.
        let workers = if model.uses_reuse_port() {
            config.workers
        } else {
            1
        };
        Ok(Server {
            model,
            config,
            listener,
            stats: Arc::new(Stats::new(workers)),
        })
    }

    /// The address actually bound (the real port when 0 was asked for).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The live counters.
    pub fn stats(&self) -> Arc<Stats> {
        Arc::clone(&self.stats)
    }

    /// Serves until `shutdown` fires, then closes every connection and returns the counters, or
    /// the error that stopped the model's event loop.
    pub fn run(self, shutdown: Shutdown) -> anyhow::Result<StatsSnapshot> {
        let stats = self.serve(shutdown);
        match stats.fatal_error {
            Some(err) => Err(anyhow::anyhow!(err)),
            None => Ok(stats),
        }
    }

    /// [`Server::run`] that keeps the counters even when the event loop fails: the error is in
    /// [`StatsSnapshot::fatal_error`], and the connections it cut off are counted under
    /// `closed_by.loop_failed`. The binary prints them and then exits non-zero.
    pub fn serve(self, shutdown: Shutdown) -> StatsSnapshot {
        let ctx = context::Context {
            config: self.config,
            stats: Arc::clone(&self.stats),
            shutdown,
        };
        if let Err(err) = models::run(self.model, self.listener, ctx) {
            self.stats.fatal(&err);
        }
        self.stats.snapshot(self.model.name())
    }
}
