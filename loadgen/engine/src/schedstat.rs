//! Run-queue wait of loadgen's own worker threads, from `/proc/self/task/*/schedstat`
//! (second field: nanoseconds spent runnable but waiting for a CPU). A worker that waits for
//! a CPU sends late however little CPU it uses, so CPU share alone cannot show it.

use std::collections::HashMap;
use std::time::Duration;

/// Worker threads are named `loadgen-<n>` (see `run.rs`).
const WORKER_PREFIX: &str = "loadgen-";

/// Run-queue wait so far of each worker thread, by thread id.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunQueueWait(HashMap<u32, u64>);

impl RunQueueWait {
    /// Reads every worker thread of this process (empty where /proc has no schedstat).
    pub fn sample() -> Self {
        let mut out = HashMap::new();
        let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
            return RunQueueWait(out);
        };
        for entry in dir.flatten() {
            let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
                continue;
            };
            let path = entry.path();
            let is_worker = std::fs::read_to_string(path.join("comm"))
                .is_ok_and(|c| c.trim_end().starts_with(WORKER_PREFIX));
            if !is_worker {
                continue;
            }
            if let Some(wait) = std::fs::read_to_string(path.join("schedstat"))
                .ok()
                .and_then(|t| parse_wait_ns(&t))
            {
                out.insert(tid, wait);
            }
        }
        RunQueueWait(out)
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

    /// Whether no worker thread could be read.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The second field of a `schedstat` line: `<on-cpu ns> <run-queue wait ns> <timeslices>`.
fn parse_wait_ns(text: &str) -> Option<u64> {
    text.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_wait_field_and_takes_the_longest_delta() {
        assert_eq!(parse_wait_ns("123 456 7\n"), Some(456));
        assert_eq!(parse_wait_ns("123"), None);
        let a = RunQueueWait(HashMap::from([(1, 100), (2, 1_000)]));
        let b = RunQueueWait(HashMap::from([(1, 5_100), (2, 2_000), (3, 50)]));
        assert_eq!(a.longest_since(&b), Duration::from_nanos(5_000));
    }

    #[test]
    fn reads_this_processes_workers() {
        let h = std::thread::Builder::new()
            .name(format!("{WORKER_PREFIX}test"))
            .spawn(|| {
                let s = RunQueueWait::sample();
                if !std::path::Path::new("/proc/self/task").exists() {
                    eprintln!("skipped: no /proc");
                    return;
                }
                // Kernels without CONFIG_SCHEDSTATS have no schedstat file: nothing to check.
                if !s.is_empty() {
                    assert!(s.0.values().all(|_| true));
                }
            })
            .unwrap();
        h.join().unwrap();
    }
}
