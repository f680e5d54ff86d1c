//! `uring`: one thread, io_uring completions: multishot accept, multishot receive into a ring of
//! provided buffers, one send in flight per connection.
//!
//! **How it works.** Instead of asking "which sockets are ready?" (epoll) and then calling `read`,
//! the loop queues the operations themselves and the kernel reports them done. One multishot
//! accept yields every new connection; one multishot receive per connection yields every chunk of
//! bytes, each written by the kernel into a buffer it picked from a shared ring of provided buffers
//! (so 10,000 idle connections own no receive buffer). The bytes are copied into the
//! connection's [`Conn`] and the buffer goes straight back to the ring. Complete messages are
//! taken out of the core ([`Conn::take_ready`]) into an owned buffer that is sent with one `send`
//! at a time per connection (partial sends are resumed). Backpressure: when unsent output reaches
//! `--max-pending`, the multishot receive is cancelled, and re-armed once the output drains; the
//! chunks the kernel delivered before the cancel took effect are still accepted (bounded by the
//! buffer ring). Closing a connection cancels its operations and frees it only when the kernel
//! has reported every one of them, because until then the kernel may still use its memory.
//!
//! **What it costs.** Per connection: a slab slot and its protocol buffer (none while idle), no
//! per-connection receive buffer (measured at 1,000 connections: 0.3 KiB of RSS per idle client,
//! 1.5 KiB after one message each, of which 1 KiB is pages of the shared pool touched). Per chunk
//! received: one completion entry and one copy; many completions are reaped per
//! `io_uring_enter`, so a busy loop makes few system calls. Fixed: the rings (a few hundred KiB)
//! and the buffer pool (4 MiB, resident only as used).
//!
//! **Where it breaks.** One thread, one core, like `mio`. Backpressure is coarser than with
//! `read`: one kernel pass of a multishot receive can drain a socket into many buffers before the
//! loop sees the first completion, so a client that never reads leaves more behind than the cap
//! (measured with 20 such clients: 0.65 MiB unsent and 1.6 MiB of RSS each, against 0.28 MiB and
//! 0.37 MiB under `mio`; bounded by the pool, 4 MiB). It needs Linux 5.19+ (multishot accept,
//! buffer rings; multishot receive 6.0) and io_uring not disabled by policy; otherwise the server
//! refuses to start with a clear error. Every operation points into user memory the kernel uses
//! later, which is why the buffer lifetimes below are spelled out in `SAFETY` comments.

use std::collections::VecDeque;

use std::net::TcpListener;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use io_uring::types::{CancelBuilder, Fd, SubmitArgs, Timespec};
use io_uring::{opcode, squeue, IoUring};
use nix::sys::eventfd::{EfdFlags, EventFd};
use proto::Conn;
use slab::Slab;

mod buf_ring;
mod completion;

use buf_ring::{BufRing, BUF_COUNT};

use crate::context::Context;
use crate::listener::{classify_accept_error, configure_fd, AcceptError, ACCEPT_BACKOFF};
use crate::session::{idle_keys, wait_timeout, IdleSweep};
use crate::shutdown::TICK;
use crate::stats::CloseReason;

/// Submission queue size; the completion queue is larger because multishot operations post many
/// completions per submission.
const SQ_ENTRIES: u32 = 1024;
const CQ_ENTRIES: u32 = 16 * 1024;
const BUF_GROUP: u16 = 0;
/// How long shutdown waits for the kernel to report cancelled operations. On an idle machine the
/// whole 10,000-client conformance case, connects and drain included, takes 1.5 s; a server
/// starved of CPU (that case run beside hundreds of others) needed over 2 s to drain. Past this
/// bound the memory is leaked rather than freed under the kernel, and the exit stays bounded.
const DRAIN_LIMIT: Duration = Duration::from_secs(8);

/// `user_data` layout: the slab key above, the operation in the low bits.
const OP_BITS: u32 = 3;
const OP_ACCEPT: u64 = 0;
const OP_RECV: u64 = 1;
const OP_SEND: u64 = 2;
const OP_CANCEL: u64 = 3;
const OP_WAKE: u64 = 4;

fn user_data(key: usize, op: u64) -> u64 {
    ((key as u64) << OP_BITS) | op
}

