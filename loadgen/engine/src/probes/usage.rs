//! Resource use of a process over a run: its samples ([`super::proc`]) folded into the
//! result's figures (CPU time over the window, memory, thread and fd peaks).
//!
//! Sampled once a second during a run (peaks of threads and fds are only visible while the
//! load is on) and at the edges of the measured window (CPU is reported for the window only).

use results_model::result::ProcessResources;

use super::proc::Sample;

/// Samples folded into the figures of a result: window CPU, lifetime CPU, peaks.
#[derive(Clone, Debug, Default)]
pub(crate) struct Usage {
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
