//! Per-thread scheduler counters of a process, read from `/proc/<pid>/task/*`: the raw
//! material of the cost per message ([`crate::cost`]).
//!
//! Per thread: `schedstat` gives CPU time and run-queue wait in nanoseconds (the scheduler's
//! own clock, not ticks); `status` gives voluntary and involuntary context switches; `stat`
//! gives user and system time in clock ticks. The process's own `stat` adds the user and
//! system ticks of threads that have already exited, which per-thread files cannot show.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One thread's counters since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ThreadCounters {
    /// CPU time, ns (`schedstat` field 1).
    pub cpu_ns: u64,
    /// Time spent runnable but waiting for a CPU, ns (`schedstat` field 2).
    pub runqueue_ns: u64,
    /// Voluntary context switches (the thread blocked).
    pub vol_cs: u64,
    /// Involuntary context switches (the thread was preempted).
    pub invol_cs: u64,
    /// User time, clock ticks.
    pub utime_ticks: u64,
    /// System time, clock ticks.
    pub stime_ticks: u64,
}

/// Every live thread of a process at one instant, plus the process totals.
#[derive(Clone, Debug)]
pub struct TaskSample {
    /// When it was read: the midpoint of the reads, which take a while with many threads.
    pub at: Instant,
    /// Live threads by thread id.
    pub threads: BTreeMap<u32, ThreadCounters>,
    /// Process user ticks, exited threads included.
    pub proc_utime_ticks: u64,
    /// Process system ticks, exited threads included.
    pub proc_stime_ticks: u64,
}

/// Reads the threads of one process.
#[derive(Clone, Debug)]
pub struct TaskSampler {
    dir: PathBuf,
}

impl TaskSampler {
    /// Samples process `pid`.
    pub fn new(pid: u32) -> Self {
        TaskSampler {
            dir: PathBuf::from(format!("/proc/{pid}")),
        }
    }

    /// Samples loadgen itself.
    pub fn current() -> Self {
        TaskSampler {
            dir: PathBuf::from("/proc/self"),
        }
    }

    /// Reads every thread now; `None` when the process is gone or /proc lacks the files
    /// (a kernel without schedstat). A thread that exits between the listing and its reads is
    /// left out: its time then counts as an exited thread's.
    pub fn sample(&self) -> Option<TaskSample> {
        let before = Instant::now();
        let (proc_utime_ticks, proc_stime_ticks) = stat_ticks(&self.dir)?;
        let mut threads = BTreeMap::new();
        for entry in std::fs::read_dir(self.dir.join("task")).ok()?.flatten() {
            let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
                continue;
            };
            if let Some(c) = thread_counters(&entry.path()) {
                threads.insert(tid, c);
            }
        }
        if threads.is_empty() {
            return None;
        }
        let after = Instant::now();
        Some(TaskSample {
            at: before + (after - before) / 2,
            threads,
            proc_utime_ticks,
            proc_stime_ticks,
        })
    }
}

/// The two samples of one process that bracket the measured window.
#[derive(Clone, Debug)]
pub struct CostWindow {
    sampler: TaskSampler,
    pub(crate) start: Option<TaskSample>,
    pub(crate) end: Option<TaskSample>,
}

impl CostWindow {
    /// Brackets the window of `sampler`'s process.
    pub fn new(sampler: TaskSampler) -> Self {
        CostWindow {
            sampler,
            start: None,
            end: None,
        }
    }

    /// Samples at the window's start.
    pub fn window_started(&mut self) {
        self.start = self.sampler.sample();
    }

    /// Samples at the window's end (once; later calls keep the first end sample).
    pub fn window_ended(&mut self) {
        if self.end.is_none() {
            self.end = self.sampler.sample();
        }
    }
}

/// A thread's counters from its `schedstat`, `status` and `stat`.
fn thread_counters(dir: &Path) -> Option<ThreadCounters> {
    let schedstat = std::fs::read_to_string(dir.join("schedstat")).ok()?;
    let mut sched = schedstat.split_whitespace().map(|f| f.parse::<u64>().ok());
    let cpu_ns = sched.next()??;
    let runqueue_ns = sched.next()??;
    let status = std::fs::read_to_string(dir.join("status")).ok()?;
    let count = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    let (utime_ticks, stime_ticks) = stat_ticks(dir)?;
    Some(ThreadCounters {
        cpu_ns,
        runqueue_ns,
        vol_cs: count("voluntary_ctxt_switches:")?,
        invol_cs: count("nonvoluntary_ctxt_switches:")?,
        utime_ticks,
        stime_ticks,
    })
}

/// utime and stime (fields 14 and 15) of the `stat` file in `dir`.
fn stat_ticks(dir: &Path) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(14 - 3);
    let utime = fields.next()?.parse().ok()?;
    let stime = fields.next()?.parse().ok()?;
    Some((utime, stime))
}

/// Clock ticks per second (`USER_HZ`), the unit of utime and stime.
pub fn ticks_per_second() -> f64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .filter(|&t| t > 0)
        .unwrap_or(100) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_thread_of_this_process() {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&stop);
        let spinner = std::thread::spawn(move || {
            let mut n = 0u64;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) && n < 50_000_000 {
                n = std::hint::black_box(n + 1);
            }
        });
        let Some(s) = TaskSampler::current().sample() else {
            println!("skipped: /proc/self/task/*/schedstat is not readable on this kernel");
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            spinner.join().unwrap();
            return;
        };
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        spinner.join().unwrap();
        assert!(s.threads.len() >= 2, "this thread and the spinner");
        assert!(s.threads.values().any(|t| t.cpu_ns > 0));
        assert!(TaskSampler::new(u32::MAX).sample().is_none());
    }
}
