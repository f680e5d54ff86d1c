//! The names of the concurrency models, shared by the servers that implement them and the
//! tools that ask for them.

/// A concurrency model: how one process serves many clients at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
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
    /// monoio, thread-per-core: a runtime and SO_REUSEPORT listener per worker, io_uring (epoll fallback).
    Monoio,
    /// smol: one task per client on an executor run by --workers threads sharing async-io's one epoll reactor.
    Smol,
    /// compio: a completion-based runtime (io_uring, polling fallback) per worker, SO_REUSEPORT listener each, one task per client.
    Compio,
    /// glommio: one executor per worker pinned to its own CPU, SO_REUSEPORT listener each, one task per client.
    Glommio,
    /// may: one stackful coroutine per client on may's work-stealing scheduler (--workers threads).
    May,
}

impl Model {
    /// Every model, in the order tables and sweeps show them.
    pub const ALL: [Model; 14] = [
        Model::Threads,
        Model::Select,
        Model::Poll,
        Model::Mio,
        Model::Tokio,
        Model::TokioCurrentThread,
        Model::ThreadPerCore,
        Model::ReactorPool,
        Model::Uring,
        Model::Monoio,
        Model::Smol,
        Model::Compio,
        Model::Glommio,
        Model::May,
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
            Model::Monoio => "monoio",
            Model::Smol => "smol",
            Model::Compio => "compio",
            Model::Glommio => "glommio",
            Model::May => "may",
        }
    }

    /// Parses a model name as written on the command line.
    pub fn from_name(name: &str) -> Option<Model> {
        Model::ALL.into_iter().find(|m| m.name() == name)
    }

    /// Whether the model runs `--workers` threads (default: the CPUs it may use), so that its
    /// cross-thread paths only run when it has more than one CPU. A new multi-worker model
    /// belongs here: the CI gate then also runs it with its real worker count. glommio is not:
    /// it pins one executor per CPU it may use, so on the gate's one shared CPU it has one.
    pub fn uses_workers(self) -> bool {
        matches!(
            self,
            Model::Tokio
                | Model::ThreadPerCore
                | Model::ReactorPool
                | Model::Monoio
                | Model::Compio
                | Model::Smol
                | Model::May
        )
    }

    /// Whether the model binds one SO_REUSEPORT listener per worker.
    pub fn uses_reuse_port(self) -> bool {
        matches!(
            self,
            Model::ThreadPerCore | Model::Glommio | Model::Compio | Model::Monoio
        )
    }
}

impl std::fmt::Display for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
