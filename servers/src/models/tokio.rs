//! `tokio` and `tokio-current-thread`: one task per client on a tokio runtime.
//!
//! **How it works.** One accept loop spawns a task per connection. The task is the threads
//! model's loop written with `await`: wait until readable, read, hand the bytes to the protocol
//! core, write every pending echo (an awaited write is the backpressure: no reading until the
//! client drains), repeat. Under the hood it is an epoll reactor like `mio`; the runtime parks
//! a task on `WouldBlock` and wakes it on readiness. `MultiThread` runs the tasks on `--workers`
//! work-stealing threads; `CurrentThread` runs everything on the calling thread.
//!
//! **What it costs.** Per connection: a socket, a task (the future's state machine plus a
//! header, a few hundred bytes) and its protocol buffer. No read buffer per task: a task reads
//! only after `readable()` says there is data, into its worker thread's scratch buffer, with no
//! `await` in between, so 10,000 idle clients hold no read buffers (measured: 1.4 KiB of RSS per
//! connected idle client, 5.4 KiB once it has sent a message). Per event: a reactor wake-up,
//! a task schedule and, on the multi-thread runtime, possibly a cross-thread steal.
//!
//! **Where it breaks.** Anything that blocks inside a task stalls every task on that worker (the
//! whole server for `CurrentThread`). The multi-thread scheduler wakes idle workers with futex
//! calls a plain loop never makes (measured: about one per 160 messages at 100 clients, none at
//! 1 client, where its CPU per message was within `mio`'s range); `CurrentThread` uses one
//! core. Shutdown drops every task with the runtime: each one's counters are folded in as it is
//! dropped.

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use proto::Conn;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

use crate::context::Context;
use crate::listener::{classify_accept_error, configure_fd, AcceptError, ACCEPT_BACKOFF};
use crate::session::SCRATCH_LEN;
use crate::stats::CloseReason;

/// How long shutdown waits for the runtime's threads once every task has been dropped.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

/// Which tokio runtime.
#[derive(Debug, Clone, Copy)]
pub enum Flavor {
    /// Work-stealing, `--workers` threads.
    MultiThread,
    /// One thread.
    CurrentThread,
}

thread_local! {
    /// One read buffer per runtime thread, shared by every task that thread polls. Safe to
    /// share because a task borrows it only between `try_read` and `Conn::receive`, with no
    /// `await` (hence no other task) in between.
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; SCRATCH_LEN].into_boxed_slice());
}

/// Serves until shutdown, then drops every client task (counting each as closed by shutdown).
pub fn run(listener: std::net::TcpListener, ctx: Context, flavor: Flavor) -> anyhow::Result<()> {
    listener.set_nonblocking(true)?;
    let runtime = match flavor {
        Flavor::MultiThread => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(ctx.config.workers)
            .thread_name("tokio-worker")
            .enable_all()
            .build()?,
        Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
    };
    let stop = Arc::new(Notify::new());
    let waker = Arc::clone(&stop);
    // notify_one keeps a permit if the accept loop is not waiting right now: no lost wake-up.
    ctx.shutdown.on_trigger(move || waker.notify_one());
    let ctx = Arc::new(ctx);
    let result = runtime.block_on(accept_loop(listener, ctx, stop));
    // Cancels every client task wherever it is parked; each `Client` guard counts its own.
    runtime.shutdown_timeout(SHUTDOWN_WAIT);
    result
}

async fn accept_loop(
    listener: std::net::TcpListener,
    ctx: Arc<Context>,
    stop: Arc<Notify>,
) -> anyhow::Result<()> {
    let listener = TcpListener::from_std(listener)?;
    while !ctx.shutdown.is_triggered() {
        let accepted = tokio::select! {
            biased;
            () = stop.notified() => return Ok(()),
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => start_client(stream, &ctx),
            Err(e) => match classify_accept_error(&e) {
                AcceptError::WouldBlock | AcceptError::Retry => {}
                AcceptError::Backoff => {
                    ctx.stats.accept_error(true);
                    // tokio would report the listener ready again at once: pause instead.
                    if pause(&stop).await {
                        return Ok(());
                    }
                }
                AcceptError::Fatal => {
                    ctx.stats.accept_error(false);
                    eprintln!("echo-server: accept failed: {e}");
                    if pause(&stop).await {
                        return Ok(());
                    }
                }
            },
        }
    }
    Ok(())
}

