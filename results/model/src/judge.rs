//! The judging of a run by the rules of [`crate::verdict`]: which side, if any, was late.

use crate::config::RunConfig;
use crate::format;
use crate::histogram::Percentiles;
use crate::open_loop::OpenLoopReport;
use crate::result::Totals;
use crate::verdict::{LateSide, Verdict, ACHIEVED_SHARE, LAG_FLOOR_US, LAG_SHARE, RUN_QUEUE_SHARE};

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
    let lag = ol.send_lag.p99;
    let lag_late = lag >= LAG_FLOOR_US && lag as f64 > LAG_SHARE * latency.p99 as f64;
    if lag_late {
        v.fire(
            "loadgen-send-lag",
            Some(LateSide::Loadgen),
            format!(
                "loadgen was late: its p99 send lag ({}) is more than {:.0}% of the \
                 corrected p99 ({}), so the latency is partly loadgen's own; use fewer \
                 --threads, --pin it away from the server, or a lower --rate",
                format::duration_us(lag as f64),
                LAG_SHARE * 100.0,
                format::duration_us(latency.p99 as f64)
            ),
        );
    }
    judge_shortfall(&mut v, totals, ol);
    // Judged last: a thread that waited for a CPU names loadgen only when nothing above
    // already explains the figures (its wait then did not decide them).
    if ol.loadgen_run_queue_share > RUN_QUEUE_SHARE && lag >= LAG_FLOOR_US {
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
    v
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
