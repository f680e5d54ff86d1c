//! The judging of a run by the rules of [`crate::verdict`]: which side, if any, was late.

use crate::config::RunConfig;
use crate::format;
use crate::histogram::Percentiles;
use crate::open_loop::{OpenLoopReport, PaceMode};
use crate::result::Totals;
use crate::verdict::{
    LateSide, Verdict, ACHIEVED_SHARE, LAG_SHARE, RESOLUTION_US, RUN_QUEUE_LAG_SHARE,
    RUN_QUEUE_SHARE, UNSTAMPED_SHARE,
};

/// Judges a run from its totals, corrected latency and open-loop report.
pub fn judge(
    config: &RunConfig,
    totals: &Totals,
    latency: &Percentiles,
    open_loop: Option<&OpenLoopReport>,
) -> Verdict {
    let mut v = Verdict {
        trustworthy: true,
        ..Verdict::default()
    };
    let clients = config.clients as u64;
    let c = &totals.connections;
    if c.attempted < clients || c.connected_at_window_start < clients {
        v.fire(
            "ramp",
            None,
            format!(
                "the load was not all there: {} of {clients} clients attempted, {} connected \
                 when the window opened",
                c.attempted, c.connected_at_window_start
            ),
        );
    }
    let Some(ol) = open_loop else {
        return v;
    };
    judge_lag(&mut v, latency, ol);
    judge_reads(&mut v, totals, latency, ol);
    judge_shortfall(&mut v, totals, ol);
    // Judged last: a thread that waited for a CPU names loadgen only when nothing above
    // already explains the figures, and only if its sends were late at all.
    let some_lag = beyond_share(ol.send_lag.p99, RUN_QUEUE_LAG_SHARE, latency.p99);
    if ol.loadgen_run_queue_share > RUN_QUEUE_SHARE && some_lag {
        v.fire(
            "loadgen-run-queue",
            Some(LateSide::Loadgen),
            format!(
                "loadgen was late: a worker thread waited for a CPU {:.0}% of the window \
                 (limit {:.0}%)",
                ol.loadgen_run_queue_share * 100.0,
                RUN_QUEUE_SHARE * 100.0
            ),
        );
    }
    if ol.clock_steps > 0 {
        v.fire(
            "clock-step",
            None,
            format!(
                "the system clock stepped {} times during the run: receive stamps near a step \
                 are misplaced by its size; rerun with the clock steady",
                ol.clock_steps
            ),
        );
    }
    v
}

/// Whether a delay of `delay_us` is more than `share` of the latency `latency_us` it inflates,
/// to within [`RESOLUTION_US`]: every lag rule compares this way.
fn beyond_share(delay_us: u64, share: f64, latency_us: u64) -> bool {
    delay_us as f64 > share * latency_us as f64 + RESOLUTION_US
}

/// The `loadgen-send-lag` rule: the send lag is a large share of the latency it inflates.
fn judge_lag(v: &mut Verdict, latency: &Percentiles, ol: &OpenLoopReport) {
    let lag = ol.send_lag.p99;
    if !beyond_share(lag, LAG_SHARE, latency.p99) {
        return;
    }
    v.fire(
        "loadgen-send-lag",
        Some(LateSide::Loadgen),
        format!(
            "loadgen was late: its p99 send lag ({}) is more than {:.0}% of the corrected p99 \
             ({}), so the latency is partly loadgen's own; {}",
            format::duration_us(lag as f64),
            LAG_SHARE * 100.0,
            format::duration_us(latency.p99 as f64),
            lag_advice(ol)
        ),
    );
}

/// Send lags needed before their p99.9 is read: below this it is a handful of messages.
const TAIL_MIN_COUNT: u64 = 1_000;

/// A caveat for the tail when the p99 rule passed but the p99.9 send lag is a large share of
/// the corrected p99.9: a few messages sent very late make the reported tail loadgen's own,
/// which the p99 rule cannot see. `None` when the tail is clear, or the p99 rule fired (its
/// reason already covers the tail), or too few lags were measured.
pub fn tail_lag_caveat(latency: &Percentiles, ol: &OpenLoopReport) -> Option<String> {
    let p99_late = beyond_share(ol.send_lag.p99, LAG_SHARE, latency.p99);
    let tail = ol.send_lag.p99_9;
    let tail_late = beyond_share(tail, LAG_SHARE, latency.p99_9);
    if p99_late || !tail_late || ol.send_lag.count < TAIL_MIN_COUNT {
        return None;
    }
    Some(format!(
        "the latency tail beyond p99 is partly loadgen's own: its p99.9 send lag ({}) is more \
         than {:.0}% of the corrected p99.9 ({}), so read p99.9 and above as an upper bound on \
         the server's (p99 and below passed the lag rule)",
        format::duration_us(tail as f64),
        LAG_SHARE * 100.0,
        format::duration_us(latency.p99_9 as f64)
    ))
}

