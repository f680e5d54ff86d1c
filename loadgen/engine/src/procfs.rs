//! Resource use of a process, read from `/proc/<pid>`: CPU time, memory, threads, open fds.
//!
//! Sampled once a second during a run (peaks of threads and fds are only visible while the
//! load is on) and at the edges of the measured window (CPU is reported for the window only).

use std::path::PathBuf;

use echo_results::result::ProcessResources;

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
    dir: PathBuf,
    ticks_per_s: f64,
}

impl ProcReader {
    /// Reads process `pid`.
    pub fn new(pid: u32) -> Self {
        Self::at(PathBuf::from(format!("/proc/{pid}")))
    }

    /// Reads loadgen itself.
    pub fn current() -> Self {
        Self::at(PathBuf::from("/proc/self"))
    }

    fn at(dir: PathBuf) -> Self {
        let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
            .ok()
            .flatten()
            .filter(|&t| t > 0)
            .unwrap_or(100);
        ProcReader {
            dir,
            ticks_per_s: ticks as f64,
        }
    }

    /// Reads the process now; `None` once it is gone or if /proc is unreadable.
    pub fn sample(&self) -> Option<Sample> {
        let stat = std::fs::read_to_string(self.dir.join("stat")).ok()?;
        // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
        let rest = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // `rest` starts at field 3 (state); utime is field 14, stime 15, num_threads 20.
        let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
        let status = std::fs::read_to_string(self.dir.join("status")).unwrap_or_default();
        let kib = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok())
                .map_or(0, |k| k * 1024)
        };
        let fds = std::fs::read_dir(self.dir.join("fd")).map_or(0, |d| d.count() as u64);
        Some(Sample {
            user_s: field(14)? as f64 / self.ticks_per_s,
            system_s: field(15)? as f64 / self.ticks_per_s,
            rss_bytes: kib("VmRSS:"),
            peak_rss_bytes: kib("VmHWM:"),
            threads: field(20).unwrap_or(0),
            fds,
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
