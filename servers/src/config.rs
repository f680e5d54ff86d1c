//! What a server is asked to be: which model, which protocol, which limits.

use std::net::SocketAddr;
use std::time::Duration;

use proto::{Limits, Protocol};

use crate::extra_work::ExtraWork;

pub use results_model::Model;

/// Everything a model needs to know besides its listener.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to bind (port 0: the kernel picks one).
    pub addr: SocketAddr,
    /// Wire protocol spoken on every connection.
    pub protocol: Protocol,
    /// Per-connection bounds (max line, max frame, output cap).
    pub limits: Limits,
    /// `listen(2)` backlog.
    pub backlog: i32,
    /// Connections past this many open ones are refused and counted.
    pub max_conns: Option<usize>,
    /// Close connections with no traffic for this long.
    pub idle_timeout: Option<Duration>,
    /// Worker threads, for models that have several.
    pub workers: usize,
    /// Stack size of each per-client thread (`threads`) or coroutine (`may`).
    pub thread_stack: usize,
    /// CPU spent per echoed message, on the thread that produces the echo.
    pub extra_work: ExtraWork,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            protocol: Protocol::Raw,
            limits: Limits::default(),
            backlog: 4096,
            max_conns: None,
            idle_timeout: None,
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            thread_stack: 64 * 1024,
            extra_work: ExtraWork::default(),
        }
    }
}
