//! `--extra-work`: a known cost planted in every echoed message, so that a model's overhead can
//! be measured against a cost of known size, a regression of known size can be planted to prove
//! a gate, and a server of known capacity exists (one thread at `--extra-work 500us` answers at
//! most about 2,000 messages a second). Every model charges it through [`ExtraWork::receive`]
//! (or, where a pool builds the echo, [`ExtraWork::spend`]), on the thread that produces the
//! echo, so every kind ([`WorkKind`]: CPU, memory, system calls) lands alike in all of them.
//!
//! A *message* is what the protocol says it is: one complete line or frame in `line` and
//! `framed`. `raw` has no boundaries, so there every [`RAW_UNIT`] bytes echoed count as one
//! message, rounded up per chunk received.
//!
//! `--fault-corrupt-every N` is the one planted *fault*: every Nth chunk the process receives
//! has one byte flipped before it is echoed, so harnesses that must fail on a corrupted echo can
//! be shown to.

use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use proto::{Conn, Protocol, ProtocolError};

use crate::stats::Stats;
pub use crate::work_kind::WorkKind;

/// Bytes of `raw` input that count as one message for `--extra-work`.
pub const RAW_UNIT: usize = 64;

/// Chunks received by this process so far, for `--fault-corrupt-every`.
static CHUNKS: AtomicU64 = AtomicU64::new(0);

/// The planted per-message cost and fault. The default costs nothing: no clock is read, no
/// counter touched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExtraWork {
    kind: Option<WorkKind>,
    corrupt_every: Option<NonZeroU64>,
}

impl ExtraWork {
    /// A cost of `per_message` of busy CPU (by the thread's CPU clock) for each message echoed.
    pub fn new(per_message: Duration) -> Self {
        Self::of_kind(WorkKind::Cpu(per_message))
    }

    /// A cost of `kind` for each message echoed.
    pub fn of_kind(kind: WorkKind) -> Self {
        ExtraWork {
            kind: (!kind.is_zero()).then_some(kind),
            corrupt_every: None,
        }
    }

    /// The same cost, with every `n`th chunk received corrupted (one byte flipped).
    pub fn with_corruption_every(self, n: Option<NonZeroU64>) -> Self {
        ExtraWork {
            corrupt_every: n,
            ..self
        }
    }

    /// The cost per message, if any.
    pub fn kind(&self) -> Option<WorkKind> {
        self.kind
    }

    /// Whether nothing is planted: no cost and no corruption, so the bytes received are the
    /// bytes to echo.
    pub fn is_none(&self) -> bool {
        self.kind.is_none() && self.corrupt_every.is_none()
    }

    /// Feeds `data` to `conn` (as [`Conn::receive`]) and then spends the cost of every message it
    /// completed, on the calling thread.
    pub fn receive(
        &self,
        conn: &mut Conn,
        data: &[u8],
        stats: &Stats,
    ) -> Result<(), ProtocolError> {
        if self.is_none() {
            return conn.receive(data);
        }
        let before = conn.counters().messages;
        let result = if self.corrupts_next_chunk() && !data.is_empty() {
            let mut bad = data.to_vec();
            bad[0] ^= 0x20;
            conn.receive(&bad)
        } else {
            conn.receive(data)
        };
        let complete = conn.counters().messages - before;
        self.spend(
            charged_messages(conn.protocol(), data.len(), complete),
            stats,
        );
        result
    }

    /// Whether the fault plant corrupts the chunk being received now (counts it).
    pub fn corrupts_next_chunk(&self) -> bool {
        self.corrupt_every
            .is_some_and(|n| (CHUNKS.fetch_add(1, Relaxed) + 1) % n.get() == 0)
    }

    /// Spends the cost of `messages` messages on the calling thread and counts them.
    pub fn spend(&self, messages: u64, stats: &Stats) {
        let Some(kind) = self.kind else {
            return;
        };
        if messages == 0 {
            return;
        }
        stats.extra_work(messages);
        kind.spend(messages);
    }
}

