//! `loadgen compare` on crafted sweeps with repeats: each Δ with its 95% interval, paired by run
//! index when the two sides' rounds alternated in time, judged by the interval.

mod common;
mod crafted;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{loadgen_bin, run_bounded, Outcome};

fn compare(base: &Path, new: &Path, extra: &[&str]) -> Outcome {
    let mut cmd = Command::new(loadgen_bin());
    cmd.arg("compare").arg(base).arg(new).args(extra);
    run_bounded(cmd)
}

/// A sweep directory of `mio × 1000 clients`, run k at `rates[k]` msgs/s and `cpu[k]` ns/msg,
/// its window opening at `10·k + offset` s.
fn side(name: &str, rates: &[f64], cpu: &[f64], offset: u64) -> PathBuf {
    let dir = crafted::scratch_dir(name);
    for (k, (&rate, &ns)) in rates.iter().zip(cpu).enumerate() {
        let r = crafted::result("mio", 1000, rate, 100);
        let r = crafted::opened_at(crafted::with_server_cpu(r, ns), 10 * k as u64 + offset);
        let file = loadgen::sweep_dir::run_file_name("mio", 1000, 64, k + 1);
        crafted::write(&dir, &file, &r);
    }
    dir
}

#[test]
fn a_tight_20_percent_cpu_rise_fails_and_is_paired() {
    let rates = [100e3, 60e3, 130e3, 90e3, 110e3];
    let base = side(
        "iv-base",
        &rates,
        &[1000.0, 1010.0, 990.0, 1005.0, 995.0],
        0,
    );
    // Interleaved (opened 5 s after each BASE run); CPU/msg +20% in every round.
    let new = side(
        "iv-new",
        &rates,
        &[1200.0, 1212.0, 1188.0, 1206.0, 1194.0],
        5,
    );
    let out = compare(&base, &new, &["--threshold", "10"]);
    assert_eq!(
        out.code,
        Some(0),
        "CPU/msg is not judged by default: {}",
        out.stdout
    );
    let out = compare(&base, &new, &["--threshold", "10", "--cpu-threshold", "10"]);
    assert_eq!(out.code, Some(1), "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("paired, 5 pairs"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("server CPU/msg +20.0% [+20.0%, +20.0%] (worse)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("msgs/s +0.0% [+0.0%, +0.0%] (no difference detected)"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_wide_2_percent_change_is_no_regression_and_unpaired_when_run_apart() {
    let base = side(
        "iv-wide-base",
        &[70e3, 130e3, 100e3, 125e3, 75e3],
        &[700.0, 1300.0, 1000.0, 1250.0, 750.0],
        0,
    );
    // Run an hour later: nothing pairs the rounds.
    let new = side(
        "iv-wide-new",
        &[72e3, 128e3, 98e3, 120e3, 80e3],
        &[720.0, 1280.0, 1020.0, 1200.0, 800.0],
        3600,
    );
    let out = compare(&base, &new, &["--threshold", "1", "--cpu-threshold", "1"]);
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("unpaired, up to 5 runs a side"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("msgs/s −2.0% ["), "{}", out.stdout);
    assert!(
        out.stdout.contains("(no difference detected)"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("REGRESSION"), "{}", out.stdout);
}

#[test]
fn one_run_a_side_says_there_is_no_interval() {
    let base = side("iv-one-base", &[100e3], &[1000.0], 0);
    let new = side("iv-one-new", &[99e3], &[1000.0], 5);
    let out = compare(&base, &new, &[]);
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("No intervals"), "{}", out.stdout);
}

#[test]
fn an_aa_twin_in_a_sweep_gives_the_noise_floor() {
    let dir = crafted::scratch_dir("aa-report");
    for k in 0..4u64 {
        let wobble = [1.0, 1.05, 0.97, 1.02][k as usize];
        for (name, t) in [("mio", 0), ("mio.aa", 3)] {
            let r = crafted::result("mio", 100, 1e5 * wobble, 100);
            let r = crafted::opened_at(crafted::with_server_cpu(r, 1000.0 * wobble), 10 * k + t);
            let file = loadgen::sweep_dir::run_file_name(name, 100, 64, k as usize + 1);
            crafted::write(&dir, &file, &r);
        }
    }
    let mut cmd = Command::new(loadgen_bin());
    cmd.arg("report").arg(&dir);
    let out = run_bounded(cmd);
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(md.contains("| mio (A/A) | 100 |"), "{md}");
    assert!(
        md.contains("noise floor (mio A/A, 100 clients, 4 pairs): msgs/s ±0.0%"),
        "{md}"
    );
    assert!(md.contains("server CPU/msg ±0.0%"), "{md}");
    let json = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    assert!(json.contains("\"noise_floor\""), "{json}");
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(html.contains("Noise floor"), "{html}");
    // The twin is paired with its model round by round: compare sees an A/A Δ of zero.
    let out = compare(&dir, &dir, &[]);
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("paired, 4 pairs"), "{}", out.stdout);
}

/// A sweep cell `model × 100 clients` of five interleaved runs at `rates` msgs/s and `cpu` ns/msg.
fn sweep_cell(dir: &Path, model: &str, rates: &[f64], cpu: &[f64], saturated: bool) {
    for (k, (&rate, &ns)) in rates.iter().zip(cpu).enumerate() {
        let mut r = crafted::with_server_cpu(crafted::result(model, 100, rate, 100), ns);
        r.loadgen_resources.saturated = saturated;
        let r = crafted::opened_at(r, 10 * k as u64);
        let file = loadgen::sweep_dir::run_file_name(model, 100, 64, k + 1);
        crafted::write(dir, &file, &r);
    }
}

#[test]
fn the_ranking_separates_a_tight_20_percent_not_a_wide_2_percent_and_skips_loadgen_bound() {
    let dir = crafted::scratch_dir("ranking");
    let drift = [1.0, 0.9, 1.1, 0.95, 1.05];
    let scaled = |f: f64| drift.iter().map(|d| d * f).collect::<Vec<_>>();
    // mio: 20% more msgs/s than tokio in every round; tokio-current-thread within 2% of tokio,
    // but spread wide; threads faster than all, but loadgen-bound.
    sweep_cell(&dir, "mio", &scaled(120e3), &scaled(1000.0), false);
    sweep_cell(&dir, "tokio", &scaled(100e3), &scaled(1200.0), false);
    let wide = [1.3, 0.7, 1.25, 0.75, 0.98];
    let ct: Vec<f64> = wide.iter().map(|w| 98e3 * w).collect();
    let ct_cpu: Vec<f64> = wide.iter().map(|w| 1220.0 * w).collect();
    sweep_cell(&dir, "tokio-current-thread", &ct, &ct_cpu, false);
    sweep_cell(&dir, "threads", &scaled(200e3), &scaled(3000.0), true);
    let mut cmd = Command::new(loadgen_bin());
    cmd.arg("report").arg(&dir);
    let out = run_bounded(cmd);
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    let msgs = md
        .split("**msgs/s at 100 clients** (paired)")
        .nth(1)
        .and_then(|s| s.split("**p99").next())
        .unwrap_or_else(|| panic!("no msgs/s ranking: {md}"));
    assert!(msgs.contains("1. mio"), "{msgs}");
    assert!(msgs.contains("mio ahead of tokio: msgs/s"), "{msgs}");
    assert!(
        msgs.contains("tokio vs tokio-current-thread: no difference detected"),
        "{msgs}"
    );
    assert!(
        !msgs.contains("1. threads"),
        "loadgen-bound is not ranked: {msgs}"
    );
    assert!(
        msgs.contains("left out, loadgen-bound: threads (loadgen saturated in 5 of 5 runs)"),
        "{msgs}"
    );
    assert!(md.contains("| mio | 100 | 5 | 120,000 ["), "{md}");
    let json = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    assert!(json.contains("\"ranking\"") && json.contains("\"msgs_per_sec_ci\""));
    let svg = std::fs::read_to_string(dir.join("server-cpu-per-msg.svg")).unwrap();
    // One vertical whisker per cell: mio's interval at x = 100 clients, in mio's colour.
    let whiskers = svg
        .lines()
        .filter(|l| l.contains("stroke-width=\"1\"") && !l.contains("#000000"))
        .count();
    assert!(whiskers >= 4, "{svg}");
}
