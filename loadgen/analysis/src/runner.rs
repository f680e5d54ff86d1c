//! What makes the runs of a sweep or a capacity search: the load engine, supplied by the caller.

use std::net::SocketAddr;

use results_model::config::RunConfig;
use results_model::result::RunResult;
use results_model::Model;

/// What runs the cells of a sweep: the load engine, behind a trait so the analysis never
/// opens a socket itself.
pub trait CellRunner {
    /// Runs one cell, configured as `config`, to its result.
    fn run_cell(&mut self, config: &RunConfig) -> anyhow::Result<RunResult>;

    /// A limit of this machine known to stop a run of `clients` (the fd limit), in one
    /// line; `None` when it may fit.
    fn machine_limit(&self, clients: usize) -> Option<String>;

    /// loadgen worker threads that leave a child server of `model` the CPUs it needs
    /// (`None`: the configuration's own default).
    fn default_threads(&self, _model: Model) -> Option<usize> {
        None
    }

    /// loadgen worker threads for a server already listening at `addr` (`None`: the
    /// configuration's own default).
    fn default_threads_at(&self, _addr: SocketAddr) -> Option<usize> {
        None
    }

    /// Checks, before a search of many runs, that the server at `addr` is there and echoes:
    /// an error says why not. Runners that open no sockets have nothing to check.
    fn check_echo(&mut self, _addr: SocketAddr) -> anyhow::Result<()> {
        Ok(())
    }

    /// Whether the user asked to stop (SIGINT/SIGTERM): searches of many runs end early.
    fn interrupted(&self) -> bool {
        false
    }
}
