//! TODO(foundation): model `thread_per_core` is being written.

use std::net::TcpListener;

use super::Context;

/// Serves until shutdown.
pub fn run(_listener: TcpListener, _ctx: Context) -> anyhow::Result<()> {
    anyhow::bail!("model thread_per_core is not built yet")
}
