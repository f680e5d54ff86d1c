//! `reactor-pool`: one mio reactor does all socket I/O; a rayon pool builds every reply.
//!
//! **How it works.** The reactor is the `mio` loop ([`crate::reactor`]: edge-triggered epoll,
//! read until `WouldBlock` within a budget), but instead of echoing in place it takes the complete messages each read
//! produced ([`Conn::take_ready`]) and spawns one job per batch on a dedicated rayon pool of
//! `--workers` threads. A job walks the batch message by message (boundaries from
//! [`proto::Messages`]; this file never parses a message) and copies it into a fresh reply
//! buffer (the stand-in for real request handling), pushes the reply onto a channel and wakes the
//! reactor through a mio [`Waker`]. Jobs run in any order, so each batch carries a per-connection
//! sequence number; the reactor parks early replies in a reorder map and writes them strictly in
//! sequence. Backpressure is the core's rule moved to the driver: bytes handed off and not yet
//! written count against `--max-pending`, and past it the connection is not read.
//!
//! **What it costs.** Per batch: a job allocation, a reply allocation and copy, a channel send,
//! two cross-thread cache-line hand-offs and, when the reactor is asleep, an eventfd write plus an
//! `epoll_wait` wake-up. That is the price of the hand-off this model exists to measure; an echo's
//! "work" is nothing, so here it is pure overhead over `mio`. Per idle connection: what `mio`
//! costs plus a few words of sequencing state (measured at 1,000 connections: 0.4 KiB of RSS per
//! idle client; 0.9–3.5 KiB, varying run to run, after one message each, although a connection
//! then holds no buffer: that is freed memory the allocator keeps in the pool threads' arenas).
//!
//! **Where it breaks.** The single reactor caps I/O at one core, and on a 2-core machine the pool
//! competes with it for CPU. It pays off only when the reply is expensive compared with the
//! hand-off (parsing, crypto, compression). Replies of one connection are serialized by the
//! reorder step, so one slow job delays every later reply on that connection (head-of-line).
//!
//! [`Conn::take_ready`]: proto::Conn::take_ready

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, IoSlice, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use mio::net::TcpStream;
use mio::Waker;
use proto::{Messages, Protocol};

use crate::context::Context;
use crate::extra_work::{charged_messages, ExtraWork};
use crate::reactor::{self, Connections, Handler, Prepared, Turn};
use crate::session::{Chunk, PumpResult, Session, READ_BUDGET, SCRATCH_LEN};
use crate::stats::{CloseReason, Stats};

/// Replies written per `writev`: enough to flush a pipelined burst in one call.
const MAX_IOVECS: usize = 64;

/// Serves until shutdown: this thread is the reactor, `ctx.config.workers` threads build replies.
pub fn run(listener: TcpListener, ctx: Context) -> anyhow::Result<()> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(ctx.config.workers.max(1))
        .thread_name(|i| format!("reply-{i}"))
        .build()
        .context("cannot start the reply pool")?;
    let prepared = Prepared::new(listener, &ctx)?;
    let (tx, completions) = mpsc::channel();
    let mailbox = Arc::new(Mailbox {
        tx,
        waker: prepared.waker(),
        wake_pending: AtomicBool::new(false),
    });
    let mut replies = Replies {
        ctx: &ctx,
        conns: Connections::default(),
        next_conn_id: 0,
        pool,
        mailbox,
        completions,
        dirty: Vec::new(),
        scratch: vec![0; SCRATCH_LEN],
    };
    // The reactor is the only accepting thread: it is worker 0 in the per-worker counts.
    prepared.run(&mut replies, &ctx, 0)?;
    Ok(())
}

/// A reply built by the pool, addressed to one batch of one connection.
struct Completion {
    key: usize,
    /// Distinguishes connections that reused a slab slot: a reply for a closed connection is
    /// dropped, never written to its successor.
    conn_id: u64,
    seq: u64,
    reply: Vec<u8>,
}

/// What pool threads share with the reactor.
struct Mailbox {
    tx: Sender<Completion>,
    waker: Arc<Waker>,
    /// Set while a wake-up is pending, so a burst of completions costs one eventfd write.
    wake_pending: AtomicBool,
}

impl Mailbox {
    fn post(&self, completion: Completion) {
        // The receiver lives as long as the reactor; after it is gone nobody wants the reply.
        if self.tx.send(completion).is_ok() && !self.wake_pending.swap(true, Ordering::SeqCst) {
            let _ = self.waker.wake();
        }
    }
}

