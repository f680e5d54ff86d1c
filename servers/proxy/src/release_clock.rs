//! Waiting for a release time, to within tens of microseconds rather than tokio's 1 ms tick.
//!
//! tokio's timer rounds every deadline up to its next millisecond tick, and the epoll timeout it
//! parks with is rounded up again, so a 10 ms delay reads as 10.5–12 ms: a 20 ms round trip would
//! read as 22 ms or more. [`ReleaseClock::precise`] starts one thread that keeps every pending
//! release in a heap and sleeps on a futex until the earliest (the kernel's hrtimer, with the
//! default 50 µs timer slack), then wakes that waiter through a oneshot channel.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Instant as StdInstant;

use tokio::sync::oneshot;
use tokio::time::Instant;

/// How a writer waits for its chunk's release time.
#[derive(Debug)]
pub enum ReleaseClock {
    /// tokio's timer: millisecond ticks; follows paused time in tests.
    Tokio,
    /// A dedicated timer thread: released within tens of microseconds of the release time.
    Precise(PreciseTimer),
}

impl ReleaseClock {
    /// Starts the timer thread of a precise clock.
    pub fn precise() -> io::Result<Self> {
        PreciseTimer::start().map(ReleaseClock::Precise)
    }

    /// Returns at `release` or later, never earlier.
    pub async fn wait_until(&self, release: Instant) {
        match self {
            ReleaseClock::Tokio => tokio::time::sleep_until(release).await,
            ReleaseClock::Precise(timer) => timer.wait_until(release).await,
        }
    }
}

/// One pending release: ordered by time, then by arrival, so equal times leave in order.
#[derive(Debug)]
struct Pending {
    at: StdInstant,
    seq: u64,
    wake: oneshot::Sender<()>,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// The handle of the timer thread; the thread ends when the handle is dropped.
#[derive(Debug)]
pub struct PreciseTimer {
    requests: mpsc::Sender<(StdInstant, oneshot::Sender<()>)>,
}

impl PreciseTimer {
    /// Spawns the timer thread.
    fn start() -> io::Result<Self> {
        let (requests, incoming) = mpsc::channel();
        std::thread::Builder::new()
            .name("echo-proxy-timer".into())
            .spawn(move || run_timer(incoming))?;
        Ok(PreciseTimer { requests })
    }

    async fn wait_until(&self, release: Instant) {
        let at = release.into_std();
        if StdInstant::now() >= at {
            return;
        }
        let (wake, woken) = oneshot::channel();
        if self.requests.send((at, wake)).is_ok() && woken.await.is_ok() {
            return;
        }
        // The timer thread is gone (shutting down): fall back to tokio's timer, which is coarse
        // but never early.
        tokio::time::sleep_until(release).await;
    }
}

/// The timer thread: sleeps until the earliest pending release, wakes every one that is due.
/// A waiter that went away (its connection closed) is skipped when its time comes.
fn run_timer(incoming: mpsc::Receiver<(StdInstant, oneshot::Sender<()>)>) {
    let mut pending = BinaryHeap::new();
    let mut seq = 0u64;
    loop {
        let now = StdInstant::now();
        while pending
            .peek()
            .is_some_and(|Reverse(p): &Reverse<Pending>| p.at <= now)
        {
            if let Some(Reverse(due)) = pending.pop() {
                let _ = due.wake.send(());
            }
        }
        let next = match pending.peek() {
            Some(Reverse(p)) => incoming.recv_timeout(p.at - now),
            None => incoming.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match next {
            Ok((at, wake)) => {
                seq += 1;
                pending.push(Reverse(Pending { at, seq, wake }));
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn precise_waits_are_never_early() {
        let clock = ReleaseClock::precise().unwrap();
        let start = Instant::now();
        for i in 1..=20u64 {
            let release = start + Duration::from_micros(i * 700);
            clock.wait_until(release).await;
            assert!(Instant::now() >= release, "woken before release {i}");
        }
    }

    #[tokio::test]
    async fn many_waiters_each_wake_after_their_own_time() {
        let clock = std::sync::Arc::new(ReleaseClock::precise().unwrap());
        let start = Instant::now();
        let waits = (0..50u64).rev().map(|i| {
            let clock = std::sync::Arc::clone(&clock);
            tokio::spawn(async move {
                let release = start + Duration::from_micros(i * 200);
                clock.wait_until(release).await;
                Instant::now() >= release
            })
        });
        for wait in waits.collect::<Vec<_>>() {
            assert!(wait.await.unwrap());
        }
    }
}
