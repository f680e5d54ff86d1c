//! The cost per message of a real run against a real server child: structural truths, no
//! timing figures.

mod common;

use common::{echo_server_bin, loadgen};
use loadgen::RunResult;

/// Whether per-thread schedstat can be read here; if not, says so for `test` and skips.
fn schedstat_or_skip(test: &str) -> bool {
    if std::path::Path::new("/proc/self/task").is_dir()
        && std::fs::read_to_string("/proc/self/schedstat").is_ok()
    {
        return true;
    }
    testkit::skip(
        testkit::facility::SCHEDSTAT,
        &format!("{test}: /proc/<pid>/task/*/schedstat is not available"),
    );
    false
}

/// A closed-loop run of `clients` against the `threads` model, `window` after `warmup`, that
/// must pass.
fn threads_run(clients: &str, window: &str, warmup: &str, out: &str) -> RunResult {
    let server = echo_server_bin().to_str().unwrap();
    let (outcome, result) = loadgen(
        &[
            "--model",
            "threads",
            "--server-bin",
            server,
            "--clients",
            clients,
            "--duration",
            window,
            "--warmup",
            warmup,
        ],
        out,
    );
    let r = result.unwrap_or_else(|| panic!("no result: {}", outcome.stderr));
    assert!(r.passed, "{:?}", r.warnings);
    r
}

/// One client in lock-step against the blocking thread-per-connection server. After each echo
/// the server thread goes straight back to `read()`, long before loadgen (woken from epoll)
/// can send the next message, so the thread blocks about once per message: at least half a
/// voluntary context switch per message, whatever the machine's speed. A cost reader that
/// summed the wrong threads, read the wrong field, or divided by the wrong count misses that.
#[test]
fn a_real_run_reports_the_cost_of_both_sides() {
    if !schedstat_or_skip("a_real_run_reports_the_cost_of_both_sides") {
        return;
    }
    let r = threads_run("1", "1s", "200ms", "cost.json");
    let cost = r.cost.as_ref().expect("a fresh run records its cost");
    let meta = r.meta.as_ref().expect("a fresh run records its meta");
    assert!(meta.argv.iter().any(|a| a == "threads"), "{:?}", meta.argv);
    assert!(meta.started_at < meta.ended_at);
    for (side, c) in [("server", &cost.server), ("loadgen", &cost.loadgen)] {
        let c = c
            .as_ref()
            .unwrap_or_else(|| panic!("{side}: no cost recorded"));
        assert_eq!(c.messages, r.totals.messages, "{side}");
        assert!(c.cpu_ns_per_msg > 0.0, "{side}: {c:?}");
        assert!(
            c.user_ns_per_msg >= 0.0 && c.sys_ns_per_msg >= 0.0,
            "{side}: {c:?}"
        );
        let sum = c.user_ns_per_msg + c.sys_ns_per_msg;
        assert!(
            (sum - c.cpu_ns_per_msg).abs() <= 1e-6 * c.cpu_ns_per_msg.max(1.0),
            "{side}: user + sys = {sum}, total {}",
            c.cpu_ns_per_msg
        );
        // The samples bracket the 1 s window: never far inside it, at most a loaded
        // machine's scheduling delay beyond it.
        let interval_s = c.interval_ns as f64 / 1e9;
        assert!(
            (0.5..=3.0).contains(&interval_s),
            "{side}: sampled over {interval_s}s for a 1s window"
        );
        assert!(c.runqueue_wait_ns_per_msg >= 0.0 && c.invol_ctx_switches_per_msg >= 0.0);
    }
    let server_cost = cost.server.as_ref().unwrap();
    assert!(
        server_cost.vol_ctx_switches_per_msg >= 0.5,
        "a blocking server in lock-step blocks about once per message: {server_cost:?}"
    );
}

/// A thread per connection ends when its client closes. Loadgen closes no socket before it has
/// read the server's counters at the window's end, so none of 300 connection threads can be
/// gone when they are read: their context switches would be lost. Without that wait, the
/// closed loop's drain ends within a round trip, while reading 300 threads' counters takes
/// several milliseconds, and threads exit under the reader.
#[test]
fn no_connection_thread_exits_before_the_window_end_is_read() {
    if !schedstat_or_skip("no_connection_thread_exits_before_the_window_end_is_read") {
        return;
    }
    let r = threads_run("300", "1s", "300ms", "cost-300.json");
    let server_cost = r
        .cost
        .as_ref()
        .and_then(|c| c.server.as_ref())
        .expect("server cost");
    assert_eq!(
        server_cost.threads_exited, 0,
        "connection threads exited before the window's end was read: {server_cost:?}"
    );
}
