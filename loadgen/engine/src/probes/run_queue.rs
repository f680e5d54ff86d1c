//! Run-queue wait of loadgen's own worker threads (`schedstat`'s second field, read by
//! [`super::proc::own_run_delays`]: nanoseconds spent runnable but waiting for a CPU). A worker
//! that waits for a CPU sends late however little CPU it uses, so CPU share alone cannot show
//! it.

use std::collections::HashMap;
use std::time::Duration;

/// Worker threads are named this followed by their number.
pub(crate) const WORKER_PREFIX: &str = "loadgen-";

/// Run-queue wait so far of each worker thread, by thread id.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct RunQueueWait(HashMap<u32, u64>);

impl RunQueueWait {
    /// Reads every worker thread of this process (empty where /proc has no schedstat).
    pub fn sample() -> Self {
        RunQueueWait(super::proc::own_run_delays(WORKER_PREFIX))
    }

    /// The longest wait any worker added between `self` (earlier) and `later`.
    pub fn longest_since(&self, later: &RunQueueWait) -> Duration {
        let ns = later
            .0
            .iter()
            .map(|(tid, &w)| w.saturating_sub(self.0.get(tid).copied().unwrap_or(0)))
            .max()
            .unwrap_or(0);
        Duration::from_nanos(ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_longest_delta() {
        let a = RunQueueWait(HashMap::from([(1, 100), (2, 1_000)]));
        let b = RunQueueWait(HashMap::from([(1, 5_100), (2, 2_000), (3, 50)]));
        assert_eq!(a.longest_since(&b), Duration::from_nanos(5_000));
    }
}
