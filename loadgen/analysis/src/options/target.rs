//! Which server a run drives: a child loadgen starts (`--model`, with the child's own
//! options), or one already listening (`--addr`).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use results_model::config::Target;
use results_model::{CpuList, Model};
use serde::{Deserialize, Serialize};

/// The echo-server child loadgen starts.
#[derive(Args, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerArgs {
    /// The echo-server binary (default: $ECHO_SERVER_BIN, else next to loadgen's own executable,
    /// else the server loadgen carries).
    #[arg(long, value_name = "PATH")]
    pub server_bin: Option<PathBuf>,
    /// Extra argument for the child server, repeatable (e.g. --server-arg=--workers --server-arg=1).
    #[arg(long, value_name = "ARG", allow_hyphen_values = true)]
    pub server_arg: Vec<String>,
}

impl ServerArgs {
    /// A child server of `model` started with these options, pinned to `server_pin`.
    pub fn spawn(&self, model: Model, server_pin: Option<&CpuList>) -> Target {
        Target::Spawn {
            model: model.name().to_string(),
            server_bin: self.server_bin.clone(),
            server_args: self.server_arg.clone(),
            server_pin: server_pin.map(|c| c.0.clone()),
        }
    }
}

/// Which server a run drives.
#[derive(Args, Debug, Clone)]
pub struct TargetArgs {
    /// Start `echo-server --model M` as a child and drive it.
    #[arg(
        long,
        value_enum,
        required_unless_present = "addr",
        conflicts_with = "addr"
    )]
    pub model: Option<Model>,
    /// Drive an echo server already listening here instead (raw works with any RFC 862 server).
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_addr)]
    pub addr: Option<SocketAddr>,
    /// The child server, with `--model`.
    #[command(flatten)]
    pub server: ServerArgs,
}

impl TargetArgs {
    /// The server these options name; the child pinned to `server_pin`.
    pub fn target(&self, server_pin: Option<&CpuList>) -> anyhow::Result<Target> {
        match (self.model, self.addr) {
            (_, Some(addr)) => Ok(Target::External { addr }),
            (Some(model), None) => Ok(self.server.spawn(model, server_pin)),
            (None, None) => anyhow::bail!("give --model or --addr"),
        }
    }
}

/// Resolves `HOST:PORT` (a name or an address) to the first address it names.
pub fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs;
    s.to_socket_addrs()
        .map_err(|e| format!("cannot resolve {s:?}: {e}"))?
        .next()
        .ok_or_else(|| format!("{s:?} resolves to no address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_resolve() {
        assert_eq!(parse_addr("127.0.0.1:7"), Ok(([127, 0, 0, 1], 7).into()));
        assert!(parse_addr("localhost:7").is_ok_and(|a| a.ip().is_loopback()));
        assert!(parse_addr("no-port").is_err());
    }
}
