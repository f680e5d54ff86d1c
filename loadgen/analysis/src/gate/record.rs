//! The gate's record: one line of JSON per run, as `loadgen gate` writes them into `BASE.jsonl`
//! and `NEW.jsonl`, and their pairing by case (model and configuration) and pair number.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

/// One run of one side (base or new) of the gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateRecord {
    /// "base" or "new".
    pub side: String,
    /// The concurrency model the run drove.
    pub model: String,
    /// The configuration it ran in, when not the default one (e.g. `unpinned, 2 workers`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub config: String,
    /// Pair number: a base and a new run with the same model and pair ran back to back.
    pub pair: u32,
    /// 0 when this side ran first in its pair, 1 when second.
    #[serde(default)]
    pub order: u32,
    /// Server CPU time per echoed message, ns (absent when the run measured none).
    pub cpu_ns_per_msg: Option<f64>,
    /// Echoed messages per second.
    pub msgs_per_sec: Option<f64>,
    /// Whether the run echoed every message intact with no failed connection.
    pub passed: bool,
    /// Why the run failed (lost or corrupted echoes, a failed connection, no result), when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

impl GateRecord {
    /// The case this run belongs to, as verdicts and the failures file name it: the model, and
    /// its configuration in brackets when it has one (`tokio [unpinned, 2 workers]`).
    pub fn case(&self) -> String {
        case_label(&self.model, &self.config)
    }
}

/// `model`, or `model [config]`.
pub fn case_label(model: &str, config: &str) -> String {
    if config.is_empty() {
        model.to_string()
    } else {
        format!("{model} [{config}]")
    }
}

/// A base run and a new run of one model, made back to back.
#[derive(Debug, Clone, PartialEq)]
pub struct RunPair {
    /// Pair number.
    pub pair: u32,
    /// The base side's run.
    pub base: GateRecord,
    /// The new side's run.
    pub new: GateRecord,
}

/// Reads a JSONL file of gate records; blank lines are skipped, anything else malformed is an
/// error naming the line.
pub fn read_jsonl(path: &Path) -> anyhow::Result<Vec<GateRecord>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line)
                .with_context(|| format!("{}:{}: not a gate record", path.display(), i + 1))
        })
        .collect()
}

/// Joins base and new records on (case, pair); per case, pairs in pair order. A case or pair
/// present on one side only, or a pair given twice, is an error: the sides must come from one
/// interleaved job.
pub fn pair_up(
    base: &[GateRecord],
    new: &[GateRecord],
) -> anyhow::Result<BTreeMap<String, Vec<RunPair>>> {
    let index = |records: &[GateRecord], what: &str| {
        let mut map = BTreeMap::new();
        for r in records {
            if map.insert((r.case(), r.pair), r.clone()).is_some() {
                bail!("{what}: {} pair {} appears twice", r.case(), r.pair);
            }
        }
        Ok(map)
    };
    let base = index(base, "BASE")?;
    let mut new = index(new, "NEW")?;
    let mut by_model: BTreeMap<String, Vec<RunPair>> = BTreeMap::new();
    for ((model, pair), b) in base {
        let Some(n) = new.remove(&(model.clone(), pair)) else {
            bail!("{model} pair {pair} has a BASE run but no NEW run");
        };
        by_model.entry(model).or_default().push(RunPair {
            pair,
            base: b,
            new: n,
        });
    }
    if let Some((model, pair)) = new.keys().next() {
        bail!("{model} pair {pair} has a NEW run but no BASE run");
    }
    Ok(by_model)
}
