//! The search for the highest rate holding an SLO (see [`super`] for how it searches, and
//! [`super::rule`] for how each rate is decided).

use results_model::capacity::{Bounds, Capacity, Limit, Phase, Probe, Slo};
use results_model::verdict::LateSide;

use super::rule::{Decision, Tally, RULE, RUNS_PER_RATE};

/// Rate multiplier while growing.
pub const GROWTH: f64 = 2.0;
/// Bisection stops when the two rates are within this ratio of each other.
pub const PRECISION: f64 = 0.05;
/// A failed confirmation retries at this fraction of the rate: one step of the bisection's own
/// [`PRECISION`], so the rate confirmed lies as close below the edge as the search can tell.
pub const BACKOFF: f64 = 1.0 - PRECISION;
/// Most confirmation rates tried (each [`BACKOFF`] below the last): down to 0.70 of the rate
/// the short runs found.
pub const MAX_CONFIRMS: usize = 8;
/// Most rates decided by short runs (growth and bisection together), so a search always ends.
pub const MAX_RATES: usize = 24;

/// The rate that missed and which side was late there.
type Miss = (f64, Option<LateSide>);

/// Searches the highest rate holding `slo` within `bounds`; `probe(rate, phase)` makes one run.
pub fn search<F>(slo: Slo, bounds: Bounds, probe: F) -> anyhow::Result<Capacity>
where
    F: FnMut(f64, Phase) -> anyhow::Result<Probe>,
{
    let mut s = Search {
        slo,
        probe,
        rates: 0,
        curve: Vec::new(),
    };
    let (lo, hi) = s.grow(bounds)?;
    let Some(good) = lo else {
        let late = matches!(hi, Some((_, Some(LateSide::Loadgen))));
        let limit = if late {
            Limit::Loadgen
        } else {
            Limit::BelowMinRate
        };
        return Ok(s.outcome(None, None, limit));
    };
    let (found, hi) = s.bisect(good, hi)?;
    let (rate, confirmed) = s.confirm(found)?;
    let limit = match hi {
        _ if rate != found => Limit::Confirm,
        None => Limit::MaxRate,
        Some((_, Some(LateSide::Loadgen))) => Limit::Loadgen,
        Some(_) => Limit::Slo,
    };
    Ok(s.outcome(Some(found), confirmed.then_some(rate), limit))
}

/// A search under way: the objective, the run-maker, the rates decided and every run so far.
struct Search<F> {
    slo: Slo,
    probe: F,
    rates: usize,
    curve: Vec<Probe>,
}

