//! TODO(foundation): model `uring` is being written.

use std::net::TcpListener;

use super::Context;

/// Serves until shutdown.
pub fn run(_listener: TcpListener, _ctx: Context) -> anyhow::Result<()> {
    anyhow::bail!("model uring is not built yet")
}
