//! `loadgen merge` of two real runs: the merged histogram is exactly both histograms added, and
//! every counter is the sum.

mod common;

use std::process::Command;

use loadgen::{LatencyHistogram, RunResult};

#[test]
fn merging_two_runs_adds_histograms_and_counters_exactly() {
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
            "500ms",
            "--warmup",
            "0s",
        ];
        let (outcome, result) = common::loadgen(&args, name);
        assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
        result.unwrap()
    };
    let a = run("a.json", "3");
    let b = run("b.json", "5");
    let merged_path = common::temp_path("merged.json");
    let mut cmd = Command::new(common::loadgen_bin());
    cmd.arg("merge")
        .arg(common::temp_path("a.json"))
        .arg(common::temp_path("b.json"))
        .arg("-o")
        .arg(&merged_path);
    let outcome = common::run_bounded(cmd);
    assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
    let merged = RunResult::load(&merged_path).unwrap();

    let mut both = a.histograms.latency().unwrap();
    both.add(&b.histograms.latency().unwrap());
    let merged_hist: LatencyHistogram = merged.histograms.latency().unwrap();
    assert_eq!(merged_hist, both);
    assert_eq!(merged.latency_us, both.summary());
    assert_eq!(
        merged.latency_us.count,
        a.latency_us.count + b.latency_us.count
    );
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
