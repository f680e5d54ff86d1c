//! Sharded runs: the command line's shard and start-time checks, merge's refusals of inputs
//! that are not the shards of one run (crafted results, no sockets), and two real shards run
//! side by side against one server merging into one histogram.

mod common;
mod crafted;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime};

use loadgen::merge::{merge, merge_with_tolerance};
use loadgen::{RunConfig, RunResult};
use results_model::ShardSpec;

/// Shard `index` of `count` of a 10-client run whose window opened `offset_ms` after a common
/// instant.
fn shard(index: usize, count: usize, offset_ms: u64) -> (String, RunResult) {
    let mut r = crafted::result("mio", 10, 1000.0, 50);
    let whole: RunConfig = r.config.clone();
    r.config = whole.for_shard(ShardSpec::new(index, count).unwrap());
    r.window_start_unix_ns = Some(1_769_860_801_000_000_000 + offset_ms * 1_000_000);
    (format!("shard{index}.json"), r)
}

fn refusal(inputs: &[(String, RunResult)]) -> String {
    format!("{:#}", merge(inputs).expect_err("the merge is refused"))
}

#[test]
fn all_the_shards_of_one_run_merge_into_the_whole_run() {
    let inputs: Vec<_> = (0..3).map(|i| shard(i, 3, i as u64)).collect();
    let merged = merge(&inputs).unwrap();
    assert_eq!(merged.config.clients, 10);
    let s = merged.config.shard.expect("the merge records its shards");
    assert_eq!((s.index, s.count, s.total_clients), (None, 3, 10));
    assert_eq!(merged.totals.messages, 3 * inputs[0].1.totals.messages);
    assert_eq!(
        merged.window_start_unix_ns,
        inputs[0].1.window_start_unix_ns
    );
    let again = refusal(&[(String::from("merged.json"), {
        let mut m = merge(&inputs).unwrap();
        m.window_start_unix_ns = Some(1);
        m
    })]);
    assert!(again.contains("already the merge of 3 shards"), "{again}");
}

#[test]
fn open_loop_shards_sum_their_rates() {
    let inputs: Vec<_> = (0..3)
        .map(|i| {
            let (label, mut r) = shard(i, 3, 0);
            let mut whole = r.config.clone();
            whole.clients = 10;
            whole.shard = None;
            whole.rate = Some(900.0);
            r.config = whole.for_shard(ShardSpec::new(i, 3).unwrap());
            (label, r)
        })
        .collect();
    let rates: Vec<f64> = inputs.iter().map(|(_, r)| r.config.rate.unwrap()).collect();
    assert_eq!(rates, [360.0, 270.0, 270.0]);
    let merged = merge(&inputs).unwrap();
    assert_eq!(merged.config.rate, Some(900.0));
}

#[test]
fn a_shard_of_another_configuration_is_refused_naming_the_key() {
    let mut inputs: Vec<_> = (0..2).map(|i| shard(i, 2, 0)).collect();
    inputs[1].1.config.size = 128;
    let e = refusal(&inputs);
    assert!(
        e.contains("shard1.json is not a shard of the same run as shard0.json"),
        "{e}"
    );
    assert!(e.contains("config.size differs (128 against 64)"), "{e}");
    let mut inputs: Vec<_> = (0..2).map(|i| shard(i, 2, 0)).collect();
    inputs[1].1.config.seed = 7;
    assert!(refusal(&inputs).contains("config.seed differs"));
    // Worker threads are the host's own business.
    inputs[1].1.config.seed = inputs[0].1.config.seed;
    inputs[1].1.config.threads = 7;
    assert!(merge(&inputs).is_ok());
}

#[test]
fn shards_of_different_splits_are_refused() {
    let inputs = [shard(0, 2, 0), shard(1, 3, 0)];
    let e = refusal(&inputs);
    assert!(e.contains("config.shard.count differs"), "{e}");
}

#[test]
fn a_repeated_shard_is_refused() {
    let inputs = [shard(0, 2, 0), shard(0, 2, 0)];
    let e = refusal(&inputs);
    assert!(e.contains("are both shard 0 of 2"), "{e}");
}

#[test]
fn missing_shards_are_named() {
    let e = refusal(&[shard(0, 4, 0), shard(2, 4, 0)]);
    assert!(e.contains("shards 1, 3 of 4 missing (2 of 4 given)"), "{e}");
    let e = refusal(&[shard(1, 2, 0)]);
    assert!(e.contains("shard 0 of 2 missing"), "{e}");
}

