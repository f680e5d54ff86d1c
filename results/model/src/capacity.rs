//! The data of a capacity search under a latency SLO: the objective ([`Slo`]), each run of
//! the search ([`Probe`], a point of the curve) and the outcome ([`Capacity`]). The search
//! itself lives in the analysis crate.

use serde::{Deserialize, Serialize};

use crate::result::RunResult;
use crate::verdict::{LateSide, Verdict, LAG_SHARE};

/// A latency objective: `quantile` of the corrected latency at most `limit_us`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Slo {
    /// The percentile, e.g. 99.0 or 99.9.
    pub percentile: f64,
    /// Its limit, µs.
    pub limit_us: u64,
}

impl std::str::FromStr for Slo {
    type Err = String;

    /// Parses `p99=1ms`, `p99.9=500us`, `p50=2ms`.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("bad SLO {s:?}: expected e.g. p99=1ms or p99.9=500us");
        let (p, limit) = s.split_once('=').ok_or_else(bad)?;
        let percentile: f64 = p
            .trim()
            .strip_prefix('p')
            .ok_or_else(bad)?
            .parse()
            .map_err(|_| bad())?;
        if !(percentile > 0.0 && percentile < 100.0) {
            return Err(bad());
        }
        let limit = humantime::parse_duration(limit.trim()).map_err(|_| bad())?;
        let limit_us = u64::try_from(limit.as_micros()).map_err(|_| bad())?;
        if limit_us == 0 {
            return Err(bad());
        }
        Ok(Slo {
            percentile,
            limit_us,
        })
    }
}

impl std::fmt::Display for Slo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "p{}={}us", self.percentile, self.limit_us)
    }
}

/// Which part of the search a run belonged to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Growing the rate.
    Grow,
    /// Bisecting between a rate that held and one that did not.
    Bisect,
    /// The longer run at the rate found.
    Confirm,
}

/// One run of the search: a point of the curve.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Probe {
    /// `--rate` of the run.
    pub offered_rate: f64,
    /// Messages answered per second of the window.
    pub achieved_rate: f64,
    /// Corrected latency, µs.
    pub p50_us: u64,
    /// Corrected latency, µs.
    pub p99_us: u64,
    /// Corrected latency, µs.
    pub p99_9_us: u64,
    /// The SLO's percentile of the corrected latency, µs.
    pub slo_value_us: u64,
    /// p99 of loadgen's send lag, µs.
    pub send_lag_p99_us: u64,
    /// Which side was late, if one was.
    pub late_side: Option<LateSide>,
    /// Whether the corrected percentiles are lower bounds (censored messages).
    pub lower_bound: bool,
    /// Whether the run passed (no errors, not late, rate achieved).
    pub passed: bool,
    /// Part of the search (`null` before the search assigns it).
    pub phase: Option<Phase>,
}

impl Probe {
    /// The point of the curve a run gives, judged against `slo`.
    pub fn from_result(r: &RunResult, slo: &Slo) -> Probe {
        let slo_value_us = r.histograms.latency().map_or(r.latency_us.p99, |h| {
            h.value_at_quantile(slo.percentile / 100.0)
        });
        let ol = r.open_loop.as_ref();
        Probe {
            offered_rate: r.config.rate.unwrap_or(0.0),
            achieved_rate: ol.map_or(r.throughput.msgs_per_sec, |o| o.achieved_rate),
            p50_us: r.latency_us.p50,
            p99_us: r.latency_us.p99,
            p99_9_us: r.latency_us.p99_9,
            slo_value_us,
            send_lag_p99_us: ol.map_or(0, |o| o.send_lag.p99),
            late_side: late_for_slo(r, slo, slo_value_us),
            lower_bound: ol.is_some_and(|o| o.lower_bound),
            passed: r.passed || lag_immaterial_to_slo(r, slo, slo_value_us),
            phase: None,
        }
    }

    /// Whether this run held the SLO with loadgen on time.
    pub fn holds(&self, slo: &Slo) -> bool {
        self.passed && self.slo_value_us <= slo.limit_us
    }
}

/// Whether the run failed only because of loadgen's lag while that lag cannot have decided the
/// SLO. The verdict's lag rules compare the lag with the corrected p99 (tens of µs of wake-up lag
/// on an idle VM is a third of a 200 µs p99); the capacity question is only whether the lag could
/// move the SLO's decision. It cannot when it is below [`LAG_SHARE`] of the limit, nor when the
/// SLO held even so: the corrected latency counts from the intended send time, so lateness only
/// adds to it (and late sends arrive in bursts, which are harder on the server, not easier), and a
/// run that held with the lag in it holds without. Either way the run must be clean: no error, no
/// unanswered echo, and no rule but the lag rules fired (so ≥ 99% of the messages due were
/// answered, see `server-short`).
fn lag_immaterial_to_slo(r: &RunResult, slo: &Slo, slo_value_us: u64) -> bool {
    let clean = r.totals.errors.total() == 0 && r.totals.unanswered == 0;
    let lag = r.open_loop.as_ref().map_or(u64::MAX, |o| o.send_lag.p99);
    let held = slo_value_us <= slo.limit_us;
    r.verdict
        .as_ref()
        .is_some_and(|v| lag_immaterial(v, lag, clean && r.open_loop.is_some(), held, slo))
}