impl<F> Search<F>
where
    F: FnMut(f64, Phase) -> anyhow::Result<Probe>,
{
    /// Decides `rate` for `phase` by the majority of [`super::rule`]: runs it until a side has
    /// a majority.
    fn decide(&mut self, rate: f64, phase: Phase) -> anyhow::Result<Decision> {
        if phase != Phase::Confirm {
            self.rates += 1;
        }
        let mut tally = Tally::default();
        for _ in 0..RUNS_PER_RATE {
            let mut p = (self.probe)(rate, phase)?;
            p.phase = Some(phase);
            tally.record(&p, &self.slo);
            self.curve.push(p);
            if let Some(d) = tally.decision() {
                return Ok(d);
            }
        }
        // A strict majority of RUNS_PER_RATE always decides; were it not, the rate misses.
        Ok(tally.decision().unwrap_or(Decision::Misses(None)))
    }

    /// From the lowest rate, multiplies by [`GROWTH`] until a rate misses or the top rate
    /// holds: the last rate that held and the first that missed.
    fn grow(&mut self, bounds: Bounds) -> anyhow::Result<(Option<f64>, Option<Miss>)> {
        let (mut lo, mut hi) = (None, None);
        let mut rate = bounds.min_rate;
        while self.rates < MAX_RATES {
            match self.decide(rate, Phase::Grow)? {
                Decision::Holds => {
                    lo = Some(rate);
                    if rate >= bounds.max_rate {
                        break;
                    }
                    rate = (rate * GROWTH).min(bounds.max_rate);
                }
                Decision::Misses(side) => {
                    hi = Some((rate, side));
                    break;
                }
            }
        }
        Ok((lo, hi))
    }

    /// Bisects geometrically between `good` and the miss `hi` down to [`PRECISION`].
    fn bisect(
        &mut self,
        mut good: f64,
        mut hi: Option<Miss>,
    ) -> anyhow::Result<(f64, Option<Miss>)> {
        while let Some((bad, _)) = hi {
            if bad / good <= 1.0 + PRECISION || self.rates >= MAX_RATES {
                break;
            }
            let mid = (good * bad).sqrt();
            match self.decide(mid, Phase::Bisect)? {
                Decision::Holds => good = mid,
                Decision::Misses(side) => hi = Some((mid, side)),
            }
        }
        Ok((good, hi))
    }

    /// Confirms `found` with longer runs decided by the same majority, backing off by
    /// [`BACKOFF`] while they miss: the last rate confirmed or tried, and whether it held.
    fn confirm(&mut self, found: f64) -> anyhow::Result<(f64, bool)> {
        let mut rate = found;
        for i in 0..MAX_CONFIRMS {
            if i > 0 {
                rate *= BACKOFF;
            }
            if self.decide(rate, Phase::Confirm)? == Decision::Holds {
                return Ok((rate, true));
            }
        }
        Ok((rate, false))
    }

    /// The outcome: the rate the short runs `found`, the `confirmed` one and the `limit`.
    fn outcome(self, found: Option<f64>, confirmed: Option<f64>, limit: Limit) -> Capacity {
        Capacity {
            slo: self.slo,
            rate: confirmed,
            limit,
            confirmed: confirmed.is_some(),
            found,
            rule: RULE.to_string(),
            curve: self.curve,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::rule::MAJORITY;
    use super::*;

    const SLO: Slo = Slo {
        percentile: 99.0,
        limit_us: 1000,
    };

    /// The search range of the tests that start at 1,000 msgs/s.
    const FROM_1K: Bounds = Bounds {
        min_rate: 1000.0,
        max_rate: 1e6,
    };

    /// A server of capacity `cap` msgs/s: latency rises as load approaches it (M/M/1-like)
    /// and explodes past it.
    fn server(cap: f64) -> impl FnMut(f64, Phase) -> anyhow::Result<Probe> {
        move |rate, _| {
            let rho = rate / cap;
            let p99 = if rho < 1.0 {
                (50.0 / (1.0 - rho)) as u64
            } else {
                5_000_000
            };
            Ok(Probe {
                offered_rate: rate,
                achieved_rate: rate.min(cap),
                p99_us: p99,
                slo_value_us: p99,
                passed: rho < 0.99,
                late_side: (rho >= 0.99).then_some(LateSide::Server),
                ..Probe::default()
            })
        }
    }

    #[test]
    fn finds_a_known_capacity_within_ten_percent() {
        for cap in [2_000.0, 17_500.0, 60_000.0] {
            let c = search(
                SLO,
                Bounds {
                    min_rate: 100.0,
                    max_rate: 1e6,
                },
                server(cap),
            )
            .unwrap();
            // The SLO (1 ms at 50 µs base) is met up to 95% of capacity.
            let knee = cap * 0.95;
            let r = c.rate.unwrap();
            assert!((r - knee).abs() / knee <= 0.10, "cap {cap}: found {r}");
            assert_eq!(c.limit, Limit::Slo);
            assert!(c.confirmed);
            assert!(c.curve.len() <= (MAX_RATES + MAX_CONFIRMS) * RUNS_PER_RATE);
            assert_eq!(c.found, Some(r));
            assert_eq!(c.curve.last().unwrap().phase, Some(Phase::Confirm));
        }
    }

    #[test]
    fn a_late_loadgen_is_named_as_the_limit() {
        let c = search(SLO, FROM_1K, |rate, _| {
            let late = rate > 5000.0;
            Ok(Probe {
                offered_rate: rate,
                slo_value_us: 100,
                passed: !late,
                late_side: late.then_some(LateSide::Loadgen),
                ..Probe::default()
            })
        })
        .unwrap();
        assert_eq!(c.limit, Limit::Loadgen);
        let r = c.rate.unwrap();
        assert!(r <= 5000.0 && r > 4500.0, "{r}");
    }

    #[test]
    fn a_failed_confirmation_backs_off_re_tests_and_says_so() {
        // The short runs hold up to 20,000 msgs/s; the longer runs only up to 17,000.
        let c = search(SLO, FROM_1K, |rate, phase| {
            let cap = if phase == Phase::Confirm {
                17_000.0
            } else {
                20_000.0
            };
            Ok(Probe {
                offered_rate: rate,
                slo_value_us: if rate <= cap { 100 } else { 5_000 },
                passed: true,
                ..Probe::default()
            })
        })
        .unwrap();
        let (found, rate) = (c.found.unwrap(), c.rate.unwrap());
        assert!(found > 19_000.0 && found <= 20_000.0, "{found}");
        // The first rate a step of BACKOFF at a time that the longer runs hold, and no lower.
        let steps = (0..MAX_CONFIRMS as i32)
            .find(|&k| found * BACKOFF.powi(k) <= 17_000.0)
            .expect("17,000 is within the confirmations' reach");
        assert!(steps >= 2, "{found}: more than one step back");
        assert!(
            (rate - found * BACKOFF.powi(steps)).abs() < 1e-6,
            "{rate} {found}"
        );
        assert_eq!(
            c.limit,
            Limit::Confirm,
            "the limit is the confirmation, not the SLO"
        );
        // The rate reported is the rate the last confirmation runs ran, and a majority held.
        let last: Vec<&Probe> = c
            .curve
            .iter()
            .rev()
            .take_while(|p| p.offered_rate == rate)
            .collect();
        assert!(last.iter().all(|p| p.phase == Some(Phase::Confirm)));
        assert!(last.iter().filter(|p| p.holds(&SLO)).count() >= MAJORITY);
        // Nothing confirmed at all: no rate, and still the confirmation named.
        let c = search(SLO, FROM_1K, |rate, phase| {
            Ok(Probe {
                offered_rate: rate,
                slo_value_us: if phase == Phase::Confirm { 5_000 } else { 100 },
                passed: true,
                ..Probe::default()
            })
        })
        .unwrap();
        assert_eq!(
            (c.rate, c.limit, c.confirmed),
            (None, Limit::Confirm, false)
        );
        let confirms = c
            .curve
            .iter()
            .filter(|p| p.phase == Some(Phase::Confirm))
            .count();
        assert_eq!(confirms, MAX_CONFIRMS * MAJORITY);
    }

    /// Runs of [`server`] made flaky: at a rate in `band`, the `n`th run there (counted per rate,
    /// from 0) flips its outcome when `flip(n)`.
    fn flaky(
        cap: f64,
        band: std::ops::Range<f64>,
        flip: impl Fn(usize) -> bool,
    ) -> impl FnMut(f64, Phase) -> anyhow::Result<Probe> {
        let mut inner = server(cap);
        let mut runs = std::collections::HashMap::new();
        move |rate, phase| {
            let mut p = inner(rate, phase)?;
            let n = runs.entry(rate.to_bits()).or_insert(0usize);
            if band.contains(&rate) && flip(*n) {
                let held = p.holds(&SLO);
                p.slo_value_us = if held { 5_000 } else { 100 };
                p.passed = true;
                p.late_side = None;
            }
            *n += 1;
            Ok(p)
        }
    }

    #[test]
    fn a_rate_that_holds_one_run_in_three_is_not_reported() {
        // Above its capacity of 10,000 the server holds one run in three by chance, whichever
        // run that is. "Any of three" would climb to 1e6; the majority stays below 10,000.
        for lucky in 0..RUNS_PER_RATE {
            let c = search(SLO, FROM_1K, flaky(10_000.0, 9_900.0..1e9, |n| n == lucky)).unwrap();
            let r = c.rate.unwrap();
            assert!(r <= 10_000.0, "lucky run {lucky}: {r}");
        }
    }

    #[test]
    fn a_fixture_missing_one_run_in_three_from_0_8r_is_found_between_0_8r_and_r() {
        const R: f64 = 10_000.0;
        for unlucky in 0..RUNS_PER_RATE {
            let c = search(SLO, FROM_1K, flaky(R, 0.8 * R..R, |n| n == unlucky)).unwrap();
            let r = c.rate.unwrap();
            assert!((0.8 * R..=R).contains(&r), "unlucky run {unlucky}: {r}");
        }
    }

    #[test]
    fn a_loadgen_hiccup_is_measured_again_not_taken_as_the_limit() {
        // Loadgen is late on the first try at every rate (a stall), on time on the next: the
        // search must find the server's own capacity, as if it had never been late.
        let mut seen = std::collections::HashSet::new();
        let mut inner = server(17_500.0);
        let c = search(SLO, FROM_1K, |rate, phase| {
            let first = seen.insert((rate.to_bits(), phase == Phase::Confirm));
            if first {
                return Ok(Probe {
                    offered_rate: rate,
                    slo_value_us: 5_000,
                    late_side: Some(LateSide::Loadgen),
                    ..Probe::default()
                });
            }
            inner(rate, phase)
        })
        .unwrap();
        let knee = 17_500.0 * 0.95;
        let r = c.rate.unwrap();
        assert!((r - knee).abs() / knee <= 0.10, "found {r}");
        assert_eq!(c.limit, Limit::Slo);
        // A loadgen late at every try still ends as loadgen's limit, after the retries.
        let c = search(SLO, FROM_1K, |rate, _| {
            Ok(Probe {
                offered_rate: rate,
                slo_value_us: 5_000,
                late_side: Some(LateSide::Loadgen),
                ..Probe::default()
            })
        })
        .unwrap();
        assert_eq!((c.rate, c.limit), (None, Limit::Loadgen));
        assert_eq!(c.curve.len(), MAJORITY);
    }

    #[test]
    fn a_one_off_miss_at_a_low_rate_does_not_end_the_growth() {
        // The first run at 4,000 msgs/s hits a stall of the machine; its retry holds.
        let mut stalled = false;
        let mut inner = server(60_000.0);
        let c = search(SLO, FROM_1K, |rate, phase| {
            if rate == 4000.0 && !stalled {
                stalled = true;
                return Ok(Probe {
                    offered_rate: rate,
                    slo_value_us: 3_000,
                    passed: true,
                    ..Probe::default()
                });
            }
            inner(rate, phase)
        })
        .unwrap();
        let r = c.rate.unwrap();
        assert!(r > 50_000.0, "found {r}");
    }

    #[test]
    fn nothing_holds_and_everything_holds() {
        let b = Bounds {
            min_rate: 100.0,
            max_rate: 1000.0,
        };
        let c = search(SLO, b, server(10.0)).unwrap();
        assert_eq!((c.rate, c.limit), (None, Limit::BelowMinRate));
        let c = search(SLO, b, server(1e9)).unwrap();
        assert_eq!((c.rate, c.limit), (Some(1000.0), Limit::MaxRate));
    }
}
