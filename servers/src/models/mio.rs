//! `mio`: one thread, epoll through mio, edge-triggered.
//!
//! **How it works.** The listener and every connection are registered with one epoll instance.
//! Each wake-up returns only the sockets that changed, and each is pumped (write, read, write)
//! until `WouldBlock`, because an edge-triggered event is not repeated. A connection that used up
//! its read budget is queued to be pumped again on the next turn, so one busy client cannot
//! starve the rest. Writability is watched only while echo bytes are pending.
//!
//! **What it costs.** Per connection: a socket, a slab slot and its protocol buffer (nothing
//! while idle). Per event: one `epoll_wait` amortised over every ready socket, then plain
//! `read`/`write` calls. No context switches between clients.
//!
//! **Where it breaks.** One thread uses one core: past that, add threads (`thread-per-core`).
//! Anything slow done inside the loop stalls every client, which is why the protocol work is
//! kept to a copy and a scan.

use std::collections::VecDeque;
use std::io;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::{TcpListener as MioListener, TcpStream};
use mio::{Events, Interest, Poll, Registry, Token, Waker};
use slab::Slab;

use super::Context;
use crate::listener::{accept_step, configure_fd, AcceptStep};
use crate::session::{PumpResult, Session, SCRATCH_LEN};
use crate::shutdown::TICK;
use crate::stats::{CloseReason, RefuseReason};

const LISTENER: Token = Token(usize::MAX - 1);
const WAKER: Token = Token(usize::MAX);

/// Serves on one thread until shutdown.
pub fn run(listener: TcpListener, ctx: Context) -> anyhow::Result<()> {
    serve(listener, &ctx, 0)
}

/// One complete event loop on the calling thread; `worker` labels its accept counter.
pub fn serve(listener: TcpListener, ctx: &Context, worker: usize) -> anyhow::Result<()> {
    serve_prepared(Prepared::new(listener, ctx)?, ctx, worker);
    Ok(())
}

/// Runs a loop set up by [`Prepared::new`] on the calling thread until shutdown.
/// `thread-per-core` runs one of these per thread, each on its own SO_REUSEPORT listener.
pub fn serve_prepared(prepared: Prepared, ctx: &Context, worker: usize) {
    EventLoop::new(prepared, ctx, worker).run();
}

/// An event loop's own fds (epoll instance, shutdown waker) with its listener registered.
/// `thread-per-core` creates every worker's before any worker accepts: otherwise a worker that
/// starts late can find every fd taken by connections another worker accepted, fail on EMFILE
/// and take the server down with it.
pub struct Prepared {
    poll: Poll,
    listener: MioListener,
}

impl Prepared {
    /// Creates the epoll instance, registers `listener` and hooks the waker to `ctx.shutdown`.
    pub fn new(listener: TcpListener, ctx: &Context) -> io::Result<Self> {
        listener.set_nonblocking(true)?;
        let mut listener = MioListener::from_std(listener);
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        ctx.shutdown.on_trigger(move || {
            let _ = waker.wake();
        });
        Ok(Prepared { poll, listener })
    }
}

struct Connection {
    stream: TcpStream,
    session: Session,
    /// Whether WRITABLE is currently part of the registration.
    watching_write: bool,
}

struct EventLoop<'a> {
    ctx: &'a Context,
    worker: usize,
    poll: Poll,
    listener: MioListener,
    conns: Slab<Connection>,
    /// Connections whose read budget ran out: pumped again without waiting for an event.
    again: VecDeque<usize>,
    accept_paused_until: Option<Instant>,
    scratch: Vec<u8>,
}

impl<'a> EventLoop<'a> {
    fn new(prepared: Prepared, ctx: &'a Context, worker: usize) -> Self {
        let Prepared { poll, listener } = prepared;
        EventLoop {
            ctx,
            worker,
            poll,
            listener,
            conns: Slab::new(),
            again: VecDeque::new(),
            accept_paused_until: None,
            scratch: vec![0; SCRATCH_LEN],
        }
    }

