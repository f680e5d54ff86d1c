//! `may`: one stackful coroutine per client on may's work-stealing scheduler.
//!
//! **How it works.** The code is the `threads` model's textbook loop (blocking-style `read`,
//! hand the bytes to [`proto::Conn`], `write` every pending echo, repeat; a `raw` chunk with
//! nothing queued before it is written straight from the read buffer, which `Conn` counts
//! without copying: [`proto::Conn::pass_through`]), but each client runs
//! in a may coroutine instead of an OS thread. A "blocking" call that would block parks the
//! coroutine and registers the socket with may's epoll selector; `--workers` scheduler threads
//! run whichever coroutines are ready and steal from each other. A blocked `write` is the
//! backpressure: the coroutine stops reading until the client drains its echoes.
//! `--idle-timeout` is the socket's read and write timeout, which may implements with its own
//! timer. Shutdown: every open socket is kept in a registry, and `shutdown(2)` on each (and on
//! the listener) wakes its coroutine, which counts itself and leaves.
//!
//! **What it costs.** Per connection: a coroutine with its own stack (`--thread-stack`, 64 KiB
//! by default, of which only the touched pages are resident), a read buffer (4 KiB, doubling
//! up to 64 KiB while reads fill it) and its protocol buffer. A switch between coroutines is a
//! register save and restore in user space, far cheaper than a thread's context switch, but
//! each wake-up still goes through may's selector and run queues.
//!
//! **Where it breaks.** A coroutine must never block its scheduler thread in a call may does
//! not wrap (that thread's other coroutines stall), must not hold a thread-local across a
//! suspension (it may resume on another thread), and must fit its stack: an overflow is a
//! crash, not an error, which is why spawning one is `unsafe`. may's scheduler is global to the
//! process, so `--workers` and the stack size are set once, by the first server a process runs.

use std::io::{self, Read, Write};
use std::net::TcpListener as StdListener;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, RawFd};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::anyhow;
use may::net::{TcpListener, TcpStream};
use proto::Conn;
use slab::Slab;

use crate::client_guard::{next_read_len, ClientGuard, FIRST_READ_LEN};
use crate::context::Context;
use crate::listener::{pause_after_accept_error, ACCEPT_BACKOFF};
use crate::stats::{CloseReason, RefuseReason};

/// How long shutdown waits for the client coroutines to count themselves.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

/// Serves until shutdown, then wakes and waits for every client coroutine.
pub fn run(listener: StdListener, ctx: Context) -> anyhow::Result<()> {
    may::config().set_workers(ctx.config.workers.max(1));
    let registry = Arc::new(Registry::default());
    registry.set_listener(Some(listener.as_raw_fd()));
    let fd = listener.into_raw_fd();
    // may's conversion panics if it cannot register the fd with its selector: report that as an
    // error at start instead.
    // SAFETY: `fd` is a bound, listening TCP socket whose ownership `into_raw_fd` gave up, so
    // the may listener is its only owner.
    let listener = std::panic::catch_unwind(|| unsafe { TcpListener::from_raw_fd(fd) })
        .map_err(|_| anyhow!("may could not register the listening socket with its selector"))?;
    let waker = Arc::clone(&registry);
    ctx.shutdown.on_trigger(move || waker.shut_all());
    let ctx = Arc::new(ctx);
    let acceptor = {
        let (ctx, registry) = (Arc::clone(&ctx), Arc::clone(&registry));
        // SAFETY: the accept loop keeps no thread-local across a suspension and its frames are
        // a few hundred bytes, far inside the stack it is given.
        unsafe {
            may::coroutine::Builder::new().spawn(move || accept_loop(listener, &ctx, &registry))
        }?
    };
    let accepted = acceptor
        .join()
        .map_err(|_| anyhow!("the may accept coroutine panicked"));
    if !matches!(accepted, Ok(Ok(()))) {
        // A dead accept loop takes the server down instead of serving on without it.
        ctx.shutdown.trigger();
    }
    registry.wait_empty(SHUTDOWN_WAIT);
    accepted?
}

