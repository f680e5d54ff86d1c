//! `threads`: blocking `std::net`, one OS thread per client.
//!
//! **How it works.** The main thread waits for the listener with `poll(2)` (so it wakes every
//! [`TICK`] to notice shutdown), accepts, and spawns one thread per connection with an explicit
//! small stack (`--thread-stack`, 64 KiB by default). Each client thread runs the textbook loop:
//! blocking `read` into its own buffer, hand the bytes to the protocol core, blocking `write` of
//! every pending echo, repeat. A blocked `write` *is* the backpressure: the thread stops reading
//! until the client drains its echoes. `--idle-timeout` is `SO_RCVTIMEO`/`SO_SNDTIMEO`.
//!
//! **What it costs.** Per connection: a thread (a kernel task, a stack of which only the touched
//! pages are resident, a guard page), a read buffer (2 KiB, growing to 16 KiB for bulk
//! clients), and a context switch whenever that client has data: about 12 KiB of RSS per idle
//! connection (two stack pages, the buffer, the thread handle), plus the kernel's own task and
//! stack, which RSS does not show. 64 KiB of stack is 4x what the deepest path needs: every
//! case also passes with 16 KiB (`PTHREAD_STACK_MIN`) in a debug build. The scheduler does the
//! multiplexing, so code stays sequential and one slow client never delays another.
//!
//! **Where it breaks.** Thousands of runnable threads thrash the scheduler and the caches; the
//! process's thread/pid limits and `vm.max_map_count` (two mappings per stack) cap the number of
//! clients. When no thread can be spawned the connection is closed and counted (`spawn_failed`);
//! the server lives on. Shutdown has to wake threads blocked in the kernel: every socket is kept
//! in a registry and `shutdown(2)` unblocks its thread.

