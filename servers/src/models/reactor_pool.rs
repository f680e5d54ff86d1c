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

use std::collections::{BTreeMap, VecDeque};
use std::io::{self, IoSlice, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use mio::net::TcpStream;
use mio::Waker;
use proto::{Conn, Messages, Protocol};
use slab::Slab;

use crate::context::Context;
use crate::extra_work::{charged_messages, ExtraWork};
use crate::reactor::{insert, watch_writes, Handler, Prepared, Turn};
use crate::session::{close_all, idle_keys, READ_BUDGET, SCRATCH_LEN};
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
        conns: Slab::new(),
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

struct Connection {
    stream: TcpStream,
    conn: Conn,
    conn_id: u64,
    read_closed: bool,
    /// Sequence number of the next batch handed to the pool.
    next_seq: u64,
    /// Sequence number of the next reply to append to `out`.
    next_out_seq: u64,
    /// Replies that came back before their predecessors.
    early: BTreeMap<u64, Vec<u8>>,
    /// Replies in order, waiting to be written; `out_offset` bytes of the front are written.
    out: VecDeque<Vec<u8>>,
    out_offset: usize,
    /// Bytes taken from `conn` and not yet written: in the pool, parked, or queued in `out`.
    in_flight: usize,
    watching_write: bool,
    /// Already queued in `dirty` this turn.
    dirty: bool,
    last_active: Instant,
}

impl Connection {
    fn jobs_outstanding(&self) -> bool {
        self.next_out_seq != self.next_seq
    }

    fn wants_read(&self, max_pending: usize) -> bool {
        !self.read_closed && self.conn.wants_read() && self.in_flight < max_pending
    }

    /// Writes queued replies until done or `WouldBlock`.
    fn flush(&mut self) -> io::Result<()> {
        while !self.out.is_empty() {
            let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
            let mut count = 0;
            for (i, reply) in self.out.iter().take(MAX_IOVECS).enumerate() {
                let start = if i == 0 { self.out_offset } else { 0 };
                slices[count] = IoSlice::new(&reply[start..]);
                count += 1;
            }
            match self.stream.write_vectored(&slices[..count]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.advance_out(n);
                    self.last_active = Instant::now();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn advance_out(&mut self, mut n: usize) {
        self.conn.record_output(n);
        self.in_flight -= n;
        while n > 0 {
            let Some(front) = self.out.front() else {
                return;
            };
            let left = front.len() - self.out_offset;
            if n < left {
                self.out_offset += n;
                return;
            }
            n -= left;
            self.out.pop_front();
            self.out_offset = 0;
        }
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

enum Pumped {
    Open { more: bool },
    Close(CloseReason),
}

/// Hands complete messages to the pool and writes the replies back in order.
struct Replies<'a> {
    ctx: &'a Context,
    conns: Slab<Connection>,
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
        let added = insert(&mut self.conns, turn, stream, |stream| Connection {
            stream,
            conn: Conn::new(config.protocol, config.limits),
            conn_id,
            read_closed: false,
            next_seq: 0,
            next_out_seq: 0,
            early: BTreeMap::new(),
            out: VecDeque::new(),
            out_offset: 0,
            in_flight: 0,
            watching_write: false,
            dirty: false,
            last_active: Instant::now(),
        });
        if let Some(key) = added {
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
        match result {
            Pumped::Open { more } => {
                if more {
                    turn.again.push_back(key);
                }
                let want_write = !conn.out.is_empty();
                let watching = &mut conn.watching_write;
                if watch_writes(turn.registry, &mut conn.stream, key, watching, want_write).is_err()
                {
                    self.close(key, CloseReason::IoError, turn);
                }
            }
            Pumped::Close(reason) => self.close(key, reason, turn),
        }
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
            if conn.conn_id != done.conn_id {
                continue; // the connection closed; its slot was reused
            }
            conn.deliver(done.seq, done.reply);
            if !conn.dirty {
                conn.dirty = true;
                self.dirty.push(done.key);
            }
        }
        let mut dirty = std::mem::take(&mut self.dirty);
        for key in dirty.drain(..) {
            if let Some(conn) = self.conns.get_mut(key) {
                conn.dirty = false;
            }
            self.pump(key, turn);
        }
        self.dirty = dirty;
    }

    fn close_idle(&mut self, now: Instant, idle: Duration, turn: &mut Turn<'_>) {
        for key in idle_keys(&self.conns, now, idle, |c| Some(c.last_active)) {
            self.close(key, CloseReason::IdleTimeout, turn);
        }
    }

    fn close_all(&mut self, reason: CloseReason, stats: &Stats) {
        close_all(stats, self.conns.iter().map(|(_, c)| &c.conn), reason);
        self.conns.clear();
    }
}

impl Replies<'_> {
    fn close(&mut self, key: usize, reason: CloseReason, turn: &Turn<'_>) {
        let mut conn = self.conns.remove(key);
        let _ = turn.registry.deregister(&mut conn.stream);
        turn.stats.closed(&conn.conn, reason);
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
) -> Pumped {
    let mut budget = READ_BUDGET;
    loop {
        if let Err(e) = conn.flush() {
            return Pumped::Close(CloseReason::from_io(&e));
        }
        // After EOF or a protocol error, the replies to the messages before it are still owed:
        // wait for the pool to return them all, then (like `mio`) close after one flush attempt
        // for a protocol error, or once everything is written for EOF.
        if let Some(err) = conn.conn.error() {
            if !conn.jobs_outstanding() {
                return Pumped::Close(CloseReason::Protocol(err));
            }
            return Pumped::Open { more: false };
        }
        if conn.read_closed && conn.in_flight == 0 {
            return Pumped::Close(CloseReason::Eof);
        }
        if !conn.wants_read(max_pending) {
            // Backpressure, or EOF with replies still owed: wait for writability or replies.
            return Pumped::Open { more: false };
        }
        if budget == 0 {
            return Pumped::Open { more: true };
        }
        let want = scratch.len().min(budget);
        match conn.stream.read(&mut scratch[..want]) {
            Ok(0) => {
                conn.read_closed = true;
                conn.conn.receive_eof();
            }
            Ok(n) => {
                budget -= n;
                conn.last_active = Instant::now();
                // A protocol error is picked up at the top of the loop; the complete messages
                // before it are dispatched first.
                let _ = conn.conn.receive(&scratch[..n]);
                if conn.conn.has_pending_output() {
                    let batch = conn.conn.take_ready();
                    conn.in_flight += batch.len();
                    let seq = conn.next_seq;
                    conn.next_seq += 1;
                    dispatch(Job {
                        key,
                        conn_id: conn.conn_id,
                        seq,
                        batch,
                    });
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Pumped::Open { more: false },
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Pumped::Close(CloseReason::from_io(&e)),
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
    work.spend(charged_messages(protocol, batch.len(), complete), stats);
    reply
}
