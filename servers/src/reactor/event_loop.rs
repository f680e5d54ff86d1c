//! The edge-triggered mio event loop, written once. `mio`, `thread-per-core` and `reactor-pool`
//! differ only in what they do with a connection, which each says in a [`Handler`]; the loop
//! does the waiting, the accepting, the retries of connections whose read budget ran out, the
//! accept backoff, the idle sweep and the final count.
//!
//! The shape is mio's own `tcp_server` example: wait for events, dispatch them by token (the
//! listener, the waker, or a connection's slab key), and drain each ready socket until
//! `WouldBlock`, because an edge-triggered event is not repeated.

use std::collections::VecDeque;
use std::io;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::{TcpListener as MioListener, TcpStream};
use mio::{Events, Interest, Poll, Registry, Token, Waker};
use slab::Slab;

use crate::listener::{accept_next, configure_fd};
use crate::models::Context;
use crate::session::{wait_timeout, IdleSweep};
use crate::stats::{CloseReason, RefuseReason, Stats};

/// The listener's token.
pub const LISTENER: Token = Token(usize::MAX - 1);
/// The waker's token (shutdown, and whatever else the handler wakes the loop for).
pub const WAKER: Token = Token(usize::MAX);

/// The wait at the top of the loop. A trait so that a failing wait can be tested.
pub trait Readiness {
    /// Where sockets are registered.
    fn registry(&self) -> &Registry;
    /// Waits for events, at most `timeout` (`epoll_wait`).
    fn wait(&mut self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()>;
}

impl Readiness for Poll {
    fn registry(&self) -> &Registry {
        Poll::registry(self)
    }

    fn wait(&mut self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        self.poll(events, timeout)
    }
}

/// What the loop lends a handler for one call.
pub struct Turn<'a> {
    /// Where connections are registered.
    pub registry: &'a Registry,
    /// Server-wide counters.
    pub stats: &'a Stats,
    /// Keys to pump again this turn without waiting for an event (read budget ran out).
    pub again: &'a mut VecDeque<usize>,
}

/// What a model does with its connections, keyed by the token they were registered with.
pub trait Handler {
    /// Takes a just-accepted, admitted connection: registers it and pumps it once (bytes may be
    /// waiting already, and with edge triggering no event would announce them).
    fn add(&mut self, stream: TcpStream, turn: &mut Turn<'_>);
    /// Moves bytes for connection `key` after an event (or a spurious call: it must cope).
    fn pump(&mut self, key: usize, turn: &mut Turn<'_>);
    /// Runs once a turn after the events were dispatched (`reactor-pool` collects replies).
    fn after_events(&mut self, _turn: &mut Turn<'_>) {}
    /// Closes every connection idle for `idle` or longer.
    fn close_idle(&mut self, now: Instant, idle: Duration, turn: &mut Turn<'_>);
    /// Closes and counts every connection left, for `reason`.
    fn close_all(&mut self, reason: CloseReason, stats: &Stats);
}

/// An event loop's own fds (epoll instance, waker) with its listener registered.
/// `thread-per-core` creates every worker's before any worker accepts: otherwise a worker that
/// starts late can find every fd taken by connections another worker accepted, fail on EMFILE
/// and take the server down with it.
pub struct Prepared<P = Poll> {
    poll: P,
    listener: MioListener,
    waker: Arc<Waker>,
}

impl Prepared<Poll> {
    /// Creates the epoll instance, registers `listener` and hooks the waker to `ctx.shutdown`.
    pub fn new(listener: TcpListener, ctx: &Context) -> io::Result<Self> {
        Prepared::with_readiness(Poll::new()?, listener, ctx)
    }
}

impl<P: Readiness> Prepared<P> {
    /// [`Prepared::new`] on a given readiness source.
    pub fn with_readiness(poll: P, listener: TcpListener, ctx: &Context) -> io::Result<Self> {
        listener.set_nonblocking(true)?;
        let mut listener = MioListener::from_std(listener);
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        // mio allows one waker per poll: the handler gets this one too (see [`Prepared::waker`]).
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let shutdown_waker = Arc::clone(&waker);
        ctx.shutdown.on_trigger(move || {
            let _ = shutdown_waker.wake();
        });
        Ok(Prepared {
            poll,
            listener,
            waker,
        })
    }

    /// The loop's waker, for handlers that are woken from other threads.
    pub fn waker(&self) -> Arc<Waker> {
        Arc::clone(&self.waker)
    }

    /// Runs the loop on the calling thread until shutdown (`Ok`) or a failed wait (`Err`, after
    /// counting every open connection under [`CloseReason::LoopFailed`]). `worker` labels the
    /// accept counter.
    pub fn run<H: Handler>(self, handler: &mut H, ctx: &Context, worker: usize) -> io::Result<()> {
        EventLoop {
            ctx,
            worker,
            poll: self.poll,
            listener: self.listener,
            again: VecDeque::new(),
            accept_paused_until: None,
        }
        .run(handler)
    }
}

struct EventLoop<'a, P> {
    ctx: &'a Context,
    worker: usize,
    poll: P,
    listener: MioListener,
    /// Connections whose read budget ran out: pumped again without waiting for an event.
    again: VecDeque<usize>,
    accept_paused_until: Option<Instant>,
}

impl<P: Readiness> EventLoop<'_, P> {
    fn run<H: Handler>(&mut self, handler: &mut H) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        let mut idle = IdleSweep::new(self.ctx.config.idle_timeout);
        while !self.ctx.shutdown.is_triggered() {
            let timeout = wait_timeout(
                !self.again.is_empty(),
                self.accept_paused_until,
                self.ctx.config.idle_timeout,
            );
            if let Err(e) = self.poll.wait(&mut events, timeout) {
                if e.kind() != io::ErrorKind::Interrupted {
                    handler.close_all(CloseReason::LoopFailed, &self.ctx.stats);
                    return Err(io::Error::new(e.kind(), format!("epoll_wait failed: {e}")));
                }
                events.clear();
            }
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept_all(handler),
                    WAKER => {}
                    Token(key) => handler.pump(key, &mut self.turn()),
                }
            }
            handler.after_events(&mut self.turn());
            for _ in 0..self.again.len() {
                if let Some(key) = self.again.pop_front() {
                    handler.pump(key, &mut self.turn());
                }
            }
            if self
                .accept_paused_until
                .is_some_and(|t| Instant::now() >= t)
            {
                self.accept_paused_until = None;
                self.accept_all(handler);
            }
            let now = Instant::now();
            if let Some(idle) = idle.due(now) {
                handler.close_idle(now, idle, &mut self.turn());
            }
        }
        handler.close_all(CloseReason::Shutdown, &self.ctx.stats);
        Ok(())
    }

    fn turn(&mut self) -> Turn<'_> {
        Turn {
            registry: self.poll.registry(),
            stats: &self.ctx.stats,
            again: &mut self.again,
        }
    }

    /// Accepts until the backlog is empty (edge-triggered: no second event would come).
    fn accept_all<H: Handler>(&mut self, handler: &mut H) {
        if self.accept_paused_until.is_some() {
            return;
        }
        while let Some((stream, _)) = accept_next(
            || self.listener.accept(),
            &self.ctx.stats,
            &mut self.accept_paused_until,
        ) {
            let stats = &self.ctx.stats;
            stats.worker_accepted(self.worker);
            if !stats.admit(self.ctx.config.max_conns) {
                continue; // dropping the stream closes it
            }
            let _ = configure_fd(&stream);
            handler.add(stream, &mut self.turn());
        }
    }
}

