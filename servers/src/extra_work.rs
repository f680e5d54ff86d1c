//! `--extra-work`: a known CPU cost planted in every echoed message, so that a model's overhead
//! can be measured against a cost of known size, and so that a server of known capacity exists
//! (one thread at `--extra-work 500us` answers at most about 2,000 messages a second).
//!
//! A *message* is what the protocol says it is: one complete line or frame in `line` and
//! `framed`. `raw` has no boundaries, so there every [`RAW_UNIT`] bytes echoed count as one
//! message, rounded up per chunk received. The cost is a busy spin on the thread that produces
//! the echo, never a sleep: it takes the CPU a real handler would take.
//!
//! `--extra-syscalls K` plants K `getppid` system calls per message the same way: a kernel
//! cost of known count, against which loadgen's system-call counters are checked.

use std::time::{Duration, Instant};

use proto::{Conn, Protocol, ProtocolError};

use crate::stats::Stats;

/// Bytes of `raw` input that count as one message for `--extra-work`.
pub const RAW_UNIT: usize = 64;

/// The planted per-message cost. Zero (the default) costs nothing: no clock is read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExtraWork {
    per_message: Duration,
    syscalls_per_message: u32,
}

impl ExtraWork {
    /// A cost of `per_message` of busy CPU for each message echoed.
    pub fn new(per_message: Duration) -> Self {
        ExtraWork {
            per_message,
            syscalls_per_message: 0,
        }
    }

    /// This cost plus `k` `getppid` system calls for each message echoed.
    pub fn with_syscalls(self, k: u32) -> Self {
        ExtraWork {
            syscalls_per_message: k,
            ..self
        }
    }

    /// Whether there is nothing to spend.
    fn is_zero(&self) -> bool {
        self.per_message.is_zero() && self.syscalls_per_message == 0
    }

    /// The cost per message.
    pub fn per_message(&self) -> Duration {
        self.per_message
    }

    /// Feeds `data` to `conn` (as [`Conn::receive`]) and then spends the cost of every message it
    /// completed, on the calling thread.
    pub fn receive(
        &self,
        conn: &mut Conn,
        data: &[u8],
        stats: &Stats,
    ) -> Result<(), ProtocolError> {
        if self.is_zero() {
            return conn.receive(data);
        }
        let before = conn.counters().messages;
        let result = conn.receive(data);
        let complete = conn.counters().messages - before;
        self.spend(
            charged_messages(conn.protocol(), data.len(), complete),
            stats,
        );
        result
    }

    /// Spends the cost of `messages` messages on the calling thread and counts them.
    pub fn spend(&self, messages: u64, stats: &Stats) {
        if self.is_zero() || messages == 0 {
            return;
        }
        stats.extra_work(messages);
        for _ in 0..messages * u64::from(self.syscalls_per_message) {
            // getppid: the cheapest system call glibc never caches.
            std::hint::black_box(std::os::unix::process::parent_id());
        }
        let total = self
            .per_message
            .saturating_mul(u32::try_from(messages).unwrap_or(u32::MAX));
        if !total.is_zero() {
            spin_for(total);
        }
    }
}

/// How many messages `bytes` of input that completed `complete` protocol messages count as.
pub fn charged_messages(protocol: Protocol, bytes: usize, complete: u64) -> u64 {
    match protocol {
        Protocol::Raw => bytes.div_ceil(RAW_UNIT) as u64,
        Protocol::Line | Protocol::Framed => complete,
    }
}

/// Keeps the CPU busy for `duration` of wall time, checking the clock between spin hints.
/// Never inlined, so that a profile of the server names it.
#[inline(never)]
fn spin_for(duration: Duration) {
    let start = Instant::now();
    while start.elapsed() < duration {
        std::hint::spin_loop();
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
    fn spending_takes_at_least_the_planted_time() {
        let stats = Stats::new(1);
        let start = Instant::now();
        ExtraWork::new(Duration::from_micros(200)).spend(10, &stats);
        // A lower bound only: the spin cannot end early, whatever else the machine runs.
        assert!(start.elapsed() >= Duration::from_millis(2));
    }
}
