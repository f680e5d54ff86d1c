//! Ranking k groups by median, with Holm-corrected significance between them and tiers of groups
//! that cannot be told apart.
//!
//! Groups are ordered best first by median. The pairs considered are either each adjacent pair in
//! that order, or all k(k − 1)/2 pairs; each gets a bootstrap Δ (paired when the groups' runs were
//! interleaved round by round, unpaired otherwise) whose p-values are corrected together with Holm
//! (1979). Tiers: with adjacent pairs, a new tier starts after each significant adjacent step; with
//! all pairs, a group starts a new tier when it differs significantly from the best group of the
//! current tier, so every member of a tier is indistinguishable from the tier's leader.
//!
//! The bootstrap's smallest p-value is 2/(B + 1), so B is raised, where needed, until that lies
//! well below Holm's strictest threshold α/m; otherwise many groups would make every difference
//! "not significant" by construction.

use serde::{Deserialize, Serialize};

use crate::bootstrap::BootstrapConfig;
use crate::compare::{compare, Delta, Direction, Pairing};
use crate::error::{check_open_unit, check_positive, Error};
use crate::holm::holm_adjust;
use crate::order_stats::median;

/// One group to rank: a name and its runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// Name, e.g. the concurrency model.
    pub name: String,
    /// One value per run, all positive.
    pub samples: Vec<f64>,
}

/// Which pairs of groups are tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PairScope {
    /// Neighbours in the ranked order only (k − 1 tests).
    Adjacent,
    /// Every pair (k(k − 1)/2 tests).
    All,
}

/// How to rank.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RankConfig {
    /// Which way the metric improves.
    pub direction: Direction,
    /// Whether runs pair up across groups (interleaved rounds).
    pub pairing: Pairing,
    /// Which pairs to test.
    pub scope: PairScope,
    /// Family-wise significance level after Holm correction.
    pub alpha: f64,
    /// Bootstrap settings; each pair draws from its own derived seed.
    pub bootstrap: BootstrapConfig,
}

/// One group's place in the ranking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankedGroup {
    /// Group name.
    pub name: String,
    /// Median of its runs.
    pub median: f64,
    /// Position, 1 = best.
    pub position: usize,
    /// Tier, 1 = best; equal tiers are not significantly different.
    pub tier: usize,
}

/// The test between two groups; Δ is `worse` relative to `better` (B = worse, A = better).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairTest {
    /// The group ranked higher.
    pub better: String,
    /// The group ranked lower.
    pub worse: String,
    /// Δ = worse/better − 1 with its interval (uncorrected).
    pub delta: Delta,
    /// Holm-adjusted p-value.
    pub p_adjusted: f64,
    /// Whether the adjusted p-value is below α.
    pub significant: bool,
}

/// A ranking: groups best first, the pair tests, and the tiers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ranking {
    /// Groups in ranked order.
    pub groups: Vec<RankedGroup>,
    /// The tested pairs.
    pub pairs: Vec<PairTest>,
    /// Names per tier, best tier first.
    pub tiers: Vec<Vec<String>>,
}

/// Ranks `groups` best first and marks which differences are significant.
pub fn rank(groups: &[Group], cfg: &RankConfig) -> Result<Ranking, Error> {
    check_open_unit(cfg.alpha, "alpha must lie strictly between 0 and 1")?;
    for g in groups {
        check_positive("ranked group", &g.samples, 1)?;
    }
    let medians: Vec<f64> = groups.iter().map(|g| median(&g.samples)).collect();
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by(|&i, &j| match cfg.direction {
        Direction::HigherIsBetter => medians[j].total_cmp(&medians[i]),
        Direction::LowerIsBetter => medians[i].total_cmp(&medians[j]),
    });
    let index_pairs = pair_indices(order.len(), cfg.scope);
    let boot = resolving_config(&cfg.bootstrap, index_pairs.len(), cfg.alpha);
    let mut deltas = Vec::with_capacity(index_pairs.len());
    for (n, &(i, j)) in index_pairs.iter().enumerate() {
        let (a, b) = (&groups[order[i]], &groups[order[j]]);
        deltas.push(compare(
            &a.samples,
            &b.samples,
            cfg.pairing,
            &boot.derive(n as u64),
        )?);
    }
    let p: Vec<f64> = deltas.iter().map(|d| d.p_value).collect();
    let adjusted = holm_adjust(&p);
    let significant: Vec<bool> = adjusted.iter().map(|&q| q < cfg.alpha).collect();
    let tier_of = assign_tiers(order.len(), cfg.scope, &index_pairs, &significant);
    let pairs = index_pairs
        .iter()
        .zip(deltas.into_iter().zip(adjusted))
        .zip(&significant)
        .map(|((&(i, j), (delta, p_adjusted)), &significant)| PairTest {
            better: groups[order[i]].name.clone(),
            worse: groups[order[j]].name.clone(),
            delta,
            p_adjusted,
            significant,
        })
        .collect();
    Ok(build_ranking(groups, &order, &medians, &tier_of, pairs))
}

/// `cfg` with enough resamples that the smallest bootstrap p-value, 2/(B + 1), can pass Holm's
/// strictest threshold α/m with room to spare; with too few, no pair could ever be significant.
fn resolving_config(cfg: &BootstrapConfig, tests: usize, alpha: f64) -> BootstrapConfig {
    let needed = (4.0 * tests as f64 / alpha).ceil() as usize;
    BootstrapConfig {
        resamples: cfg.resamples.max(needed),
        ..*cfg
    }
}

