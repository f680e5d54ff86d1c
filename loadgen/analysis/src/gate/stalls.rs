//! Pairs the machine stalled: in a duet both sides share whatever the machine does, and when it
//! stops both (another job takes every CPU for a while), both sides' msgs/s collapse together
//! and their CPU per message is made of fixed per-wake-up costs, not of the code's per-message
//! cost. Such a pair is left out of both metrics, named. A regression slows one side, never
//! both, so it cannot be left out this way; and a run that failed still fails the gate.

use std::collections::BTreeSet;

use super::record::RunPair;

/// A side whose msgs/s is under this share of the case's median ran stalled.
pub const STALL_SHARE: f64 = 0.25;

/// The pair numbers where both sides ran under [`STALL_SHARE`] of the median msgs/s of all the
/// case's runs.
pub fn stalled(pairs: &[RunPair]) -> BTreeSet<u32> {
    let mut rates: Vec<f64> = pairs
        .iter()
        .flat_map(|p| [p.base.msgs_per_sec, p.new.msgs_per_sec])
        .flatten()
        .filter(|r| r.is_finite())
        .collect();
    if rates.is_empty() {
        return BTreeSet::new();
    }
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    let slow = |rate: Option<f64>| rate.is_some_and(|r| r < STALL_SHARE * median);
    pairs
        .iter()
        .filter(|p| slow(p.base.msgs_per_sec) && slow(p.new.msgs_per_sec))
        .map(|p| p.pair)
        .collect()
}
