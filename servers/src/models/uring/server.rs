//! The loop: set up the ring, submit and wait until shutdown, then drain every operation before
//! any memory the kernel may still write to is freed.

use std::collections::VecDeque;
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use io_uring::types::{CancelBuilder, Fd, SubmitArgs, Timespec};
use io_uring::{opcode, squeue, IoUring};
use nix::sys::eventfd::{EfdFlags, EventFd};
use slab::Slab;

use super::buf_ring::{BufRing, BUF_COUNT};
use super::connection::Connection;
use super::ring::{build_ring, user_data, BUF_GROUP, OP_ACCEPT, OP_CANCEL, OP_WAKE};
use crate::context::Context;
use crate::session::{wait_timeout, IdleSweep};
use crate::shutdown::TICK;
use crate::stats::CloseReason;

/// How long shutdown waits for the kernel to report cancelled operations. On an idle machine the
/// whole 10,000-client conformance case, connects and drain included, takes 1.5 s; a server
/// starved of CPU (that case run beside hundreds of others) needed over 2 s to drain. Past this
/// bound the memory is leaked rather than freed under the kernel, and the exit stays bounded.
const DRAIN_LIMIT: Duration = Duration::from_secs(8);

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

/// The loop's state; its methods are spread over this module, `drive` (what a connection
/// needs next) and `completion` (what a reported operation means).
pub(super) struct Server<'a> {
    /// Declared first so it is dropped first: the kernel stops using `bufs` before it is freed.
    pub(super) ring: IoUring,
    pub(super) bufs: BufRing,
    pub(super) ctx: &'a Context,
    pub(super) listener: TcpListener,
    pub(super) wake: Arc<EventFd>,
    pub(super) conns: Slab<Connection>,
    /// Entries waiting for room in the submission queue.
    pub(super) queued: VecDeque<squeue::Entry>,
    /// (user_data, result, flags) of one reap, handled after the completion queue is released.
    pub(super) completions: Vec<(u64, i32, u32)>,
    pub(super) accept_armed: bool,
    pub(super) wake_armed: bool,
    pub(super) accept_paused_until: Option<Instant>,
    pub(super) stopping: bool,
    /// Whether any receive has delivered data: until then EINVAL means "not supported here".
    pub(super) recv_worked: bool,
    /// An error that ends the server, found while handling a completion.
    pub(super) fatal: Option<anyhow::Error>,
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

    pub(super) fn queue(&mut self, entry: squeue::Entry) {
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
