//! Kernel counters per echoed message ([`KernelCounters`]) from two readings of a process's
//! counters, at the measured window's start and end.
//!
//! Each figure's change over the real interval between the readings is scaled to the measured
//! window and divided by its messages, as the cost per message is. A figure any of whose
//! events was refused is `None`, never zero; `other` system calls are the total less the named
//! groups, so it is `None` when any of those is.

use results_model::kernel::{AbsentEvent, KernelCounters, SyscallsPerMsg};

use super::catalogue::{EventSpec, Figure, SYSCALL_GROUPS};
use super::counters::{ProcessCounters, Reading, Value};

/// The counters of one process and its readings at the window's edges.
pub(crate) struct KernelWindow {
    counters: ProcessCounters,
    start: Option<Reading>,
    end: Option<Reading>,
}

impl KernelWindow {
    /// Brackets the window of the process `counters` count.
    pub fn new(counters: ProcessCounters) -> Self {
        KernelWindow {
            counters,
            start: None,
            end: None,
        }
    }

    /// Reads at the window's start.
    pub fn window_started(&mut self) {
        self.start = Some(self.counters.read());
    }

    /// Reads at the window's end (once).
    pub fn window_ended(&mut self) {
        if self.end.is_none() {
            self.end = Some(self.counters.read());
        }
    }

    /// The counters per message for `messages` echoed over `measured_s`; `None` without both
    /// readings or without messages.
    pub fn counters(&self, messages: u64, measured_s: f64) -> Option<KernelCounters> {
        let (a, b) = (self.start.as_ref()?, self.end.as_ref()?);
        let mut k = between(&self.counters.specs(), a, b, messages, measured_s)?;
        k.threads_opened = self.counters.threads_opened();
        Some(k)
    }
}

/// What each figure changed by from `a` to `b` (`None`: absent), and the absent events.
struct Changes {
    total: Option<u64>,
    groups: [Option<u64>; SYSCALL_GROUPS.len()],
    context_switches: Option<u64>,
    migrations: Option<u64>,
    page_faults: Option<u64>,
    absent: Vec<AbsentEvent>,
}

/// The counters per message between readings `a` and `b` of the events `specs`.
fn between(
    specs: &[EventSpec],
    a: &Reading,
    b: &Reading,
    messages: u64,
    measured_s: f64,
) -> Option<KernelCounters> {
    let interval = b.at.checked_duration_since(a.at)?;
    if messages == 0 || measured_s <= 0.0 || interval.is_zero() {
        return None;
    }
    let c = changes(specs, a, b);
    let scale = measured_s / (interval.as_secs_f64() * messages as f64);
    let per = |n: Option<u64>| n.map(|n| n as f64 * scale);
    let named: Option<u64> = c.groups.iter().copied().sum();
    let other = c.total.zip(named).map(|(t, n)| t.saturating_sub(n));
    let g = |i: usize| per(c.groups[i]);
    Some(KernelCounters {
        syscalls_per_msg: SyscallsPerMsg {
            total: per(c.total),
            read: g(0),
            write: g(1),
            epoll_wait: g(2),
            poll: g(3),
            select: g(4),
            io_uring_enter: g(5),
            futex: g(6),
            accept4: g(7),
            other: per(other),
        },
        context_switches_per_msg: per(c.context_switches),
        cpu_migrations_per_msg: per(c.migrations),
        page_faults_per_msg: per(c.page_faults),
        threads_opened: 0,
        messages,
        interval_ns: u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX),
        absent: c.absent,
    })
}

