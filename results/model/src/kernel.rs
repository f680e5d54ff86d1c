//! Kernel work per echoed message (the result's `kernel`, schema 3): system calls by name,
//! context switches, CPU migrations and page faults of each process over the measured window,
//! counted by the kernel (`perf_event_open`), divided by the messages echoed in it; and the
//! on-CPU flamegraph written beside the result, when one was asked for.
//!
//! A figure the kernel or the container refused is `null` and named in `absent` with the
//! reason: it is never recorded as zero. How each figure is counted is described where it is
//! made, in loadgen-engine's `kernel` probes.

use serde::{Deserialize, Serialize};

/// What a run asks the kernel for.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(default)]
pub struct KernelProbes {
    /// Count system calls, context switches, migrations and page faults (`perf_event_open`,
    /// `--kernel-counters`).
    pub counters: bool,
    /// Sample the server's CPU over the window and write an on-CPU flamegraph beside the result.
    pub flamegraph: bool,
}

/// Kernel counters of each side of a run, and the flamegraph.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct KernelReport {
    /// The child server (`null` with `--addr`, or without `--kernel-counters`).
    pub server: Option<KernelCounters>,
    /// loadgen itself.
    pub loadgen: Option<KernelCounters>,
    /// The server's on-CPU flamegraph over the window (`--flamegraph`), if one was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flamegraph: Option<FlamegraphInfo>,
}

/// One process's kernel counters per echoed message over the measured window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct KernelCounters {
    /// System calls entered per message, in total and by name.
    pub syscalls_per_msg: SyscallsPerMsg,
    /// Context switches per message (voluntary and involuntary together; the split is in
    /// `cost`, from /proc).
    pub context_switches_per_msg: Option<f64>,
    /// Moves of a thread from one CPU to another, per message.
    pub cpu_migrations_per_msg: Option<f64>,
    /// Page faults (minor and major) per message.
    pub page_faults_per_msg: Option<f64>,
    /// Threads whose counters were opened; threads they start count too (inherited).
    pub threads_opened: u64,
    /// Messages echoed in the measured window (the divisor).
    pub messages: u64,
    /// Real interval between the two readings, ns.
    pub interval_ns: u64,
    /// Events the kernel refused or that do not exist here, with the reason; their figures
    /// are `null`.
    pub absent: Vec<AbsentEvent>,
}

/// System calls per message by name. `null`: not counted (see `absent`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SyscallsPerMsg {
    /// Every system call.
    pub total: Option<f64>,
    /// read, readv, recvfrom, recvmsg, recvmmsg.
    pub read: Option<f64>,
    /// write, writev, sendto, sendmsg, sendmmsg.
    pub write: Option<f64>,
    /// epoll_wait, epoll_pwait, epoll_pwait2.
    pub epoll_wait: Option<f64>,
    /// poll, ppoll.
    pub poll: Option<f64>,
    /// select, pselect6.
    pub select: Option<f64>,
    /// io_uring_enter.
    pub io_uring_enter: Option<f64>,
    /// futex and its newer forms (futex_wait, futex_wake, futex_requeue, futex_waitv).
    pub futex: Option<f64>,
    /// accept4, accept.
    pub accept4: Option<f64>,
    /// Every other system call: `total` less the named ones.
    pub other: Option<f64>,
}

impl SyscallsPerMsg {
    /// The named groups with their labels, in print order (`other` last, `total` apart).
    pub fn named(&self) -> [(&'static str, Option<f64>); 9] {
        [
            ("read", self.read),
            ("write", self.write),
            ("epoll_wait", self.epoll_wait),
            ("poll", self.poll),
            ("select", self.select),
            ("io_uring_enter", self.io_uring_enter),
            ("futex", self.futex),
            ("accept4", self.accept4),
            ("other", self.other),
        ]
    }
}

/// An event that was not counted, and why.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AbsentEvent {
    /// The event, as perf names it (e.g. `syscalls:sys_enter_read`, `context-switches`).
    pub event: String,
    /// Why it was not counted (the kernel's error, or what is missing).
    pub reason: String,
}

/// The flamegraph written beside the result.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FlamegraphInfo {
    /// The SVG's file name, in the result's directory (`null`: none was written, see `notes`).
    pub svg: Option<String>,
    /// Samples folded into it.
    pub samples: u64,
    /// Sampling frequency, samples per second on each CPU.
    pub frequency_hz: u64,
    /// Whether kernel frames were sampled (the kernel may refuse them).
    pub kernel_frames: bool,
    /// Samples the kernel dropped because loadgen read them too late.
    pub lost: u64,
    /// What a reader must know about it (kernel frames refused, few samples, ...).
    pub notes: Vec<String>,
    /// The SVG itself, until it is written beside the result (never part of the JSON).
    #[serde(skip)]
    #[schemars(skip)]
    pub rendered: Option<String>,
}

impl KernelCounters {
    /// `2.00 syscalls/msg (read 1.00, write 1.00), 0.10 cs, 0.00 migrations, 0.00 faults /msg`,
    /// for the run summary; absent figures read `—`.
    pub fn one_line(&self) -> String {
        let f = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.2}"));
        let s = &self.syscalls_per_msg;
        let named: Vec<String> = s
            .named()
            .iter()
            .filter(|(_, v)| v.is_none_or(|v| v >= 0.005))
            .map(|(name, v)| format!("{name} {}", f(*v)))
            .collect();
        let mut line = format!(
            "{} syscalls/msg ({}), {} cs, {} migrations, {} page faults /msg",
            f(s.total),
            named.join(", "),
            f(self.context_switches_per_msg),
            f(self.cpu_migrations_per_msg),
            f(self.page_faults_per_msg),
        );
        if !self.absent.is_empty() {
            line += &format!(" ({} event(s) not counted)", self.absent.len());
        }
        line
    }
}