use std::io::{self, Read, Write};
use std::net::{Shutdown as SockShutdown, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use proto::Conn;
use slab::Slab;

use crate::context::Context;
use crate::listener::{classify_accept_error, configure_accepted, AcceptError, ACCEPT_BACKOFF};
use crate::shutdown::TICK;
use crate::stats::{CloseReason, RefuseReason};

/// Read buffer per client thread, on the heap so the stack can stay small. A blocking thread
/// holds its buffer for as long as it lives, idle or not, so it starts small and doubles (up to
/// [`READ_BUF_MAX`]) only when a read fills it: small-message clients never pay for bulk ones.
const READ_BUF_MIN: usize = 2 * 1024;

/// Largest read buffer per client thread: enough to amortise syscalls on bulk transfers.
const READ_BUF_MAX: usize = 16 * 1024;

/// How long shutdown waits for client threads to fold in their counters. They only have to
/// notice a `shutdown(2)` on their socket, so this is a safety net, not an expected wait.
const JOIN_WAIT: Duration = Duration::from_secs(5);

/// The open connections, so that shutdown can unblock their threads. A thread shares its socket
/// with the registry through an `Arc` (no `try_clone`, which would cost a second fd each).
#[derive(Default)]
struct Registry {
    streams: Mutex<Slab<Arc<TcpStream>>>,
    /// Signalled when the last registered connection leaves.
    empty: Condvar,
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, Slab<Arc<TcpStream>>> {
        // A panicking client thread must not take shutdown down with it.
        self.streams.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn remove(&self, key: usize) {
        let mut streams = self.lock();
        streams.remove(key);
        if streams.is_empty() {
            self.empty.notify_all();
        }
    }
}

/// Serves until shutdown, then unblocks every client thread and waits (bounded) for them.
pub fn run(listener: TcpListener, ctx: Context) -> anyhow::Result<()> {
    // Non-blocking, so that a client that gives up between poll and accept cannot block us.
    listener.set_nonblocking(true)?;
    let ctx = Arc::new(ctx);
    let registry = Arc::new(Registry::default());
    let mut spawn_error_logged = false;
    while !ctx.shutdown.is_triggered() {
        let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
        match poll(
            &mut fds,
            PollTimeout::try_from(TICK).unwrap_or(PollTimeout::MAX),
        ) {
            Ok(0) => continue,
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => anyhow::bail!("poll on the listener failed: {e}"),
        }
        loop {
            match listener.accept() {
                Ok((stream, _)) => {
                    start_client(stream, &ctx, &registry, &mut spawn_error_logged);
                }
                Err(e) => match classify_accept_error(&e) {
                    AcceptError::WouldBlock => break,
                    AcceptError::Retry => continue,
                    AcceptError::Backoff => {
                        ctx.stats.accept_error(true);
                        std::thread::sleep(ACCEPT_BACKOFF);
                        break;
                    }
                    AcceptError::Fatal => {
                        ctx.stats.accept_error(false);
                        eprintln!("echo-server: accept failed: {e}");
                        // Level-triggered poll would report it again at once: do not spin.
                        std::thread::sleep(ACCEPT_BACKOFF);
                        break;
                    }
                },
            }
        }
    }
    drop(listener);
    stop_clients(&registry);
    Ok(())
}

fn start_client(
    stream: TcpStream,
    ctx: &Arc<Context>,
    registry: &Arc<Registry>,
    spawn_error_logged: &mut bool,
) {
    let stats = &ctx.stats;
    stats.worker_accepted(0);
    if !stats.admit(ctx.config.max_conns) {
        return; // dropping the stream closes it
    }
    if let Err(e) = prepare(&stream, ctx) {
        // A socket we cannot configure is already broken (the peer reset it): not worth a thread.
        let conn = Conn::new(ctx.config.protocol, ctx.config.limits);
        stats.closed(&conn, CloseReason::from_io(&e));
        return;
    }
    let stream = Arc::new(stream);
    // Registered before the thread exists, so shutdown (which runs on this thread, after the
    // accept loop) always finds it.
    let key = registry.lock().insert(Arc::clone(&stream));
    let thread_ctx = Arc::clone(ctx);
    let thread_registry = Arc::clone(registry);
    let spawned = std::thread::Builder::new()
        .name("echo-client".into())
        .stack_size(ctx.config.thread_stack)
        .spawn(move || {
            let (conn, reason) = serve_client(&stream, &thread_ctx);
            thread_ctx.stats.closed(&conn, reason);
            thread_registry.remove(key);
        });
    if let Err(e) = spawned {
        // The closure (and its Arc of the stream) is already dropped; the registry's is the last.
        registry.remove(key);
        stats.refuse(RefuseReason::SpawnFailed);
        if !*spawn_error_logged {
            *spawn_error_logged = true;
            eprintln!("echo-server: cannot spawn a client thread ({e}); refusing until one can");
        }
    }
}

/// Per-connection socket setup: blocking mode (accepted sockets do not inherit the listener's
/// O_NONBLOCK on Linux, but do on BSDs), TCP_NODELAY, and the idle timeout as socket timeouts.
fn prepare(stream: &TcpStream, ctx: &Context) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    configure_accepted(stream)?;
    if let Some(idle) = ctx.config.idle_timeout {
        // Zero would mean "no timeout" to the kernel but "close at once" to the user.
        let idle = idle.max(Duration::from_millis(1));
        stream.set_read_timeout(Some(idle))?;
        stream.set_write_timeout(Some(idle))?;
    }
    Ok(())
}

/// The client thread's loop. Returns the protocol state (for its counters) and why it ended.
fn serve_client(stream: &TcpStream, ctx: &Context) -> (Conn, CloseReason) {
    let config = &ctx.config;
    let mut conn = Conn::new(config.protocol, config.limits);
    let mut buf = vec![0u8; READ_BUF_MIN];
    let mut sock = stream;
    let reason = loop {
        match sock.read(&mut buf) {
            Ok(0) => {
                conn.receive_eof();
                break match write_pending(&mut sock, &mut conn) {
                    Ok(()) => CloseReason::Eof,
                    Err(e) => io_reason(&e),
                };
            }
            Ok(n) => {
                // Echoes of the complete messages before a protocol error are still sent.
                let received = config.extra_work.receive(&mut conn, &buf[..n], &ctx.stats);
                if n == buf.len() && buf.len() < READ_BUF_MAX {
                    buf.resize(buf.len() * 2, 0);
                }
                if let Err(e) = write_pending(&mut sock, &mut conn) {
                    break io_reason(&e);
                }
                if let Err(err) = received {
                    break CloseReason::Protocol(err);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break io_reason(&e),
        }
    };
    // Our own shutdown(2) shows up as EOF or EPIPE: name it for what it was.
    let reason = if ctx.shutdown.is_triggered() {
        CloseReason::Shutdown
    } else {
        reason
    };
    (conn, reason)
}

/// Blocking write of everything pending. Counted write by write (not `write_all`), so the bytes
/// that did go out before an error are in the totals.
fn write_pending(sock: &mut &TcpStream, conn: &mut Conn) -> io::Result<()> {
    while conn.has_pending_output() {
        match sock.write(conn.pending_output()) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => conn.consume_output(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A socket timeout (the only way a blocking socket reports EAGAIN) is the idle timeout.
fn io_reason(err: &io::Error) -> CloseReason {
    match err.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => CloseReason::IdleTimeout,
        _ => CloseReason::from_io(err),
    }
}

/// Unblocks every client thread and waits, bounded, until each has folded in its counters.
fn stop_clients(registry: &Registry) {
    let streams = registry.lock();
    for (_, stream) in streams.iter() {
        // Wakes a thread blocked in read (EOF) or write (EPIPE). Failure means the socket is
        // already dead, and its thread is on its way out anyway.
        let _ = stream.shutdown(SockShutdown::Both);
    }
    let (streams, wait) = registry
        .empty
        .wait_timeout_while(streams, JOIN_WAIT, |s| !s.is_empty())
        .unwrap_or_else(|e| e.into_inner());
    if wait.timed_out() {
        eprintln!(
            "echo-server: {} client threads did not stop within {JOIN_WAIT:?}",
            streams.len()
        );
    }
}
