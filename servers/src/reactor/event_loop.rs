//! The loop itself: wait, dispatch by token, accept (with backoff), pump again the connections
//! whose read budget ran out, sweep the idle ones, and count what is left when it stops.

use std::collections::VecDeque;
use std::io;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::{TcpListener as MioListener, TcpStream};
use mio::{Events, Interest, Poll, Registry, Token, Waker};

use crate::context::Context;
use crate::listener::{accept_next, configure_fd};
use crate::session::{wait_timeout, IdleSweep};
use crate::stats::{CloseReason, Stats};

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