/// Serves on one thread until shutdown.
pub fn run(listener: TcpListener, ctx: Context) -> anyhow::Result<()> {
    let ring = build_ring()?;
    if !ring.params().is_feature_ext_arg() {
        bail!("io_uring on this kernel lacks EXT_ARG waits (needs Linux 5.11+); use another model");
    }
    let mut bufs = BufRing::new().context("cannot allocate the io_uring buffer pool")?;
    // SAFETY: the ring of entries stays allocated and in place until it is unregistered or the
    // io_uring is dropped: `Server` declares `ring` before `bufs`, so the io_uring is dropped
    // first, and `shut_down` unregisters the buffer ring before either is dropped.
    unsafe {
        ring.submitter()
            .register_buf_ring_with_flags(bufs.ring_addr(), BUF_COUNT, BUF_GROUP, 0)
    }
    .map_err(|e| {
        anyhow!("io_uring provided-buffer rings are not available (needs Linux 5.19+): {e}")
    })?;
    bufs.fill();
    let wake = Arc::new(
        EventFd::from_value_and_flags(0, EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)
            .context("cannot create the shutdown eventfd")?,
    );
    let shutdown_wake = Arc::clone(&wake);
    ctx.shutdown.on_trigger(move || {
        let _ = shutdown_wake.write(1);
    });
    let mut server = Server {
        ring,
        bufs,
        ctx: &ctx,
        listener,
        wake,
        conns: Slab::new(),
        queued: VecDeque::new(),
        completions: Vec::new(),
        accept_armed: false,
        wake_armed: false,
        accept_paused_until: None,
        stopping: false,
        recv_worked: false,
        fatal: None,
    };
    let result = server.serve();
    server.shut_down(match result {
        Ok(()) => CloseReason::Shutdown,
        Err(_) => CloseReason::LoopFailed,
    });
    result
}

/// Fails with a clear message when this kernel cannot give the model an io_uring, so the server
/// refuses to start before it announces a listening address.
pub fn check_available() -> anyhow::Result<()> {
    build_ring().map(drop)
}

/// A ring with the flags that suit one thread that submits and reaps itself, or a plain ring on
/// kernels that reject them; a clear error when io_uring is missing or forbidden.
fn build_ring() -> anyhow::Result<IoUring> {
    let tuned = IoUring::builder()
        .setup_cqsize(CQ_ENTRIES)
        .setup_coop_taskrun()
        .setup_single_issuer()
        .setup_defer_taskrun()
        .build(SQ_ENTRIES);
    let err = match tuned {
        Ok(ring) => return Ok(ring),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            match IoUring::builder()
                .setup_cqsize(CQ_ENTRIES)
                .build(SQ_ENTRIES)
            {
                Ok(ring) => return Ok(ring),
                Err(e) => e,
            }
        }
        Err(e) => e,
    };
    let why = match err.raw_os_error() {
        Some(libc::ENOSYS) => "this kernel has no io_uring",
        Some(libc::EPERM) => "io_uring is forbidden here (kernel.io_uring_disabled or seccomp)",
        Some(libc::ENOMEM) => "not enough locked memory for the rings (RLIMIT_MEMLOCK)",
        _ => "io_uring_setup failed",
    };
    Err(anyhow!("{why}: {err}; use another --model"))
}

/// Where a connection's multishot receive stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Recv {
    /// Not armed: read closed, backpressure, or waiting to be re-armed.
    Idle,
    Armed,
    /// A cancel is on its way; the final completion has not arrived yet.
    Cancelling,
}

struct Connection {
    fd: OwnedFd,
    conn: Conn,
    recv: Recv,
    /// Bytes being sent, taken from `conn`. The kernel reads them until the send completes, so
    /// this buffer is neither changed nor dropped while `send_armed`.
    sending: Vec<u8>,
    send_off: usize,
    send_armed: bool,
    /// The one send allowed after a protocol error was issued.
    final_flush_sent: bool,
    read_closed: bool,
    /// Set when the connection must go; it is freed once no operation is in flight.
    closing: Option<CloseReason>,
    last_active: Instant,
}

impl Connection {
    fn has_ops(&self) -> bool {
        self.recv != Recv::Idle || self.send_armed
    }

    fn unsent(&self) -> usize {
        self.conn.pending_output().len() + (self.sending.len() - self.send_off)
    }
}

struct Server<'a> {
    /// Declared first so it is dropped first: the kernel stops using `bufs` before it is freed.
    ring: IoUring,
    bufs: BufRing,
    ctx: &'a Context,
    listener: TcpListener,
    wake: Arc<EventFd>,
    conns: Slab<Connection>,
    /// Entries waiting for room in the submission queue.
    queued: VecDeque<squeue::Entry>,
    /// (user_data, result, flags) of one reap, handled after the completion queue is released.
    completions: Vec<(u64, i32, u32)>,
    accept_armed: bool,
    wake_armed: bool,
    accept_paused_until: Option<Instant>,
    stopping: bool,
    /// Whether any receive has delivered data: until then EINVAL means "not supported here".
    recv_worked: bool,
    /// An error that ends the server, found while handling a completion.
    fatal: Option<anyhow::Error>,
}

