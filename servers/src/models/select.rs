//! `select`: one thread, `select(2)` through `nix`.
//!
//! **How it works.** Every turn builds two bitmaps from scratch: the listener and each connection
//! that [`Session::wants_read`] (not under backpressure) in the read set, each connection with
//! echoes pending in the write set. `select` blocks until one is ready or [`TICK`] passes (the
//! shutdown and idle-timeout check), then every ready connection is pumped until `WouldBlock`.
//! Level-triggered: a connection that still has data after its read budget is simply reported
//! again next turn.
//!
//! **What it costs.** Per connection: a socket, a slab slot and its protocol buffer (measured: 0.2
//! KiB of RSS per connected idle client, 4.2 KiB once it has sent a message). Per turn: O(highest fd) work twice over, in user space (filling and testing the sets)
//! and in the kernel (which walks every bit up to `nfds` and polls each socket), however few are
//! active. No context switches between clients.
//!
//! **Where it breaks.** An `fd_set` is a fixed 1024-bit bitmap (`FD_SETSIZE`): an fd at or above it
//! cannot be watched at all (writing its bit would be out of bounds). Such a connection is closed
//! at once, counted (`fd_setsize`) and logged once, so this model serves about 1,000 clients
//! whatever the process's fd limit. Below that, the O(n) scan per turn grows with the number of
//! clients, not with the number of active ones.
//!
//! [`Session::wants_read`]: crate::session::Session::wants_read
//! [`TICK`]: crate::shutdown::TICK

use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::select::{select, FdSet, FD_SETSIZE};
use nix::sys::time::{TimeVal, TimeValLike};
use slab::Slab;

use crate::context::Context;
use crate::listener::drain_backlog;
use crate::session::{
    close_all, close_reason, idle_keys, ticking_timeout, Client, IdleSweep, PumpResult, SCRATCH_LEN,
};
use crate::stats::{CloseReason, RefuseReason};

/// Serves on one thread until shutdown.
pub fn run(listener: TcpListener, ctx: Context) -> anyhow::Result<()> {
    if !fits_fd_set(&listener) {
        anyhow::bail!(
            "the listening socket's fd {} is not below FD_SETSIZE ({FD_SETSIZE})",
            listener.as_raw_fd()
        );
    }
    listener.set_nonblocking(true)?;
    let mut event_loop = EventLoop {
        ctx: &ctx,
        listener,
        conns: Slab::new(),
        ready: Vec::new(),
        accept_paused_until: None,
        fd_setsize_logged: false,
        scratch: vec![0; SCRATCH_LEN],
    };
    event_loop.run()
}

/// Whether `fd` may be put in an `fd_set`. Checked before every insert: `FdSet::insert` panics
/// on a larger fd (and C's `FD_SET` would write past the bitmap).
fn fits_fd_set(fd: &impl AsRawFd) -> bool {
    usize::try_from(fd.as_raw_fd()).is_ok_and(|fd| fd < FD_SETSIZE)
}

struct EventLoop<'a> {
    ctx: &'a Context,
    listener: TcpListener,
    conns: Slab<Client>,
    /// Keys reported ready by the last `select`, kept to reuse the allocation.
    ready: Vec<usize>,
    accept_paused_until: Option<Instant>,
    fd_setsize_logged: bool,
    scratch: Vec<u8>,
}

