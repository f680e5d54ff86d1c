//! loadgen itself off the CPU (SIGSTOP, as a paused VM or an overloaded machine would leave
//! it) past the end of its run: the echo that arrived meanwhile is read, not counted as lost,
//! and the result warns about the stall.

mod common;

use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{echo_with, TestServer};
use loadgen::RunResult;

fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill {sig} {pid}");
}

/// Runs one closed-loop client with `args`, stops loadgen for `stop` once it is connected,
/// and returns its result. One client always has its one message in flight, so the stop lands
/// after a write whose echo the server sends while loadgen cannot read it.
fn run_stopped(name: &str, args: &[&str], stop: Duration) -> RunResult {
    let server = TestServer::start(Arc::new(|_, stream| echo_with(stream, |_, c| c.len())));
    let path = common::temp_path(name);
    let _ = std::fs::remove_file(&path);
    let mut child = Command::new(common::loadgen_bin())
        .args(["--addr", &server.addr.to_string()])
        .args(["--clients", "1", "--threads", "1", "--warmup", "0s"])
        .args(args)
        .args(["--quiet", "--output"])
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("loadgen starts");
    let deadline = Instant::now() + common::RUN_TIMEOUT;
    while server.accepted.load(Ordering::Relaxed) == 0 {
        assert!(Instant::now() < deadline, "loadgen never connected");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(200));
    signal(child.id(), "-STOP");
    std::thread::sleep(stop);
    signal(child.id(), "-CONT");
    let status = common::wait_until(&mut child, deadline, "loadgen did not finish");
    let r = RunResult::load(&path).expect("result written");
    assert_eq!(
        (r.totals.unanswered, r.totals.errors.reply_timeout),
        (0, 0),
        "the echo was in loadgen's socket: {:?}",
        r.warnings
    );
    assert!(r.passed && status.success(), "{:?}", r.warnings);
    assert!(
        r.warnings.iter().any(|w| w.contains("off the CPU")),
        "the stall is reported: {:?}",
        r.warnings
    );
    r
}

#[test]
fn an_echo_that_arrived_while_loadgen_slept_past_its_deadline_is_not_lost() {
    // Stopped past the window and the drain: loadgen wakes up after its deadline.
    let args = ["--duration", "1s", "--drain", "500ms"];
    run_stopped("past-deadline.json", &args, Duration::from_millis(2500));
}

#[test]
fn an_echo_that_arrived_while_loadgen_slept_past_the_reply_timeout_is_not_lost() {
    // Stopped longer than the reply timeout, inside the window: the client goes on.
    let args = [
        "--duration",
        "3s",
        "--reply-timeout",
        "1s",
        "--drain",
        "500ms",
    ];
    let r = run_stopped("past-timeout.json", &args, Duration::from_millis(1500));
    assert!(r.totals.messages > 1, "the client went on after the stall");
}