#[test]
fn windows_further_apart_than_the_tolerance_are_refused() {
    let inputs = [shard(0, 2, 0), shard(1, 2, 20)];
    let e = refusal(&inputs);
    assert!(e.contains("windows opened 20.000 ms apart"), "{e}");
    assert!(e.contains("tolerance of 10.000 ms"), "{e}");
    assert!(merge_with_tolerance(&inputs, Duration::from_millis(25)).is_ok());
    let mut inputs = inputs;
    inputs[1].1.window_start_unix_ns = None;
    assert!(refusal(&inputs).contains("shard1.json records no window start"));
}

#[test]
fn open_and_closed_loop_never_mix() {
    let closed = (
        "closed.json".to_string(),
        crafted::result("mio", 4, 100.0, 50),
    );
    let mut open = (
        "open.json".to_string(),
        crafted::result("mio", 4, 100.0, 50),
    );
    open.1.config.rate = Some(100.0);
    let e = refusal(&[closed.clone(), open.clone()]);
    assert!(
        e.contains("open.json is open loop (--rate) and closed.json is closed loop"),
        "{e}"
    );
    // Side by side, open-loop runs merge with their rates summed.
    let mut beside = ("beside.json".to_string(), open.1.clone());
    beside.1.totals.messages += 1;
    let merged = merge(&[open.clone(), beside]).unwrap();
    assert_eq!(merged.config.rate, Some(200.0));
    assert_eq!(merged.config.shard, None);
    let e = refusal(&[shard(0, 1, 0), closed]);
    assert!(
        e.contains("shard0.json is a shard of a sharded run but closed.json is not"),
        "{e}"
    );
}

#[test]
fn the_merge_command_says_why_it_refuses() {
    let dir = crafted::scratch_dir("shard-refusal");
    let (_, a) = shard(0, 3, 0);
    let (_, b) = shard(2, 3, 0);
    let mut cmd = Command::new(common::loadgen_bin());
    cmd.arg("merge")
        .arg(crafted::write(&dir, "a.json", &a))
        .arg(crafted::write(&dir, "b.json", &b));
    let outcome = common::run_bounded(cmd);
    assert_eq!(outcome.code, Some(2), "{}", outcome.stderr);
    assert!(
        outcome.stderr.contains("shard 1 of 3 missing"),
        "{}",
        outcome.stderr
    );
}

/// loadgen with `args` and `env`, against nothing that listens: only argument checks run.
fn loadgen_refuses(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new(common::loadgen_bin());
    cmd.args(["--addr", "127.0.0.1:9", "--quiet", "--output", "-"])
        .args(args)
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("LOADGEN_SHARDS")
        .envs(env.iter().copied());
    let outcome = common::run_bounded(cmd);
    assert_eq!(
        outcome.code,
        Some(2),
        "{args:?} {env:?}: {}",
        outcome.stderr
    );
    outcome.stderr
}

#[test]
fn bad_shards_and_start_times_are_refused_before_the_run() {
    let e = loadgen_refuses(&["--start-at", "2020-01-01T00:00:00Z"], &[]);
    assert!(
        e.contains("--start-at 2020-01-01T00:00:00.000Z is already past"),
        "{e}"
    );
    let e = loadgen_refuses(&["--start-at", "yesterday"], &[]);
    assert!(e.contains("--start-at"), "{e}");
    let e = loadgen_refuses(&["--shard", "2/2"], &[]);
    assert!(e.contains("not below the shard count 2"), "{e}");
    let e = loadgen_refuses(&[], &[("JOB_COMPLETION_INDEX", "1")]);
    assert!(e.contains("LOADGEN_SHARDS is not"), "{e}");
    let e = loadgen_refuses(
        &[],
        &[("JOB_COMPLETION_INDEX", "3"), ("LOADGEN_SHARDS", "2")],
    );
    assert!(e.contains("not below the shard count 2"), "{e}");
    let e = loadgen_refuses(&["--clients", "1", "--shard", "0/2"], &[]);
    assert!(e.contains("cannot be split into 2 shards"), "{e}");
}

/// An echo server child on a loopback port the kernel picks, killed on drop.
struct EchoServer {
    child: Child,
    addr: String,
}

