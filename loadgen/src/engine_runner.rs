//! The load engine as the runner of a sweep's cells.

use std::net::SocketAddr;

use loadgen_analysis::gate::duet::DuetRunner;
use loadgen_analysis::runner::CellRunner;
use loadgen_engine::run::placement;
use loadgen_engine::target::{connect, echo_check};
use loadgen_engine::Progress;
use results_model::{Model, RunConfig, RunResult};

/// Runs each cell with [`loadgen_engine::run`], quietly (the sweep prints one line per cell).
pub struct EngineRunner;

impl CellRunner for EngineRunner {
    fn run_cell(&mut self, config: &RunConfig) -> anyhow::Result<RunResult> {
        loadgen_engine::run(config, Progress::Quiet)
    }

    fn machine_limit(&self, clients: usize) -> Option<String> {
        let (soft, hard) = connect::fd_limits().ok()?;
        connect::check_fd_limit(clients, soft, hard, true)
            .err()
            .map(|msg| msg.lines().next().unwrap_or_default().to_string())
    }

    fn default_threads(&self, model: Model) -> Option<usize> {
        Some(placement::default_threads(
            Some(model),
            placement::allowed_cpus(),
        ))
    }

    fn default_threads_at(&self, addr: SocketAddr) -> Option<usize> {
        Some(placement::default_threads_for_addr(
            addr,
            placement::allowed_cpus(),
        ))
    }

    fn check_echo(&mut self, addr: SocketAddr) -> anyhow::Result<()> {
        echo_check::check_echo(addr, echo_check::TIMEOUT)
    }

    fn interrupted(&self) -> bool {
        loadgen_engine::run::interrupted()
    }
}

impl DuetRunner for EngineRunner {
    fn run(&self, config: &RunConfig) -> anyhow::Result<RunResult> {
        loadgen_engine::run(config, Progress::Quiet)
    }
}