/// Pairs of ranked positions (i < j) to test.
fn pair_indices(k: usize, scope: PairScope) -> Vec<(usize, usize)> {
    match scope {
        PairScope::Adjacent => (1..k).map(|j| (j - 1, j)).collect(),
        PairScope::All => (0..k)
            .flat_map(|i| (i + 1..k).map(move |j| (i, j)))
            .collect(),
    }
}

/// Tier (from 1) of each ranked position; see the module docs for the rule.
fn assign_tiers(
    k: usize,
    scope: PairScope,
    pairs: &[(usize, usize)],
    significant: &[bool],
) -> Vec<usize> {
    let differs = |i: usize, j: usize| {
        pairs
            .iter()
            .zip(significant)
            .any(|(&p, &s)| s && p == (i, j))
    };
    let mut tiers = Vec::with_capacity(k);
    let (mut leader, mut tier) = (0, 1);
    for pos in 0..k {
        let reference = match scope {
            PairScope::Adjacent => pos.saturating_sub(1),
            PairScope::All => leader,
        };
        if pos > 0 && differs(reference, pos) {
            tier += 1;
            leader = pos;
        }
        tiers.push(tier);
    }
    tiers
}

/// Assembles the output structs from the ranked order.
fn build_ranking(
    groups: &[Group],
    order: &[usize],
    medians: &[f64],
    tier_of: &[usize],
    pairs: Vec<PairTest>,
) -> Ranking {
    let ranked: Vec<RankedGroup> = order
        .iter()
        .enumerate()
        .map(|(pos, &g)| RankedGroup {
            name: groups[g].name.clone(),
            median: medians[g],
            position: pos + 1,
            tier: tier_of[pos],
        })
        .collect();
    let n_tiers = tier_of.last().copied().unwrap_or(0);
    let tiers = (1..=n_tiers)
        .map(|t| {
            ranked
                .iter()
                .filter(|g| g.tier == t)
                .map(|g| g.name.clone())
                .collect()
        })
        .collect();
    Ranking {
        groups: ranked,
        pairs,
        tiers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(name: &str, level: f64) -> Group {
        // Interleaved rounds with a shared drift; each group has its own level and its own
        // run-to-run wobble (the wobble sequence is rotated by a per-name shift).
        let drift = [1.0, 1.03, 0.97, 1.01, 0.99, 1.02, 0.98, 1.0];
        let wobble = [0.0, 0.004, -0.003, 0.002, -0.001, 0.003, -0.002, 0.001];
        let shift = name.bytes().map(usize::from).sum::<usize>() % 8;
        let samples = drift
            .iter()
            .enumerate()
            .map(|(i, d)| level * d * (1.0 + wobble[(i + shift) % 8]))
            .collect();
        Group {
            name: name.to_owned(),
            samples,
        }
    }

    fn cfg(scope: PairScope) -> RankConfig {
        RankConfig {
            direction: Direction::HigherIsBetter,
            pairing: Pairing::Paired,
            scope,
            alpha: 0.05,
            bootstrap: BootstrapConfig::default(),
        }
    }

    #[test]
    fn clear_gaps_make_separate_tiers_and_ties_share_one() {
        let groups = [
            group("c", 80.0),
            group("a", 120.0),
            group("b", 120.3),
            group("d", 50.0),
        ];
        for scope in [PairScope::Adjacent, PairScope::All] {
            let r = rank(&groups, &cfg(scope)).unwrap();
            let names: Vec<&str> = r.groups.iter().map(|g| g.name.as_str()).collect();
            assert_eq!(names, ["b", "a", "c", "d"]);
            assert_eq!(
                r.tiers,
                vec![vec!["b", "a"], vec!["c"], vec!["d"]],
                "{scope:?}"
            );
            let first = &r.pairs[0];
            assert_eq!((first.better.as_str(), first.worse.as_str()), ("b", "a"));
            assert!(!first.significant);
        }
    }

    #[test]
    fn lower_is_better_reverses_the_order() {
        let groups = [group("slow", 3.0), group("fast", 1.0)];
        let c = RankConfig {
            direction: Direction::LowerIsBetter,
            ..cfg(PairScope::All)
        };
        let r = rank(&groups, &c).unwrap();
        assert_eq!(r.groups[0].name, "fast");
        assert!(r.pairs[0].significant);
        assert!(r.pairs[0].delta.estimate > 1.9);
    }

    #[test]
    fn holm_is_applied_across_the_pairs() {
        let groups = [group("a", 100.0), group("b", 90.0), group("c", 80.0)];
        let r = rank(&groups, &cfg(PairScope::All)).unwrap();
        assert_eq!(r.pairs.len(), 3);
        let raw: Vec<f64> = r.pairs.iter().map(|p| p.delta.p_value).collect();
        let adj: Vec<f64> = r.pairs.iter().map(|p| p.p_adjusted).collect();
        assert_eq!(adj, holm_adjust(&raw));
        assert!(adj.iter().zip(&raw).all(|(a, p)| a >= p));
    }

    #[test]
    fn many_pairs_get_enough_resamples() {
        let boot = resolving_config(&BootstrapConfig::default(), 66, 0.05);
        assert!(2.0 / (boot.resamples as f64 + 1.0) < 0.05 / 66.0);
        assert_eq!(
            resolving_config(&BootstrapConfig::default(), 3, 0.05).resamples,
            2_000
        );
    }

    #[test]
    fn empty_group_is_an_error() {
        let groups = [
            group("a", 1.0),
            Group {
                name: "e".into(),
                samples: vec![],
            },
        ];
        assert!(rank(&groups, &cfg(PairScope::Adjacent)).is_err());
    }
}
