//! `glommio`: one glommio executor per worker, each pinned to its own CPU with its own
//! SO_REUSEPORT listener, one task per client.
//!
//! **How it works.** `--workers` threads (at most one per CPU this process may run on) each
//! make a glommio `LocalExecutor` pinned to its own CPU and run an accept
//! loop on their own listener; the kernel spreads connections by hash, and a task never leaves
//! its CPU. Each executor drives three io_uring rings (main, latency, poll). Sockets are read
//! optimistically: glommio tries a non-blocking `recv` first and only when it would block
//! arms an io_uring poll for readability, so no buffer is lent to the kernel while a client is
//! idle. A task reads into its thread's scratch buffer within one poll (nothing is borrowed
//! across a suspension), feeds [`proto::Conn`] and writes every pending echo before reading
//! again: that wait is the backpressure. `--idle-timeout` is glommio's own socket read and
//! write timeout. Shutdown: a watcher task per executor sees the flag and wakes its tasks, and
//! the executor waits until each has counted itself.
//!
//! **What it costs.** Per connection: a task, its protocol buffer and a glommio socket source;
//! no read buffer. Per executor: three rings and 1 MiB of I/O memory registered with them
//! (`io_memory`, meant for direct file I/O, which this server does not use). Per message: a
//! `recv` and a `send` system call when data is already there, plus an io_uring poll round trip
//! when it is not. No locks and no cross-thread wake-ups.
//!
//! **Where it breaks.** A CPU busy with something else cannot shed its clients (no work
//! stealing, no migration), and `--workers` beyond the CPU count is capped to it. The kernel's
//! hash is the only balancer. glommio needs io_uring and a locked-memory limit
//! (`RLIMIT_MEMLOCK`) of at least 512 KiB; without them the server refuses to start and says
//! which is missing.

use std::cell::RefCell;
use std::future::poll_fn;
use std::io;
use std::net::TcpListener as StdListener;
use std::os::fd::{FromRawFd, IntoRawFd};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use anyhow::anyhow;
use futures_lite::future::or;
use futures_lite::{AsyncRead, AsyncWriteExt};
use glommio::net::{TcpListener, TcpStream};
use glommio::{LocalExecutor, LocalExecutorBuilder, Placement};
use proto::{Conn, ProtocolError};

use crate::client_guard::ClientGuard;
use crate::context::Context;
use crate::session::SCRATCH_LEN;
use crate::stats::CloseReason;
use crate::stop_signal::{Next, StopSignal};
use crate::worker_threads::{reuse_port_listeners, run_per_worker};

/// I/O memory per executor. glommio uses it for direct file I/O, which an echo server does not
/// do, so it is kept small (glommio's default is 10 MiB).
const IO_MEMORY: usize = 1 << 20;

/// How long a worker waits at shutdown for its client tasks to count themselves.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

thread_local! {
    /// One read buffer per executor, shared by every task it runs. A task borrows it only
    /// within one poll of its read (glommio copies into it from a non-blocking `recv`, never
    /// from a pending operation), so no other task can see it borrowed.
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; SCRATCH_LEN].into_boxed_slice());
}

/// Serves on `ctx.config.workers` pinned executors (at most one per CPU) until shutdown; the
/// first uses `listener`.
pub fn run(listener: StdListener, mut ctx: Context) -> anyhow::Result<()> {
    let cpus = Arc::new(allowed_cpus());
    // A second executor pinned to a CPU would only take turns with the first, and each costs
    // four fds (three rings and an eventfd) that clients could use.
    ctx.config.workers = ctx.config.workers.clamp(1, cpus.len());
    let listeners = reuse_port_listeners(listener, &ctx)?;
    let build = move |worker: usize| make_executor(cpus[worker % cpus.len()]);
    run_per_worker("glommio", listeners, &ctx, build, serve_worker)
}

/// The CPUs this process may run on (its affinity mask, so `taskset` is honoured), at least one.
fn allowed_cpus() -> Vec<usize> {
    let cpus: Vec<usize> = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0))
        .map(|set| {
            (0..nix::sched::CpuSet::count())
                .filter(|&c| set.is_set(c).unwrap_or(false))
                .collect()
        })
        .unwrap_or_default();
    if cpus.is_empty() {
        vec![0]
    } else {
        cpus
    }
}

