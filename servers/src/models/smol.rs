//! `smol`: one task per client on smol's executor, run by `--workers` threads that share
//! async-io's one reactor.
//!
//! **How it works.** One `async-executor` is run by `--workers` threads; any of them may poll
//! any task (a task woken on one thread can run on another). All sockets are registered with
//! async-io's single reactor (epoll), which whichever thread has nothing to run drives: there
//! is no reactor per thread. One accept task spawns a task per connection; the task waits until
//! its socket is readable, reads into its thread's scratch buffer (with no `await` in between,
//! as in `tokio`), hands the bytes to [`proto::Conn`] and writes every pending echo before reading
//! again: the awaited write is the backpressure. Shutdown wakes every task from the signal
//! thread (smol's wakers may be woken anywhere) and waits until each has counted itself.
//!
//! **What it costs.** Per connection: a task, its protocol buffer and its registration with the
//! reactor; no read buffer per task. Per event: a reactor wake-up and a task schedule through
//! the executor's shared queue (a work-stealing design with a global injector), so a message
//! may cross threads between the reactor and the task.
//!
//! **Where it breaks.** One reactor for every thread: under many busy connections its lock and
//! the hand-off from the reactor thread to the executors are shared by all of them, where
//! `thread-per-core` has one per thread. Anything blocking in a task stalls its thread.

use std::cell::RefCell;
use std::io::{self, Read};
use std::net::{TcpListener as StdListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use anyhow::anyhow;
use futures_lite::future::or;
use futures_lite::AsyncWriteExt;
use proto::Conn;
use smol::{Async, Executor, Timer};

use crate::client_guard::ClientGuard;
use crate::context::Context;
use crate::listener::configure_fd;
use crate::session::SCRATCH_LEN;
use crate::stats::CloseReason;
use crate::stop_signal::{Next, StopSignal};

/// How long shutdown waits for the client tasks to count themselves.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

thread_local! {
    /// One read buffer per executor thread, shared by every task that thread polls. A task
    /// borrows it only between a non-blocking `read` and `Conn::receive`, with no `await` in
    /// between, so no other task can see it borrowed.
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; SCRATCH_LEN].into_boxed_slice());
}

/// Serves until shutdown on `--workers` threads (the calling thread is one of them).
pub fn run(listener: StdListener, ctx: Context) -> anyhow::Result<()> {
    let listener = Async::new(listener)?;
    let executor = Arc::new(Executor::new());
    let stop = StopSignal::new(ctx.shutdown.clone());
    let waker = Arc::clone(&stop);
    ctx.shutdown.on_trigger(move || waker.notify());
    let mut threads = Vec::new();
    for i in 1..ctx.config.workers.max(1) {
        let (executor, stop) = (Arc::clone(&executor), Arc::clone(&stop));
        let spawned = thread::Builder::new()
            .name(format!("smol-{i}"))
            .spawn(move || smol::block_on(executor.run(stop.stopped())));
        match spawned {
            Ok(t) => threads.push(t),
            Err(e) => {
                ctx.shutdown.trigger();
                join(threads);
                return Err(anyhow!("cannot spawn executor thread {i}: {e}"));
            }
        }
    }
    let ctx = Arc::new(ctx);
    let serving = accept_loop(listener, Arc::clone(&executor), ctx, Arc::clone(&stop));
    let result = smol::block_on(executor.run(serving));
    join(threads);
    result
}

fn join(threads: Vec<thread::JoinHandle<()>>) {
    for t in threads {
        // An executor thread only runs tasks whose panics stay inside them.
        let _ = t.join();
    }
}

async fn accept_loop(
    listener: Async<StdListener>,
    executor: Arc<Executor<'static>>,
    ctx: Arc<Context>,
    stop: Arc<StopSignal>,
) -> anyhow::Result<()> {
    loop {
        match stop
            .next_client(listener.accept(), Timer::after, &ctx.stats)
            .await
        {
            Next::Stop => break,
            Next::Client((stream, _)) => start_client(stream, &executor, &ctx, &stop),
            Next::Retry => {}
        }
    }
    drop(listener);
    or(stop.drained(), async {
        Timer::after(SHUTDOWN_WAIT).await;
    })
    .await;
    Ok(())
}

fn start_client(
    stream: Async<TcpStream>,
    executor: &Executor<'static>,
    ctx: &Arc<Context>,
    stop: &Arc<StopSignal>,
) {
    let Some(client) = ClientGuard::admit(ctx, 0, Some(stop.enter())) else {
        return; // dropping the stream closes it
    };
    if let Err(e) = configure_fd(stream.get_ref()) {
        client.finish(CloseReason::from_io(&e));
        return;
    }
    let (ctx, stop) = (Arc::clone(ctx), Arc::clone(stop));
    executor
        .spawn(async move {
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
async fn serve(stream: &mut Async<TcpStream>, conn: &mut Conn, ctx: &Context) -> CloseReason {
    let idle = ctx.config.idle_timeout;
    let work = &ctx.config.extra_work;
    loop {
        match with_idle(idle, stream.readable()).await {
            None => return CloseReason::IdleTimeout,
            Some(Err(e)) => return CloseReason::from_io(&e),
            Some(Ok(())) => {}
        }
        let read = SCRATCH.with_borrow_mut(|buf| {
            stream.get_ref().read(buf).map(|n| match n {
                0 => None,
                n => Some(work.receive(conn, &buf[..n], &ctx.stats)),
            })
        });
        match read {
            // Readiness was stale: wait again.
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
    stream: &mut Async<TcpStream>,
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
async fn with_idle<F: std::future::Future>(idle: Option<Duration>, fut: F) -> Option<F::Output> {
    match idle {
        Some(limit) => {
            or(async { Some(fut.await) }, async {
                Timer::after(limit).await;
                None
            })
            .await
        }
        None => Some(fut.await),
    }
}
