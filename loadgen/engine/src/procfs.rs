//! Resource use of a process, read from `/proc/<pid>` (with the `procfs` crate): CPU time,
//! memory, threads, open fds.
//!
//! Sampled once a second during a run (peaks of threads and fds are only visible while the
//! load is on) and at the edges of the measured window (CPU is reported for the window only).

use results_model::result::ProcessResources;

/// One reading of a process.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sample {
    /// User CPU seconds so far.
    pub user_s: f64,
    /// System CPU seconds so far.
    pub system_s: f64,
    /// Resident set size now, bytes.
    pub rss_bytes: u64,
    /// Peak resident set size (VmHWM), bytes.
    pub peak_rss_bytes: u64,
    /// Threads now.
    pub threads: u64,
    /// Open file descriptors now.
    pub fds: u64,
}

/// Which process to read.
#[derive(Clone, Debug)]
pub struct ProcReader {
    /// `None`: loadgen itself.
    pid: Option<i32>,
    ticks_per_s: f64,
}

impl ProcReader {
    /// Reads process `pid`.
    pub fn new(pid: u32) -> Self {
        // A pid past i32 names no process: -1 reads as gone.
        Self::of(Some(i32::try_from(pid).unwrap_or(-1)))
    }

    /// Reads loadgen itself.
    pub fn current() -> Self {
        Self::of(None)
    }

    fn of(pid: Option<i32>) -> Self {
        ProcReader {
            pid,
            ticks_per_s: procfs::ticks_per_second().max(1) as f64,
        }
    }

    /// Reads the process now; `None` once it is gone or if /proc is unreadable.
    pub fn sample(&self) -> Option<Sample> {
        let process = match self.pid {
            Some(pid) => procfs::process::Process::new(pid),
            None => procfs::process::Process::myself(),
        }
        .ok()?;
        let stat = process.stat().ok()?;
        let status = process.status().ok();
        let kib = |v: Option<u64>| v.map_or(0, |k| k * 1024);
        Some(Sample {
            user_s: stat.utime as f64 / self.ticks_per_s,
            system_s: stat.stime as f64 / self.ticks_per_s,
            rss_bytes: kib(status.as_ref().and_then(|s| s.vmrss)),
            peak_rss_bytes: kib(status.as_ref().and_then(|s| s.vmhwm)),
            threads: u64::try_from(stat.num_threads).unwrap_or(0),
            fds: process.fd_count().map_or(0, |n| n as u64),
        })
    }
}

/// Samples folded into the figures of a result: window CPU, lifetime CPU, peaks.
#[derive(Clone, Debug, Default)]
pub struct Usage {
    window_start: Option<Sample>,
    window_end: Option<Sample>,
    last: Option<Sample>,
    max_threads: u64,
    max_fds: u64,
    peak_rss: u64,
}

impl Usage {
    /// Folds in a periodic sample.
    pub fn observe(&mut self, s: Sample) {
        self.max_threads = self.max_threads.max(s.threads);
        self.max_fds = self.max_fds.max(s.fds);
        self.peak_rss = self.peak_rss.max(s.peak_rss_bytes).max(s.rss_bytes);
        self.last = Some(s);
    }

    /// Folds in the sample taken when the measured window opened.
    pub fn window_started(&mut self, s: Sample) {
        self.observe(s);
        self.window_start = Some(s);
    }

    /// Folds in the sample taken when the measured window closed.
    pub fn window_ended(&mut self, s: Sample) {
        self.observe(s);
        self.window_end = Some(s);
    }

    /// The figures for the result, with CPU over a window of `window_s` seconds.
    pub fn resources(&self, window_s: f64) -> ProcessResources {
        let last = self.last.unwrap_or_default();
        let (user, system) = match (self.window_start, self.window_end.or(self.last)) {
            (Some(a), Some(b)) => (b.user_s - a.user_s, b.system_s - a.system_s),
            _ => (0.0, 0.0),
        };
        ProcessResources {
            user_cpu_s: user.max(0.0),
            system_cpu_s: system.max(0.0),
            cpu_cores_used: if window_s > 0.0 {
                (user + system).max(0.0) / window_s
            } else {
                0.0
            },
            total_user_cpu_s: last.user_s,
            total_system_cpu_s: last.system_s,
            peak_rss_bytes: self.peak_rss,
            max_threads: self.max_threads,
            max_open_fds: self.max_fds,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let s = ProcReader::current()
            .sample()
            .expect("/proc/self is readable");
        assert!(s.threads >= 1);
        assert!(s.fds >= 3);
        assert!(s.rss_bytes > 0 && s.peak_rss_bytes >= s.rss_bytes);
        assert!(ProcReader::new(u32::MAX).sample().is_none());
    }

    #[test]
    fn window_cpu_is_the_difference() {
        let mut u = Usage::default();
        let at = |cpu: f64, threads| Sample {
            user_s: cpu,
            system_s: 2.0 * cpu,
            threads,
            ..Sample::default()
        };
        u.observe(at(0.5, 3));
        u.window_started(at(1.0, 9));
        u.window_ended(at(2.0, 5));
        let r = u.resources(2.0);
        assert_eq!((r.user_cpu_s, r.system_cpu_s), (1.0, 2.0));
        assert_eq!(r.cpu_cores_used, 1.5);
        assert_eq!(r.max_threads, 9);
        assert_eq!(r.total_user_cpu_s, 2.0);
    }
}
