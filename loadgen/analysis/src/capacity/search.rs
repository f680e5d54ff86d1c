//! The search for the highest rate holding an SLO (see [`super`] for how it searches).

use results_model::capacity::{Bounds, Capacity, Limit, Phase, Probe, Slo};
use results_model::verdict::LateSide;

/// Rate multiplier while growing.
pub const GROWTH: f64 = 2.0;
/// Bisection stops when the two rates are within this ratio of each other.
pub const PRECISION: f64 = 0.05;
/// A failed confirmation retries at this fraction of the rate.
pub const BACKOFF: f64 = 0.9;
/// Most confirmation rates tried (each [`BACKOFF`] below the last).
pub const MAX_CONFIRMS: usize = 5;
/// Most short runs (growth and bisection together), so a search always ends.
pub const MAX_PROBES: usize = 40;
/// Extra tries at one rate when a run missed with loadgen the late side: that run measured a
/// hiccup of the load generator (a preempted worker, a host stall), not the server, so the rate
/// is measured again before the search takes it as a miss.
pub const LATE_RETRIES: usize = 2;
/// Extra tries at one rate after any other miss: one stall of a shared machine can push a
/// short run's p99 past the SLO at a rate the server holds easily, and a single miss ends the
/// growth. A rate misses only when every try missed.
pub const MISS_RETRIES: usize = 1;

/// The rate that failed and which side was late there.
type Miss = (f64, Option<LateSide>);

/// Searches the highest rate holding `slo` within `bounds`; `probe(rate, phase)` makes one run.
pub fn search<F>(slo: Slo, bounds: Bounds, probe: F) -> anyhow::Result<Capacity>
where
    F: FnMut(f64, Phase) -> anyhow::Result<Probe>,
{
    let mut s = Search {
        slo,
        probe,
        curve: Vec::new(),
    };
    let (lo, hi) = s.grow(bounds)?;
    let Some(good) = lo else {
        let late = matches!(hi, Some((_, Some(LateSide::Loadgen))));
        return Ok(Capacity {
            slo,
            rate: None,
            limit: if late {
                Limit::Loadgen
            } else {
                Limit::BelowMinRate
            },
            confirmed: false,
            curve: s.curve,
        });
    };
    let (good, hi) = s.bisect(good, hi)?;
    let limit = match hi {
        None => Limit::MaxRate,
        Some((_, Some(LateSide::Loadgen))) => Limit::Loadgen,
        Some(_) => Limit::Slo,
    };
    let (good, confirmed) = s.confirm(good)?;
    Ok(Capacity {
        slo,
        rate: confirmed.then_some(good),
        limit,
        confirmed,
        curve: s.curve,
    })
}

/// A search under way: the objective, the run-maker and every run so far.
struct Search<F> {
    slo: Slo,
    probe: F,
    curve: Vec<Probe>,
}

impl<F> Search<F>
where
    F: FnMut(f64, Phase) -> anyhow::Result<Probe>,
{
    /// Runs `rate` for `phase`, again after a miss while retries are left; the last try.
    fn run(&mut self, rate: f64, phase: Phase) -> anyhow::Result<Probe> {
        let mut tries = 0;
        loop {
            let mut p = (self.probe)(rate, phase)?;
            p.phase = Some(phase);
            self.curve.push(p.clone());
            let allowed = match p.late_side {
                Some(LateSide::Loadgen) => LATE_RETRIES,
                _ => MISS_RETRIES,
            };
            if p.holds(&self.slo) || tries >= allowed {
                return Ok(p);
            }
            tries += 1;
        }
    }

    /// From the lowest rate, multiplies by [`GROWTH`] until a rate misses or the top rate
    /// holds: the last rate that held and the first that missed.
    fn grow(&mut self, bounds: Bounds) -> anyhow::Result<(Option<f64>, Option<Miss>)> {
        let (mut lo, mut hi) = (None, None);
        let mut rate = bounds.min_rate;
        while self.curve.len() < MAX_PROBES {
            let p = self.run(rate, Phase::Grow)?;
            if p.holds(&self.slo) {
                lo = Some(rate);
                if rate >= bounds.max_rate {
                    break;
                }
                rate = (rate * GROWTH).min(bounds.max_rate);
            } else {
                hi = Some((rate, p.late_side));
                break;
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
            if bad / good <= 1.0 + PRECISION || self.curve.len() >= MAX_PROBES {
                break;
            }
            let mid = (good * bad).sqrt();
            let p = self.run(mid, Phase::Bisect)?;
            if p.holds(&self.slo) {
                good = mid;
            } else {
                hi = Some((mid, p.late_side));
            }
        }
        Ok((good, hi))
    }

    /// Confirms `good` with a longer run, backing off by [`BACKOFF`] while it misses: the last
    /// rate tried and whether it held.
    fn confirm(&mut self, mut good: f64) -> anyhow::Result<(f64, bool)> {
        for _ in 0..MAX_CONFIRMS {
            if self.run(good, Phase::Confirm)?.holds(&self.slo) {
                return Ok((good, true));
            }
            good *= BACKOFF;
        }
        Ok((good, false))
    }
}

#[cfg(test)]
mod tests {
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
            assert!(c.curve.len() <= MAX_PROBES + 2 + MAX_CONFIRMS * (1 + LATE_RETRIES));
            assert_eq!(c.curve.last().unwrap().phase, Some(Phase::Confirm));
        }
    }

    #[test]
    fn a_late_loadgen_is_named_as_the_limit_and_a_failed_confirm_backs_off() {
        let mut confirms = 0;
        let c = search(SLO, FROM_1K, |rate, phase| {
            let late = rate > 5000.0;
            // The first confirmation rate misses on both tries.
            let miss_confirm = phase == Phase::Confirm && confirms < 1 + MISS_RETRIES;
            if phase == Phase::Confirm {
                confirms += 1;
            }
            Ok(Probe {
                offered_rate: rate,
                slo_value_us: 100,
                passed: !late && !miss_confirm,
                late_side: late.then_some(LateSide::Loadgen),
                ..Probe::default()
            })
        })
        .unwrap();
        assert_eq!(c.limit, Limit::Loadgen);
        let r = c.rate.unwrap();
        assert!(r < 5000.0 * BACKOFF + 1.0 && r > 4000.0, "{r}");
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
        assert_eq!(c.curve.len(), 1 + LATE_RETRIES);
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
