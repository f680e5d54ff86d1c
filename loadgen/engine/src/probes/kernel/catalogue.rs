//! Which kernel events loadgen counts, and which figure of the result each one adds to.
//!
//! System calls are counted at their entry tracepoints: `raw_syscalls:sys_enter` for the total,
//! and one `syscalls:sys_enter_<name>` per named call. A named call whose tracepoint does not
//! exist on this kernel cannot be made here, so it adds nothing; a tracepoint that exists but is
//! refused makes its whole group absent.

use perf_event::events::Software;

/// The groups of named system calls, in the result's order, with their members.
pub(crate) const SYSCALL_GROUPS: [(&str, &[&str]); 8] = [
    (
        "read",
        &["read", "readv", "recvfrom", "recvmsg", "recvmmsg"],
    ),
    (
        "write",
        &["write", "writev", "sendto", "sendmsg", "sendmmsg"],
    ),
    ("epoll_wait", &["epoll_wait", "epoll_pwait", "epoll_pwait2"]),
    ("poll", &["poll", "ppoll"]),
    ("select", &["select", "pselect6"]),
    ("io_uring_enter", &["io_uring_enter"]),
    (
        "futex",
        &[
            "futex",
            "futex_wait",
            "futex_wake",
            "futex_requeue",
            "futex_waitv",
        ],
    ),
    ("accept4", &["accept4", "accept"]),
];

/// The figure of the result an event adds to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Figure {
    /// Every system call.
    SyscallsTotal,
    /// The named group at this index of [`SYSCALL_GROUPS`].
    SyscallGroup(usize),
    /// Context switches.
    ContextSwitches,
    /// CPU migrations.
    Migrations,
    /// Page faults.
    PageFaults,
}

/// How an event is opened.
#[derive(Clone, Debug)]
pub(crate) enum Source {
    /// A tracepoint, by system and name under tracefs' `events/`.
    Tracepoint(&'static str, String),
    /// A software event.
    Software(Software),
}

/// One event to count.
#[derive(Clone, Debug)]
pub(crate) struct EventSpec {
    /// Its name as perf prints it (`syscalls:sys_enter_read`, `context-switches`).
    pub name: String,
    /// How it is opened.
    pub source: Source,
    /// The figure it adds to.
    pub figure: Figure,
}

/// Every event loadgen counts.
pub(crate) fn events() -> Vec<EventSpec> {
    let mut all = vec![
        software(
            "context-switches",
            Software::CONTEXT_SWITCHES,
            Figure::ContextSwitches,
        ),
        software(
            "cpu-migrations",
            Software::CPU_MIGRATIONS,
            Figure::Migrations,
        ),
        software("page-faults", Software::PAGE_FAULTS, Figure::PageFaults),
        EventSpec {
            name: "raw_syscalls:sys_enter".into(),
            source: Source::Tracepoint("raw_syscalls", "sys_enter".into()),
            figure: Figure::SyscallsTotal,
        },
    ];
    for (i, (_, members)) in SYSCALL_GROUPS.iter().enumerate() {
        for call in *members {
            let tp = format!("sys_enter_{call}");
            all.push(EventSpec {
                name: format!("syscalls:{tp}"),
                source: Source::Tracepoint("syscalls", tp),
                figure: Figure::SyscallGroup(i),
            });
        }
    }
    all
}

fn software(name: &str, event: Software, figure: Figure) -> EventSpec {
    EventSpec {
        name: name.into(),
        source: Source::Software(event),
        figure,
    }
}
