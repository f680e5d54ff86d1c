//! `loadgen sweep` end to end with real server children: a tiny grid, two repeats, one cell
//! past a known limit. Bounded: four runs of 300 ms plus start and stop.

mod common;
mod crafted;

use std::process::Command;

use common::{echo_server_bin, loadgen_bin, run_bounded};

#[test]
fn a_small_sweep_leaves_table_charts_and_page() {
    // The mio × 1100 cell needs about 1,200 fds in loadgen and in the server child (which
    // inherits loadgen's limit): raise the soft limit to the hard one, and skip where even
    // the hard limit is lower.
    const FDS: u64 = 1200;
    let (_, hard) = loadgen::connect::fd_limits().unwrap();
    if hard < FDS {
        testkit::skip(
            testkit::facility::FDS,
            &format!(
                "a_small_sweep_leaves_table_charts_and_page needs {FDS} fds, hard limit is {hard}"
            ),
        );
        return;
    }
    rlimit::Resource::NOFILE.set(hard, hard).unwrap();
    let out = crafted::scratch_dir("sweep").join("out");
    let mut cmd = Command::new(loadgen_bin());
    cmd.args(["sweep", "--models", "mio,select", "--clients", "2,1100"])
        .args([
            "--duration",
            "300ms",
            "--warmup",
            "0s",
            "--runs",
            "2",
            "--threads",
            "1",
        ])
        .arg("--server-bin")
        .arg(echo_server_bin())
        .arg("--out")
        .arg(&out);
    let run = run_bounded(cmd);
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    assert!(
        run.stderr.contains("[1/6] mio × 2 clients, run 1/2"),
        "{}",
        run.stderr
    );
    for name in [
        "mio-2c-64B-r1.json",
        "mio-2c-64B-r2.json",
        "select-2c-64B-r2.json",
        "sweep.json",
        "summary.json",
        "summary.md",
        "index.html",
        "throughput.svg",
        "p99.svg",
        "spectrum.svg",
        "rss.svg",
        "server-cpu-per-msg.svg",
    ] {
        assert!(out.join(name).is_file(), "{name} missing");
    }
    assert!(
        !out.join("select-1100c-64B-r1.json").exists(),
        "a known limit is not run"
    );
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(md.contains("| select | 1,100 |"), "{md}");
    assert!(md.contains("skipped: select(2) watches only fds"), "{md}");
    assert!(md.contains("median of 2 run(s)"), "{md}");

    // A second sweep into the same directory would mix runs: refused, exit 2.
    let mut again = Command::new(loadgen_bin());
    again
        .args(["sweep", "--models", "mio", "--clients", "1", "--out"])
        .arg(&out);
    let run = run_bounded(again);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("already holds result files"),
        "{}",
        run.stderr
    );
}
