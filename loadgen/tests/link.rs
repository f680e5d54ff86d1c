//! `--link-delay`: loadgen starts echo-proxy between its clients and the server it starts, so
//! every echo crosses the delay twice; refused with `--addr`. Bounded: two runs of about 2 s.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{echo_proxy_bin, echo_server_bin, loadgen_bin, run_bounded, temp_path};
use results_model::Link;

#[test]
fn a_delayed_link_adds_its_round_trip_and_loses_nothing() {
    echo_proxy_bin();
    let mut cmd = Command::new(loadgen_bin());
    cmd.args(["--model", "mio", "--clients", "4", "--threads", "1"])
        .args([
            "--duration",
            "1s",
            "--warmup",
            "500ms",
            "--link-delay",
            "10ms",
        ])
        .arg("--server-bin")
        .arg(echo_server_bin())
        .args(["--output", "-"]);
    let out = run_bounded(cmd);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let r: loadgen::RunResult = serde_json::from_str(&out.stdout).expect("stdout is the JSON");
    assert!(r.passed, "{:?}", r.warnings);
    assert!(r.totals.messages > 0);
    assert_eq!(r.totals.errors.total(), 0, "{:?}", r.totals.errors);
    assert_eq!(r.totals.unanswered, 0);
    // 10 ms each way: no echo can come back sooner than 20 ms.
    assert!(r.latency_us.min >= 20_000, "min {} µs", r.latency_us.min);
    assert!(r.latency_us.p50 >= 20_000, "p50 {} µs", r.latency_us.p50);
    assert_eq!(
        r.config.link,
        Some(Link {
            delay: Duration::from_millis(10),
            jitter: Duration::ZERO,
        })
    );
    // The server's report is the echo-server's, not the proxy's.
    let server = r.server.as_ref().expect("a spawned server reports");
    assert!(server.bin.ends_with("echo-server"), "{}", server.bin);
    assert!(
        out.stderr.contains("link: 10ms each way (echo-proxy)"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_link_with_an_external_target_is_refused() {
    let mut cmd = Command::new(loadgen_bin());
    cmd.args(["--addr", "127.0.0.1:9", "--link-delay", "10ms", "--quiet"])
        .args(["--duration", "1s", "--output", "-"]);
    let out = run_bounded(cmd);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("--link-delay") && out.stderr.contains("echo-proxy"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "no result: {}", out.stdout);
}

#[test]
fn a_sweep_over_a_link_says_so_in_its_table() {
    echo_proxy_bin();
    let out = temp_path("link-sweep");
    let _ = std::fs::remove_dir_all(&out);
    let mut cmd = Command::new(loadgen_bin());
    cmd.args([
        "sweep",
        "--models",
        "mio",
        "--clients",
        "2",
        "--threads",
        "1",
    ])
    .args(["--duration", "300ms", "--warmup", "0s"])
    .args(["--link-delay", "5ms", "--link-jitter", "1ms", "--quiet"])
    .arg("--server-bin")
    .arg(echo_server_bin())
    .arg("--out")
    .arg(&out);
    let run = run_bounded(cmd);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(
        md.contains("Link: 5ms ± 1ms each way (echo-proxy)."),
        "{md}"
    );
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("link: 5ms ± 1ms each way"), "{html}");
    let run = loadgen::RunResult::load(&out.join("mio-2c-64B-r1.json")).unwrap();
    assert!(run.passed);
    assert!(run.latency_us.min >= 8_000, "min {} µs", run.latency_us.min);
    std::fs::remove_dir_all(&out).unwrap();
}