/// Sleeps [`ACCEPT_BACKOFF`]; true if shutdown came first.
async fn pause(stop: &Notify) -> bool {
    tokio::select! {
        () = stop.notified() => true,
        () = tokio::time::sleep(ACCEPT_BACKOFF) => false,
    }
}

fn start_client(stream: TcpStream, ctx: &Arc<Context>) {
    let stats = &ctx.stats;
    // One accept loop, whatever the number of workers: it is worker 0.
    stats.worker_accepted(0);
    if !stats.admit(ctx.config.max_conns) {
        return; // dropping the stream closes it
    }
    let mut client = Client {
        conn: Conn::new(ctx.config.protocol, ctx.config.limits),
        reason: CloseReason::Shutdown,
        ctx: Arc::clone(ctx),
    };
    if let Err(e) = configure_fd(&stream) {
        client.finish(CloseReason::from_io(&e));
        return;
    }
    tokio::spawn(async move {
        let mut stream = stream;
        let ctx = Arc::clone(&client.ctx);
        let reason = serve(&mut stream, &mut client.conn, &ctx).await;
        client.finish(reason);
    });
}

/// A connection's protocol state, owned by its task. Dropping it folds its counters in: with
/// the reason the task ended, or [`CloseReason::Shutdown`] if the runtime dropped the task.
struct Client {
    conn: Conn,
    reason: CloseReason,
    ctx: Arc<Context>,
}

impl Client {
    /// Ends the connection for `reason` (the drop does the counting).
    fn finish(mut self, reason: CloseReason) {
        self.reason = reason;
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.ctx.stats.closed(&self.conn, self.reason);
    }
}

/// The client task's loop; returns why the connection ended.
async fn serve(stream: &mut TcpStream, conn: &mut Conn, ctx: &Context) -> CloseReason {
    let idle = ctx.config.idle_timeout;
    let work = &ctx.config.extra_work;
    loop {
        match with_idle(idle, stream.readable()).await {
            None => return CloseReason::IdleTimeout,
            Some(Err(e)) => return CloseReason::from_io(&e),
            Some(Ok(())) => {}
        }
        let read = SCRATCH.with_borrow_mut(|buf| {
            stream.try_read(buf).map(|n| match n {
                0 => None,
                n => Some(work.receive(conn, &buf[..n], &ctx.stats)),
            })
        });
        match read {
            // Readiness was stale (tokio clears it on WouldBlock): wait again.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return CloseReason::from_io(&e),
            Ok(None) => {
                conn.receive_eof();
                return match write_pending(stream, conn, idle).await {
                    Ok(()) => CloseReason::Eof,
                    Err(reason) => reason,
                };
            }
            Ok(Some(received)) => {
                // Echoes of the complete messages before a protocol error are still sent.
                if let Err(reason) = write_pending(stream, conn, idle).await {
                    return reason;
                }
                if let Err(err) = received {
                    return CloseReason::Protocol(err);
                }
            }
        }
    }
}

/// Writes everything pending; a write that makes no progress for `idle` ends the connection.
async fn write_pending(
    stream: &mut TcpStream,
    conn: &mut Conn,
    idle: Option<Duration>,
) -> Result<(), CloseReason> {
    while conn.has_pending_output() {
        match with_idle(idle, stream.write(conn.pending_output())).await {
            None => return Err(CloseReason::IdleTimeout),
            Some(Ok(0)) => return Err(CloseReason::IoError),
            Some(Ok(n)) => conn.consume_output(n),
            Some(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
            Some(Err(e)) => return Err(CloseReason::from_io(&e)),
        }
    }
    Ok(())
}

/// Runs `fut` under the idle timeout, if there is one; `None` means it expired.
async fn with_idle<F: Future>(idle: Option<Duration>, fut: F) -> Option<F::Output> {
    match idle {
        Some(limit) => tokio::time::timeout(limit, fut).await.ok(),
        None => Some(fut.await),
    }
}
