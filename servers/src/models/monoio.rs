//! `monoio`: thread-per-core on monoio, one runtime and one SO_REUSEPORT listener per worker, one
//! task per client.
//!
//! **How it works.** `--workers` threads each build a monoio runtime on its fusion driver, which
//! is io_uring where the kernel offers the operations monoio needs and epoll (monoio's legacy
//! driver) elsewhere, and run an accept loop on their own listener; the kernel spreads incoming
//! connections over the listeners by hash. A connection's task lives and dies on the thread that
//! accepted it (monoio tasks are not `Send` and never move). The task reads into a buffer it
//! owns and lends to the kernel for the read (completion I/O: the kernel writes into it while the
//! task is parked), feeds the bytes to [`proto::Conn`], copies the pending echo into an owned write
//! buffer and writes it all before reading again: that wait is the backpressure, so unsent output
//! never exceeds one read's worth. Shutdown: a watcher task per thread sees the flag, wakes every
//! task of its thread, and the thread waits until each has counted itself.
//!
//! **What it costs.** Per connection: a task, its protocol buffer and its own read buffer (4 KiB,
//! doubling up to 64 KiB while reads fill it), because a completion read needs memory the kernel
//! can write to while the task waits: unlike `tokio` there is no shared scratch buffer. Per
//! message under io_uring: one submission and one completion per read and per write, many
//! reaped per `io_uring_enter`. No locks, no cross-thread wake-ups, no work stealing.
//!
//! **Where it breaks.** The kernel's hash is the only balancer: a worker given the busy clients
//! stays busy while another idles, and a client never migrates. Anything blocking in a task
//! stalls its whole thread. Every idle client holds its read buffer in flight (10,000 idle
//! clients: about 40 MiB). Without io_uring the legacy driver serves the same code over epoll.

use std::net::TcpListener as StdListener;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use monoio::buf::IoBuf;
use monoio::io::{AsyncReadRent, AsyncWriteRent};
use monoio::net::{TcpListener, TcpStream};
use monoio::time::TimeDriver;
use monoio::{IoUringDriver, LegacyDriver};
use proto::Conn;

use crate::client_guard::{next_read_len, ClientGuard, FIRST_READ_LEN};
use crate::context::Context;
use crate::stats::CloseReason;
use crate::stop_signal::{Next, StopSignal};
use crate::worker_threads::{reuse_port_listeners, run_per_worker};

/// Submission queue entries per runtime: operations in flight beyond this wait in monoio's
/// backlog, so it bounds batching, not connections.
const RING_ENTRIES: u32 = 4096;

/// How long a worker waits at shutdown for its client tasks to count themselves.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

/// monoio's fusion runtime with timers: io_uring, or epoll where io_uring is missing.
type Runtime = monoio::FusionRuntime<TimeDriver<IoUringDriver>, TimeDriver<LegacyDriver>>;

/// Serves on `ctx.config.workers` threads until shutdown; the first uses `listener`.
pub fn run(listener: StdListener, ctx: Context) -> anyhow::Result<()> {
    let listeners = reuse_port_listeners(listener, &ctx)?;
    run_per_worker("monoio", listeners, &ctx, build, serve_worker)
}

fn build(_worker: usize) -> anyhow::Result<Runtime> {
    monoio::RuntimeBuilder::<monoio::FusionDriver>::new()
        .with_entries(RING_ENTRIES)
        .enable_timer()
        .build()
        .context("monoio could not create its io_uring or epoll driver")
}

fn serve_worker(
    mut runtime: Runtime,
    worker: usize,
    listener: StdListener,
    ctx: Context,
) -> anyhow::Result<()> {
    // The epoll driver needs a non-blocking listener; io_uring does not mind.
    listener.set_nonblocking(true)?;
    runtime.block_on(accept_loop(listener, worker, Rc::new(ctx)))
}

