//! loadgen against servers that misbehave on purpose (written here with std::net): a stall,
//! a flipped byte, a block of a stream left out, connections closed early, and a client count
//! over the fd limit.

mod common;

use std::io::{Read, Write};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{echo_with, TestServer};

const SIZE: u64 = 64;

/// loadgen against `addr` with `clients` for `duration` and no warm-up (plus `extra`), its
/// result written to `name`.
fn short_run(
    addr: &str,
    (clients, duration): (&str, &str),
    extra: &[&str],
    name: &str,
) -> (common::Outcome, Option<loadgen::RunResult>) {
    let mut args = vec!["--addr", addr, "--clients", clients];
    args.extend(["--duration", duration, "--warmup", "0s"]);
    args.extend_from_slice(extra);
    common::loadgen(&args, name)
}

#[test]
fn open_loop_corrected_latency_shows_a_stall_that_uncorrected_hides() {
    // After 100 echoes the server stops for 200 ms, once. At 500 msgs/s about 100 messages
    // fall due during the stall; they wait, and only the one in flight sees a slow reply.
    let stalled = Arc::new(AtomicBool::new(false));
    let server = TestServer::start(Arc::new(move |_, stream| {
        let stalled = Arc::clone(&stalled);
        echo_with(stream, move |total, chunk| {
            if total >= 100 * SIZE && !stalled.swap(true, Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(200));
            }
            chunk.len()
        })
    }));
    let addr = server.addr.to_string();
    let extra = ["--threads", "1", "--rate", "500", "--size", "64"];
    let (outcome, result) = short_run(&addr, ("1", "2s"), &extra, "stall.json");
    let r = result.unwrap();
    // The server's stall is no failure. A busy machine may make loadgen itself late, which
    // it then says (exit 1); the latencies below must show the stall either way.
    let loadgen_late = r
        .verdict
        .as_ref()
        .is_some_and(|v| v.late_side == Some(loadgen::verdict::LateSide::Loadgen));
    assert!(
        outcome.code == Some(0) || (loadgen_late && outcome.code == Some(1)),
        "{:?} {:?}",
        r.verdict,
        r.open_loop.as_ref().map(|o| &o.send_lag)
    );
    let corrected = &r.latency_us;
    let uncorrected = r
        .service_time_us
        .as_ref()
        .expect("open loop has service time");
    assert!(r.passed || loadgen_late);
    assert_eq!(r.totals.errors.total(), 0);
    assert!(
        corrected.p99 >= 100_000,
        "corrected p99 {} µs should include the 200 ms stall",
        corrected.p99
    );
    assert!(
        uncorrected.p99 < 100_000,
        "uncorrected p99 {} µs should not show the stall",
        uncorrected.p99
    );
    assert!(
        uncorrected.max >= 150_000,
        "the one stalled message is its max"
    );
}

#[test]
fn a_corrupted_byte_is_a_mismatch_and_fails_the_run() {
    let flipped = Arc::new(AtomicBool::new(false));
    let server = TestServer::start(Arc::new(move |_, stream| {
        let flipped = Arc::clone(&flipped);
        echo_with(stream, move |total, chunk| {
            if total >= 50 * SIZE && !flipped.swap(true, Ordering::SeqCst) {
                chunk[chunk.len() / 2] ^= 0x01;
            }
            chunk.len()
        })
    }));
    let addr = server.addr.to_string();
    let (outcome, result) = short_run(&addr, ("4", "500ms"), &[], "corrupt.json");
    assert_eq!(outcome.code, Some(1), "{}", outcome.stderr);
    let r = result.expect("the result is written even when the run fails");
    assert!(!r.passed);
    assert_eq!(r.totals.errors.mismatch, 1);
    assert_eq!(r.totals.errors.total(), 1, "{:?}", r.totals.errors);
    assert!(r.totals.unanswered >= 1);
    assert!(r.warnings.iter().any(|w| w.contains("mismatch")));
}

