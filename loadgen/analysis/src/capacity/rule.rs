//! How one rate is decided from its runs: a strict majority of at most [`RUNS_PER_RATE`] runs,
//! stopping as soon as one side has [`MAJORITY`].
//!
//! Why a majority: a single short run on a shared machine can miss (a stall) or hold (a lull) by
//! chance. "Holds if any try holds" turns a rate that holds one run in three into a rate that
//! holds 70% of the time, so noise pushes the search up; "misses if any try misses" pushes it
//! down. A majority is symmetric: a rate whose runs hold with probability p is taken as held
//! with a probability above p only when p > ½, so the search settles where a run is as likely to
//! hold as to miss, the median run, whichever way the machine's noise falls. Loadgen's own
//! lateness counts as a miss: discarding those runs would drop exactly the runs where the load
//! (loadgen and server together) was too much, which biases upward again.

use results_model::capacity::{Probe, Slo};
use results_model::verdict::LateSide;

/// Most runs at one rate.
pub const RUNS_PER_RATE: usize = 3;
/// Runs that decide a rate: a strict majority of [`RUNS_PER_RATE`].
pub const MAJORITY: usize = RUNS_PER_RATE / 2 + 1;

/// The rule in the result line.
pub const RULE_SHORT: &str = "each rate decided by 2 of up to 3 runs";

/// The rule in words, as `--help`, the output and the JSON state it (a test keeps it in step
/// with [`MAJORITY`] and [`RUNS_PER_RATE`]).
pub const RULE: &str =
    "each rate is decided by a majority of its runs: it holds when 2 of up to 3 \
                        runs hold the SLO and misses when 2 miss (no third run once two agree)";

/// The runs at one rate so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Runs that held the SLO with loadgen on time.
    pub holds: usize,
    /// Runs that missed it (loadgen late or not).
    pub misses: usize,
    /// Of the misses, those where loadgen was the late side.
    pub loadgen_late: usize,
    /// The late side of the last miss loadgen was not late in.
    pub server_side: Option<LateSide>,
}

/// What a rate's runs decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// A majority held.
    Holds,
    /// A majority missed; loadgen is the late side only when it was late in every miss (the
    /// server may hold more), else the side the other misses named.
    Misses(Option<LateSide>),
}

impl Tally {
    /// Counts run `p`, judged against `slo`.
    pub fn record(&mut self, p: &Probe, slo: &Slo) {
        if p.holds(slo) {
            self.holds += 1;
        } else {
            self.misses += 1;
            if p.late_side == Some(LateSide::Loadgen) {
                self.loadgen_late += 1;
            } else {
                self.server_side = p.late_side;
            }
        }
    }

    /// The decision, once a side has a majority; `None` while another run is needed.
    pub fn decision(&self) -> Option<Decision> {
        if self.holds >= MAJORITY {
            return Some(Decision::Holds);
        }
        if self.misses >= MAJORITY {
            let late = if self.loadgen_late == self.misses {
                Some(LateSide::Loadgen)
            } else {
                self.server_side
            };
            return Some(Decision::Misses(late));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLO: Slo = Slo {
        percentile: 99.0,
        limit_us: 1000,
    };

    fn run(held: bool, late: Option<LateSide>) -> Probe {
        Probe {
            passed: late.is_none(),
            slo_value_us: if held { 500 } else { 5000 },
            late_side: late,
            ..Probe::default()
        }
    }

    fn decide(runs: &[Probe]) -> (Option<Decision>, usize) {
        let mut t = Tally::default();
        for (i, p) in runs.iter().enumerate() {
            t.record(p, &SLO);
            if let Some(d) = t.decision() {
                return (Some(d), i + 1);
            }
        }
        (None, runs.len())
    }

    #[test]
    fn two_of_three_decide_and_no_run_is_made_once_decided() {
        assert_eq!((MAJORITY, RUNS_PER_RATE), (2, 3), "RULE says 2 of up to 3");
        assert!(RULE.contains("2 of up to 3") && RULE_SHORT.contains("2 of up to 3"));
        let hold = run(true, None);
        let miss = run(false, Some(LateSide::Server));
        assert_eq!(
            decide(&[hold.clone(), hold.clone()]),
            (Some(Decision::Holds), 2)
        );
        let server = Some(Decision::Misses(Some(LateSide::Server)));
        assert_eq!(decide(&[miss.clone(), miss.clone()]), (server, 2));
        assert_eq!(
            decide(&[hold.clone(), miss.clone(), hold.clone()]),
            (Some(Decision::Holds), 3)
        );
        assert_eq!(
            decide(&[miss.clone(), hold.clone(), miss.clone()]),
            (server, 3)
        );
        assert_eq!(
            decide(&[hold, miss]),
            (None, 2),
            "one each: a third run decides"
        );
    }

    #[test]
    fn one_lucky_run_in_three_does_not_hold_a_rate() {
        // "Any of three" would hold this rate; the majority does not, whichever run is lucky.
        let hold = run(true, None);
        let miss = run(false, Some(LateSide::Server));
        for lucky in 0..RUNS_PER_RATE {
            let runs: Vec<Probe> = (0..RUNS_PER_RATE)
                .map(|i| {
                    if i == lucky {
                        hold.clone()
                    } else {
                        miss.clone()
                    }
                })
                .collect();
            assert!(
                matches!(decide(&runs).0, Some(Decision::Misses(_))),
                "lucky run {lucky}"
            );
        }
    }

    #[test]
    fn loadgen_is_the_late_side_only_when_late_in_every_miss() {
        let late = run(false, Some(LateSide::Loadgen));
        let server = run(false, Some(LateSide::Server));
        let d = decide(&[late.clone(), late.clone()]).0;
        assert_eq!(d, Some(Decision::Misses(Some(LateSide::Loadgen))));
        let d = decide(&[late, server]).0;
        assert_eq!(d, Some(Decision::Misses(Some(LateSide::Server))));
        // A run that passed but missed the objective names no side.
        let d = decide(&[run(false, None), run(false, None)]).0;
        assert_eq!(d, Some(Decision::Misses(None)));
    }

    #[test]
    fn a_late_loadgen_counts_as_a_miss_not_a_void_run() {
        let late = run(false, Some(LateSide::Loadgen));
        let hold = run(true, None);
        assert_eq!(
            decide(&[late.clone(), hold, late]).0,
            Some(Decision::Misses(Some(LateSide::Loadgen)))
        );
    }
}
