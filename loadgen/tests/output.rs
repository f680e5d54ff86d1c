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