    fn run(&mut self) {
        let mut events = Events::with_capacity(1024);
        let mut last_idle_check = Instant::now();
        while !self.ctx.shutdown.is_triggered() {
            let timeout = self.poll_timeout();
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() != io::ErrorKind::Interrupted {
                    eprintln!("echo-server: epoll_wait failed: {e}");
                    break;
                }
            }
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept_all(),
                    WAKER => {}
                    Token(key) => self.pump(key),
                }
            }
            for _ in 0..self.again.len() {
                if let Some(key) = self.again.pop_front() {
                    self.pump(key);
                }
            }
            if self
                .accept_paused_until
                .is_some_and(|t| Instant::now() >= t)
            {
                self.accept_paused_until = None;
                self.accept_all();
            }
            if let Some(idle) = self.ctx.config.idle_timeout {
                if last_idle_check.elapsed() >= TICK {
                    last_idle_check = Instant::now();
                    self.close_idle(idle);
                }
            }
        }
        for conn in self.conns.drain() {
            self.ctx
                .stats
                .closed(&conn.session.conn, CloseReason::Shutdown);
        }
    }

    fn poll_timeout(&self) -> Option<Duration> {
        if !self.again.is_empty() {
            return Some(Duration::ZERO);
        }
        let backoff = self
            .accept_paused_until
            .map(|t| t.saturating_duration_since(Instant::now()));
        let idle = self.ctx.config.idle_timeout.map(|_| TICK);
        match (backoff, idle) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Accepts until the backlog is empty (edge-triggered: no second event would come).
    fn accept_all(&mut self) {
        if self.accept_paused_until.is_some() {
            return;
        }
        loop {
            match accept_step(|| self.listener.accept(), &self.ctx.stats) {
                AcceptStep::Serve((stream, _)) => self.add(stream),
                AcceptStep::Drained => return,
                AcceptStep::PauseUntil(at) => {
                    self.accept_paused_until = Some(at);
                    return;
                }
            }
        }
    }

    fn add(&mut self, mut stream: TcpStream) {
        let stats = &self.ctx.stats;
        stats.worker_accepted(self.worker);
        if !stats.admit(self.ctx.config.max_conns) {
            return; // dropping the stream closes it
        }
        let _ = configure_fd(&stream);
        let entry = self.conns.vacant_entry();
        let key = entry.key();
        if let Err(e) = self
            .poll
            .registry()
            .register(&mut stream, Token(key), Interest::READABLE)
        {
            eprintln!("echo-server: cannot register connection: {e}");
            stats.refuse(RefuseReason::RegisterFailed);
            return;
        }
        let config = &self.ctx.config;
        entry.insert(Connection {
            stream,
            session: Session::new(config.protocol, config.limits, Instant::now()),
            watching_write: false,
        });
        // Bytes may already be waiting; with edge triggering no event would announce them.
        self.pump(key);
    }

    fn pump(&mut self, key: usize) {
        let Some(conn) = self.conns.get_mut(key) else {
            return; // closed earlier in this turn
        };
        match conn.session.pump(
            &mut conn.stream,
            &mut self.scratch,
            &self.ctx.config.extra_work,
            &self.ctx.stats,
        ) {
            PumpResult::Open { more } => {
                if more {
                    self.again.push_back(key);
                }
                let want_write = conn.session.wants_write();
                if want_write != conn.watching_write
                    && update_interest(self.poll.registry(), conn, key, want_write).is_err()
                {
                    self.close(key, CloseReason::IoError);
                }
            }
            PumpResult::Close(reason) => self.close(key, reason),
        }
    }

    fn close(&mut self, key: usize, reason: CloseReason) {
        let mut conn = self.conns.remove(key);
        let _ = self.poll.registry().deregister(&mut conn.stream);
        self.ctx.stats.closed(&conn.session.conn, reason);
    }

    fn close_idle(&mut self, idle: Duration) {
        let now = Instant::now();
        let expired: Vec<usize> = self
            .conns
            .iter()
            .filter(|(_, c)| now.duration_since(c.session.last_active) >= idle)
            .map(|(k, _)| k)
            .collect();
        for key in expired {
            self.close(key, CloseReason::IdleTimeout);
        }
    }
}

fn update_interest(
    registry: &Registry,
    conn: &mut Connection,
    key: usize,
    want_write: bool,
) -> io::Result<()> {
    let interest = if want_write {
        Interest::READABLE | Interest::WRITABLE
    } else {
        Interest::READABLE
    };
    registry.reregister(&mut conn.stream, Token(key), interest)?;
    conn.watching_write = want_write;
    Ok(())
}
