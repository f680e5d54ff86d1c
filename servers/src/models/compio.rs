//! `compio`: one compio runtime per worker, each with its own SO_REUSEPORT listener, one task per
//! client.
//!
//! **How it works.** compio is completion-based on every platform: an operation is submitted
//! with the buffer it needs and the runtime reports it done. On Linux its driver is io_uring,
//! or, where the kernel lacks the operations it needs, a `polling` (epoll) driver that performs
//! the same operations on readiness; the choice is made when the runtime is built. `--workers`
//! threads each build a runtime and run an accept loop on their own listener (the kernel spreads
//! connections by hash); a task never leaves its thread. The task reads into a buffer it owns
//! and lends to the runtime, feeds [`proto::Conn`], copies the pending echo into an owned write
//! buffer and writes it all before reading again: that wait is the backpressure. Shutdown: a
//! watcher task per thread sees the flag and wakes its thread's tasks, and the thread waits
//! until each has counted itself.
//!
//! **What it costs.** Per connection: a task, its protocol buffer and its own read buffer (4 KiB,
//! doubling up to 64 KiB while reads fill it), held by the kernel while the read is in flight.
//! Per message under io_uring: a submission and a completion per read and per write, reaped in
//! batches. No locks and no cross-thread wake-ups between workers.
//!
//! **Where it breaks.** The kernel's hash is the only balancer, with no work stealing: a worker
//! given the busy clients stays busy while another idles. Anything blocking in a task stalls
//! its thread. Every idle client keeps its read buffer lent out (10,000 idle clients: about
//! 40 MiB). A runtime that cannot start (neither io_uring nor epoll usable) fails the server at
//! start with the driver's error.

use std::net::TcpListener as StdListener;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use compio::buf::{BufResult, IntoInner, IoBuf};
use compio::io::{AsyncRead, AsyncWrite};
use compio::net::{TcpListener, TcpStream};
use compio::runtime::Runtime;
use proto::Conn;

use crate::client_guard::{next_read_len, ClientGuard, FIRST_READ_LEN};
use crate::context::Context;
use crate::stats::CloseReason;
use crate::stop_signal::{Next, StopSignal};
use crate::worker_threads::{reuse_port_listeners, run_per_worker};

/// How long a worker waits at shutdown for its client tasks to count themselves.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

/// Serves on `ctx.config.workers` threads until shutdown; the first uses `listener`.
pub fn run(listener: StdListener, ctx: Context) -> anyhow::Result<()> {
    let listeners = reuse_port_listeners(listener, &ctx)?;
    run_per_worker("compio", listeners, &ctx, build, serve_worker)
}

fn build(_worker: usize) -> anyhow::Result<Runtime> {
    Runtime::new().context("compio could not create its io_uring or polling driver")
}

fn serve_worker(
    runtime: Runtime,
    worker: usize,
    listener: StdListener,
    ctx: Context,
) -> anyhow::Result<()> {
    runtime.block_on(accept_loop(listener, worker, Rc::new(ctx)))
}

async fn accept_loop(listener: StdListener, worker: usize, ctx: Rc<Context>) -> anyhow::Result<()> {
    let listener = TcpListener::from_std(listener)?;
    let stop = StopSignal::new(ctx.shutdown.clone());
    let watcher = Arc::clone(&stop);
    compio::runtime::spawn(async move { watcher.watch(compio::time::sleep).await }).detach();
    loop {
        match stop
            .next_client(listener.accept(), compio::time::sleep, &ctx.stats)
            .await
        {
            Next::Stop => break,
            Next::Client((stream, _)) => start_client(stream, worker, &ctx, &stop),
            Next::Retry => {}
        }
    }
    drop(listener);
    let _ = compio::time::timeout(SHUTDOWN_WAIT, stop.drained()).await;
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
    compio::runtime::spawn(async move {
        let mut client = client;
        let mut stream = stream;
        let reason = stop
            .or_stopped(serve(&mut stream, &mut client.conn, &ctx))
            .await;
        client.finish(reason);
    })
    .detach();
}

/// The client task's loop; returns why the connection ended.
async fn serve(stream: &mut TcpStream, conn: &mut Conn, ctx: &Context) -> CloseReason {
    let idle = ctx.config.idle_timeout;
    let work = &ctx.config.extra_work;
    let mut read_buf = Vec::with_capacity(FIRST_READ_LEN);
    let mut write_buf = Vec::new();
    loop {
        let Some(BufResult(read, buf)) = with_idle(idle, stream.read(read_buf)).await else {
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
            let Some(BufResult(result, slice)) =
                with_idle(idle, stream.write(buf.slice(written..))).await
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
        Some(limit) => compio::time::timeout(limit, fut).await.ok(),
        None => Some(fut.await),
    }
}
