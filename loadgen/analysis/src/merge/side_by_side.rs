//! Whether results that are not shards are one run: made side by side, by several loadgens
//! driving the same server at the same time. Refused, each with its reason:
//!
//! - the same input twice (the same file, or a copy: same start, window and totals);
//! - windows that do not overlap (runs made one after the other, or with no window recorded);
//! - another target (address, or the server loadgen started, its model and arguments);
//! - another configuration, apart from each loadgen's share of the load (`clients`, `rate`),
//!   its own worker threads and pinning (`threads`, `pin`), its seed and its `start_at`.
//!
//! Throughputs of such runs add up because the runs overlapped against one server; anything
//! else summed would be a figure no single run measured.

use anyhow::bail;
use results_model::config::RunConfig;
use results_model::result::RunResult;
use serde_json::Value;

use super::config_diff::first_difference;

/// Checks that `inputs` (label, result), none a shard, are one run made side by side.
pub fn check(inputs: &[(String, RunResult)]) -> anyhow::Result<()> {
    let Some((first_label, first)) = inputs.first() else {
        return Ok(());
    };
    check_duplicates(inputs)?;
    check_windows(inputs)?;
    let base = comparable(&first.config);
    for (label, r) in &inputs[1..] {
        if r.target_addr != first.target_addr {
            bail!(
                "{label} drove {} but {first_label} drove {}: runs against different servers \
                 are not one run",
                r.target_addr,
                first.target_addr
            );
        }
        if let Some((key, a, b)) = first_difference("config", &base, &comparable(&r.config)) {
            bail!(
                "{label} is not the same run as {first_label}: {key} differs ({b} against {a}); \
                 only clients, rate, threads, pin, seed and start_at may differ"
            );
        }
    }
    Ok(())
}

/// The same input given twice: the same label, or the same start, window and totals.
fn check_duplicates(inputs: &[(String, RunResult)]) -> anyhow::Result<()> {
    for (i, (a_label, a)) in inputs.iter().enumerate() {
        for (b_label, b) in &inputs[i + 1..] {
            if a_label == b_label {
                bail!("{a_label} is given twice: a merge of a run with itself counts it twice");
            }
            let same = a.started_at == b.started_at
                && a.window_start_unix_ns == b.window_start_unix_ns
                && a.window_end_unix_ns == b.window_end_unix_ns
                && a.totals == b.totals;
            if same {
                bail!(
                    "{a_label} and {b_label} are the same run (same start, window and totals): \
                     a duplicate input counts its messages twice"
                );
            }
        }
    }
    Ok(())
}

/// Every pair of windows overlaps: the runs loaded the server at the same time.
fn check_windows(inputs: &[(String, RunResult)]) -> anyhow::Result<()> {
    let mut windows = Vec::with_capacity(inputs.len());
    for (label, r) in inputs {
        let (Some(start), Some(end)) = (r.window_start_unix_ns, r.window_end_unix_ns) else {
            bail!(
                "{label} records no measured window (window_start_unix_ns, window_end_unix_ns): \
                 it cannot be shown to have run at the same time as the others"
            );
        };
        windows.push((label, start, end));
    }
    let latest_start = windows
        .iter()
        .max_by_key(|w| w.1)
        .expect("one input at least");
    let earliest_end = windows
        .iter()
        .min_by_key(|w| w.2)
        .expect("one input at least");
    if latest_start.1 >= earliest_end.2 {
        bail!(
            "the windows do not overlap: {} ended {:.3} s before {} started; runs made one \
             after the other are not one run (their msgs/s do not add up)",
            earliest_end.0,
            (latest_start.1 - earliest_end.2) as f64 / 1e9,
            latest_start.0
        );
    }
    Ok(())
}

/// The configuration with each loadgen's own share and settings taken out.
fn comparable(config: &RunConfig) -> Value {
    let mut c = config.clone();
    c.clients = 0;
    c.rate = None;
    c.threads = 0;
    c.pin = None;
    c.seed = 0;
    c.start_at = None;
    serde_json::to_value(&c).expect("a config serializes")
}
