//! The delayed link: `echo-proxy` started between the clients and the server loadgen starts,
//! so every echo crosses `--link-delay ± --link-jitter` each way.
//!
//! The proxy is a child of its own (started and stopped like the server, see [`crate::spawn`]); the
//! server's resource and cost probes keep watching the echo-server's pid, so the proxy's CPU
//! never counts as the server's.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::bail;
use results_model::Link;

use crate::spawn::ServerChild;

/// A running echo-proxy child.
pub struct LinkProxy {
    child: ServerChild,
}

impl LinkProxy {
    /// Starts `echo-proxy --listen 127.0.0.1:0 --upstream <upstream>` with the link's delay
    /// and jitter and `seed` for the jitter samples; waits for its `listening on` line.
    pub fn start(link: &Link, upstream: SocketAddr, seed: u64) -> anyhow::Result<LinkProxy> {
        let bin = find_proxy_bin()?;
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

/// The echo-proxy binary: next to loadgen's own executable (or one directory up, for test
/// binaries in `target/<profile>/deps`), like the echo-server.
fn find_proxy_bin() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().unwrap_or(Path::new("."));
    let candidates = [dir.join("echo-proxy"), dir.join("../echo-proxy")];
    if let Some(found) = candidates.iter().find(|p| p.is_file()) {
        return Ok(found.clone());
    }
    let release = dir.file_name().is_some_and(|n| n == "release");
    bail!(
        "--link-delay needs echo-proxy next to loadgen ({}); build it with `cargo build{} -p servers-proxy`",
        candidates[0].display(),
        if release { " --release" } else { "" }
    )
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