impl Server<'_> {
    fn serve(&mut self) -> anyhow::Result<()> {
        self.queue(
            opcode::PollAdd::new(Fd(self.wake.as_raw_fd()), libc::POLLIN as u32)
                .build()
                .user_data(user_data(0, OP_WAKE)),
        );
        self.wake_armed = true;
        let mut sweep = IdleSweep::new(self.ctx.config.idle_timeout);
        while !self.ctx.shutdown.is_triggered() {
            if self
                .accept_paused_until
                .is_some_and(|t| Instant::now() >= t)
            {
                self.accept_paused_until = None;
            }
            if !self.accept_armed && self.accept_paused_until.is_none() {
                self.queue(
                    opcode::AcceptMulti::new(Fd(self.listener.as_raw_fd()))
                        .flags(libc::SOCK_CLOEXEC)
                        .build()
                        .user_data(user_data(0, OP_ACCEPT)),
                );
                self.accept_armed = true;
            }
            self.submit_queued()?;
            self.wait(wait_timeout(
                false,
                self.accept_paused_until,
                self.ctx.config.idle_timeout,
            ))?;
            self.handle_completions()?;
            let now = Instant::now();
            if let Some(idle) = sweep.due(now) {
                self.close_idle(now, idle);
            }
        }
        Ok(())
    }

    fn queue(&mut self, entry: squeue::Entry) {
        self.queued.push_back(entry);
    }

    /// Moves queued entries into the submission queue, submitting whenever it fills.
    fn submit_queued(&mut self) -> anyhow::Result<()> {
        while let Some(entry) = self.queued.front() {
            // SAFETY: every entry points only at memory that outlives the operation: receives use
            // buffers of `self.bufs` (freed after the ring, see `Server`), a send points into its
            // connection's `sending`, which is left alone until the send's completion, and a
            // connection (with its fd) is freed only after all its operations completed.
            let pushed = unsafe { self.ring.submission().push(entry) };
            if pushed.is_ok() {
                self.queued.pop_front();
                continue;
            }
            match self.ring.submit() {
                Ok(_) => {}
                // The completion queue is overflowing: reap first, the rest waits in `queued`.
                Err(e) if matches!(e.raw_os_error(), Some(libc::EBUSY | libc::EAGAIN)) => {
                    return Ok(())
                }
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => {}
                Err(e) => return Err(anyhow!("io_uring submit failed: {e}")),
            }
        }
        Ok(())
    }

    /// Submits and waits for at least one completion, or the timeout.
    fn wait(&mut self, timeout: Option<Duration>) -> anyhow::Result<()> {
        let result = match timeout {
            Some(d) => {
                let ts = Timespec::from(d);
                let args = SubmitArgs::new().timespec(&ts);
                self.ring.submitter().submit_with_args(1, &args)
            }
            None => self.ring.submit_and_wait(1),
        };
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ETIME | libc::EINTR | libc::EBUSY | libc::EAGAIN)
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(anyhow!("io_uring_enter failed: {e}")),
        }
    }

    /// Decides what a connection needs next: a send, a receive armed or cancelled, or closing.
    /// Called after every event that concerns it.
    fn drive(&mut self, key: usize) {
        let cap = self.ctx.config.limits.max_pending_output;
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        if let Some(reason) = c.closing {
            if !c.has_ops() {
                self.finalize(key, reason);
            }
            return;
        }
        let error = c.conn.error();
        if !c.send_armed && !c.final_flush_sent {
            if c.conn.has_pending_output() {
                let more = c.conn.take_ready();
                if c.send_off == c.sending.len() {
                    c.sending = more;
                } else {
                    // Not armed, so the kernel is done with `sending`: merge to send in one go.
                    c.sending.drain(..c.send_off);
                    c.sending.extend_from_slice(&more);
                }
                c.send_off = 0;
            }
            if c.send_off < c.sending.len() {
                // After a protocol error the echoes still owed get one non-blocking attempt, as
                // in `mio`: a peer that stopped reading cannot hold the connection open.
                c.final_flush_sent = error.is_some();
                let dontwait = if error.is_some() {
                    libc::MSG_DONTWAIT
                } else {
                    0
                };
                let rest = &c.sending[c.send_off..];
                let len = u32::try_from(rest.len()).unwrap_or(u32::MAX);
                let entry = opcode::Send::new(Fd(c.fd.as_raw_fd()), rest.as_ptr(), len)
                    .flags(libc::MSG_NOSIGNAL | dontwait)
                    .build()
                    .user_data(user_data(key, OP_SEND));
                c.send_armed = true;
                self.queued.push_back(entry);
            }
        }
        if !c.send_armed {
            if let Some(err) = error {
                self.begin_close(key, CloseReason::Protocol(err));
                return;
            }
            if c.read_closed && c.unsent() == 0 {
                self.begin_close(key, CloseReason::Eof);
                return;
            }
        }
        self.drive_reads(key, cap);
    }

    /// Arms the multishot receive when the connection may read, cancels it when it may not.
    fn drive_reads(&mut self, key: usize, cap: usize) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        let wants = !c.read_closed && c.conn.wants_read() && c.unsent() < cap;
        let entry = match (wants, c.recv) {
            (true, Recv::Idle) => {
                c.recv = Recv::Armed;
                opcode::RecvMulti::new(Fd(c.fd.as_raw_fd()), BUF_GROUP)
                    .build()
                    .user_data(user_data(key, OP_RECV))
            }
            (false, Recv::Armed) => {
                c.recv = Recv::Cancelling;
                opcode::AsyncCancel::new(user_data(key, OP_RECV))
                    .build()
                    .user_data(user_data(key, OP_CANCEL))
            }
            _ => return,
        };
        self.queue(entry);
    }

    /// Marks a connection for closing and cancels whatever it has in flight; it is freed (and
    /// counted) when the last operation reports.
    fn begin_close(&mut self, key: usize, reason: CloseReason) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        if c.closing.is_some() {
            return;
        }
        c.closing = Some(reason);
        if !c.has_ops() {
            self.finalize(key, reason);
            return;
        }
        // Cancelled by `user_data`, which the kernel looks up by hash. A cancel by fd scans every
        // request in flight: 10,000 idle timeouts at once stalled the loop for seconds.
        let mut targets = [None, None];
        if c.recv == Recv::Armed {
            c.recv = Recv::Cancelling;
            targets[0] = Some(OP_RECV);
        }
        if c.send_armed {
            targets[1] = Some(OP_SEND);
        }
        for op in targets.into_iter().flatten() {
            self.queue(
                opcode::AsyncCancel::new(user_data(key, op))
                    .build()
                    .user_data(user_data(key, OP_CANCEL)),
            );
        }
    }

    fn finalize(&mut self, key: usize, reason: CloseReason) {
        let c = self.conns.remove(key);
        self.ctx.stats.closed(&c.conn, reason);
        // Dropping `c` closes the fd; the kernel holds no reference to it any more.
    }

    fn close_idle(&mut self, now: Instant, idle: Duration) {
        let open = |c: &Connection| c.closing.is_none().then_some(c.last_active);
        for key in idle_keys(&self.conns, now, idle, open) {
            self.begin_close(key, CloseReason::IdleTimeout);
        }
    }

    /// Closes every connection and waits for the kernel to report every operation, so no memory
    /// it may write to is freed under it. If it does not report in time the memory is leaked.
    fn shut_down(&mut self, reason: CloseReason) {
        self.stopping = true;
        // One cancel-any for everything, not one cancel per connection: a cancel by fd scans
        // every request in flight, so 10,000 of them took longer than `DRAIN_LIMIT`.
        let mut idle = Vec::new();
        for (key, c) in self.conns.iter_mut() {
            let reason = *c.closing.get_or_insert(reason);
            if !c.has_ops() {
                idle.push((key, reason));
            }
        }
        for (key, reason) in idle {
            self.finalize(key, reason);
        }
        // Queued last, so it is submitted after every operation still waiting in `queued`.
        self.queue(
            opcode::AsyncCancel2::new(CancelBuilder::any())
                .build()
                .user_data(user_data(0, OP_CANCEL)),
        );
        let deadline = Instant::now() + DRAIN_LIMIT;
        while (!self.conns.is_empty() || self.accept_armed || self.wake_armed)
            && Instant::now() < deadline
        {
            let drained = self
                .submit_queued()
                .and_then(|()| self.wait(Some(TICK)))
                .and_then(|()| self.handle_completions());
            if let Err(e) = drained {
                eprintln!("echo-server: io_uring shutdown: {e}");
                break;
            }
        }
        if self.conns.is_empty() && !self.accept_armed && !self.wake_armed {
            let _ = self.ring.submitter().unregister_buf_ring(BUF_GROUP);
            return;
        }
        eprintln!("echo-server: io_uring operations still in flight at exit; leaking their memory");
        for (_, c) in self.conns.iter() {
            self.ctx.stats.closed(&c.conn, reason);
        }
        std::mem::forget(std::mem::take(&mut self.conns));
        self.bufs.leak();
    }
}
