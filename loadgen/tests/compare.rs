//! `loadgen compare` on crafted result pairs: exit codes 0 (no regression), 1 (regression or
//! lost/corrupted echoes in NEW), 2 (unreadable input), through the real binary.

mod common;
mod crafted;

use std::path::Path;
use std::process::Command;

use common::{loadgen_bin, run_bounded, Outcome};

fn compare(base: &Path, new: &Path, extra: &[&str]) -> Outcome {
    let mut cmd = Command::new(loadgen_bin());
    cmd.arg("compare").arg(base).arg(new).args(extra);
    run_bounded(cmd)
}

fn pair(name: &str, base_rate: f64, new_rate: f64) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = crafted::scratch_dir(name);
    let base = crafted::write(
        &dir,
        "base.json",
        &crafted::result("mio", 100, base_rate, 100),
    );
    let new = crafted::write(
        &dir,
        "new.json",
        &crafted::result("mio", 100, new_rate, 100),
    );
    (base, new)
}

#[test]
fn a_30_percent_throughput_drop_fails() {
    let (base, new) = pair("drop30", 100_000.0, 70_000.0);
    let out = compare(&base, &new, &["--threshold", "10"]);
    out.assert_code(1);
    assert!(out.stdout.contains("REGRESSION"), "{}", out.stdout);
    assert!(out.stdout.contains("-30.0%"), "{}", out.stdout);
}

#[test]
fn a_2_percent_change_passes() {
    let (base, new) = pair("change2", 100_000.0, 98_000.0);
    let out = compare(&base, &new, &["--threshold", "10"]);
    out.assert_code(0);
    assert!(out.stdout.contains("No regression"), "{}", out.stdout);
}

#[test]
fn corrupted_echoes_in_new_fail_whatever_the_threshold() {
    let dir = crafted::scratch_dir("corrupt");
    let base = crafted::write(&dir, "base.json", &crafted::result("mio", 100, 1e5, 100));
    let mut bad = crafted::result("mio", 100, 1e5, 100);
    crafted::corrupt(&mut bad);
    let new = crafted::write(&dir, "new.json", &bad);
    let out = compare(&base, &new, &["--threshold", "1000"]);
    out.assert_code(1);
    assert!(out.stdout.contains("mismatch 1"), "{}", out.stdout);
    // Lost echoes in BASE only are not NEW's problem.
    let out = compare(&new, &base, &["--threshold", "1000"]);
    out.assert_code(0);
}

#[test]
fn malformed_json_is_an_error_that_names_the_file() {
    let dir = crafted::scratch_dir("malformed");
    let base = crafted::write(&dir, "base.json", &crafted::result("mio", 100, 1e5, 100));
    let broken = dir.join("broken.json");
    std::fs::write(&broken, "{\"schema_version\": 1, \"loadgen\": ").unwrap();
    let out = compare(&base, &broken, &[]);
    out.assert_code(2);
    assert!(out.stderr.contains("broken.json"), "{}", out.stderr);
    assert!(
        out.stderr.contains("is not a loadgen result"),
        "{}",
        out.stderr
    );
    let out = compare(&base, &dir.join("missing.json"), &[]);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("cannot read"), "{}", out.stderr);
}

#[test]
fn sweep_directories_compare_cell_by_cell() {
    let models = ["threads", "mio"];
    let clients = [1, 100];
    let base = crafted::sweep_dir("sweep-base", &models, &clients, |_, c| 1e4 * c as f64);
    let out = compare(&base, &base, &[]);
    assert_eq!(
        out.code,
        Some(0),
        "against itself: {}\n{}",
        out.stdout,
        out.stderr
    );
    assert_eq!(out.stdout.matches("| ok |").count(), 4, "{}", out.stdout);

    // One cell's throughput cut by 30%: exactly that cell regresses.
    let cut = crafted::sweep_dir("sweep-cut", &models, &clients, |m, c| {
        let rate = 1e4 * c as f64;
        if m == "mio" && c == 100 {
            rate * 0.7
        } else {
            rate
        }
    });
    let out = compare(&base, &cut, &["--threshold", "25"]);
    assert_one_cut(&out, "mio × 100 clients");

    // A cell that ran in BASE but is gone from NEW fails too.
    let fewer = crafted::sweep_dir("sweep-fewer", &["threads"], &clients, |_, c| 1e4 * c as f64);
    let out = compare(&base, &fewer, &[]);
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert!(out.stdout.contains("missing from NEW"), "{}", out.stdout);
}

#[test]
fn repeats_spread_says_within_noise() {
    let dir_a = crafted::scratch_dir("noise-a");
    let dir_b = crafted::scratch_dir("noise-b");
    // BASE repeats spread ±25%; NEW is 20% below BASE's median: inside the noise, so no verdict.
    for (k, rate) in [(1, 75_000.0), (2, 100_000.0), (3, 125_000.0)] {
        let name = loadgen::sweep_dir::run_file_name("mio", 100, 64, k);
        crafted::write(&dir_a, &name, &crafted::result("mio", 100, rate, 100));
        crafted::write(&dir_b, &name, &crafted::result("mio", 100, 80_000.0, 100));
    }
    let out = compare(&dir_a, &dir_b, &["--threshold", "10"]);
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("within noise"), "{}", out.stdout);
}

#[test]
fn normalize_ignores_a_uniformly_slower_machine_but_not_one_cell() {
    let models = ["threads", "mio", "tokio"];
    let clients = [1, 100];
    let rate = |_: &str, c: usize| 1e4 * (c as f64 + 1.0);
    let base = crafted::sweep_dir("norm-base", &models, &clients, rate);
    // The whole machine 40% slower: a regression everywhere unless normalized.
    let slow = crafted::sweep_dir("norm-slow", &models, &clients, |m, c| rate(m, c) * 0.6);
    let out = compare(&base, &slow, &["--threshold", "25"]);
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    let out = compare(&base, &slow, &["--threshold", "25", "--normalize"]);
    assert_eq!(out.code, Some(0), "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("0.60×"), "{}", out.stdout);
    // Same slow machine, and one cell 30% below the rest: that cell still fails.
    let cut = crafted::sweep_dir("norm-cut", &models, &clients, |m, c| {
        let r = rate(m, c) * 0.6;
        if m == "mio" && c == 1 {
            r * 0.7
        } else {
            r
        }
    });
    let out = compare(&base, &cut, &["--threshold", "25", "--normalize"]);
    assert_one_cut(&out, "mio × 1 clients");
}

/// `out` fails on exactly one regression: `cell`'s msgs/s 30% down.
fn assert_one_cut(out: &common::Outcome, cell: &str) {
    assert_eq!(out.code, Some(1), "{}\n{}", out.stdout, out.stderr);
    let regressions = out.stdout.matches("| REGRESSION |").count();
    assert_eq!(regressions, 1, "{}", out.stdout);
    let line = format!("{cell}: msgs/s -30.0%");
    assert!(out.stdout.contains(&line), "{}", out.stdout);
}
