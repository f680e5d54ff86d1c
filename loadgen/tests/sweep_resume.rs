//! A sweep cut off by SIGINT keeps its finished cells, and `sweep --resume` completes it with
//! every cell exactly once.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{echo_server_bin, loadgen_bin, run_bounded, temp_path, RUN_TIMEOUT};

const CELLS: [&str; 3] = [
    "mio-1c-64B-r1.json",
    "mio-2c-64B-r1.json",
    "mio-3c-64B-r1.json",
];

fn run_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("mio-") && n.ends_with(".json"))
        .collect();
    names.sort();
    names
}

#[test]
fn an_interrupted_sweep_resumes_to_every_cell_once() {
    let dir = temp_path("resume-sweep");
    let _ = std::fs::remove_dir_all(&dir);
    interrupt_after_the_first_cell(&dir);
    resume_to_every_cell(&dir);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Starts a sweep of CELLS into `dir` and sends SIGINT once the first cell is on disk.
fn interrupt_after_the_first_cell(dir: &Path) {
    let mut child = Command::new(loadgen_bin())
        .args(["sweep", "--models", "mio", "--clients", "1,2,3"])
        .args(["--duration", "300ms", "--warmup", "100ms", "--quiet"])
        .arg("--server-bin")
        .arg(echo_server_bin())
        .arg("--out")
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("loadgen starts");
    // Interrupt as soon as the first cell is on disk.
    let deadline = Instant::now() + RUN_TIMEOUT;
    while !dir.join(CELLS[0]).is_file() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        dir.join(CELLS[0]).is_file(),
        "the first cell never finished"
    );
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("signal loadgen");
    let status = common::wait_until(&mut child, deadline, "the interrupted sweep did not exit");
    let left = run_files(dir);
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("sweep.json")).unwrap()).unwrap();
    if status.code() == Some(130) {
        assert_eq!(record["interrupted"], true);
        assert!(left.len() < CELLS.len(), "{left:?}");
    } else {
        // The whole grid beat the signal: nothing to resume, but resuming must still work.
        println!("note: the sweep finished before SIGINT reached it ({status})");
    }
    assert!(left.contains(&CELLS[0].to_string()));
}

/// A resume that changes the grid is refused; one that does not completes every cell once,
/// keeping the finished ones.
fn resume_to_every_cell(dir: &Path) {
    let mut changed = Command::new(loadgen_bin());
    changed
        .args(["sweep", "--clients", "1,5", "--resume"])
        .arg(dir);
    let refused = run_bounded(changed);
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("--clients differs"),
        "{}",
        refused.stderr
    );

    let first_written = std::fs::metadata(dir.join(CELLS[0]))
        .and_then(|m| m.modified())
        .unwrap();
    let mut resume = Command::new(loadgen_bin());
    resume.args(["sweep", "--quiet", "--resume"]).arg(dir);
    let resumed = run_bounded(resume);
    assert_eq!(resumed.code, Some(0), "{}", resumed.stderr);
    assert_eq!(run_files(dir), CELLS.to_vec());
    let first_now = std::fs::metadata(dir.join(CELLS[0]))
        .and_then(|m| m.modified())
        .unwrap();
    assert_eq!(
        first_written, first_now,
        "the finished cell was kept, not rerun"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let cells = summary["cells"].as_array().unwrap();
    let clients: Vec<u64> = cells
        .iter()
        .map(|c| c["clients"].as_u64().unwrap())
        .collect();
    assert_eq!(clients, [1, 2, 3], "every cell exactly once");
    assert!(cells
        .iter()
        .all(|c| c["runs"].as_array().unwrap().len() == 1));
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("sweep.json")).unwrap()).unwrap();
    assert_eq!(record["interrupted"], false);
}
