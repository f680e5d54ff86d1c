//! TODO(foundation): model `tokio` is being written.

use std::net::TcpListener;

use super::Context;

/// Which tokio runtime.
#[derive(Debug, Clone, Copy)]
pub enum Flavor {
    /// Work-stealing, `--workers` threads.
    MultiThread,
    /// One thread.
    CurrentThread,
}

/// Serves until shutdown.
pub fn run(_listener: TcpListener, _ctx: Context, _flavor: Flavor) -> anyhow::Result<()> {
    anyhow::bail!("model tokio is not built yet")
}
