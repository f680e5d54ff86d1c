//! Whether the inputs of a merge belong together, and what the merged result says about them.
//!
//! Shards (results with `config.shard`) merge only as the complete set of one run: the same
//! configuration apart from the shard's own share (`clients`, `rate`, `shard.index`) and the
//! per-host `threads` and `pin`, every index from 0 to N-1 exactly once, and windows that
//! opened within a tolerance of each other. Results that are not shards merge only as runs made
//! side by side ([`side_by_side`]). Either way open-loop and closed-loop results never mix: one measures latency
//! from the intended send time, the other from the actual send.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::bail;
use results_model::config::RunConfig;
use results_model::result::RunResult;
use results_model::Shard;
use serde_json::Value;

use super::config_diff::first_difference;
use super::side_by_side;

/// Checks that `inputs` (label, result) can merge; returns the merged run's shard record when
/// they are the shards of one run, `None` when they are runs made side by side.
pub fn check(inputs: &[(String, RunResult)], tolerance: Duration) -> anyhow::Result<Option<Shard>> {
    check_loop_mode(inputs)?;
    let Some((first_label, first)) = inputs.first() else {
        return Ok(None);
    };
    let shard_of = |(label, r): &(String, RunResult)| (label.clone(), r.config.shard.clone());
    let shards: Vec<(String, Option<Shard>)> = inputs.iter().map(shard_of).collect();
    match (
        shards.iter().find(|(_, s)| s.is_some()),
        shards.iter().find(|(_, s)| s.is_none()),
    ) {
        (None, _) => return side_by_side::check(inputs).map(|()| None),
        (Some((a, _)), Some((b, _))) => bail!(
            "{a} is a shard of a sharded run but {b} is not: merge all the shards of one run, \
             or runs made side by side, not both"
        ),
        (Some(_), None) => {}
    }
    for (label, shard) in &shards {
        if let Some(Shard {
            index: None, count, ..
        }) = shard
        {
            bail!("{label} is already the merge of {count} shards");
        }
    }
    let base = comparable(&first.config);
    for (label, r) in &inputs[1..] {
        if let Some((key, a, b)) = first_difference("config", &base, &comparable(&r.config)) {
            bail!(
                "{label} is not a shard of the same run as {first_label}: {key} differs \
                 ({b} against {a})"
            );
        }
    }
    let whole = first
        .config
        .shard
        .clone()
        .expect("checked above: every input is a shard");
    check_indexes(&shards, whole.count)?;
    check_windows(inputs, tolerance)?;
    Ok(Some(Shard {
        index: None,
        ..whole
    }))
}

/// Refuses a mix of open-loop and closed-loop results.
fn check_loop_mode(inputs: &[(String, RunResult)]) -> anyhow::Result<()> {
    let open = inputs.iter().find(|(_, r)| r.config.is_open_loop());
    let closed = inputs.iter().find(|(_, r)| !r.config.is_open_loop());
    if let (Some((open, _)), Some((closed, _))) = (open, closed) {
        bail!(
            "{open} is open loop (--rate) and {closed} is closed loop: their latencies measure \
             different things (from the intended send time, from the actual send) and do not merge"
        );
    }
    Ok(())
}

/// A shard's configuration as the whole run's: what must be equal across its shards.
fn comparable(config: &RunConfig) -> Value {
    let mut c = config.clone();
    if let Some(shard) = &mut c.shard {
        c.clients = shard.total_clients;
        c.rate = shard.total_rate;
        shard.index = None;
    }
    // Per host: each shard sizes its own worker threads to its machine.
    c.threads = 0;
    c.pin = None;
    serde_json::to_value(&c).expect("a config serializes")
}

/// Every index `0 .. count` exactly once.
fn check_indexes(shards: &[(String, Option<Shard>)], count: usize) -> anyhow::Result<()> {
    let mut seen: BTreeMap<usize, &str> = BTreeMap::new();
    for (label, shard) in shards {
        let index = shard.as_ref().and_then(|s| s.index).unwrap_or_default();
        if let Some(other) = seen.insert(index, label) {
            bail!("{other} and {label} are both shard {index} of {count}: shards must be disjoint");
        }
    }
    let missing: Vec<String> = (0..count)
        .filter(|i| !seen.contains_key(i))
        .map(|i| i.to_string())
        .collect();
    if !missing.is_empty() {
        bail!(
            "shard{} {} of {count} missing ({} of {count} given): a merge needs every shard",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", "),
            seen.len()
        );
    }
    Ok(())
}

/// The windows opened within `tolerance` of each other.
fn check_windows(inputs: &[(String, RunResult)], tolerance: Duration) -> anyhow::Result<()> {
    let mut starts = Vec::with_capacity(inputs.len());
    for (label, r) in inputs {
        let Some(start) = r.window_start_unix_ns else {
            bail!("{label} records no window start (window_start_unix_ns): its window cannot be aligned");
        };
        starts.push((start, label));
    }
    starts.sort();
    let ((first, early), (last, late)) = (starts[0], starts[starts.len() - 1]);
    let spread = Duration::from_nanos(last - first);
    if spread > tolerance {
        bail!(
            "the shards' windows opened {:.3} ms apart ({early} first, {late} last), more than \
             the tolerance of {:.3} ms: start every shard with the same --start-at, or raise \
             --window-tolerance",
            spread.as_secs_f64() * 1e3,
            tolerance.as_secs_f64() * 1e3
        );
    }
    Ok(())
}

/// What the merged result records about its inputs: the summed rate, the outer edges of their
/// windows and, for shards, the whole run.
pub fn finish(out: &mut RunResult, inputs: &[(String, RunResult)], shard: Option<Shard>) {
    let rates: Option<Vec<f64>> = inputs.iter().map(|(_, r)| r.config.rate).collect();
    out.config.rate = rates.map(|r| r.iter().sum());
    let starts: Option<Vec<u64>> = inputs.iter().map(|(_, r)| r.window_start_unix_ns).collect();
    out.window_start_unix_ns = starts.and_then(|s| s.into_iter().min());
    let ends: Option<Vec<u64>> = inputs.iter().map(|(_, r)| r.window_end_unix_ns).collect();
    out.window_end_unix_ns = ends.and_then(|e| e.into_iter().max());
    if let Some(shard) = shard {
        // The shards' rates add up to the whole run's, which is the figure that was asked for.
        out.config.rate = shard.total_rate;
        out.config.clients = shard.total_clients;
        out.config.shard = Some(shard);
    }
}
