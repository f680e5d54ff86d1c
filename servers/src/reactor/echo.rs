//! The handler `mio` and `thread-per-core` share: each connection is echoed in place, on the
//! thread of the loop that accepted it, by a [`Session`] pumped until `WouldBlock` or until its
//! read budget runs out.

use std::time::{Duration, Instant};

use mio::net::TcpStream;

use super::connections::Connections;
use super::event_loop::{Handler, Prepared, Readiness, Turn};
use crate::context::Context;
use crate::session::{Session, SCRATCH_LEN};
use crate::stats::{CloseReason, Stats};

/// Runs a loop set up by [`Prepared::new`] on the calling thread until shutdown, echoing in
/// place; `worker` labels its accept counter. `mio` runs one; `thread-per-core` runs one per
/// thread, each on its own SO_REUSEPORT listener.
pub fn serve_echo<P: Readiness>(
    prepared: Prepared<P>,
    ctx: &Context,
    worker: usize,
) -> anyhow::Result<()> {
    let mut echo = Echo {
        ctx,
        conns: Connections::default(),
        scratch: vec![0; SCRATCH_LEN],
    };
    prepared.run(&mut echo, ctx, worker)?;
    Ok(())
}

/// Echoes in place on the loop's thread: each connection is pumped (write, read, write) until
/// `WouldBlock` or its read budget runs out.
struct Echo<'a> {
    ctx: &'a Context,
    conns: Connections<()>,
    scratch: Vec<u8>,
}

impl Handler for Echo<'_> {
    fn add(&mut self, stream: TcpStream, turn: &mut Turn<'_>) {
        let config = &self.ctx.config;
        let session = Session::new(config.protocol, config.limits, Instant::now());
        if let Some(key) = self.conns.insert(turn, stream, session, ()) {
            self.pump(key, turn);
        }
    }

    fn pump(&mut self, key: usize, turn: &mut Turn<'_>) {
        let Some(conn) = self.conns.get_mut(key) else {
            return; // closed earlier in this turn
        };
        let work = &self.ctx.config.extra_work;
        let pumped = conn
            .session
            .pump(&mut conn.stream, &mut self.scratch, work, turn.stats);
        let want_write = conn.session.wants_write();
        self.conns.settle(key, pumped, want_write, turn);
    }

    fn close_idle(&mut self, now: Instant, idle: Duration, turn: &mut Turn<'_>) {
        self.conns.close_idle(now, idle, turn);
    }

    fn close_all(&mut self, reason: CloseReason, stats: &Stats) {
        self.conns.close_all(reason, stats);
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::net::TcpListener;
    use std::sync::Arc;

    use mio::{Events, Poll, Registry};

    use super::*;
    use crate::config::ServerConfig;
    use crate::reactor::Readiness;
    use crate::shutdown::Shutdown;

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
        let err = serve_echo(prepared, &ctx, 0).unwrap_err();
        assert!(err.to_string().contains("epoll_wait failed"), "{err}");
        let stats = ctx.stats.snapshot("mio");
        assert_eq!(stats.accepted, 1);
        assert_eq!(stats.closed_by.loop_failed, 1);
        assert_eq!(stats.closed_by.shutdown, 0);
        assert_eq!(stats.active, 0);
    }
}