#[test]
fn a_streamed_block_left_out_is_a_mismatch() {
    // 64 KiB messages, 8 in flight: connection 0 leaves out 4 KiB of its stream once (exactly
    // one block of the payload's table, so every byte after the gap has the right table byte
    // in its place and only the per-block mask tells them apart); the rest is echoed.
    const GAP: std::ops::Range<u64> = 81_920..86_016;
    let server = TestServer::start(Arc::new(|n, mut stream| {
        let mut buf = vec![0u8; 16 * 1024];
        let mut total = 0u64;
        while let Ok(len @ 1..) = stream.read(&mut buf) {
            let kept: Vec<u8> = (total..)
                .zip(&buf[..len])
                .filter(|(at, _)| n != 0 || !GAP.contains(at))
                .map(|(_, &b)| b)
                .collect();
            if stream.write_all(&kept).is_err() {
                return;
            }
            total += len as u64;
        }
    }));
    let addr = server.addr.to_string();
    let args = ["--size", "65536", "--pipeline", "8"];
    let (outcome, result) = short_run(&addr, ("2", "500ms"), &args, "gap.json");
    assert_eq!(outcome.code, Some(1), "{}", outcome.stderr);
    let r = result.expect("the result is written even when the run fails");
    assert_eq!(r.totals.errors.mismatch, 1, "{:?}", r.totals.errors);
    assert_eq!(r.totals.errors.total(), 1, "{:?}", r.totals.errors);
}

#[test]
fn connections_closed_early_are_short_replies_and_eofs() {
    // Even connections: close halfway through the 6th echo. Odd: close after 5 whole echoes.
    let server = TestServer::start(Arc::new(|n, stream| {
        echo_with(stream, move |total, chunk| {
            if total < 5 * SIZE {
                chunk.len()
            } else if n % 2 == 0 {
                chunk.len() / 2
            } else {
                0
            }
        })
    }));
    let addr = server.addr.to_string();
    let (outcome, result) = short_run(&addr, ("4", "500ms"), &[], "early.json");
    assert_eq!(outcome.code, Some(1), "{}", outcome.stderr);
    let r = result.unwrap();
    let e = &r.totals.errors;
    assert_eq!((e.short_reply, e.unexpected_eof), (2, 2), "{e:?}");
    assert_eq!(r.totals.connections.failed, 4);
    assert_eq!(r.totals.unanswered, 4, "each lost its 6th echo");
    // The window opens once all four are connected: echoes before that are warm-up.
    assert_eq!(
        r.totals.messages + r.totals.warmup_messages,
        20,
        "5 echoes per connection arrived"
    );
}

#[test]
fn too_many_clients_for_the_fd_limit_is_refused_up_front() {
    let server = TestServer::start(Arc::new(|_, stream| echo_with(stream, |_, c| c.len())));
    // A low soft limit for this one process, whatever the machine's is.
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(r#"ulimit -S -n 256 && exec "$0" "$@""#)
        .arg(common::loadgen_bin())
        .args([
            "--addr",
            &server.addr.to_string(),
            "--clients",
            "1000",
            "--quiet",
        ]);
    let outcome = common::run_bounded(cmd);
    assert_eq!(outcome.code, Some(2), "{}", outcome.stderr);
    let msg = &outcome.stderr;
    assert!(msg.contains("`ulimit -n` is 256"), "{msg}");
    assert!(msg.contains("ulimit -n 1064"), "{msg}");
    assert!(msg.contains("--clients 192 or less"), "{msg}");
    assert!(msg.contains("loadgen merge"), "{msg}");
    assert_eq!(
        server.accepted.load(Ordering::Relaxed),
        0,
        "nothing was started"
    );
}

#[test]
fn a_server_that_never_answers_is_counted_as_reply_timeouts() {
    let silent = TestServer::start(Arc::new(|_, mut stream| {
        // Read and discard until the client goes away; never echo.
        let mut buf = [0u8; 1024];
        while matches!(std::io::Read::read(&mut stream, &mut buf), Ok(n) if n > 0) {}
    }));
    let addr = silent.addr.to_string();
    let extra = ["--reply-timeout", "200ms"];
    let (outcome, result) = short_run(&addr, ("3", "600ms"), &extra, "silent.json");
    assert_eq!(outcome.code, Some(1), "{}", outcome.stderr);
    let r = result.unwrap();
    assert_eq!(r.totals.errors.reply_timeout, 3, "{:?}", r.totals.errors);
    assert_eq!(r.totals.errors.total(), 3);
    assert_eq!(r.totals.unanswered, 3);
    assert_eq!(r.totals.messages, 0);
}

#[test]
fn refused_connections_are_connect_failures() {
    // A port that was just free: nothing listens there, so every connect is refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let (outcome, result) = short_run(&addr, ("5", "300ms"), &[], "refused.json");
    assert_eq!(outcome.code, Some(1), "{}", outcome.stderr);
    let r = result.unwrap();
    assert_eq!(r.totals.errors.connect_failed, 5, "{:?}", r.totals.errors);
    assert_eq!(r.totals.connections.established, 0);
    assert!(!r.passed);
}