/// How many messages `bytes` of input that completed `complete` protocol messages count as.
pub fn charged_messages(protocol: Protocol, bytes: usize, complete: u64) -> u64 {
    match protocol {
        Protocol::Raw => bytes.div_ceil(RAW_UNIT) as u64,
        Protocol::Line | Protocol::Framed => complete,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::Limits;

    fn charged(protocol: Protocol, input: &[u8]) -> u64 {
        let stats = Stats::new(1);
        let mut conn = Conn::new(protocol, Limits::default());
        let _ = ExtraWork::new(Duration::from_nanos(1)).receive(&mut conn, input, &stats);
        stats.snapshot("test").extra_work_messages
    }

    #[test]
    fn line_and_framed_charge_each_complete_message() {
        assert_eq!(charged(Protocol::Line, b"a\nbb\nccc"), 2);
        let mut framed = Vec::new();
        for payload in [&b"x"[..], b"", b"yz"] {
            framed.extend_from_slice(&(payload.len() as u32).to_be_bytes());
            framed.extend_from_slice(payload);
        }
        framed.extend_from_slice(&[0, 0]); // half a header: not a message yet
        assert_eq!(charged(Protocol::Framed, &framed), 3);
    }

    #[test]
    fn raw_charges_every_started_unit() {
        assert_eq!(charged(Protocol::Raw, &[]), 0);
        assert_eq!(charged(Protocol::Raw, &[0; 1]), 1);
        assert_eq!(charged(Protocol::Raw, &[0; RAW_UNIT]), 1);
        assert_eq!(charged(Protocol::Raw, &[0; RAW_UNIT + 1]), 2);
    }

    #[test]
    fn zero_cost_charges_nothing() {
        let stats = Stats::new(1);
        let mut conn = Conn::new(Protocol::Line, Limits::default());
        ExtraWork::default()
            .receive(&mut conn, b"a\nb\n", &stats)
            .unwrap();
        assert_eq!(stats.snapshot("test").extra_work_messages, 0);
        assert_eq!(conn.counters().messages, 2);
    }

    #[test]
    fn spending_takes_at_least_the_planted_cpu_time() {
        let stats = Stats::new(1);
        let before = crate::work_kind::thread_cpu_time();
        ExtraWork::new(Duration::from_micros(200)).spend(10, &stats);
        // The spin is a count of steps at a rate measured once per process; on a virtual
        // machine a measurement the host interrupted runs slow, so a later spin may take less
        // CPU than planted. Half of it is the bound the calibration keeps (the fastest of five
        // batches); no spin at all would fail it.
        let spent = crate::work_kind::thread_cpu_time() - before;
        assert!(
            spent >= Duration::from_millis(1),
            "{spent:?} for 2 ms planted"
        );
        assert_eq!(stats.snapshot("test").extra_work_messages, 10);
    }

    #[test]
    fn every_kind_is_charged_per_message() {
        for kind in ["mem:4", "syscall:2", "cpu:1us"] {
            let stats = Stats::new(1);
            let mut conn = Conn::new(Protocol::Line, Limits::default());
            ExtraWork::of_kind(WorkKind::parse(kind).unwrap())
                .receive(&mut conn, b"a\nb\nc\n", &stats)
                .unwrap();
            assert_eq!(stats.snapshot("test").extra_work_messages, 3, "{kind}");
        }
    }

    #[test]
    fn the_fault_plant_corrupts_echoes() {
        let stats = Stats::new(1);
        let mut conn = Conn::new(Protocol::Raw, Limits::default());
        let work = ExtraWork::default().with_corruption_every(NonZeroU64::new(1));
        work.receive(&mut conn, b"hello", &stats).unwrap();
        assert_eq!(conn.pending_output(), b"Hello");
    }
}
