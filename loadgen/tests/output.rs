//! What a user sees: progress lines and a wrk-style summary on stderr, JSON on stdout with
//! `--output -`, and the default results/<model>-<clients>c-<size>B-<time>.json path.

mod common;

use std::process::Command;

#[test]
fn progress_summary_and_json_on_stdout() {
    let mut cmd = Command::new(common::loadgen_bin());
    cmd.args([
        "--model",
        "mio",
        "--clients",
        "3",
        "--duration",
        "1s",
        "--warmup",
        "1s",
    ])
    .arg("--server-bin")
    .arg(common::echo_server_bin())
    .args(["--output", "-"]);
    let out = common::run_bounded(cmd);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let result: loadgen::RunResult = serde_json::from_str(&out.stdout).expect("stdout is the JSON");
    assert!(result.passed);
    let err = &out.stderr;
    assert!(err.contains("warmup connected 3/3"), "progress line: {err}");
    for expected in [
        "Latency",
        "p99.99",
        "Msgs/sec:",
        "Errors: none",
        "Server (mio):",
        "JSON: stdout",
    ] {
        assert!(err.contains(expected), "summary lacks {expected:?}: {err}");
    }
}

#[test]
fn default_output_path_names_model_clients_size_and_time() {
    let dir = common::temp_path("cwd");
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = Command::new(common::loadgen_bin());
    cmd.current_dir(&dir)
        .args([
            "--model",
            "mio",
            "--clients",
            "2",
            "--size",
            "32",
            "--quiet",
        ])
        .args(["--duration", "300ms", "--warmup", "0s"])
        .arg("--server-bin")
        .arg(common::echo_server_bin());
    let out = common::run_bounded(cmd);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stderr.is_empty(),
        "--quiet prints nothing: {}",
        out.stderr
    );
    let files: Vec<String> = std::fs::read_dir(dir.join("results"))
        .expect("results/ was created")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = &files[0];
    assert!(
        name.starts_with("mio-2c-32B-") && name.ends_with("Z.json"),
        "{name}"
    );
}

#[test]
fn ctrl_c_cuts_the_run_short_and_still_writes_the_result() {
    use std::os::unix::process::CommandExt;
    let path = common::temp_path("interrupted.json");
    let mut child = Command::new(common::loadgen_bin())
        .args([
            "--model",
            "mio",
            "--clients",
            "4",
            "--duration",
            "60s",
            "--warmup",
            "0s",
        ])
        .arg("--server-bin")
        .arg(common::echo_server_bin())
        .arg("--quiet")
        .arg("--output")
        .arg(&path)
        .process_group(0)
        .spawn()
        .unwrap();
    // Let it get going (how far it gets does not matter), then Ctrl-C the whole group, as a
    // terminal does: the server child must not be hit, it is in a group of its own.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let group = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGINT).unwrap();
    let deadline = std::time::Instant::now() + common::RUN_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("loadgen did not stop after SIGINT");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130));
    let r = loadgen::RunResult::load(&path).expect("the result was written");
    assert!(
        r.passed,
        "an interrupt is not an error: {:?}",
        r.totals.errors
    );
    assert!(r.measured_s < 60.0);
    assert!(
        r.warnings.iter().any(|w| w.contains("interrupted")),
        "{:?}",
        r.warnings
    );
    let server = r.server.expect("server report");
    assert_eq!(server.exit_code, Some(0));
    let closed_by = server.stats.expect("server counters").closed_by;
    assert_eq!(
        closed_by.eof, 4,
        "clients closed, not the server: {closed_by:?}"
    );
}
