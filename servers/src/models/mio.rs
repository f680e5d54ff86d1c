//! `mio`: one thread, epoll through mio, edge-triggered.
//!
//! **How it works.** The listener and every connection are registered with one epoll instance.
//! Each wake-up returns only the sockets that changed, and each is pumped (write, read, write)
//! until `WouldBlock`, because an edge-triggered event is not repeated. A connection that used up
//! its read budget is queued to be pumped again on the next turn, so one busy client cannot
//! starve the rest. Writability is watched only while echo bytes are pending. The loop itself
//! (wait, dispatch by token, accept, retry, idle sweep) is [`crate::reactor`], shared with
//! `thread-per-core` and `reactor-pool`, and so is what it does with each connection
//! ([`serve_echo`], shared with `thread-per-core`): this model is that loop on one thread.
//!
//! **What it costs.** Per connection: a socket, a slab slot and its protocol buffer (nothing
//! while idle). Per event: one `epoll_wait` amortised over every ready socket, then plain
//! `read`/`write` calls. No context switches between clients.
//!
//! **Where it breaks.** One thread uses one core: past that, add threads (`thread-per-core`).
//! Anything slow done inside the loop stalls every client, which is why the protocol work is
//! kept to a copy and a scan.

use std::net::TcpListener;

use crate::context::Context;
use crate::reactor::{serve_echo, Prepared};

/// Serves on one thread until shutdown.
pub fn run(listener: TcpListener, ctx: Context) -> anyhow::Result<()> {
    serve_echo(Prepared::new(listener, &ctx)?, &ctx, 0)
}