/// What to change for less send lag. Batched workers are late by the wait for a tick, so the
/// cure is more workers or shorter ticks; precise workers are late when they lose the CPU, so
/// the cure is fewer workers competing with the server for it.
fn lag_advice(ol: &OpenLoopReport) -> String {
    match &ol.pacing {
        Some(p) if p.mode == PaceMode::Batched => format!(
            "the workers batched their sends on {} ticks ({}), so a message waited up to a \
             tick: use a shorter --tick, more --threads so each worker can wake once per \
             message, or a lower --rate",
            format::duration_us(p.tick_us),
            p.reason
        ),
        _ => "use fewer --threads, --pin it away from the server, or a lower --rate".to_string(),
    }
}

/// The `loadgen-read-delay` rule: echoes read without a kernel stamp are timed at the read,
/// so loadgen's read delay enters their latency.
fn judge_reads(v: &mut Verdict, totals: &Totals, latency: &Percentiles, ol: &OpenLoopReport) {
    let share = ol.unstamped_reads as f64 / totals.messages.max(1) as f64;
    if share <= UNSTAMPED_SHARE {
        return;
    }
    let delay = ol.read_delay.p99;
    let unknown = ol.read_delay.count == 0;
    if !unknown && !beyond_share(delay, LAG_SHARE, latency.p99) {
        return;
    }
    let how_late = if unknown {
        "and no read carried one, so loadgen's read delay is unknown".to_string()
    } else {
        format!(
            "and loadgen's p99 read delay ({}) is more than {:.0}% of the corrected p99 ({})",
            format::duration_us(delay as f64),
            LAG_SHARE * 100.0,
            format::duration_us(latency.p99 as f64)
        )
    };
    v.fire(
        "loadgen-read-delay",
        Some(LateSide::Loadgen),
        format!(
            "loadgen read late: {:.1}% of the echoes had no kernel receive stamp and were \
             timed at the read, {how_late}",
            share * 100.0
        ),
    );
}

/// The `server-short` rule: fewer than [`ACHIEVED_SHARE`] of the messages due were answered.
fn judge_shortfall(v: &mut Verdict, totals: &Totals, ol: &OpenLoopReport) {
    let due = totals.messages + ol.censored;
    let answered = if due == 0 {
        1.0
    } else {
        totals.messages as f64 / due as f64
    };
    if answered < ACHIEVED_SHARE {
        let loadgen = v.late_side == Some(LateSide::Loadgen);
        let who = if loadgen {
            "loadgen sent late (see above)"
        } else if ol.loadgen_run_queue_share > RUN_QUEUE_SHARE {
            "the server answered late, and loadgen too waited for a CPU (see below): the \
             machine is overloaded, so the rate says little about the server alone"
        } else {
            "the server answered late and its backlog of unanswered messages grew, while \
             loadgen sent on time"
        };
        v.fire(
            "server-short",
            (!loadgen).then_some(LateSide::Server),
            format!(
                "achieved {} msgs/s of the {} asked for ({:.1}% of the messages due were \
                 answered by the deadline): {who}; {} censored, percentiles are lower bounds",
                format::count(ol.achieved_rate),
                format::count(ol.offered_rate),
                answered * 100.0,
                format::count(ol.censored as f64)
            ),
        );
    }
}