/// Adds each event's change to its figure; an absent event makes its figure absent.
fn changes(specs: &[EventSpec], a: &Reading, b: &Reading) -> Changes {
    let mut c = Changes {
        total: Some(0),
        groups: [Some(0); SYSCALL_GROUPS.len()],
        context_switches: Some(0),
        migrations: Some(0),
        page_faults: Some(0),
        absent: Vec::new(),
    };
    for ((spec, va), vb) in specs.iter().zip(&a.values).zip(&b.values) {
        let change = match (va, vb) {
            (Value::Count(x), Value::Count(y)) => Some(y.saturating_sub(*x)),
            (Value::NotHere, _) | (_, Value::NotHere) => continue,
            (Value::Absent(why), _) | (_, Value::Absent(why)) => {
                c.absent.push(AbsentEvent {
                    event: spec.name.clone(),
                    reason: why.clone(),
                });
                None
            }
        };
        let slot = match spec.figure {
            Figure::SyscallsTotal => &mut c.total,
            Figure::SyscallGroup(i) => &mut c.groups[i],
            Figure::ContextSwitches => &mut c.context_switches,
            Figure::Migrations => &mut c.migrations,
            Figure::PageFaults => &mut c.page_faults,
        };
        *slot = slot.zip(change).map(|(s, n)| s + n);
    }
    c
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::super::catalogue::{events, Source};
    use super::*;

    fn reading(at: Instant, specs: &[EventSpec], value: impl Fn(&EventSpec) -> Value) -> Reading {
        Reading {
            at,
            values: specs.iter().map(value).collect(),
        }
    }

    fn spec(name: &str, figure: Figure) -> EventSpec {
        EventSpec {
            name: name.into(),
            source: Source::Syscalls(Vec::new()),
            figure,
        }
    }

    #[test]
    fn events_add_to_their_figure_and_other_is_the_rest() {
        let specs = [
            spec("total", Figure::SyscallsTotal),
            spec("read a", Figure::SyscallGroup(0)),
            spec("read b", Figure::SyscallGroup(0)),
            spec("write", Figure::SyscallGroup(1)),
            spec("poll", Figure::SyscallGroup(3)),
            spec("gone", Figure::SyscallGroup(7)),
            spec("cs", Figure::ContextSwitches),
        ];
        let t0 = Instant::now();
        let a = reading(t0, &specs, |s| match s.name.as_str() {
            "gone" => Value::NotHere,
            _ => Value::Count(100),
        });
        let b = reading(t0 + Duration::from_secs(1), &specs, |s| {
            match s.name.as_str() {
                "total" => Value::Count(100 + 5000),
                "read a" | "read b" | "write" => Value::Count(100 + 1000),
                "gone" => Value::NotHere,
                "cs" => Value::Count(100 + 500),
                _ => Value::Count(100),
            }
        });
        let k = between(&specs, &a, &b, 1000, 1.0).unwrap();
        let s = &k.syscalls_per_msg;
        assert_eq!(
            (s.total, s.read, s.write),
            (Some(5.0), Some(2.0), Some(1.0))
        );
        assert_eq!(
            (s.poll, s.accept4, s.other),
            (Some(0.0), Some(0.0), Some(2.0))
        );
        assert_eq!(k.context_switches_per_msg, Some(0.5));
        assert!(k.absent.is_empty());
    }

    #[test]
    fn a_refused_event_is_absent_not_zero() {
        let specs = events();
        let t0 = Instant::now();
        let refused = |s: &EventSpec| match s.figure {
            Figure::SyscallGroup(2) | Figure::Migrations => Value::Absent("refused".into()),
            _ => Value::Count(7),
        };
        let a = reading(t0, &specs, refused);
        let b = reading(t0 + Duration::from_secs(1), &specs, refused);
        let k = between(&specs, &a, &b, 10, 1.0).unwrap();
        assert_eq!(k.syscalls_per_msg.epoll_wait, None);
        assert_eq!(k.syscalls_per_msg.other, None, "other needs every group");
        assert_eq!(k.syscalls_per_msg.read, Some(0.0));
        assert_eq!(k.cpu_migrations_per_msg, None);
        let names: Vec<&str> = k.absent.iter().map(|a| a.event.as_str()).collect();
        assert_eq!(
            names,
            [
                "cpu-migrations",
                "raw_syscalls:sys_enter for epoll_wait (epoll_wait, epoll_pwait, epoll_pwait2)"
            ]
        );
        let json = serde_json::to_value(&k).unwrap();
        assert!(json["cpu_migrations_per_msg"].is_null());
        assert!(json["syscalls_per_msg"]["epoll_wait"].is_null());
    }
}