async fn accept_loop(listener: StdListener, worker: usize, ctx: Rc<Context>) -> anyhow::Result<()> {
    let listener = TcpListener::from_std(listener)?;
    let stop = StopSignal::new(ctx.shutdown.clone());
    let watcher = Arc::clone(&stop);
    monoio::spawn(async move { watcher.watch(monoio::time::sleep).await });
    loop {
        match stop
            .next_client(listener.accept(), monoio::time::sleep, &ctx.stats)
            .await
        {
            Next::Stop => break,
            Next::Client((stream, _)) => start_client(stream, worker, &ctx, &stop),
            Next::Retry => {}
        }
    }
    drop(listener);
    let _ = monoio::time::timeout(SHUTDOWN_WAIT, stop.drained()).await;
    Ok(())
}

fn start_client(stream: TcpStream, worker: usize, ctx: &Rc<Context>, stop: &Arc<StopSignal>) {
    let Some(client) = ClientGuard::admit(ctx, worker, Some(stop.enter())) else {
        return; // dropping the stream closes it
    };
    if let Err(e) = stream.set_nodelay(true) {
        client.finish(CloseReason::from_io(&e));
        return;
    }
    let (ctx, stop) = (Rc::clone(ctx), Arc::clone(stop));
    monoio::spawn(async move {
        let mut client = client;
        let mut stream = stream;
        let reason = stop
            .or_stopped(serve(&mut stream, &mut client.conn, &ctx))
            .await;
        client.finish(reason);
    });
}

/// The client task's loop; returns why the connection ended.
async fn serve(stream: &mut TcpStream, conn: &mut Conn, ctx: &Context) -> CloseReason {
    let idle = ctx.config.idle_timeout;
    let work = &ctx.config.extra_work;
    let mut read_buf = Vec::with_capacity(FIRST_READ_LEN);
    let mut write_buf = Vec::new();
    loop {
        let Some((read, buf)) = with_idle(idle, stream.read(read_buf)).await else {
            return CloseReason::IdleTimeout;
        };
        read_buf = buf;
        let received = match read {
            Ok(0) => {
                conn.receive_eof();
                return match write_pending(stream, conn, &mut write_buf, idle).await {
                    Ok(()) => CloseReason::Eof,
                    Err(reason) => reason,
                };
            }
            Ok(n) => work.receive(conn, &read_buf[..n], &ctx.stats),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return CloseReason::from_io(&e),
        };
        // Echoes of the complete messages before a protocol error are still sent.
        if let Err(reason) = write_pending(stream, conn, &mut write_buf, idle).await {
            return reason;
        }
        if let Err(err) = received {
            return CloseReason::Protocol(err);
        }
        let want = next_read_len(read_buf.len(), read_buf.capacity());
        read_buf.clear();
        // On an empty vector, `reserve` makes the capacity at least `want`.
        read_buf.reserve(want);
    }
}

/// Writes everything pending through `write_buf` (an owned copy the kernel may read while the
/// task waits); a write that makes no progress for `idle` ends the connection.
async fn write_pending(
    stream: &mut TcpStream,
    conn: &mut Conn,
    write_buf: &mut Vec<u8>,
    idle: Option<Duration>,
) -> Result<(), CloseReason> {
    while conn.has_pending_output() {
        let mut buf = std::mem::take(write_buf);
        buf.clear();
        buf.extend_from_slice(conn.pending_output());
        let mut written = 0;
        while written < buf.len() {
            let Some((result, slice)) = with_idle(idle, stream.write(buf.slice(written..))).await
            else {
                return Err(CloseReason::IdleTimeout);
            };
            buf = slice.into_inner();
            match result {
                Ok(0) => return Err(CloseReason::IoError),
                Ok(n) => {
                    conn.consume_output(n);
                    written += n;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(CloseReason::from_io(&e)),
            }
        }
        *write_buf = buf;
    }
    Ok(())
}

/// Runs `fut` under the idle timeout, if there is one; `None` means it expired.
async fn with_idle<F: std::future::Future>(idle: Option<Duration>, fut: F) -> Option<F::Output> {
    match idle {
        Some(limit) => monoio::time::timeout(limit, fut).await.ok(),
        None => Some(fut.await),
    }
}