fn accept_loop(
    listener: TcpListener,
    ctx: &Arc<Context>,
    registry: &Arc<Registry>,
) -> anyhow::Result<()> {
    let stack = (ctx.config.thread_stack / std::mem::size_of::<usize>()).max(1);
    while !ctx.shutdown.is_triggered() {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            // shutdown(2) on the listener wakes the accept with an error.
            Err(_) if ctx.shutdown.is_triggered() => break,
            Err(e) => {
                if pause_after_accept_error(&e, &ctx.stats) {
                    may::coroutine::sleep(ACCEPT_BACKOFF);
                }
                continue;
            }
        };
        let live = registry.enter();
        let (ctx_c, registry_c) = (Arc::clone(ctx), Arc::clone(registry));
        // SAFETY: a client coroutine keeps no thread-local across a suspension (the scratch
        // buffer is its own, on the heap) and its deepest path fits well inside `stack` words,
        // the same bound `--thread-stack` gives the `threads` model.
        let spawned = unsafe {
            may::coroutine::Builder::new()
                .stack_size(stack)
                .spawn(move || serve_client(stream, live, &ctx_c, &registry_c))
        };
        if spawned.is_err() && ctx.stats.admit(ctx.config.max_conns) {
            ctx.stats.refuse(RefuseReason::SpawnFailed);
        }
    }
    registry.set_listener(None);
    drop(listener);
    Ok(())
}

/// One client coroutine: admit, register for shutdown, serve, count.
fn serve_client(stream: TcpStream, _live: Live, ctx: &Context, registry: &Arc<Registry>) {
    let Some(client) = ClientGuard::admit(ctx, 0, None) else {
        return; // dropping the stream closes it
    };
    let idle = ctx.config.idle_timeout;
    let configured = stream
        .set_nodelay(true)
        .and_then(|()| stream.set_read_timeout(idle))
        .and_then(|()| stream.set_write_timeout(idle));
    if let Err(e) = configured {
        client.finish(CloseReason::from_io(&e));
        return;
    }
    // The registration owns the stream: dropping it unregisters the fd before closing it, so
    // shutdown never touches a reused fd.
    let Some(mut registered) = registry.register(stream) else {
        client.finish(CloseReason::Shutdown);
        return;
    };
    let mut client = client;
    let reason = serve(&mut registered.stream, &mut client.conn, ctx);
    client.finish(reason);
}