impl EchoServer {
    fn start() -> EchoServer {
        let mut child = Command::new(common::echo_server_bin())
            .args(["--model", "mio", "--addr", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("echo-server starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("echo-server prints its address");
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        EchoServer { child, addr }
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn two_real_shards_merge_into_one_histogram_with_aligned_windows() {
    let server = EchoServer::start();
    let start_at =
        humantime::format_rfc3339_millis(SystemTime::now() + Duration::from_secs(2)).to_string();
    let shard_cmd = |name: &str| {
        let mut cmd = Command::new(common::loadgen_bin());
        cmd.args(["--addr", &server.addr, "--clients", "5", "--threads", "1"])
            .args([
                "--warmup",
                "500ms",
                "--duration",
                "1s",
                "--start-at",
                &start_at,
            ])
            .args(["--quiet", "--output"])
            .arg(common::temp_path(name))
            .env_remove("JOB_COMPLETION_INDEX")
            .env_remove("LOADGEN_SHARDS");
        cmd
    };
    // Shard 0 by flag, shard 1 the way a Kubernetes Indexed Job names it.
    let mut first = shard_cmd("real-shard0.json");
    first.args(["--shard", "0/2"]);
    let mut second = shard_cmd("real-shard1.json");
    second.envs([("JOB_COMPLETION_INDEX", "1"), ("LOADGEN_SHARDS", "2")]);
    let first = std::thread::spawn(move || common::run_bounded(first));
    let second = common::run_bounded(second);
    let first = first.join().unwrap();
    for outcome in [&first, &second] {
        assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
    }
    let load = |name: &str| RunResult::load(&common::temp_path(name)).unwrap();
    let (a, b) = (load("real-shard0.json"), load("real-shard1.json"));
    assert_eq!((a.config.clients, b.config.clients), (3, 2));
    assert!(a.totals.messages > 0 && b.totals.messages > 0);

    let merged_path = common::temp_path("real-merged.json");
    let mut cmd = Command::new(common::loadgen_bin());
    cmd.arg("merge")
        .arg(common::temp_path("real-shard0.json"))
        .arg(common::temp_path("real-shard1.json"))
        .args(["--window-tolerance", "50ms", "-o"])
        .arg(&merged_path);
    let outcome = common::run_bounded(cmd);
    assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
    let merged = RunResult::load(&merged_path).unwrap();

    assert_eq!(
        merged.totals.messages,
        a.totals.messages + b.totals.messages
    );
    let mut combined = a.histograms.latency().unwrap();
    combined.add(&b.histograms.latency().unwrap());
    assert_eq!(merged.latency_us.p99, combined.summary().p99);
    assert_eq!(merged.histograms.latency().unwrap(), combined);
    assert_eq!(merged.config.clients, 5);
    let s = merged.config.shard.as_ref().unwrap();
    assert_eq!((s.index, s.count), (None, 2));

    windows_open_at(&start_at, [&a, &b]);
}

/// Both shards opened their windows at `--start-at` (within 50 ms), and together.
fn windows_open_at(start_at: &str, [a, b]: [&RunResult; 2]) {
    let wanted = humantime::parse_rfc3339(start_at)
        .unwrap()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let tolerance = 50_000_000u64;
    for r in [a, b] {
        let start = r
            .window_start_unix_ns
            .expect("the window start is recorded");
        assert!(
            start.abs_diff(wanted) <= tolerance,
            "{start} vs --start-at {wanted}"
        );
        assert!(r.window_end_unix_ns.unwrap() > start);
    }
    let starts = (
        a.window_start_unix_ns.unwrap(),
        b.window_start_unix_ns.unwrap(),
    );
    assert!(starts.0.abs_diff(starts.1) <= tolerance, "{starts:?}");
}

#[test]
fn clients_unconnected_when_the_window_opens_fail_the_run() {
    // A port nothing listens on: every connect is refused, so no client is connected in time.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let start_at =
        humantime::format_rfc3339_millis(SystemTime::now() + Duration::from_secs(1)).to_string();
    let args = [
        "--addr",
        &addr,
        "--clients",
        "2",
        "--warmup",
        "300ms",
        "--duration",
        "200ms",
        "--drain",
        "100ms",
        "--start-at",
        &start_at,
    ];
    let (outcome, result) = common::loadgen(&args, "unconnected.json");
    assert_eq!(outcome.code, Some(1), "{}", outcome.stderr);
    let result = result.expect("the result is still written");
    assert!(!result.passed);
    assert!(
        result
            .warnings
            .iter()
            .any(|w| w.contains("only 0 of 2 clients were connected when the window opened")),
        "{:?}",
        result.warnings
    );
}