fn make_executor(cpu: usize) -> anyhow::Result<LocalExecutor> {
    LocalExecutorBuilder::new(Placement::Fixed(cpu))
        .io_memory(IO_MEMORY)
        .make()
        .map_err(|e| {
            anyhow!(
                "glommio cannot start an executor on CPU {cpu}: {e} (it needs io_uring and a \
                 locked-memory limit, ulimit -l, of at least 512 KiB)"
            )
        })
}

fn serve_worker(
    executor: LocalExecutor,
    worker: usize,
    listener: StdListener,
    ctx: Context,
) -> anyhow::Result<()> {
    executor.run(accept_loop(listener, worker, Rc::new(ctx)))
}

async fn accept_loop(listener: StdListener, worker: usize, ctx: Rc<Context>) -> anyhow::Result<()> {
    // SAFETY: the fd is a bound, listening TCP socket whose ownership `into_raw_fd` gives up, so
    // the glommio listener is its only owner and closes it once.
    let listener = unsafe { TcpListener::from_raw_fd(listener.into_raw_fd()) };
    let stop = StopSignal::new(ctx.shutdown.clone());
    let watcher = Arc::clone(&stop);
    glommio::spawn_local(async move { watcher.watch(glommio::timer::sleep).await }).detach();
    loop {
        match stop
            .next_client(
                async { listener.accept().await.map_err(io::Error::from) },
                glommio::timer::sleep,
                &ctx.stats,
            )
            .await
        {
            Next::Stop => break,
            Next::Client(stream) => start_client(stream, worker, &ctx, &stop),
            Next::Retry => {}
        }
    }
    drop(listener);
    or(stop.drained(), glommio::timer::sleep(SHUTDOWN_WAIT)).await;
    Ok(())
}

fn start_client(stream: TcpStream, worker: usize, ctx: &Rc<Context>, stop: &Arc<StopSignal>) {
    let Some(client) = ClientGuard::admit(ctx, worker, Some(stop.enter())) else {
        return; // dropping the stream closes it
    };
    let configured = stream
        .set_nodelay(true)
        .and_then(|()| stream.set_read_timeout(ctx.config.idle_timeout))
        .and_then(|()| stream.set_write_timeout(ctx.config.idle_timeout));
    if let Err(e) = configured {
        client.finish(CloseReason::from_io(&io::Error::from(e)));
        return;
    }
    let (ctx, stop) = (Rc::clone(ctx), Arc::clone(stop));
    glommio::spawn_local(async move {
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
    loop {
        match read_into(stream, conn, ctx).await {
            Err(e) => return close_reason(&e),
            Ok(None) => {
                conn.receive_eof();
                return match write_pending(stream, conn).await {
                    Ok(()) => CloseReason::Eof,
                    Err(reason) => reason,
                };
            }
            Ok(Some(received)) => {
                // Echoes of the complete messages before a protocol error are still sent.
                if let Err(reason) = write_pending(stream, conn).await {
                    return reason;
                }
                if let Err(err) = received {
                    return CloseReason::Protocol(err);
                }
            }
        }
    }
}

/// Reads once into the thread's scratch buffer and feeds the bytes to `conn` (with the
/// `--extra-work` hook); `None` at end of stream.
async fn read_into(
    stream: &mut TcpStream,
    conn: &mut Conn,
    ctx: &Context,
) -> io::Result<Option<Result<(), ProtocolError>>> {
    poll_fn(|cx| {
        SCRATCH.with_borrow_mut(|buf| match Pin::new(&mut *stream).poll_read(cx, buf) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Ready(Ok(0)) => Poll::Ready(Ok(None)),
            Poll::Ready(Ok(n)) => {
                let work = &ctx.config.extra_work;
                Poll::Ready(Ok(Some(work.receive(conn, &buf[..n], &ctx.stats))))
            }
        })
    })
    .await
}

/// Writes everything pending; glommio's write timeout ends a connection that stops draining.
async fn write_pending(stream: &mut TcpStream, conn: &mut Conn) -> Result<(), CloseReason> {
    while conn.has_pending_output() {
        match stream.write(conn.pending_output()).await {
            Ok(0) => return Err(CloseReason::IoError),
            Ok(n) => conn.consume_output(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(close_reason(&e)),
        }
    }
    Ok(())
}

/// glommio reports an expired socket timeout as `TimedOut`: that is `--idle-timeout`.
fn close_reason(err: &io::Error) -> CloseReason {
    if err.kind() == io::ErrorKind::TimedOut {
        CloseReason::IdleTimeout
    } else {
        CloseReason::from_io(err)
    }
}