/// What `reactor-pool` keeps per connection besides its socket and session: the sequencing of
/// the batches handed to the pool and of the replies coming back.
struct Sequencing {
    conn_id: u64,
    /// Sequence number of the next batch handed to the pool.
    next_seq: u64,
    /// Sequence number of the next reply to append to `out`.
    next_out_seq: u64,
    /// Replies that came back before their predecessors.
    early: BTreeMap<u64, Vec<u8>>,
    /// Replies in order, waiting to be written; `out_offset` bytes of the front are written.
    out: VecDeque<Vec<u8>>,
    out_offset: usize,
    /// Bytes taken from the session and not yet written: in the pool, parked, or queued in `out`.
    in_flight: usize,
    /// Already queued in `dirty` this turn.
    dirty: bool,
}

impl Sequencing {
    fn jobs_outstanding(&self) -> bool {
        self.next_out_seq != self.next_seq
    }

    /// Files a reply under its sequence number and moves every reply now in order to `out`.
    fn deliver(&mut self, seq: u64, reply: Vec<u8>) {
        self.early.insert(seq, reply);
        while let Some(reply) = self.early.remove(&self.next_out_seq) {
            if !reply.is_empty() {
                self.out.push_back(reply);
            }
            self.next_out_seq += 1;
        }
    }
}

type Connection = reactor::Connection<Sequencing>;

// The writing side needs the socket and the session as well as the sequencing.
impl Connection {
    fn wants_read(&self, max_pending: usize) -> bool {
        self.session.wants_read() && self.extra.in_flight < max_pending
    }

