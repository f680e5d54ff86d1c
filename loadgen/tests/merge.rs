//! `loadgen merge` of real runs: two loadgens side by side against one server merge exactly
//! (histograms added, counters summed); two runs made one after the other are refused, with
//! the reason.

mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::{echo_with, TestServer};
use loadgen::{LatencyHistogram, RunResult};

/// `loadgen merge` of the named results into `merged`.
fn merge(inputs: &[&str], merged: &str) -> common::Outcome {
    let mut cmd = Command::new(common::loadgen_bin());
    cmd.arg("merge");
    for name in inputs {
        cmd.arg(common::temp_path(name));
    }
    cmd.arg("-o").arg(common::temp_path(merged));
    common::run_bounded(cmd)
}

/// A loadgen command against `addr` with `clients`, its window opening at `start_at`.
fn side_by_side(addr: &str, clients: &str, start_at: &str, name: &str) -> Command {
    let mut cmd = Command::new(common::loadgen_bin());
    cmd.args(["--addr", addr, "--clients", clients, "--threads", "1"])
        .args(["--warmup", "300ms", "--duration", "700ms"])
        .args(["--start-at", start_at, "--quiet", "--output"])
        .arg(common::temp_path(name));
    cmd
}

#[test]
fn two_loadgens_side_by_side_merge_exactly() {
    let server = TestServer::start(Arc::new(|_, stream| echo_with(stream, |_, c| c.len())));
    let addr = server.addr.to_string();
    let start_at =
        humantime::format_rfc3339_millis(SystemTime::now() + Duration::from_secs(2)).to_string();
    let first = side_by_side(&addr, "3", &start_at, "sbs-a.json");
    let first = std::thread::spawn(move || common::run_bounded(first));
    let second = common::run_bounded(side_by_side(&addr, "5", &start_at, "sbs-b.json"));
    let first = first.join().unwrap();
    for outcome in [&first, &second] {
        assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
    }
    let load = |name: &str| RunResult::load(&common::temp_path(name)).unwrap();
    let (a, b) = (load("sbs-a.json"), load("sbs-b.json"));
    assert!(a.totals.messages > 0 && b.totals.messages > 0);

    let outcome = merge(&["sbs-a.json", "sbs-b.json"], "sbs-merged.json");
    assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
    let merged = load("sbs-merged.json");
    let mut both = a.histograms.latency().unwrap();
    both.add(&b.histograms.latency().unwrap());
    let merged_hist: LatencyHistogram = merged.histograms.latency().unwrap();
    assert_eq!(merged_hist, both);
    assert_eq!(merged.latency_us, both.summary());
    assert_eq!(
        merged.totals.messages,
        a.totals.messages + b.totals.messages
    );
    assert_eq!(
        merged.totals.bytes_received,
        a.totals.bytes_received + b.totals.bytes_received
    );
    assert_eq!(merged.config.clients, 8);
    assert_eq!(merged.merged_from.len(), 2);
    assert!(merged.passed);
}

#[test]
fn runs_made_one_after_the_other_are_refused_with_the_reason() {
    let server = common::echo_server_bin().to_str().unwrap();
    let run = |name: &str, clients: &str| {
        let args = [
            "--model",
            "mio",
            "--server-bin",
            server,
            "--clients",
            clients,
            "--duration",
            "300ms",
            "--warmup",
            "0s",
        ];
        let (outcome, result) = common::loadgen(&args, name);
        assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
        result.unwrap()
    };
    run("seq-a.json", "3");
    run("seq-b.json", "5");
    let outcome = merge(&["seq-a.json", "seq-b.json"], "seq-merged.json");
    assert_ne!(outcome.code, Some(0), "{}", outcome.stderr);
    assert!(
        outcome.stderr.contains("windows do not overlap"),
        "{}",
        outcome.stderr
    );
    // The same file twice is refused too, and says so.
    let twice = merge(&["seq-a.json", "seq-a.json"], "seq-twice.json");
    assert_ne!(twice.code, Some(0), "{}", twice.stderr);
    assert!(twice.stderr.contains("given twice"), "{}", twice.stderr);
}
