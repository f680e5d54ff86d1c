//! Cost per echoed message ([`ProcessCost`]): CPU time (user and system), context switches and run-queue wait of
//! a process over the measured window, divided by the messages echoed in it.
//!
//! A process's CPU per message is far steadier than its throughput on a shared machine, and it
//! stays comparable when throughput is limited by the load generator rather than the server.
//!
//! How each figure is made (from two [`TaskSample`]s, at the window's start and end):
//! - **CPU ns**: the sum over threads of the change in `schedstat`'s CPU time (ns resolution).
//!   A thread born during the window counts from zero. A thread that exited during the window
//!   has no `schedstat` left to read; its time is recovered from the process's `stat`, which
//!   keeps exited threads' ticks: (process ticks change) − (live threads' ticks change), at
//!   clock-tick resolution.
//! - **User / system**: `schedstat` has no split, so the CPU ns are split in the ratio of the
//!   process's utime and stime ticks over the window (the lifetime ratio when the window saw no
//!   tick). user + system equals the CPU ns exactly; the split itself is as coarse as ticks.
//! - **Context switches, run-queue wait**: summed over threads alive at the window's end. An
//!   exited thread's share is lost (no per-process total exists for another process);
//!   `threads_exited` says when that happened.
//! - **Per message**: the figure's rate over the real sampling interval (`interval_ns`, the
//!   instants the counters were read, not the nominal window) divided by the message rate over
//!   the measured window, so a late sample does not inflate the cost.

use results_model::cost::ProcessCost;

use super::proc::{self, TaskSample, TaskSampler, ThreadCounters};

/// Counter changes between two samples, before dividing by messages.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Deltas {
    cpu_ns: u64,
    user_ns: u64,
    runqueue_ns: u64,
    vol_cs: u64,
    invol_cs: u64,
    threads_exited: u64,
}

/// The cost between samples `a` and `b`, for `messages` echoed over `measured_s` seconds;
/// `None` when nothing was echoed or the samples are out of order.
fn between(
    a: &TaskSample,
    b: &TaskSample,
    messages: u64,
    measured_s: f64,
    ticks_per_s: f64,
) -> Option<ProcessCost> {
    let interval = b.at.checked_duration_since(a.at)?;
    if messages == 0 || measured_s <= 0.0 || interval.is_zero() {
        return None;
    }
    let d = deltas(a, b, ticks_per_s);
    // (x / interval) / (messages / measured): both rates over their own spans.
    let scale = measured_s / (interval.as_secs_f64() * messages as f64);
    Some(ProcessCost {
        cpu_ns_per_msg: d.cpu_ns as f64 * scale,
        user_ns_per_msg: d.user_ns as f64 * scale,
        sys_ns_per_msg: (d.cpu_ns - d.user_ns) as f64 * scale,
        vol_ctx_switches_per_msg: d.vol_cs as f64 * scale,
        invol_ctx_switches_per_msg: d.invol_cs as f64 * scale,
        runqueue_wait_ns_per_msg: d.runqueue_ns as f64 * scale,
        interval_ns: u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX),
        messages,
        cpu_ns: d.cpu_ns,
        threads_exited: d.threads_exited,
    })
}

/// What changed from `a` to `b`, exited threads' CPU recovered from the process ticks.
fn deltas(a: &TaskSample, b: &TaskSample, ticks_per_s: f64) -> Deltas {
    let mut d = Deltas::default();
    let mut live_ticks = 0u64;
    for (tid, end) in &b.threads {
        let start = a.threads.get(tid).copied().unwrap_or_default();
        let start = if end.cpu_ns < start.cpu_ns {
            ThreadCounters::default() // a reused thread id: a new thread
        } else {
            start
        };
        d.cpu_ns += end.cpu_ns - start.cpu_ns;
        d.runqueue_ns += end.runqueue_ns.saturating_sub(start.runqueue_ns);
        d.vol_cs += end.vol_cs.saturating_sub(start.vol_cs);
        d.invol_cs += end.invol_cs.saturating_sub(start.invol_cs);
        live_ticks += (end.utime_ticks + end.stime_ticks)
            .saturating_sub(start.utime_ticks + start.stime_ticks);
    }
    d.threads_exited = a
        .threads
        .keys()
        .filter(|t| !b.threads.contains_key(t))
        .count() as u64;
    let du = b.proc_utime_ticks.saturating_sub(a.proc_utime_ticks);
    let ds = b.proc_stime_ticks.saturating_sub(a.proc_stime_ticks);
    if d.threads_exited > 0 {
        let exited_ticks = (du + ds).saturating_sub(live_ticks);
        d.cpu_ns += (exited_ticks as f64 * 1e9 / ticks_per_s) as u64;
    }
    let user_share = if du + ds > 0 {
        du as f64 / (du + ds) as f64
    } else if b.proc_utime_ticks + b.proc_stime_ticks > 0 {
        b.proc_utime_ticks as f64 / (b.proc_utime_ticks + b.proc_stime_ticks) as f64
    } else {
        0.5
    };
    d.user_ns = ((d.cpu_ns as f64 * user_share).round() as u64).min(d.cpu_ns);
    d
}

