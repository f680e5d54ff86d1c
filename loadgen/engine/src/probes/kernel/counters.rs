//! The kernel counters of one process: every event of the catalogue opened on each thread the
//! process has when counting starts, with `inherit`, so threads those threads start later are
//! counted too (the kernel adds a live child's count to its parent's on every read, and an
//! exited child's count for good when it exits).

use std::ffi::{CStr, CString};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use perf_event::events::{Event, Tracepoint};
use perf_event::{Builder, Counter};

use crate::probes::proc::thread_ids;

use super::catalogue::{self, EventSpec, Source};
use super::tracefs::Tracefs;

/// Whether one event is being counted.
enum State {
    /// One counter per thread open at the start.
    Counting(Vec<Counter>),
    /// Not counted: why.
    Absent(String),
    /// The system call does not exist on this kernel: it adds nothing.
    NotHere,
}

/// What one event read at one instant.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    /// The count so far, every thread and inherited child together.
    Count(u64),
    /// Not counted: why.
    Absent(String),
    /// The system call does not exist here.
    NotHere,
}

/// Every event of one process.
pub(crate) struct ProcessCounters {
    events: Vec<(EventSpec, State)>,
    threads_opened: u64,
}

/// Every event read at one instant, in the order of [`ProcessCounters::specs`].
#[derive(Clone, Debug)]
pub(crate) struct Reading {
    /// When the counters were read.
    pub at: Instant,
    /// One value per event.
    pub values: Vec<Value>,
}

/// How often opening is retried while the process keeps starting threads.
const OPEN_TRIES: usize = 50;
/// The pause between tries: long enough for a server's start-up burst of threads to end.
const OPEN_RETRY_PAUSE: Duration = Duration::from_millis(10);

impl ProcessCounters {
    /// Opens every event on every thread of process `pid`, counting from now.
    ///
    /// A thread started while the events are being opened (a server still starting its
    /// workers) may inherit some events from its parent and miss the rest, or miss them all
    /// when it starts between the listing of the threads and the opening on its parent: its
    /// work would then be counted by some figures and not others, or not at all. So the
    /// threads are listed again once every event is open, and when any thread is new the
    /// counters are closed and opened again, until a listing holds still.
    pub fn open(pid: u32, tracefs: &Tracefs) -> ProcessCounters {
        let mut tids = sorted(thread_ids(pid));
        for _ in 1..OPEN_TRIES {
            let counters = Self::open_on(&tids, tracefs);
            let now = sorted(thread_ids(pid));
            if now.iter().all(|t| tids.binary_search(t).is_ok()) {
                return counters;
            }
            drop(counters);
            std::thread::sleep(OPEN_RETRY_PAUSE);
            tids = sorted(thread_ids(pid));
        }
        // Still starting threads after every try: the last opening is the best there is.
        Self::open_on(&tids, tracefs)
    }

    /// Opens every event on each of the threads `tids`, inherited by the threads they start.
    fn open_on(tids: &[i32], tracefs: &Tracefs) -> ProcessCounters {
        let events = catalogue::events()
            .into_iter()
            .map(|spec| {
                let state = match &spec.source {
                    Source::Software(sw) => open_all(*sw, tids, None),
                    Source::Tracepoint(system, name) => match tracefs.id(system, name) {
                        Ok(Some(id)) => open_all(Tracepoint::with_id(id), tids, None),
                        Ok(None) => State::NotHere,
                        Err(why) => State::Absent(why),
                    },
                    Source::Syscalls(numbers) => match tracefs.id("raw_syscalls", "sys_enter") {
                        Ok(Some(id)) => {
                            open_all(Tracepoint::with_id(id), tids, Some(&filter(numbers)))
                        }
                        Ok(None) => State::Absent("no raw_syscalls:sys_enter tracepoint".into()),
                        Err(why) => State::Absent(why),
                    },
                };
                (spec, state)
            })
            .collect();
        ProcessCounters {
            events,
            threads_opened: tids.len() as u64,
        }
    }

    /// The events, in reading order.
    pub fn specs(&self) -> Vec<EventSpec> {
        self.events.iter().map(|(s, _)| s.clone()).collect()
    }

    /// Threads the counters were opened on.
    pub fn threads_opened(&self) -> u64 {
        self.threads_opened
    }

