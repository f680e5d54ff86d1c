//! Every read of `/proc` loadgen makes, through the `procfs` crate (which covers each file read
//! here: `stat`, `status`, `schedstat` and `fd/` of a process and of its threads, `cpuinfo`,
//! `loadavg`; nothing is parsed by hand).
//!
//! - A process's resource use ([`ProcReader`], one [`Sample`]): CPU time, memory, threads,
//!   open fds.
//! - Its per-thread scheduler counters ([`TaskSampler`], one [`TaskSample`]): the raw material
//!   of the cost per message ([`super::cost`]). Per thread, `schedstat` gives CPU time and
//!   run-queue wait in nanoseconds (the scheduler's own clock, not ticks), `status` voluntary
//!   and involuntary context switches, `stat` user and system time in clock ticks. The
//!   process's own `stat` adds the ticks of threads that have already exited, which per-thread
//!   files cannot show.
//! - The run-queue wait of loadgen's own threads by name ([`own_run_delays`]).
//! - The machine: the CPU's model and the load average ([`cpu_model`], [`loadavg`]).

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use procfs::process::{Process, Task};
use procfs::{CpuInfo, Current, LoadAverage};

/// Which process to read: `None` is loadgen itself.
#[derive(Clone, Copy, Debug)]
struct Pid(Option<i32>);

impl Pid {
    /// Process `pid`; a pid past i32 names no process, and -1 reads as gone.
    fn of(pid: u32) -> Pid {
        Pid(Some(i32::try_from(pid).unwrap_or(-1)))
    }

    /// The process now; `None` once it is gone or if /proc is unreadable.
    fn open(self) -> Option<Process> {
        match self.0 {
            Some(pid) => Process::new(pid),
            None => Process::myself(),
        }
        .ok()
    }
}

/// Every thread of `process` that could be opened, with its thread id.
fn tasks(process: &Process) -> Option<impl Iterator<Item = (u32, Task)>> {
    let tasks = process.tasks().ok()?.flatten();
    Some(tasks.filter_map(|t| Some((u32::try_from(t.tid).ok()?, t))))
}

/// The thread ids of process `pid` (none once it is gone).
pub(crate) fn thread_ids(pid: u32) -> Vec<i32> {
    Pid::of(pid)
        .open()
        .and_then(|p| Some(tasks(&p)?.map(|(_, t)| t.tid).collect()))
        .unwrap_or_default()
}

/// Clock ticks per second (`USER_HZ`), the unit of utime and stime.
pub(crate) fn ticks_per_second() -> f64 {
    procfs::ticks_per_second().max(1) as f64
}

/// One reading of a process.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Sample {
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

/// Reads one process's resource use.
#[derive(Clone, Debug)]
pub(crate) struct ProcReader {
    pid: Pid,
    ticks_per_s: f64,
}

impl ProcReader {
    /// Reads process `pid`.
    pub fn new(pid: u32) -> Self {
        Self::of(Pid::of(pid))
    }

    /// Reads loadgen itself.
    pub fn current() -> Self {
        Self::of(Pid(None))
    }

    fn of(pid: Pid) -> Self {
        ProcReader {
            pid,
            ticks_per_s: ticks_per_second(),
        }
    }