/// The two samples of one process that bracket the measured window.
#[derive(Clone, Debug)]
pub(crate) struct CostWindow {
    sampler: TaskSampler,
    start: Option<TaskSample>,
    end: Option<TaskSample>,
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

    /// The cost per message for `messages` echoed over `measured_s`; `None` without both
    /// samples or messages.
    pub fn cost(&self, messages: u64, measured_s: f64) -> Option<ProcessCost> {
        let (a, b) = (self.start.as_ref()?, self.end.as_ref()?);
        between(a, b, messages, measured_s, proc::ticks_per_second())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::{Duration, Instant};

    use super::*;

    fn thread(cpu_ns: u64, runqueue_ns: u64, cs: (u64, u64), ticks: (u64, u64)) -> ThreadCounters {
        ThreadCounters {
            cpu_ns,
            runqueue_ns,
            vol_cs: cs.0,
            invol_cs: cs.1,
            utime_ticks: ticks.0,
            stime_ticks: ticks.1,
        }
    }

    fn sample(at: Instant, threads: &[(u32, ThreadCounters)], proc: (u64, u64)) -> TaskSample {
        TaskSample {
            at,
            threads: threads.iter().copied().collect::<BTreeMap<_, _>>(),
            proc_utime_ticks: proc.0,
            proc_stime_ticks: proc.1,
        }
    }

    #[test]
    fn survivors_newcomers_and_exited_threads_all_count() {
        let t0 = Instant::now();
        let ms = |n: u64| 1_000_000 * n;
        // Thread 1 survives, thread 2 exits during the window, thread 3 is born in it.
        let a = sample(
            t0,
            &[
                (1, thread(ms(100), ms(5), (10, 1), (6, 4))),
                (2, thread(ms(50), ms(1), (5, 0), (3, 2))),
            ],
            (9, 6),
        );
        let b = sample(
            t0 + Duration::from_secs(1),
            &[
                (1, thread(ms(300), ms(15), (110, 3), (16, 14))),
                (3, thread(ms(40), ms(2), (20, 1), (2, 2))),
            ],
            // 100 Hz: thread 2 used 10 more ticks (100 ms) before it exited.
            (9 + 10 + 2 + 5, 6 + 10 + 2 + 5),
        );
        let c = between(&a, &b, 1000, 1.0, 100.0).unwrap();
        assert_eq!(c.threads_exited, 1);
        assert_eq!(c.cpu_ns, ms(200) + ms(40) + ms(100));
        assert!((c.cpu_ns_per_msg - 340_000.0).abs() < 1e-6);
        assert!((c.user_ns_per_msg + c.sys_ns_per_msg - c.cpu_ns_per_msg).abs() < 1e-6);
        // Equal user and system ticks over the window: an even split.
        assert!((c.user_ns_per_msg - 170_000.0).abs() < 1.0);
        assert!((c.vol_ctx_switches_per_msg - 0.12).abs() < 1e-9);
        assert!((c.invol_ctx_switches_per_msg - 0.003).abs() < 1e-9);
        assert!((c.runqueue_wait_ns_per_msg - 12_000.0).abs() < 1e-6);
        assert_eq!(c.interval_ns, 1_000_000_000);
    }

    #[test]
    fn a_late_sample_does_not_inflate_the_cost() {
        let t0 = Instant::now();
        let a = sample(t0, &[(1, thread(0, 0, (0, 0), (0, 0)))], (0, 0));
        // 1.25 s between samples at 1 ms of CPU per ms; 1,000 messages in a 1 s window.
        let b = sample(
            t0 + Duration::from_millis(1250),
            &[(1, thread(1_250_000_000, 0, (0, 0), (100, 25)))],
            (100, 25),
        );
        let c = between(&a, &b, 1000, 1.0, 100.0).unwrap();
        assert!((c.cpu_ns_per_msg - 1_000_000.0).abs() < 1e-3);
        assert!((c.user_ns_per_msg - 800_000.0).abs() < 1.0);
        assert!(between(&a, &b, 0, 1.0, 100.0).is_none());
        assert!(between(&b, &a, 10, 1.0, 100.0).is_none());
    }
}