impl EventLoop<'_> {
    fn run(&mut self) -> anyhow::Result<()> {
        let served = self.serve();
        let reason = close_reason(&served);
        let conns = std::mem::take(&mut self.conns);
        close_all(
            &self.ctx.stats,
            conns.iter().map(|(_, c)| &c.session.conn),
            reason,
        );
        served
    }

    fn serve(&mut self) -> anyhow::Result<()> {
        let mut sweep = IdleSweep::new(self.ctx.config.idle_timeout);
        while !self.ctx.shutdown.is_triggered() {
            let listener_ready = self.wait()?;
            let mut ready = std::mem::take(&mut self.ready);
            for &key in &ready {
                self.pump(key);
            }
            ready.clear();
            self.ready = ready;
            if self
                .accept_paused_until
                .is_some_and(|t| Instant::now() >= t)
            {
                self.accept_paused_until = None;
            }
            if listener_ready {
                let paused = &mut self.accept_paused_until;
                for stream in drain_backlog(&self.listener, &self.ctx.stats, paused) {
                    self.add(stream);
                }
            }
            let now = Instant::now();
            if let Some(idle) = sweep.due(now) {
                self.close_idle(now, idle);
            }
        }
        Ok(())
    }

    /// One `select` call. Fills `self.ready` with the connections to pump and says whether the
    /// listener has connections waiting.
    fn wait(&mut self) -> anyhow::Result<bool> {
        let mut read_set = FdSet::new();
        let mut write_set = FdSet::new();
        let mut nfds = 0;
        let accepting = self.accept_paused_until.is_none();
        if accepting {
            read_set.insert(self.listener.as_fd());
            nfds = self.listener.as_raw_fd() + 1;
        }
        // Only fds below FD_SETSIZE are ever admitted, so these inserts cannot go out of bounds.
        for (_, conn) in self.conns.iter() {
            let fd = conn.stream.as_fd();
            if conn.session.wants_read() {
                read_set.insert(fd);
            }
            if conn.session.wants_write() {
                write_set.insert(fd);
            }
            nfds = nfds.max(fd.as_raw_fd() + 1);
        }
        let mut timeout = TimeVal::microseconds(self.timeout().as_micros() as i64);
        match select(nfds, &mut read_set, &mut write_set, None, &mut timeout) {
            Ok(0) => return Ok(false),
            Ok(_) => {}
            Err(Errno::EINTR) => return Ok(false),
            Err(e) => anyhow::bail!("select failed: {e}"),
        }
        for (key, conn) in self.conns.iter() {
            let fd = conn.stream.as_fd();
            if read_set.contains(fd) || write_set.contains(fd) {
                self.ready.push(key);
            }
        }
        Ok(accepting && read_set.contains(self.listener.as_fd()))
    }

    /// At most [`TICK`](crate::shutdown::TICK) (the shutdown and idle check); shorter if an
    /// accept backoff ends sooner.
    fn timeout(&self) -> Duration {
        ticking_timeout(self.accept_paused_until)
    }

    fn add(&mut self, stream: TcpStream) {
        let stats = &self.ctx.stats;
        stats.worker_accepted(0);
        if !stats.admit(self.ctx.config.max_conns) {
            return; // dropping the stream closes it
        }
        if !fits_fd_set(&stream) {
            if !self.fd_setsize_logged {
                self.fd_setsize_logged = true;
                eprintln!(
                    "echo-server: select: fd {} is not below FD_SETSIZE ({FD_SETSIZE}); \
                     refusing such connections (logged once)",
                    stream.as_raw_fd()
                );
            }
            stats.refuse(RefuseReason::FdSetSize);
            return;
        }
        let Some(client) = Client::open(stream, &self.ctx.config, stats) else {
            return;
        };
        // Not pumped now: if bytes are already waiting, the next select reports them.
        self.conns.insert(client);
    }

    fn pump(&mut self, key: usize) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        // `more` needs no bookkeeping here: level-triggered select reports leftover data again.
        if let PumpResult::Close(reason) =
            conn.pump(&mut self.scratch, &self.ctx.config, &self.ctx.stats)
        {
            self.close(key, reason);
        }
    }

    fn close(&mut self, key: usize, reason: CloseReason) {
        let conn = self.conns.remove(key);
        self.ctx.stats.closed(&conn.session.conn, reason);
    }

    fn close_idle(&mut self, now: Instant, idle: Duration) {
        for key in idle_keys(&self.conns, now, idle, |c| Some(c.session.last_active)) {
            self.close(key, CloseReason::IdleTimeout);
        }
    }
}
