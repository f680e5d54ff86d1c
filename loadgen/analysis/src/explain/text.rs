//! The explanation of one result as text: for the server and for loadgen, the CPU per message
//! split into user and system time, the system calls behind the system time (by name, and the
//! system CPU each one costs on average), the wake-ups and the faults; what was not recorded
//! says so, rather than reading as zero.

use std::fmt::Write;

use results_model::cost::ProcessCost;
use results_model::kernel::{KernelCounters, KernelReport};
use results_model::result::RunResult;

/// Written where a figure is missing from the result.
const NOT_RECORDED: &str = "not recorded";

/// The explanation of `r`, read from `name`.
pub fn explain(r: &RunResult, name: &str) -> String {
    let mut s = String::new();
    let c = &r.config;
    let _ = writeln!(
        s,
        "{name}: {}, {} clients, {} B {}, {}; {:.0} msgs/s over {:.1} s (schema {})",
        c.target.label(),
        c.clients,
        c.size,
        c.protocol.name(),
        if c.is_open_loop() {
            "open loop"
        } else {
            "closed loop"
        },
        r.throughput.msgs_per_sec,
        r.measured_s,
        r.schema_version,
    );
    let cost = r.cost.as_ref();
    let kernel = r.kernel.as_ref();
    let server = format!("server ({})", c.target.label());
    side(
        &mut s,
        &server,
        cost.and_then(|c| c.server.as_ref()),
        kernel.map(|k| k.server.as_ref()),
    );
    side(
        &mut s,
        "loadgen",
        cost.and_then(|c| c.loadgen.as_ref()),
        kernel.map(|k| k.loadgen.as_ref()),
    );
    flamegraph(&mut s, kernel);
    s
}

/// One side: its CPU per message, then its kernel counters. `kernel` is `None` when the result
/// has no kernel section at all, `Some(None)` when it has one without this side.
fn side(
    s: &mut String,
    who: &str,
    cost: Option<&ProcessCost>,
    kernel: Option<Option<&KernelCounters>>,
) {
    let _ = writeln!(s, "\n{who}");
    match cost {
        Some(c) => {
            let _ = writeln!(
                s,
                "  CPU per message     {:>8.2} µs  = user {:.2} + system {:.2}",
                c.cpu_ns_per_msg / 1000.0,
                c.user_ns_per_msg / 1000.0,
                c.sys_ns_per_msg / 1000.0,
            );
            let _ = writeln!(
                s,
                "  context switches    {:>8.3} /msg = voluntary {:.3} + involuntary {:.3}; \
                 run-queue wait {:.2} µs/msg",
                c.vol_ctx_switches_per_msg + c.invol_ctx_switches_per_msg,
                c.vol_ctx_switches_per_msg,
                c.invol_ctx_switches_per_msg,
                c.runqueue_wait_ns_per_msg / 1000.0,
            );
        }
        None => {
            let _ = writeln!(s, "  CPU per message     {NOT_RECORDED}");
        }
    }
    match kernel.flatten() {
        Some(k) => kernel_lines(s, k, cost),
        None => {
            let _ = writeln!(s, "  kernel counters     {NOT_RECORDED}");
        }
    }
}

