//! What a server is asked to be: which model, which protocol, which limits.

use std::net::SocketAddr;
use std::time::Duration;

use echo_proto::{Limits, Protocol};

use crate::extra_work::ExtraWork;

/// A concurrency model: how one process serves many clients at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Model {
    /// One blocking OS thread per client (std::net); simple, costs a stack and a context switch per client.
    Threads,
    /// One thread, select(2); the classic event loop, limited to fds below FD_SETSIZE (1024).
    Select,
    /// One thread, poll(2); no fd limit, but the kernel scans every fd on every call.
    Poll,
    /// One thread, epoll via mio, edge-triggered; cost scales with active, not total, clients.
    Mio,
    /// Tokio's multi-thread work-stealing runtime, one task per client (--workers threads).
    Tokio,
    /// Tokio's single-threaded runtime, one task per client on one thread.
    TokioCurrentThread,
    /// N threads, each with its own SO_REUSEPORT listener and mio loop; nothing shared.
    ThreadPerCore,
    /// One mio reactor does I/O and hands each complete message to a rayon pool for the reply.
    ReactorPool,
    /// io_uring completions: multishot accept and receive with provided buffers.
    Uring,
}

impl Model {
    /// Every model, in the order tables and sweeps show them.
    pub const ALL: [Model; 9] = [
        Model::Threads,
        Model::Select,
        Model::Poll,
        Model::Mio,
        Model::Tokio,
        Model::TokioCurrentThread,
        Model::ThreadPerCore,
        Model::ReactorPool,
        Model::Uring,
    ];

    /// The name used on the command line and in result files.
    pub fn name(self) -> &'static str {
        match self {
            Model::Threads => "threads",
            Model::Select => "select",
            Model::Poll => "poll",
            Model::Mio => "mio",
            Model::Tokio => "tokio",
            Model::TokioCurrentThread => "tokio-current-thread",
            Model::ThreadPerCore => "thread-per-core",
            Model::ReactorPool => "reactor-pool",
            Model::Uring => "uring",
        }
    }

    /// Parses a model name as written on the command line.
    pub fn from_name(name: &str) -> Option<Model> {
        Model::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Whether the model binds one SO_REUSEPORT listener per worker.
    pub fn uses_reuse_port(self) -> bool {
        matches!(self, Model::ThreadPerCore)
    }
}

impl std::fmt::Display for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

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
    /// Stack size of each per-client thread (`threads` model).
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