/// Registers an accepted connection for reading under the next free key of `conns` and stores
/// what `make` builds from it there. Returns the key, or `None` after counting the refusal when
/// it cannot be registered (the stream is dropped, and so closed).
pub fn insert<T>(
    conns: &mut Slab<T>,
    turn: &Turn<'_>,
    mut stream: TcpStream,
    make: impl FnOnce(TcpStream) -> T,
) -> Option<usize> {
    let entry = conns.vacant_entry();
    let key = entry.key();
    match turn
        .registry
        .register(&mut stream, Token(key), Interest::READABLE)
    {
        Ok(()) => {
            entry.insert(make(stream));
            Some(key)
        }
        Err(e) => {
            eprintln!("echo-server: cannot register connection: {e}");
            turn.stats.refuse(RefuseReason::RegisterFailed);
            None
        }
    }
}

/// Adds or removes WRITABLE from a connection's registration when `want_write` differs from
/// what `watching_write` says it is, and records the change.
pub fn watch_writes(
    registry: &Registry,
    stream: &mut TcpStream,
    key: usize,
    watching_write: &mut bool,
    want_write: bool,
) -> io::Result<()> {
    if want_write == *watching_write {
        return Ok(());
    }
    let interest = if want_write {
        Interest::READABLE | Interest::WRITABLE
    } else {
        Interest::READABLE
    };
    registry.reregister(stream, Token(key), interest)?;
    *watching_write = want_write;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{ServerConfig, Shutdown};

    /// A real epoll instance whose wait starts failing with EBADF once a connection is open.
    struct FailingOnceServing {
        poll: Poll,
        stats: Arc<Stats>,
        calls: usize,
    }

    impl Readiness for FailingOnceServing {
        fn registry(&self) -> &Registry {
            self.poll.registry()
        }

        fn wait(&mut self, events: &mut Events, _timeout: Option<Duration>) -> io::Result<()> {
            self.calls += 1;
            // Bounded: fails by the 50th call (5 s) even if the connection never arrives.
            if self.stats.active() > 0 || self.calls >= 50 {
                return Err(io::Error::from_raw_os_error(libc::EBADF));
            }
            self.poll.poll(events, Some(Duration::from_millis(100)))
        }
    }

    #[test]
    fn a_failed_wait_ends_the_loop_with_an_error_and_counts_open_connections() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let _client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let ctx = Context {
            config: ServerConfig::default(),
            stats: Arc::new(Stats::new(1)),
            shutdown: Shutdown::new(),
        };
        let readiness = FailingOnceServing {
            poll: Poll::new().unwrap(),
            stats: Arc::clone(&ctx.stats),
            calls: 0,
        };
        let prepared = Prepared::with_readiness(readiness, listener, &ctx).unwrap();
        let err = crate::models::mio::serve_prepared(prepared, &ctx, 0).unwrap_err();
        assert!(err.to_string().contains("epoll_wait failed"), "{err}");
        let stats = ctx.stats.snapshot("mio");
        assert_eq!(stats.accepted, 1);
        assert_eq!(stats.closed_by.loop_failed, 1);
        assert_eq!(stats.closed_by.shutdown, 0);
        assert_eq!(stats.active, 0);
    }
}
