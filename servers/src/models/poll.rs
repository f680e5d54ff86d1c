//! `poll`: one thread, `poll(2)` through `nix`.
//!
//! **How it works.** The loop keeps one `pollfd` array for its whole life: entry 0 is the
//! listener, entry `i + 1` is connection `i`. Adding a connection pushes an entry, closing one
//! swap-removes it from both vectors, and after each pump only that entry's `events` is updated
//! (`POLLIN` unless under backpressure or after EOF, `POLLOUT` only while echoes are pending).
//! `poll` blocks until something is ready or [`TICK`] passes (the shutdown and idle-timeout
//! check); every entry with `revents` is pumped until `WouldBlock`. Level-triggered: leftover data
//! after a read budget is reported again next turn.
//!
//! **What it costs.** Per connection: a socket, an 8-byte `pollfd`, its protocol buffer (measured:
//! 0.3 KiB of RSS per connected idle client, 4.2 KiB once it has sent a message). Per turn: the kernel copies the whole array in and out and polls every socket in
//! it, and user space scans every `revents`: O(total clients), however few are active. No context
//! switches between clients.
//!
//! **Where it breaks.** No `FD_SETSIZE` ceiling (the fd limit is the only one), but at thousands
//! of mostly idle clients the O(n) scan per turn dominates: each wake-up for one active client
//! costs as much as a wake-up for all of them. One thread uses one core.
//!
//! [`TICK`]: crate::shutdown::TICK

use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::context::Context;
use crate::listener::drain_backlog;
use crate::session::{
    close_all, close_reason, is_idle, ticking_timeout, Client, IdleSweep, PumpResult, Session,
    SCRATCH_LEN,
};
use crate::stats::CloseReason;

/// Serves on one thread until shutdown.
pub fn run(listener: TcpListener, ctx: Context) -> anyhow::Result<()> {
    listener.set_nonblocking(true)?;
    let listener_fd = watch(&listener, PollFlags::POLLIN);
    let mut event_loop = EventLoop {
        ctx: &ctx,
        listener,
        pollfds: vec![listener_fd],
        conns: Vec::new(),
        accept_paused_until: None,
        scratch: vec![0; SCRATCH_LEN],
    };
    event_loop.run()
}

struct EventLoop<'a> {
    ctx: &'a Context,
    listener: TcpListener,
    /// `pollfds[0]` watches `listener`, `pollfds[i + 1]` watches `conns[i].stream`. Every entry
    /// is removed in the same step as the socket it names is dropped (see [`watch`]).
    pollfds: Vec<PollFd<'static>>,
    conns: Vec<Client>,
    accept_paused_until: Option<Instant>,
    scratch: Vec<u8>,
}

/// A `pollfd` that outlives the borrow checker's view of its socket, so the array can be kept
/// across turns instead of being rebuilt from every connection each time.
fn watch(sock: &impl AsRawFd, events: PollFlags) -> PollFd<'static> {
    // SAFETY: `borrow_raw` needs the fd to stay open while the `BorrowedFd` (here: the `pollfd`)
    // is used. The loop upholds it: the listener lives as long as the loop, and a connection's
    // entry is swap-removed from `pollfds` in the same call that drops its stream (`close`,
    // `drain` at shutdown). Even a stale entry would only make poll(2) report POLLNVAL.
    let fd = unsafe { BorrowedFd::borrow_raw(sock.as_raw_fd()) };
    PollFd::new(fd, events)
}

/// The events to wait for on a connection, from what its session wants.
fn interest(session: &Session) -> PollFlags {
    let mut flags = PollFlags::empty();
    if session.wants_read() {
        flags |= PollFlags::POLLIN;
    }
    if session.wants_write() {
        flags |= PollFlags::POLLOUT;
    }
    flags
}

