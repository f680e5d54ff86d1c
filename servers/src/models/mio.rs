//! `mio`: one thread, epoll through mio, edge-triggered.
//!
//! **How it works.** The listener and every connection are registered with one epoll instance.
//! Each wake-up returns only the sockets that changed, and each is pumped (write, read, write)
//! until `WouldBlock`, because an edge-triggered event is not repeated. A connection that used up
//! its read budget is queued to be pumped again on the next turn, so one busy client cannot
//! starve the rest. Writability is watched only while echo bytes are pending. The loop itself
//! (wait, dispatch by token, accept, retry, idle sweep) is [`crate::reactor`], shared with
//! `thread-per-core` and `reactor-pool`; this file is what it does with each connection.
//!
//! **What it costs.** Per connection: a socket, a slab slot and its protocol buffer (nothing
//! while idle). Per event: one `epoll_wait` amortised over every ready socket, then plain
//! `read`/`write` calls. No context switches between clients.
//!
//! **Where it breaks.** One thread uses one core: past that, add threads (`thread-per-core`).
//! Anything slow done inside the loop stalls every client, which is why the protocol work is
//! kept to a copy and a scan.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use slab::Slab;

use super::Context;
use crate::reactor::{insert, watch_writes, Handler, Prepared, Readiness, Turn};
use crate::session::{close_all, idle_keys, PumpResult, Session, SCRATCH_LEN};
use crate::stats::{CloseReason, Stats};

/// Serves on one thread until shutdown.
pub fn run(listener: TcpListener, ctx: Context) -> anyhow::Result<()> {
    serve_prepared(Prepared::new(listener, &ctx)?, &ctx, 0)
}

/// Runs a loop set up by [`Prepared::new`] on the calling thread until shutdown; `worker` labels
/// its accept counter. `thread-per-core` runs one of these per thread, each on its own
/// SO_REUSEPORT listener.
pub fn serve_prepared<P: Readiness>(
    prepared: Prepared<P>,
    ctx: &Context,
    worker: usize,
) -> anyhow::Result<()> {
    let mut echo = Echo {
        ctx,
        conns: Slab::new(),
        scratch: vec![0; SCRATCH_LEN],
    };
    prepared.run(&mut echo, ctx, worker)?;
    Ok(())
}

struct Connection {
    stream: TcpStream,
    session: Session,
    /// Whether WRITABLE is currently part of the registration.
    watching_write: bool,
}

/// Echoes in place on the loop's thread: each connection is pumped (write, read, write) until
/// `WouldBlock` or its read budget runs out.
struct Echo<'a> {
    ctx: &'a Context,
    conns: Slab<Connection>,
    scratch: Vec<u8>,
}

impl Handler for Echo<'_> {
    fn add(&mut self, stream: TcpStream, turn: &mut Turn<'_>) {
        let config = &self.ctx.config;
        let added = insert(&mut self.conns, turn, stream, |stream| Connection {
            stream,
            session: Session::new(config.protocol, config.limits, Instant::now()),
            watching_write: false,
        });
        if let Some(key) = added {
            self.pump(key, turn);
        }
    }

    fn pump(&mut self, key: usize, turn: &mut Turn<'_>) {
        let Some(conn) = self.conns.get_mut(key) else {
            return; // closed earlier in this turn
        };
        let work = &self.ctx.config.extra_work;
        match conn
            .session
            .pump(&mut conn.stream, &mut self.scratch, work, turn.stats)
        {
            PumpResult::Open { more } => {
                if more {
                    turn.again.push_back(key);
                }
                let want_write = conn.session.wants_write();
                let watching = &mut conn.watching_write;
                if watch_writes(turn.registry, &mut conn.stream, key, watching, want_write).is_err()
                {
                    self.close(key, CloseReason::IoError, turn);
                }
            }
            PumpResult::Close(reason) => self.close(key, reason, turn),
        }
    }

    fn close_idle(&mut self, now: Instant, idle: Duration, turn: &mut Turn<'_>) {
        for key in idle_keys(&self.conns, now, idle, |c| Some(c.session.last_active)) {
            self.close(key, CloseReason::IdleTimeout, turn);
        }
    }

    fn close_all(&mut self, reason: CloseReason, stats: &Stats) {
        close_all(
            stats,
            self.conns.iter().map(|(_, c)| &c.session.conn),
            reason,
        );
        self.conns.clear();
    }
}

impl Echo<'_> {
    fn close(&mut self, key: usize, reason: CloseReason, turn: &Turn<'_>) {
        let mut conn = self.conns.remove(key);
        let _ = turn.registry.deregister(&mut conn.stream);
        turn.stats.closed(&conn.session.conn, reason);
    }
}
