//! `loadgen gate` running its own duets against real servers: a planted fault fails at once
//! with no second run; a planted cost fails, and is confirmed by a second run of that case only.

mod common;

use std::process::Command;

/// `loadgen gate` of the test's echo-server against itself, mio only, `pairs` pairs, plus `extra`.
fn gate(name: &str, pairs: &str, extra: &[&str]) -> common::Outcome {
    let server = common::echo_server_bin();
    let out = common::temp_path(name);
    let mut cmd = Command::new(common::loadgen_bin());
    cmd.arg("gate")
        .arg("--base-server")
        .arg(server)
        .arg("--new-server")
        .arg(server)
        .args(["--models", "mio", "--pairs", pairs, "--clients", "4"])
        .args(["--duration", "300ms", "--warmup", "100ms", "--lead", "1s"])
        .args(["--power-effect", "10%"])
        .arg("--out")
        .arg(&out)
        .args(extra);
    common::run_bounded(cmd)
}

#[test]
fn a_planted_fault_fails_at_once_with_no_second_run() {
    let outcome = gate("gate-fault", "2", &["--fault", "mio"]);
    assert_eq!(
        outcome.code,
        Some(3),
        "{}{}",
        outcome.stdout,
        outcome.stderr
    );
    assert!(
        outcome.stdout.contains("FAIL (correctness, no second run)"),
        "{}",
        outcome.stdout
    );
    assert!(outcome.stdout.contains("mismatch"), "{}", outcome.stdout);
    assert!(
        !outcome.stdout.contains("a second run of"),
        "{}",
        outcome.stdout
    );
}

#[test]
fn a_planted_cost_fails_and_a_second_run_of_that_case_confirms_it() {
    // 50 us of CPU per message: many times a message's own cost, so both runs fail it.
    let outcome = gate("gate-plant", "3", &["--plant", "mio=cpu:50us"]);
    assert_eq!(
        outcome.code,
        Some(1),
        "{}{}",
        outcome.stdout,
        outcome.stderr
    );
    assert!(
        outcome.stdout.contains("a second run of mio confirms"),
        "{}",
        outcome.stdout
    );
    assert!(
        outcome
            .stdout
            .contains("FAIL (confirmed: the same model and metric failed twice): mio cpu"),
        "{}",
        outcome.stdout
    );
    assert!(
        outcome.stdout.contains("power, CI's rule"),
        "{}",
        outcome.stdout
    );
}