impl EventLoop<'_> {
    fn run(&mut self) -> anyhow::Result<()> {
        let served = self.serve();
        let reason = close_reason(&served);
        self.pollfds.truncate(1);
        let conns = std::mem::take(&mut self.conns);
        close_all(
            &self.ctx.stats,
            conns.iter().map(|c| &c.session.conn),
            reason,
        );
        served
    }

    fn serve(&mut self) -> anyhow::Result<()> {
        let mut sweep = IdleSweep::new(self.ctx.config.idle_timeout);
        while !self.ctx.shutdown.is_triggered() {
            let timeout = self.timeout();
            let mut ready = match poll(&mut self.pollfds, timeout) {
                Ok(n) => n,
                Err(Errno::EINTR) => 0,
                Err(e) => anyhow::bail!("poll failed: {e}"),
            };
            // Backwards, so that a swap-remove only moves an entry that was already visited.
            for i in (0..self.conns.len()).rev() {
                if ready == 0 {
                    break;
                }
                // Unknown revents bits: pump anyway, the read or write will tell.
                if self.pollfds[i + 1].any().unwrap_or(true) {
                    ready -= 1;
                    self.pump(i);
                }
            }
            if self
                .accept_paused_until
                .is_some_and(|t| Instant::now() >= t)
            {
                self.accept_paused_until = None;
                self.pollfds[0].set_events(PollFlags::POLLIN);
            }
            if ready > 0 && self.pollfds[0].any().unwrap_or(false) {
                self.accept_all();
            }
            let now = Instant::now();
            if let Some(idle) = sweep.due(now) {
                self.close_idle(now, idle);
            }
        }
        Ok(())
    }

    /// At most [`TICK`](crate::shutdown::TICK); shorter if an accept backoff ends sooner
    /// (rounded up, so the loop does not spin through the last sub-millisecond).
    fn timeout(&self) -> PollTimeout {
        let wait = ticking_timeout(self.accept_paused_until);
        let millis = wait.as_micros().div_ceil(1000);
        PollTimeout::try_from(millis).unwrap_or(PollTimeout::MAX)
    }

    /// Accepts until the backlog is empty.
    fn accept_all(&mut self) {
        let backlog = drain_backlog(
            &self.listener,
            &self.ctx.stats,
            &mut self.accept_paused_until,
        );
        backlog.into_iter().for_each(|stream| self.add(stream));
        if self.accept_paused_until.is_some() {
            // Stop watching the listener until then; open connections are still served.
            self.pollfds[0].set_events(PollFlags::empty());
        }
    }

    fn add(&mut self, stream: TcpStream) {
        let stats = &self.ctx.stats;
        stats.worker_accepted(0);
        if !stats.admit(self.ctx.config.max_conns) {
            return; // dropping the stream closes it
        }
        let Some(client) = Client::open(stream, &self.ctx.config, stats) else {
            return;
        };
        // Not pumped now: if bytes are already waiting, the next poll reports them.
        self.pollfds
            .push(watch(&client.stream, interest(&client.session)));
        self.conns.push(client);
    }

    fn pump(&mut self, i: usize) {
        let conn = &mut self.conns[i];
        match conn.pump(&mut self.scratch, &self.ctx.config, &self.ctx.stats) {
            // `more` needs no bookkeeping: level-triggered poll reports leftover data again.
            PumpResult::Open { .. } => self.pollfds[i + 1].set_events(interest(&conn.session)),
            PumpResult::Close(reason) => self.close(i, reason),
        }
    }

    /// Swap-removes connection `i` and its `pollfd` together (the last entry moves into `i`).
    fn close(&mut self, i: usize, reason: CloseReason) {
        self.pollfds.swap_remove(i + 1);
        let conn = self.conns.swap_remove(i);
        self.ctx.stats.closed(&conn.session.conn, reason);
    }

    fn close_idle(&mut self, now: Instant, idle: Duration) {
        for i in (0..self.conns.len()).rev() {
            if is_idle(self.conns[i].session.last_active, now, idle) {
                self.close(i, CloseReason::IdleTimeout);
            }
        }
    }
}