    /// Reads every event now.
    pub fn read(&mut self) -> Reading {
        let at = Instant::now();
        let values = self
            .events
            .iter_mut()
            .map(|(_, state)| match state {
                State::Counting(counters) => counters
                    .iter_mut()
                    .try_fold(0u64, |sum, c| c.read().map(|n| sum + n))
                    .map_or_else(|e| Value::Absent(format!("read failed: {e}")), Value::Count),
                State::Absent(why) => Value::Absent(why.clone()),
                State::NotHere => Value::NotHere,
            })
            .collect();
        Reading { at, values }
    }
}

/// `tids` in ascending order, for lookups.
fn sorted(mut tids: Vec<i32>) -> Vec<i32> {
    tids.sort_unstable();
    tids
}

/// The tracepoint filter that keeps the system calls numbered `numbers`.
fn filter(numbers: &[libc::c_long]) -> CString {
    let terms: Vec<String> = numbers.iter().map(|n| format!("id == {n}")).collect();
    CString::new(terms.join(" || ")).expect("digits and operators hold no NUL")
}

/// Has the kernel count only what `filter` keeps. Threads the counted thread starts use the
/// filter of the event they inherit from.
fn set_filter(counter: &Counter, filter: &CStr) -> std::io::Result<()> {
    // SAFETY: the descriptor belongs to `counter`, which outlives the call, and the kernel only
    // reads the NUL-terminated string, which outlives the call too.
    let rc = unsafe {
        perf_event_open_sys::ioctls::SET_FILTER(counter.as_raw_fd(), filter.as_ptr().cast_mut())
    };
    if rc == -1 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Opens `event` (kept to `filter`, if any) on every thread of `tids`, inherited by the
/// threads they start. A thread that exited meanwhile is skipped; any other refusal makes the
/// event absent (a partial count would read as a low one).
fn open_all<E: Event + Clone>(event: E, tids: &[i32], filter: Option<&CStr>) -> State {
    let mut builder = Builder::new(event);
    builder
        .any_cpu()
        .inherit(true)
        .include_kernel()
        .enabled(true);
    let mut counters = Vec::with_capacity(tids.len());
    for &tid in tids {
        match builder.observe_pid(tid).build() {
            Ok(c) => {
                if let Some(f) = filter {
                    if let Err(e) = set_filter(&c, f) {
                        return State::Absent(format!("the kernel refused the filter {f:?}: {e}"));
                    }
                }
                counters.push(c);
            }
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
            Err(e) => return State::Absent(refusal(&e)),
        }
    }
    if counters.is_empty() {
        return State::Absent("the process had no thread left to count".into());
    }
    State::Counting(counters)
}

/// Why perf_event_open refused, with what would allow it.
fn refusal(e: &std::io::Error) -> String {
    let paranoid = std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
        .map_or_else(|_| "unreadable".to_string(), |s| s.trim().to_string());
    match e.raw_os_error() {
        Some(libc::EACCES | libc::EPERM) => format!(
            "perf_event_open refused ({e}): needs root or CAP_PERFMON, or \
             kernel.perf_event_paranoid ≤ 1 (it is {paranoid})"
        ),
        Some(libc::ENOENT | libc::ENODEV | libc::EOPNOTSUPP) => {
            format!("perf_event_open: this kernel does not support the event ({e})")
        }
        _ => format!("perf_event_open failed: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_tracefs_every_tracepoint_is_absent_with_the_reason() {
        let mut c =
            ProcessCounters::open(std::process::id(), &Tracefs::Missing("no tracefs".into()));
        let r = c.read();
        for (spec, value) in c.specs().iter().zip(&r.values) {
            match &spec.source {
                Source::Tracepoint(..) | Source::Syscalls(_) => {
                    assert_eq!(value, &Value::Absent("no tracefs".into()), "{}", spec.name);
                }
                // Software events need no tracefs; where perf_event_open is refused too, the
                // reason says so.
                Source::Software(_) => match value {
                    Value::Count(_) => {}
                    Value::Absent(why) => assert!(why.contains("perf_event_open"), "{why}"),
                    Value::NotHere => panic!("{} cannot be missing", spec.name),
                },
            }
        }
    }
}