/// The coroutine's loop; returns why the connection ended.
fn serve(stream: &mut TcpStream, conn: &mut Conn, ctx: &Context) -> CloseReason {
    let work = &ctx.config.extra_work;
    // With nothing planted, a raw echo is written straight from the read buffer when nothing
    // is queued before it, sparing the copy into the protocol buffer.
    let plain = work.is_none();
    let mut buf = vec![0; FIRST_READ_LEN];
    loop {
        // Bytes a call moved are counted even when shutdown began meanwhile; only a call that
        // moved nothing is read as shutdown's doing (shutdown(2) ends it with EOF or an error).
        let received = match stream.read(&mut buf) {
            Ok(0) | Err(_) if ctx.shutdown.is_triggered() => return CloseReason::Shutdown,
            Ok(0) => {
                conn.receive_eof();
                return match write_pending(stream, conn, ctx) {
                    Ok(()) => CloseReason::Eof,
                    Err(reason) => reason,
                };
            }
            Ok(n) => {
                let received = if plain && conn.pass_through(&buf[..n]) {
                    if let Err(reason) = write_through(stream, conn, &buf[..n], ctx) {
                        return reason;
                    }
                    Ok(())
                } else {
                    work.receive(conn, &buf[..n], &ctx.stats)
                };
                let want = next_read_len(n, buf.len());
                buf.resize(want, 0);
                received
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return close_reason(&e),
        };
        // Echoes of the complete messages before a protocol error are still sent.
        if let Err(reason) = write_pending(stream, conn, ctx) {
            return reason;
        }
        if let Err(err) = received {
            return CloseReason::Protocol(err);
        }
    }
}

/// One write of `data`, a chunk the connection let pass through; what it did not take becomes
/// pending output for [`write_pending`].
fn write_through(
    stream: &mut TcpStream,
    conn: &mut Conn,
    data: &[u8],
    ctx: &Context,
) -> Result<(), CloseReason> {
    let written = match stream.write(data) {
        Ok(n) => n,
        Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
        Err(e) => {
            conn.passed_through(data, 0);
            return Err(write_failed(&e, ctx));
        }
    };
    conn.passed_through(data, written);
    Ok(())
}

/// Writes everything pending; the socket's write timeout ends a client that stops draining.
fn write_pending(
    stream: &mut TcpStream,
    conn: &mut Conn,
    ctx: &Context,
) -> Result<(), CloseReason> {
    while conn.has_pending_output() {
        match stream.write(conn.pending_output()) {
            Ok(0) if ctx.shutdown.is_triggered() => return Err(CloseReason::Shutdown),
            Ok(0) => return Err(CloseReason::IoError),
            Ok(n) => conn.consume_output(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(write_failed(&e, ctx)),
        }
    }
    Ok(())
}

/// Why a write that failed ended the connection: shutdown(2) makes writes fail too.
fn write_failed(err: &io::Error, ctx: &Context) -> CloseReason {
    if ctx.shutdown.is_triggered() {
        CloseReason::Shutdown
    } else {
        close_reason(err)
    }
}

/// may reports an expired socket timeout as `TimedOut` (or `WouldBlock`): that is
/// `--idle-timeout`.
fn close_reason(err: &io::Error) -> CloseReason {
    match err.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => CloseReason::IdleTimeout,
        _ => CloseReason::from_io(err),
    }
}

/// The open sockets (and the listener), so that shutdown can wake every coroutine blocked on
/// one, and the coroutines still alive, so that shutdown can wait for them.
#[derive(Default)]
struct Registry {
    inner: Mutex<Inner>,
    /// Signalled when the last live coroutine leaves.
    empty: Condvar,
}

#[derive(Default)]
struct Inner {
    fds: Slab<RawFd>,
    listener: Option<RawFd>,
    live: usize,
    shut: bool,
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_listener(&self, fd: Option<RawFd>) {
        self.lock().listener = fd;
    }

    /// Counts a client coroutine as alive until the guard drops.
    fn enter(self: &Arc<Self>) -> Live {
        self.lock().live += 1;
        Live(Arc::clone(self))
    }

    /// Keeps `stream` where shutdown can reach it; `None` once shutdown has begun.
    fn register(self: &Arc<Self>, stream: TcpStream) -> Option<Registered> {
        let mut inner = self.lock();
        if inner.shut {
            return None;
        }
        let key = inner.fds.insert(stream.as_raw_fd());
        Some(Registered {
            registry: Arc::clone(self),
            key,
            stream,
        })
    }

    /// Wakes every coroutine blocked on a registered socket or on the listener.
    fn shut_all(&self) {
        let mut inner = self.lock();
        inner.shut = true;
        let listener = inner.listener;
        for fd in inner.fds.iter().map(|(_, fd)| *fd).chain(listener) {
            // SAFETY: a registered fd is open: it is unregistered, under this lock, before its
            // socket is closed. shutdown(2) only changes the socket's state.
            unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
        }
    }

    /// Waits (at most `limit`) until no client coroutine is alive.
    fn wait_empty(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut inner = self.lock();
        while inner.live > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            inner = self
                .empty
                .wait_timeout(inner, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// A client coroutine counted as alive by [`Registry::enter`].
struct Live(Arc<Registry>);

impl Drop for Live {
    fn drop(&mut self) {
        let mut inner = self.0.lock();
        inner.live -= 1;
        if inner.live == 0 {
            self.0.empty.notify_all();
        }
    }
}

/// A socket reachable by shutdown; unregistered (then closed) when dropped.
struct Registered {
    registry: Arc<Registry>,
    key: usize,
    stream: TcpStream,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.registry.lock().fds.remove(self.key);
        // `stream` is closed after this, once it is no longer registered.
    }
}
