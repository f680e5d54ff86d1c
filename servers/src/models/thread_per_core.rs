//! `thread-per-core`: N threads, each with its own SO_REUSEPORT listener and its own mio loop.
//!
//! **How it works.** `--workers` listening sockets are bound to the same port with SO_REUSEPORT;
//! the kernel hashes each incoming connection (by its 4-tuple) to one of them. Each thread runs
//! the complete `mio` event loop ([`serve_echo`]) on its own listener, so a connection is
//! accepted, read and written by one thread for its whole life. Threads share nothing but the
//! relaxed atomic counters in [`crate::Stats`]; per-thread accept counts show how evenly the
//! kernel spread the load (`per_worker_accepted` in the shutdown line).
//!
//! **What it costs.** One thread, one epoll instance, one listening socket and one 64 KiB read
//! buffer per worker; per connection exactly what `mio` costs (measured at 1,000 connections:
//! 0.2 KiB of RSS per idle client, 4.2 KiB once it has sent a message, which is the protocol
//! buffer it keeps). No locks, no cross-thread wake-ups, no cache lines bouncing between cores
//! for connection state.
//!
//! **Where it breaks.** The spread is a hash, not a scheduler: a thread that got the busy clients
//! stays busy while another idles (no work stealing), and with few connections the imbalance can
//! be large. A connection never migrates, so one very hot client is capped at one core. Closing a
//! listener drops the connections queued in its backlog (the kernel does not hand them to the
//! others), which only matters at shutdown here.

use std::net::TcpListener;
use std::thread;

use anyhow::{anyhow, Context as _};

use crate::context::Context;
use crate::listener::bind;
use crate::reactor::{serve_echo, Prepared};

/// Serves on `ctx.config.workers` threads until shutdown; the first uses `listener`.
pub fn run(listener: TcpListener, ctx: Context) -> anyhow::Result<()> {
    let workers = ctx.config.workers.max(1);
    let addr = listener.local_addr()?;
    // Bind every listener before starting any thread: a bind failure is reported at once instead
    // of leaving some workers serving a port the others could not join.
    let mut listeners = vec![listener];
    for i in 1..workers {
        let l = bind(addr, ctx.config.backlog, true)
            .with_context(|| format!("worker {i}: cannot bind SO_REUSEPORT listener on {addr}"))?;
        listeners.push(l);
    }
    // Likewise every epoll instance and waker, before any worker accepts: once one does, the
    // connections it takes can use up the fds a later worker would need to start.
    let mut loops = Vec::with_capacity(workers);
    for (i, listener) in listeners.into_iter().enumerate() {
        let prepared = Prepared::new(listener, &ctx)
            .with_context(|| format!("worker {i}: cannot set up its event loop"))?;
        loops.push(prepared);
    }
    let mut handles = Vec::with_capacity(workers);
    for (worker, prepared) in loops.into_iter().enumerate() {
        let worker_ctx = ctx.clone();
        let spawned = thread::Builder::new()
            .name(format!("tpc-{worker}"))
            .spawn(move || {
                let served = serve_echo(prepared, &worker_ctx, worker);
                if served.is_err() {
                    // A worker whose loop failed takes the server down, so it exits non-zero
                    // instead of serving on with one listener dead.
                    worker_ctx.shutdown.trigger();
                }
                served
            });
        match spawned {
            Ok(h) => handles.push(h),
            Err(e) => {
                // Stop the workers already running, then report.
                ctx.shutdown.trigger();
                join_all(handles)?;
                return Err(anyhow!("cannot spawn worker thread {worker}: {e}"));
            }
        }
    }
    join_all(handles)
}

/// Joins every worker (even after one failed, so none outlives `run`) and returns the first error.
fn join_all(handles: Vec<thread::JoinHandle<anyhow::Result<()>>>) -> anyhow::Result<()> {
    let mut first_err = None;
    for (worker, h) in handles.into_iter().enumerate() {
        let result = match h.join() {
            Ok(r) => r.with_context(|| format!("worker {worker} failed")),
            Err(_) => Err(anyhow!("worker {worker} panicked")),
        };
        if let Err(e) = result {
            first_err.get_or_insert(e);
        }
    }
    first_err.map_or(Ok(()), Err)
}
