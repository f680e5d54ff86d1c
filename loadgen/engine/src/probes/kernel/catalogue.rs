//! Which kernel events loadgen counts, and which figure of the result each one adds to.
//!
//! System calls are counted at their entry tracepoint, `raw_syscalls:sys_enter`: once unfiltered
//! for the total, and once per named group, filtered by the kernel to that group's system-call
//! numbers. One event per group rather than one per call keeps the events a counted thread
//! carries few (12 in all), and each of them is switched out and in with the thread. A call this
//! architecture does not have is left out of its group's filter (it cannot be made here); an
//! event the kernel refuses makes its figure absent.

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
    /// `raw_syscalls:sys_enter`, filtered to these system-call numbers.
    Syscalls(Vec<libc::c_long>),
    /// A software event.
    Software(Software),
}

/// One event to count.
#[derive(Clone, Debug)]
pub(crate) struct EventSpec {
    /// Its name as perf prints it (`raw_syscalls:sys_enter`, `context-switches`), with the
    /// group a filtered event counts.
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
    for (i, (group, members)) in SYSCALL_GROUPS.iter().enumerate() {
        let numbers: Vec<libc::c_long> = members.iter().filter_map(|call| number(call)).collect();
        if numbers.is_empty() {
            continue; // none of the group's calls exists here: it counts zero, truly
        }
        all.push(EventSpec {
            name: format!(
                "raw_syscalls:sys_enter for {group} ({})",
                members.join(", ")
            ),
            source: Source::Syscalls(numbers),
            figure: Figure::SyscallGroup(i),
        });
    }
    all
}

/// The number of system call `call` on this architecture; `None` where it does not exist.
fn number(call: &str) -> Option<libc::c_long> {
    Some(match call {
        "read" => libc::SYS_read,
        "readv" => libc::SYS_readv,
        "recvfrom" => libc::SYS_recvfrom,
        "recvmsg" => libc::SYS_recvmsg,
        "recvmmsg" => libc::SYS_recvmmsg,
        "write" => libc::SYS_write,
        "writev" => libc::SYS_writev,
        "sendto" => libc::SYS_sendto,
        "sendmsg" => libc::SYS_sendmsg,
        "sendmmsg" => libc::SYS_sendmmsg,
        "epoll_pwait" => libc::SYS_epoll_pwait,
        "ppoll" => libc::SYS_ppoll,
        "pselect6" => libc::SYS_pselect6,
        "futex" => libc::SYS_futex,
        "accept4" => libc::SYS_accept4,
        "accept" => libc::SYS_accept,
        #[cfg(target_arch = "x86_64")]
        "epoll_wait" => libc::SYS_epoll_wait,
        #[cfg(target_arch = "x86_64")]
        "poll" => libc::SYS_poll,
        #[cfg(target_arch = "x86_64")]
        "select" => libc::SYS_select,
        // Calls added since Linux 5.1 share one number on every architecture.
        "io_uring_enter" => 426,
        "epoll_pwait2" => 441,
        "futex_waitv" => 449,
        "futex_wake" => 454,
        "futex_wait" => 455,
        "futex_requeue" => 456,
        _ => return None,
    })
}

fn software(name: &str, event: Software, figure: Figure) -> EventSpec {
    EventSpec {
        name: name.into(),
        source: Source::Software(event),
        figure,
    }
}