    /// Reads the process now; `None` once it is gone or if /proc is unreadable.
    pub fn sample(&self) -> Option<Sample> {
        let process = self.pid.open()?;
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

/// One thread's counters since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ThreadCounters {
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

impl ThreadCounters {
    /// A thread's counters from its `schedstat`, `status` and `stat`.
    fn read(task: &Task) -> Option<ThreadCounters> {
        let sched = task.schedstat().ok()?;
        let status = task.status().ok()?;
        let stat = task.stat().ok()?;
        Some(ThreadCounters {
            cpu_ns: sched.sum_exec_runtime,
            runqueue_ns: sched.run_delay,
            vol_cs: status.voluntary_ctxt_switches?,
            invol_cs: status.nonvoluntary_ctxt_switches?,
            utime_ticks: stat.utime,
            stime_ticks: stat.stime,
        })
    }
}

/// Every live thread of a process at one instant, plus the process totals.
#[derive(Clone, Debug)]
pub(crate) struct TaskSample {
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
pub(crate) struct TaskSampler {
    pid: Pid,
}

impl TaskSampler {
    /// Samples process `pid`.
    pub fn new(pid: u32) -> Self {
        TaskSampler { pid: Pid::of(pid) }
    }

    /// Samples loadgen itself.
    pub fn current() -> Self {
        TaskSampler { pid: Pid(None) }
    }

    /// Reads every thread now; `None` when the process is gone or /proc lacks the files
    /// (a kernel without schedstat). A thread that exits between the listing and its reads is
    /// left out: its time then counts as an exited thread's.
    pub fn sample(&self) -> Option<TaskSample> {
        let before = Instant::now();
        let process = self.pid.open()?;
        let stat = process.stat().ok()?;
        let threads: BTreeMap<u32, ThreadCounters> = tasks(&process)?
            .filter_map(|(tid, task)| Some((tid, ThreadCounters::read(&task)?)))
            .collect();
        if threads.is_empty() {
            return None;
        }
        let after = Instant::now();
        Some(TaskSample {
            at: before + (after - before) / 2,
            threads,
            proc_utime_ticks: stat.utime,
            proc_stime_ticks: stat.stime,
        })
    }
}

/// Run-queue wait so far (`schedstat` field 2, ns) of each of loadgen's own threads whose name
/// starts with `prefix`, by thread id; empty where /proc has no schedstat.
pub(crate) fn own_run_delays(prefix: &str) -> HashMap<u32, u64> {
    let Some(process) = Pid(None).open() else {
        return HashMap::new();
    };
    let Some(tasks) = tasks(&process) else {
        return HashMap::new();
    };
    tasks
        .filter(|(_, task)| task.stat().is_ok_and(|s| s.comm.starts_with(prefix)))
        .filter_map(|(tid, task)| Some((tid, task.schedstat().ok()?.run_delay)))
        .collect()
}

/// The first CPU's `model name` in /proc/cpuinfo (x86); `None` on architectures that do not
/// show it.
pub(crate) fn cpu_model() -> Option<String> {
    let info = CpuInfo::current().ok()?;
    let model = info.model_name(0)?.trim();
    (!model.is_empty()).then(|| model.to_string())
}

/// The 1-, 5- and 15-minute load averages.
pub(crate) fn loadavg() -> Option<[f64; 3]> {
    let l = LoadAverage::current().ok()?;
    // The crate reads them as f32; /proc prints two decimals, which rounding gives back.
    let exact = |v: f32| (f64::from(v) * 100.0).round() / 100.0;
    Some([exact(l.one), exact(l.five), exact(l.fifteen)])
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
    fn reads_every_thread_of_this_process() {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&stop);
        let spinner = std::thread::spawn(move || {
            let mut n = 0u64;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) && n < 50_000_000 {
                n = std::hint::black_box(n + 1);
            }
        });
        let sample = TaskSampler::current().sample();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        spinner.join().unwrap();
        let Some(s) = sample else {
            testkit::skip(
                testkit::facility::SCHEDSTAT,
                "reads_every_thread_of_this_process: /proc/self/task/*/schedstat is not readable",
            );
            return;
        };
        assert!(s.threads.len() >= 2, "this thread and the spinner");
        assert!(s.threads.values().any(|t| t.cpu_ns > 0));
        assert!(TaskSampler::new(u32::MAX).sample().is_none());
    }

    #[test]
    fn reads_threads_by_name() {
        let h = std::thread::Builder::new()
            .name("proc-test-named".into())
            .spawn(|| own_run_delays("proc-test-"))
            .unwrap();
        let delays = h.join().unwrap();
        // Kernels without CONFIG_SCHEDSTATS have no schedstat file: nothing to read.
        if TaskSampler::current().sample().is_none() {
            testkit::skip(
                testkit::facility::SCHEDSTAT,
                "reads_threads_by_name: /proc/self/task/*/schedstat is not readable",
            );
            return;
        }
        assert_eq!(delays.len(), 1, "the named thread: {delays:?}");
        assert!(own_run_delays("no thread is named so").is_empty());
    }

    #[test]
    fn reads_the_machine() {
        // Every Linux has /proc/loadavg: three figures of two decimals, none negative.
        let l = loadavg().expect("/proc/loadavg is readable");
        assert!(l.iter().all(|v| *v >= 0.0));
        assert!(l
            .iter()
            .all(|v| (v * 100.0 - (v * 100.0).round()).abs() < 1e-9));
        // x86 kernels always name the CPU model in /proc/cpuinfo; other architectures may not.
        if cfg!(target_arch = "x86_64") {
            assert!(cpu_model().is_some_and(|m| !m.is_empty()));
        }
    }
}
