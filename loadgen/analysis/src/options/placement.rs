//! CPU placement: how many worker threads loadgen runs, and which CPUs it and its child server
//! are pinned to.

use clap::Args;
use results_model::CpuList;
use serde::{Deserialize, Serialize};

/// loadgen's worker threads.
#[derive(Args, Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkerArgs {
    /// loadgen worker threads (default: number of CPUs; with --model, the CPUs the server
    /// leaves, at least 1; with a loopback --addr, all CPUs but one).
    #[arg(long)]
    pub threads: Option<usize>,
}

/// The CPUs of the child server.
#[derive(Args, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerPinArgs {
    /// CPUs for the child server, e.g. `0` or `0,1` or `0-1`.
    #[arg(long, value_name = "CPUS", value_parser = parse_cpus)]
    #[serde(with = "super::text::cpus_opt")]
    pub server_pin: Option<CpuList>,
}

/// Where a run's threads go: loadgen's workers and the child server.
#[derive(Args, Debug, Clone, Default, PartialEq)]
pub struct PlacementArgs {
    /// The child server's CPUs.
    #[command(flatten)]
    pub server: ServerPinArgs,
    /// How many workers.
    #[command(flatten)]
    pub workers: WorkerArgs,
    /// CPUs for loadgen's worker threads, e.g. `1` or `2-3`.
    #[arg(long, value_name = "CPUS", value_parser = parse_cpus)]
    pub pin: Option<CpuList>,
}

/// Parses a CPU list: `0`, `0,2`, `1-3`, `0,2-3`.
pub fn parse_cpus(s: &str) -> Result<CpuList, String> {
    s.parse()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpus("0"), Ok(CpuList(vec![0])));
        assert_eq!(parse_cpus("0,2-3"), Ok(CpuList(vec![0, 2, 3])));
        assert!(parse_cpus("3-1").is_err());
        assert!(parse_cpus("x").is_err());
    }
}
