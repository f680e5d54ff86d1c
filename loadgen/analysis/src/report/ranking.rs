//! The sweep's ranking: per client count, the models ordered by msgs/s (higher is better), p99
//! and server CPU per message (lower is better), with tiers and which differences are
//! significant (`loadgen_inference::rank`, every pair tested, Holm-corrected over all of them at
//! α = 0.05). A tier starts at the first model that differs significantly from the current
//! tier's leader, so two models far apart are told apart even when every step between them is
//! too small to show on its own. The statements cover each adjacent pair and each tier boundary.
//!
//! A sweep interleaves its repeats (run 1 of every cell, then run 2, ...), so run k of one model
//! is paired with run k of another when every ranked cell has the same repeat indices; otherwise
//! the groups are compared unpaired.
//!
//! **Loadgen-bound rule.** A cell is loadgen-bound when loadgen reported itself saturated in any
//! repeat, or when, over its repeats, loadgen's median run-queue wait per message exceeds its CPU
//! time per message ([`LOADGEN_WAIT_RATIO`]): loadgen then spent longer waiting for a CPU than
//! running, so msgs/s and p99 measure loadgen's share of the machine, not the server. Such cells
//! are left out of the msgs/s and p99 rankings and listed with the reason. Server CPU per message
//! is the server's own cost per echo, so every cell stays in that ranking.
//! The A/A twin (`sweep --aa`) is never ranked: it is the model itself.

use std::collections::BTreeSet;

use loadgen_inference::{rank, BootstrapConfig, Direction, Group, PairScope, Pairing, RankConfig};
use results_model::result::RunResult;
use serde::{Deserialize, Serialize};

use super::cell::{CellStatus, CellSummary};
use super::samples::{RunSample, Samples};
use crate::sweep_dir::names::AA_LABEL;

/// Run-queue wait per message over CPU per message above which loadgen is the bottleneck.
pub const LOADGEN_WAIT_RATIO: f64 = 1.0;
/// Family-wise significance level of the ranking.
pub const ALPHA: f64 = 0.05;

/// One model's place in a ranking.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ranked {
    /// Model.
    pub model: String,
    /// Median over its repeats.
    pub median: f64,
    /// Tier, 1 = best; models in one tier could not be told apart.
    pub tier: usize,
}

/// The ranking of one metric at one client count.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricRanking {
    /// Client count.
    pub clients: usize,
    /// `msgs/s`, `p99` or `server CPU/msg`.
    pub metric: String,
    /// `paired` (by run index) or `unpaired`.
    pub pairing: String,
    /// Models best first.
    pub order: Vec<Ranked>,
    /// One sentence per adjacent pair (significant, or "no difference detected"), then one per
    /// tier boundary against the previous tier's leader.
    pub statements: Vec<String>,
    /// Cells left out, each with why.
    pub left_out: Vec<String>,
}

