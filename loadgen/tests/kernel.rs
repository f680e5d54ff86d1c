//! The kernel counters read back what the server did: a server planting k extra system calls
//! per message reads k more per message, and threads the server starts during the run count.

mod common;

use loadgen::RunResult;
use results_model::kernel::KernelCounters;

/// One short closed-loop run of the `threads` model with `clients`, plus `server_args`.
fn run(name: &str, clients: &str, server_args: &[&str]) -> RunResult {
    let server_bin = common::echo_server_bin().display().to_string();
    let mut args = vec![
        "--model",
        "threads",
        "--clients",
        clients,
        "--duration",
        "1s",
        "--warmup",
        "300ms",
        "--server-bin",
        &server_bin,
        "--kernel-counters",
    ];
    let server_args: Vec<String> = server_args
        .iter()
        .map(|a| format!("--server-arg={a}"))
        .collect();
    args.extend(server_args.iter().map(String::as_str));
    let (out, result) = common::loadgen(&args, name);
    out.assert_code(0);
    result.expect("a result")
}

/// The server's counters, or why the kernel gave none (printed, and the test skips).
fn server_counters(r: &RunResult) -> Option<KernelCounters> {
    let k = r
        .kernel
        .as_ref()
        .expect("--kernel-counters asks for counting");
    let c = k.server.clone().expect("loadgen started the server");
    if c.syscalls_per_msg.total.is_none() || c.syscalls_per_msg.other.is_none() {
        eprintln!("skipped: system calls not counted here: {:?}", c.absent);
        return None;
    }
    Some(c)
}

#[test]
fn k_extra_system_calls_per_message_read_back_as_k_more() {
    let k = 3.0;
    let plain = run("kernel-plain", "1", &[]);
    let planted = run("kernel-planted", "1", &["--extra-work", "syscall:3"]);
    let (Some(a), Some(b)) = (server_counters(&plain), server_counters(&planted)) else {
        return;
    };
    let (sa, sb) = (&a.syscalls_per_msg, &b.syscalls_per_msg);
    let total = sb.total.unwrap() - sa.total.unwrap();
    let other = sb.other.unwrap() - sa.other.unwrap();
    assert!((total - k).abs() <= 0.1, "total {sa:?} -> {sb:?}");
    assert!((other - k).abs() <= 0.1, "other {sa:?} -> {sb:?}");
    // The planted calls are neither reads nor writes.
    assert!((sb.read.unwrap() - sa.read.unwrap()).abs() <= 0.1);
}

#[test]
fn threads_the_server_starts_during_the_run_are_counted() {
    let r = run("kernel-threads", "4", &[]);
    let Some(c) = server_counters(&r) else {
        return;
    };
    // `threads` reads each connection on a thread started when it was accepted, after the
    // counters were opened on the threads that existed then.
    assert!(
        c.threads_opened < 4,
        "opened on {} threads",
        c.threads_opened
    );
    let read = c.syscalls_per_msg.read.unwrap();
    assert!((0.9..=1.5).contains(&read), "read/msg {read}");
    let write = c.syscalls_per_msg.write.unwrap();
    assert!((0.9..=1.5).contains(&write), "write/msg {write}");
}