/// The system calls by name, the system CPU per call, wake-ups, migrations and faults.
fn kernel_lines(s: &mut String, k: &KernelCounters, cost: Option<&ProcessCost>) {
    let f = |v: Option<f64>| v.map_or(NOT_RECORDED.to_string(), |v| format!("{v:.3}"));
    let calls = &k.syscalls_per_msg;
    let _ = writeln!(s, "  system calls        {:>8} /msg", f(calls.total));
    let mut named: Vec<(&str, Option<f64>)> = calls.named().to_vec();
    // Largest first; absent ones last.
    named.sort_by(|a, b| b.1.unwrap_or(-1.0).total_cmp(&a.1.unwrap_or(-1.0)));
    for (name, v) in named.iter().filter(|(_, v)| v.is_none_or(|v| v >= 0.0005)) {
        let _ = writeln!(s, "    {name:<17} {:>8}", f(*v));
    }
    if let (Some(total), Some(c)) = (calls.total.filter(|t| *t > 0.0), cost) {
        let _ = writeln!(
            s,
            "  system CPU per call {:>8.0} ns  (system time / system calls; includes the \
             kernel's network work done on this side's threads)",
            c.sys_ns_per_msg / total,
        );
    }
    let _ = writeln!(
        s,
        "  switches (kernel)   {:>8} /msg (exited threads included); migrations {}; \
         page faults {}",
        f(k.context_switches_per_msg),
        f(k.cpu_migrations_per_msg),
        f(k.page_faults_per_msg),
    );
    for a in &k.absent {
        let _ = writeln!(s, "  not counted: {}: {}", a.event, a.reason);
    }
}

/// Where the flamegraph is, if one was written.
fn flamegraph(s: &mut String, kernel: Option<&KernelReport>) {
    match kernel.and_then(|k| k.flamegraph.as_ref()) {
        Some(f) => {
            let _ = writeln!(
                s,
                "\nflamegraph: {} ({} samples at {} Hz{})",
                f.svg.as_deref().unwrap_or("not written"),
                f.samples,
                f.frequency_hz,
                if f.kernel_frames {
                    ", kernel frames included"
                } else {
                    ", user frames only"
                },
            );
            for note in &f.notes {
                let _ = writeln!(s, "  {note}");
            }
        }
        None => {
            let _ = writeln!(s, "\nflamegraph: {NOT_RECORDED} (run with --flamegraph)");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use results_model::kernel::{AbsentEvent, SyscallsPerMsg};

    fn base() -> RunResult {
        let text = include_str!("../../../../results/baseline/mio-10c-64B-r3.json");
        serde_json::from_str(text).expect("a v1 result")
    }

    #[test]
    fn an_old_result_says_not_recorded() {
        let text = explain(&base(), "old.json");
        assert!(text.contains("CPU per message     not recorded"), "{text}");
        assert!(text.contains("kernel counters     not recorded"), "{text}");
        assert!(text.contains("flamegraph: not recorded"), "{text}");
    }

    #[test]
    fn counters_print_by_name_and_absent_ones_say_so() {
        let mut r = base();
        r.cost = Some(results_model::cost::CostReport {
            server: Some(ProcessCost {
                cpu_ns_per_msg: 4000.0,
                user_ns_per_msg: 1000.0,
                sys_ns_per_msg: 3000.0,
                ..ProcessCost::default()
            }),
            loadgen: None,
        });
        r.kernel = Some(KernelReport {
            server: Some(KernelCounters {
                syscalls_per_msg: SyscallsPerMsg {
                    total: Some(3.0),
                    read: Some(1.0),
                    write: Some(1.0),
                    epoll_wait: Some(1.0),
                    ..SyscallsPerMsg::default()
                },
                absent: vec![AbsentEvent {
                    event: "syscalls:sys_enter_futex".into(),
                    reason: "refused".into(),
                }],
                ..KernelCounters::default()
            }),
            loadgen: None,
            flamegraph: None,
        });
        let text = explain(&r, "new.json");
        assert!(text.contains("system calls           3.000 /msg"), "{text}");
        assert!(text.contains("epoll_wait           1.000"), "{text}");
        assert!(text.contains("futex             not recorded"), "{text}");
        assert!(text.contains("system CPU per call     1000 ns"), "{text}");
        assert!(
            text.contains("not counted: syscalls:sys_enter_futex: refused"),
            "{text}"
        );
        let loadgen = text.split("\nloadgen\n").nth(1).unwrap();
        assert!(
            loadgen.contains("CPU per message     not recorded"),
            "{text}"
        );
    }
}
