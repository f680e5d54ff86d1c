//! The delayed link: `echo-proxy` started between the clients and the server loadgen starts,
//! so every echo crosses `--link-delay ± --link-jitter` each way.
//!
//! The proxy is a child of its own (started and stopped like the server, see [`super::spawn`]); the
//! server's resource and cost probes keep watching the echo-server's pid, so the proxy's CPU
//! never counts as the server's.

use std::net::SocketAddr;

use anyhow::bail;
use results_model::Link;

use super::spawn::ServerChild;

/// A running echo-proxy child.
pub struct LinkProxy {
    child: ServerChild,
}

impl LinkProxy {
    /// Starts `echo-proxy --listen 127.0.0.1:0 --upstream <upstream>` with the link's delay
    /// and jitter and `seed` for the jitter samples; waits for its `listening on` line.
    pub fn start(link: &Link, upstream: SocketAddr, seed: u64) -> anyhow::Result<LinkProxy> {
        let bin = super::locate::find(&super::locate::ECHO_PROXY, None)?;
        let args = vec![
            "--listen".to_string(),
            "127.0.0.1:0".to_string(),
            "--upstream".to_string(),
            upstream.to_string(),
            "--delay".to_string(),
            format!("{}us", link.delay.as_micros()),
            "--jitter".to_string(),
            format!("{}us", link.jitter.as_micros()),
            "--seed".to_string(),
            seed.to_string(),
        ];
        Ok(LinkProxy {
            child: ServerChild::launch(&bin, args, None)?,
        })
    }

    /// Where the clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.child.addr
    }

    /// Stops the proxy (SIGTERM, killed after a bounded wait). A proxy that failed on its own
    /// is reported as an error, with its stderr.
    pub fn stop(mut self) -> anyhow::Result<()> {
        let exit = self.child.stop();
        if exit.code != Some(0) {
            bail!(
                "echo-proxy exited with {:?}: {}",
                exit.code,
                exit.stderr.trim()
            );
        }
        Ok(())
    }
}

/// The proxy for `config`'s link in front of `server`, when the run has a link.
pub(crate) fn start_for(
    config: &results_model::RunConfig,
    server: Option<&ServerChild>,
) -> anyhow::Result<Option<LinkProxy>> {
    match (&config.link, server) {
        (Some(link), Some(server)) => {
            LinkProxy::start(link, server.addr, config.effective_seed()).map(Some)
        }
        _ => Ok(None),
    }
}
