//! What loadgen reads about the processes of a run and the machine it runs on.
//!
//! - [`proc`]: every read of /proc, through the `procfs` crate.
//! - [`usage`]: a process's samples folded into the result's resource figures.
//! - [`cost`]: cost per echoed message, from per-thread counters at the window's edges.
//! - [`kernel`]: system calls, context switches, migrations and page faults per message,
//!   counted by the kernel.
//! - [`profile`]: the server's on-CPU flamegraph over the window.
//! - [`sides`]: the kernel counters of both sides and the server's profile, read together.
//! - [`run_queue`]: how long loadgen's own workers waited for a CPU.
//! - [`metadata`]: what makes a run reproducible (build, CPU, load before the run).

pub(crate) mod cost;
pub(crate) mod kernel;
pub(crate) mod metadata;
pub(crate) mod proc;
pub(crate) mod profile;
pub(crate) mod run_queue;
pub(crate) mod sides;
pub(crate) mod usage;