    /// Writes queued replies until done or `WouldBlock`.
    fn flush(&mut self) -> io::Result<()> {
        while !self.extra.out.is_empty() {
            let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
            let mut count = 0;
            for (i, reply) in self.extra.out.iter().take(MAX_IOVECS).enumerate() {
                let start = if i == 0 { self.extra.out_offset } else { 0 };
                slices[count] = IoSlice::new(&reply[start..]);
                count += 1;
            }
            match self.stream.write_vectored(&slices[..count]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.advance_out(n);
                    self.session.last_active = Instant::now();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn advance_out(&mut self, mut n: usize) {
        self.session.conn.record_output(n);
        self.extra.in_flight -= n;
        while n > 0 {
            let Some(front) = self.extra.out.front() else {
                return;
            };
            let left = front.len() - self.extra.out_offset;
            if n < left {
                self.extra.out_offset += n;
                return;
            }
            n -= left;
            self.extra.out.pop_front();
            self.extra.out_offset = 0;
        }
    }
}

/// Hands complete messages to the pool and writes the replies back in order.
struct Replies<'a> {
    ctx: &'a Context,
    conns: Connections<Sequencing>,
    next_conn_id: u64,
    pool: rayon::ThreadPool,
    mailbox: Arc<Mailbox>,
    completions: Receiver<Completion>,
    /// Connections that got replies this turn and must be flushed.
    dirty: Vec<usize>,
    scratch: Vec<u8>,
}

impl Handler for Replies<'_> {
    fn add(&mut self, stream: TcpStream, turn: &mut Turn<'_>) {
        let config = &self.ctx.config;
        self.next_conn_id += 1;
        let conn_id = self.next_conn_id;
        let session = Session::new(config.protocol, config.limits, Instant::now());
        let sequencing = Sequencing {
            conn_id,
            next_seq: 0,
            next_out_seq: 0,
            early: BTreeMap::new(),
            out: VecDeque::new(),
            out_offset: 0,
            in_flight: 0,
            dirty: false,
        };
        if let Some(key) = self.conns.insert(turn, stream, session, sequencing) {
            self.pump(key, turn);
        }
    }

    fn pump(&mut self, key: usize, turn: &mut Turn<'_>) {
        let Some(conn) = self.conns.get_mut(key) else {
            return; // closed earlier in this turn
        };
        let protocol = self.ctx.config.protocol;
        let work = self.ctx.config.extra_work;
        let max_pending = self.ctx.config.limits.max_pending_output;
        let result = pump_connection(conn, key, &mut self.scratch, max_pending, |job| {
            let mailbox = Arc::clone(&self.mailbox);
            let stats = Arc::clone(&self.ctx.stats);
            self.pool.spawn(move || {
                let reply = build_reply(protocol, &job.batch, &work, &stats);
                mailbox.post(Completion {
                    key: job.key,
                    conn_id: job.conn_id,
                    seq: job.seq,
                    reply,
                });
            });
        });
        let want_write = !conn.extra.out.is_empty();
        self.conns.settle(key, result, want_write, turn);
    }

    /// Takes every reply the pool finished, puts it in order, and flushes the connections that
    /// got one (each once, however many replies it got).
    fn after_events(&mut self, turn: &mut Turn<'_>) {
        // Cleared before draining: a reply posted after the drain sees `false` and wakes us.
        self.mailbox.wake_pending.store(false, Ordering::SeqCst);
        while let Ok(done) = self.completions.try_recv() {
            let Some(conn) = self.conns.get_mut(done.key) else {
                continue;
            };
            let order = &mut conn.extra;
            if order.conn_id != done.conn_id {
                continue; // the connection closed; its slot was reused
            }
            order.deliver(done.seq, done.reply);
            if !order.dirty {
                order.dirty = true;
                self.dirty.push(done.key);
            }
        }
        let mut dirty = std::mem::take(&mut self.dirty);
        for key in dirty.drain(..) {
            if let Some(conn) = self.conns.get_mut(key) {
                conn.extra.dirty = false;
            }
            self.pump(key, turn);
        }
        self.dirty = dirty;
    }

    fn close_idle(&mut self, now: Instant, idle: Duration, turn: &mut Turn<'_>) {
        self.conns.close_idle(now, idle, turn);
    }

    fn close_all(&mut self, reason: CloseReason, stats: &Stats) {
        self.conns.close_all(reason, stats);
    }
}

/// A batch of complete messages on its way to the pool.
struct Job {
    key: usize,
    conn_id: u64,
    seq: u64,
    batch: Vec<u8>,
}

/// Writes queued replies, reads within the budget, hands complete messages to `dispatch`.
/// Safe to call on any readiness, spurious or not.
fn pump_connection(
    conn: &mut Connection,
    key: usize,
    scratch: &mut [u8],
    max_pending: usize,
    mut dispatch: impl FnMut(Job),
) -> PumpResult {
    let mut budget = READ_BUDGET;
    loop {
        if let Err(e) = conn.flush() {
            return PumpResult::Close(CloseReason::from_io(&e));
        }
        // After EOF or a protocol error, the replies to the messages before it are still owed:
        // wait for the pool to return them all, then (like `mio`) close after one flush attempt
        // for a protocol error, or once everything is written for EOF.
        if let Some(err) = conn.session.conn.error() {
            if !conn.extra.jobs_outstanding() {
                return PumpResult::Close(CloseReason::Protocol(err));
            }
            return PumpResult::Open { more: false };
        }
        if conn.session.read_closed() && conn.extra.in_flight == 0 {
            return PumpResult::Close(CloseReason::Eof);
        }
        if !conn.wants_read(max_pending) {
            // Backpressure, or EOF with replies still owed: wait for writability or replies.
            return PumpResult::Open { more: false };
        }
        if budget == 0 {
            return PumpResult::Open { more: true };
        }
        match conn
            .session
            .read_chunk(&mut conn.stream, scratch, &mut budget)
        {
            Chunk::Data(data) => {
                // A protocol error is picked up at the top of the loop; the complete messages
                // before it are dispatched first.
                let _ = conn.session.conn.receive(data);
                if conn.session.conn.has_pending_output() {
                    let batch = conn.session.conn.take_ready();
                    let order = &mut conn.extra;
                    order.in_flight += batch.len();
                    let seq = order.next_seq;
                    order.next_seq += 1;
                    dispatch(Job {
                        key,
                        conn_id: order.conn_id,
                        seq,
                        batch,
                    });
                }
            }
            Chunk::Eof => {}
            Chunk::Blocked => return PumpResult::Open { more: false },
            Chunk::Failed(e) => return PumpResult::Close(CloseReason::from_io(&e)),
        }
    }
}

/// The pool's work: walk the batch message by message (boundaries from the core, which already
/// validated them) and copy each into the reply, as a real handler would parse a request and
/// serialize a response. `--extra-work` is spent here, on the pool thread that builds the echo.
fn build_reply(protocol: Protocol, batch: &[u8], work: &ExtraWork, stats: &Stats) -> Vec<u8> {
    let mut reply = Vec::with_capacity(batch.len());
    let mut messages = Messages::new(protocol, batch);
    let mut complete = 0;
    for message in messages.by_ref() {
        reply.extend_from_slice(message);
        complete += 1;
    }
    // A batch holds whole messages only; anything else would be a core bug, and is echoed as is
    // rather than dropped.
    reply.extend_from_slice(messages.remainder());
    if work.corrupts_next_chunk() {
        if let Some(first) = reply.first_mut() {
            *first ^= 0x20;
        }
    }
    work.spend(charged_messages(protocol, batch.len(), complete), stats);
    reply
}