/// Why a cell's repeats make it loadgen-bound (see the module docs), if they do.
pub fn loadgen_bound(group: &[(String, RunResult)]) -> Option<String> {
    let saturated = group
        .iter()
        .filter(|(_, r)| r.loadgen_resources.saturated)
        .count();
    if saturated > 0 {
        return Some(format!(
            "loadgen saturated in {saturated} of {} runs",
            group.len()
        ));
    }
    let mut ratios: Vec<f64> = group
        .iter()
        .filter_map(|(_, r)| {
            let l = r.cost.as_ref()?.loadgen.as_ref()?;
            (l.cpu_ns_per_msg > 0.0).then(|| l.runqueue_wait_ns_per_msg / l.cpu_ns_per_msg)
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    let median = *ratios.get(ratios.len() / 2)?;
    (median > LOADGEN_WAIT_RATIO)
        .then(|| format!("loadgen run-queue wait {median:.1}× its CPU per message"))
}

/// A ranked metric: name, direction, per-run value, whether loadgen-bound cells are left out.
type Metric = (&'static str, Direction, fn(&RunSample) -> Option<f64>, bool);

const METRICS: [Metric; 3] = [
    (
        "msgs/s",
        Direction::HigherIsBetter,
        |r| Some(r.msgs_per_sec),
        true,
    ),
    ("p99", Direction::LowerIsBetter, |r| r.p99_us, true),
    (
        "server CPU/msg",
        Direction::LowerIsBetter,
        |r| r.server_cpu_ns_per_msg,
        false,
    ),
];

/// Every ranking of a sweep: per client count, per metric; none when cells have single runs.
pub fn rankings(cells: &[CellSummary], samples: &Samples) -> Vec<MetricRanking> {
    let clients: BTreeSet<usize> = cells.iter().map(|c| c.key.clients).collect();
    let mut out = Vec::new();
    for n in clients {
        for metric in &METRICS {
            if let Some(r) = rank_metric(cells, samples, n, metric) {
                out.push(r);
            }
        }
    }
    out
}

/// One metric at `clients`, when at least two cells with two or more runs can be ranked.
fn rank_metric(
    cells: &[CellSummary],
    samples: &Samples,
    clients: usize,
    &(name, direction, read, skip_bound): &Metric,
) -> Option<MetricRanking> {
    let mut groups = Vec::new();
    let mut indices = Vec::new();
    let mut left_out = Vec::new();
    for c in cells.iter().filter(|c| c.key.clients == clients) {
        if c.key.model.ends_with(AA_LABEL) || c.status == CellStatus::Skipped {
            continue;
        }
        if let (true, Some(why)) = (skip_bound, &c.loadgen_bound) {
            left_out.push(format!("{} ({why})", c.key.model));
            continue;
        }
        let mut runs: Vec<RunSample> = samples.get(&c.key).cloned().unwrap_or_default();
        runs.sort_by_key(|r| r.index);
        let values: Vec<(Option<usize>, f64)> = runs
            .iter()
            .filter_map(|r| Some((r.index, read(r).filter(|v| *v > 0.0)?)))
            .collect();
        if values.len() < 2 {
            continue;
        }
        indices.push(values.iter().map(|v| v.0).collect::<Vec<_>>());
        groups.push(Group {
            name: c.key.model.clone(),
            samples: values.iter().map(|v| v.1).collect(),
        });
    }
    if groups.len() < 2 {
        // Nothing to rank; say so when loadgen-bound cells are the reason.
        return (!left_out.is_empty()).then(|| MetricRanking {
            clients,
            metric: name.to_string(),
            pairing: "not ranked: fewer than two cells left".to_string(),
            order: Vec::new(),
            statements: Vec::new(),
            left_out,
        });
    }
    let paired = indices
        .iter()
        .all(|i| i == &indices[0] && i.iter().all(Option::is_some));
    let cfg = RankConfig {
        direction,
        pairing: if paired {
            Pairing::Paired
        } else {
            Pairing::Unpaired
        },
        scope: PairScope::All,
        alpha: ALPHA,
        bootstrap: BootstrapConfig::default(),
    };
    let ranking = rank(&groups, &cfg).ok()?;
    Some(MetricRanking {
        clients,
        metric: name.to_string(),
        pairing: if paired { "paired" } else { "unpaired" }.to_string(),
        order: ranking
            .groups
            .iter()
            .map(|g| Ranked {
                model: g.name.clone(),
                median: g.median,
                tier: g.tier,
            })
            .collect(),
        statements: statements(&ranking, name),
        left_out,
    })
}

/// The statements worth reading out of all pairs: each adjacent pair, then each tier boundary
/// (the new tier's first model against the previous tier's leader).
fn statements(ranking: &loadgen_inference::Ranking, metric: &str) -> Vec<String> {
    let g = &ranking.groups;
    let find = |better: &str, worse: &str| {
        ranking
            .pairs
            .iter()
            .find(|p| p.better == better && p.worse == worse)
    };
    let mut out: Vec<String> = g
        .windows(2)
        .filter_map(|w| find(&w[0].name, &w[1].name))
        .map(|p| statement(p, metric))
        .collect();
    let mut leader = 0;
    for pos in 1..g.len() {
        if g[pos].tier == g[pos - 1].tier {
            continue;
        }
        if let Some(p) = find(&g[leader].name, &g[pos].name).filter(|_| leader + 1 != pos) {
            out.push(format!(
                "tier {} starts at {}: {}",
                g[pos].tier,
                g[pos].name,
                statement(p, metric)
            ));
        }
        leader = pos;
    }
    out
}

/// `tokio ahead of mio: msgs/s −12.0% [−18.0%, −6.0%] (mio relative to tokio, Holm p = 0.012)`
/// or `tokio vs mio: no difference detected (…)`.
fn statement(p: &loadgen_inference::PairTest, metric: &str) -> String {
    let d = &p.delta;
    let pct = |f: f64| {
        let v = f * 100.0;
        if v < -0.05 {
            format!("\u{2212}{:.1}%", -v)
        } else {
            format!("+{:.1}%", v.abs())
        }
    };
    let delta = format!("{} [{}, {}]", pct(d.estimate), pct(d.low), pct(d.high));
    if p.significant {
        format!(
            "{} ahead of {}: {metric} {delta} ({} relative to {}, Holm p = {:.3})",
            p.better, p.worse, p.worse, p.better, p.p_adjusted
        )
    } else {
        format!(
            "{} vs {}: no difference detected ({metric} {delta}, Holm p = {:.2})",
            p.better, p.worse, p.p_adjusted
        )
    }
}