impl Verdict {
    fn fire(&mut self, rule: &str, side: Option<LateSide>, reason: String) {
        self.trustworthy = false;
        if self.late_side.is_none() {
            self.late_side = side;
        }
        self.rules.push(rule.to_string());
        self.reasons.push(reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::open_loop::Pacing;

    fn setup(messages: u64, censored: u64, lag_p99: u64, p99: u64) -> Verdict {
        let config = RunConfig {
            rate: Some(1000.0),
            ..RunConfig::new("mio", 10)
        };
        let mut totals = Totals {
            messages,
            ..Totals::default()
        };
        totals.connections.attempted = 10;
        totals.connections.connected_at_window_start = 10;
        let ol = OpenLoopReport {
            offered_rate: 1000.0,
            achieved_rate: messages as f64,
            censored,
            send_lag: Percentiles {
                p99: lag_p99,
                ..Percentiles::default()
            },
            ..OpenLoopReport::default()
        };
        let latency = Percentiles {
            p99,
            ..Percentiles::default()
        };
        judge(&config, &totals, &latency, Some(&ol))
    }

    #[test]
    fn on_time_and_complete_is_trustworthy() {
        let v = setup(1000, 0, 20, 300);
        assert!(v.trustworthy && v.late_side.is_none(), "{v:?}");
        assert!(setup(1000, 0, 60, 1000).trustworthy, "6% lag");
    }

    #[test]
    fn the_lag_rule_is_relative_with_no_floor() {
        // 30 µs of lag on a 40 µs p99 is most of the latency: late, though below 50 µs.
        let v = setup(1000, 0, 30, 40);
        assert_eq!(v.rules, vec!["loadgen-send-lag"], "{v:?}");
        // 6 µs of lag on a 40 µs p99: within 10% plus the 2 µs a lag is known to.
        assert!(setup(1000, 0, 6, 40).trustworthy);
        assert!(!setup(1000, 0, 7, 40).trustworthy);
        // A 40 µs tick's wait on a 200 µs p99 is a fifth of it: late.
        assert!(!setup(1000, 0, 40, 200).trustworthy);
    }

    #[test]
    fn unstamped_echoes_read_late_name_loadgen() {
        let config = RunConfig {
            rate: Some(1000.0),
            ..RunConfig::new("mio", 10)
        };
        let mut totals = Totals {
            messages: 1000,
            ..Totals::default()
        };
        totals.connections.attempted = 10;
        totals.connections.connected_at_window_start = 10;
        let latency = Percentiles {
            p99: 100,
            ..Percentiles::default()
        };
        let mut ol = OpenLoopReport {
            offered_rate: 1000.0,
            achieved_rate: 1000.0,
            unstamped_reads: 500,
            ..OpenLoopReport::default()
        };
        let v = judge(&config, &totals, &latency, Some(&ol));
        assert_eq!(v.rules, vec!["loadgen-read-delay"], "no delay known");
        ol.read_delay = Percentiles {
            count: 100,
            p99: 5,
            ..Percentiles::default()
        };
        assert!(judge(&config, &totals, &latency, Some(&ol)).trustworthy);
        ol.read_delay.p99 = 50;
        assert!(!judge(&config, &totals, &latency, Some(&ol)).trustworthy);
        ol.unstamped_reads = 5;
        assert!(
            judge(&config, &totals, &latency, Some(&ol)).trustworthy,
            "0.5% unstamped"
        );
        ol.clock_steps = 1;
        let v = judge(&config, &totals, &latency, Some(&ol));
        assert_eq!(v.rules, vec!["clock-step"]);
    }

    #[test]
    fn a_late_tail_under_a_clean_p99_gets_a_caveat() {
        let latency = Percentiles {
            p99: 161,
            p99_9: 700,
            ..Percentiles::default()
        };
        let mut ol = OpenLoopReport {
            send_lag: Percentiles {
                count: 100_000,
                p99: 3,
                p99_9: 594,
                ..Percentiles::default()
            },
            ..OpenLoopReport::default()
        };
        let caveat = tail_lag_caveat(&latency, &ol).expect("594 µs of 700 µs is loadgen's");
        assert!(caveat.contains("p99.9"), "{caveat}");
        ol.send_lag.p99_9 = 60;
        assert_eq!(
            tail_lag_caveat(&latency, &ol),
            None,
            "60 of 700 is within 10% + 2 µs"
        );
        ol.send_lag.p99_9 = 594;
        ol.send_lag.count = 999;
        assert_eq!(
            tail_lag_caveat(&latency, &ol),
            None,
            "too few lags for a p99.9"
        );
        ol.send_lag.count = 100_000;
        ol.send_lag.p99 = 100;
        assert_eq!(
            tail_lag_caveat(&latency, &ol),
            None,
            "the p99 rule fired and already says so"
        );
    }

    #[test]
    fn a_large_send_lag_names_loadgen() {
        let v = setup(1000, 0, 5_000, 14_000);
        assert_eq!(v.late_side, Some(LateSide::Loadgen));
        assert_eq!(v.rules, vec!["loadgen-send-lag"]);
        let v = setup(500, 500, 5_000, 14_000);
        assert_eq!(
            v.late_side,
            Some(LateSide::Loadgen),
            "short, but loadgen was late"
        );
    }

    #[test]
    fn late_sends_get_the_advice_of_their_pacing() {
        let latency = Percentiles {
            p99: 200,
            ..Percentiles::default()
        };
        let mut ol = OpenLoopReport {
            send_lag: Percentiles {
                p99: 100,
                ..Percentiles::default()
            },
            ..OpenLoopReport::default()
        };
        let reason = |ol: &OpenLoopReport| {
            let mut v = Verdict::default();
            judge_lag(&mut v, &latency, ol);
            v.reasons.join("; ")
        };
        let precise = reason(&ol);
        assert!(precise.contains("fewer --threads"), "{precise}");
        ol.pacing = Some(Pacing {
            mode: PaceMode::Batched,
            tick_us: 180.0,
            ..Pacing::default()
        });
        // A batched worker is late by the wait for a tick: fewer workers would batch more.
        let batched = reason(&ol);
        assert!(batched.contains("more --threads"), "{batched}");
        assert!(!batched.contains("fewer --threads"), "{batched}");
    }

    #[test]
    fn a_shortfall_with_sends_on_time_names_the_server() {
        let v = setup(900, 100, 30, 2_000_000);
        assert!(!v.trustworthy);
        assert_eq!(v.late_side, Some(LateSide::Server));
        assert!(v.reasons[0].contains("lower bounds"));
    }

    #[test]
    fn unattempted_clients_fail_the_ramp() {
        let config = RunConfig::new("mio", 10);
        let mut totals = Totals::default();
        totals.connections.attempted = 3;
        let v = judge(&config, &totals, &Percentiles::default(), None);
        assert!(!v.trustworthy);
        assert_eq!(v.rules, vec!["ramp"]);
    }
}