/// The rule of [`lag_immaterial_to_slo`] on its inputs: only lag rules fired, the run was clean
/// (`clean`: open loop, no error, no unanswered echo), and the lag's p99 is within [`LAG_SHARE`]
/// of the limit or the SLO `held` with the lag in the latency.
fn lag_immaterial(v: &Verdict, lag_p99_us: u64, clean: bool, held: bool, slo: &Slo) -> bool {
    let only_lag_rules = !v.rules.is_empty()
        && v.rules
            .iter()
            .all(|rule| rule == "loadgen-send-lag" || rule == "loadgen-run-queue");
    let small = (lag_p99_us as f64) <= LAG_SHARE * slo.limit_us as f64;
    only_lag_rules && clean && (small || held)
}

/// The late side as the capacity search sees it: none when the lag is immaterial to the SLO.
fn late_for_slo(r: &RunResult, slo: &Slo, slo_value_us: u64) -> Option<LateSide> {
    if lag_immaterial_to_slo(r, slo, slo_value_us) {
        return None;
    }
    r.verdict.as_ref().and_then(|v| v.late_side)
}

/// Where the search looks.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Bounds {
    /// First rate tried, msgs/s.
    pub min_rate: f64,
    /// Highest rate tried, msgs/s.
    pub max_rate: f64,
}

/// What limited the capacity found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    /// The SLO: the next rate up missed it (the server's capacity).
    Slo,
    /// loadgen was late at the next rate up: the server may hold more.
    Loadgen,
    /// The top of the search range held the SLO: capacity is at least this.
    MaxRate,
    /// Even the lowest rate missed the SLO.
    BelowMinRate,
    /// The longer confirmation runs missed at the rate the short runs found, so the rate
    /// backed off (by the search's back-off factor) to one they held.
    Confirm,
}

/// The outcome of a search.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Capacity {
    /// The SLO searched for.
    pub slo: Slo,
    /// The highest rate that held and was confirmed, msgs/s (`null`: none held).
    pub rate: Option<f64>,
    /// What stopped the search going higher.
    pub limit: Limit,
    /// Whether the long confirmation runs held at `rate`.
    pub confirmed: bool,
    /// The rate the short runs found, before confirmation (`null`: none held).
    #[serde(default)]
    pub found: Option<f64>,
    /// How each rate was decided from its runs, in words (e.g. "2 of up to 3 runs").
    #[serde(default)]
    pub rule: String,
    /// Every run, in the order made.
    pub curve: Vec<Probe>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slos_parse() {
        let s: Slo = "p99=1ms".parse().unwrap();
        assert_eq!((s.percentile, s.limit_us), (99.0, 1000));
        let s: Slo = "p99.9=250us".parse().unwrap();
        assert_eq!((s.percentile, s.limit_us), (99.9, 250));
        assert!("99=1ms".parse::<Slo>().is_err());
        assert!("p100=1ms".parse::<Slo>().is_err());
        assert!("p99=soon".parse::<Slo>().is_err());
    }

    fn fired(rules: &[&str]) -> Verdict {
        Verdict {
            trustworthy: false,
            late_side: Some(LateSide::Loadgen),
            rules: rules.iter().map(|r| r.to_string()).collect(),
            reasons: Vec::new(),
        }
    }

    #[test]
    fn loadgen_lag_below_a_tenth_of_the_limit_does_not_decide_the_slo() {
        let slo: Slo = "p99=1ms".parse().unwrap();
        let lag = fired(&["loadgen-send-lag"]);
        // 10% of 1 ms is 100 µs: at it the lag cannot move the decision, just above it it can.
        assert!(lag_immaterial(&lag, 100, true, false, &slo));
        assert!(!lag_immaterial(&lag, 101, true, false, &slo));
        let queue = fired(&["loadgen-run-queue"]);
        assert!(lag_immaterial(&queue, 40, true, false, &slo));
        let both = fired(&["loadgen-send-lag", "loadgen-run-queue"]);
        assert!(lag_immaterial(&both, 40, true, false, &slo));
        // A wider SLO tolerates more lag.
        let wide: Slo = "p99=10ms".parse().unwrap();
        assert!(lag_immaterial(&lag, 900, true, false, &wide));
    }

    #[test]
    fn an_slo_held_with_the_lag_in_the_latency_holds() {
        let slo: Slo = "p99=1ms".parse().unwrap();
        let lag = fired(&["loadgen-send-lag"]);
        // 400 µs of lag is material, but the corrected p99 held 1 ms with it included.
        assert!(lag_immaterial(&lag, 400, true, true, &slo));
        // A miss with that lag is loadgen's as much as the server's.
        assert!(!lag_immaterial(&lag, 400, true, false, &slo));
    }

    #[test]
    fn a_short_server_an_error_or_no_lag_rule_keeps_the_run_failed() {
        let slo: Slo = "p99=1ms".parse().unwrap();
        let short = fired(&["loadgen-send-lag", "server-short"]);
        assert!(!lag_immaterial(&short, 10, true, true, &slo));
        assert!(!lag_immaterial(&fired(&["ramp"]), 10, true, true, &slo));
        assert!(!lag_immaterial(&fired(&[]), 10, true, true, &slo));
        let lag = fired(&["loadgen-send-lag"]);
        assert!(!lag_immaterial(&lag, 10, false, true, &slo));
    }
}
