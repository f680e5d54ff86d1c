//! The summary lines for the open-loop figures and the verdict (see
//! [`results_model::verdict`]).

use std::fmt::Write;

use results_model::format;
use results_model::open_loop::OpenLoopReport;
use results_model::verdict::{LateSide, Verdict};

/// Rates, send lag, censoring and the arrival check, for the human summary.
pub fn open_loop_lines(ol: &OpenLoopReport) -> String {
    let mut s = String::new();
    for (name, l) in [("send lag", &ol.send_lag), ("read delay", &ol.read_delay)] {
        let _ = writeln!(
            s,
            "    {:<14}{:>9}{:>9}{:>9}{:>9}{:>9}{:>9}",
            name,
            format::duration_us(l.p50 as f64),
            format::duration_us(l.p90 as f64),
            format::duration_us(l.p99 as f64),
            format::duration_us(l.p99_9 as f64),
            format::duration_us(l.p99_99 as f64),
            format::duration_us(l.max as f64),
        );
    }
    if let Some(p) = &ol.pacing {
        let _ = writeln!(
            s,
            "  Pacing: {:?}, a wake-up every {} with {} spin ({}); CPU wake-up latency \
             request: {}",
            p.mode,
            format::duration_us(p.tick_us),
            format::duration_us(p.spin_us),
            p.reason,
            if p.cpu_qos.is_empty() {
                "not recorded"
            } else {
                &p.cpu_qos
            }
        );
    }
    if ol.unstamped_reads > 0 || ol.clock_steps > 0 {
        let _ = writeln!(
            s,
            "  {} reads without a kernel receive stamp (timed at the read), {} clock steps",
            format::count(ol.unstamped_reads as f64),
            ol.clock_steps
        );
    }
    let _ = writeln!(
        s,
        "  Open loop: offered {} msgs/s, sent {}/s, answered {}/s; {} censored{}",
        format::count(ol.offered_rate),
        format::count(ol.achieved_send_rate),
        format::count(ol.achieved_rate),
        format::count(ol.censored as f64),
        if ol.lower_bound {
            " (corrected percentiles are lower bounds, ≥)"
        } else {
            ""
        }
    );
    let a = &ol.arrival_check;
    let _ = writeln!(
        s,
        "  Arrivals ({:?}): {} gaps, CV {:.2} (intended {:.0}){}, {}",
        a.process,
        a.samples,
        a.cv_achieved,
        a.cv_intended,
        a.ks_distance
            .map_or(String::new(), |d| format!(", KS distance {d:.3}")),
        if a.passed { "ok" } else { "NOT as intended" }
    );
    s
}

/// The verdict: nothing when the run is trustworthy, else one line per reason.
pub fn verdict_lines(v: &Verdict) -> String {
    let mut s = String::new();
    if v.trustworthy {
        return s;
    }
    let side = match v.late_side {
        Some(LateSide::Loadgen) => "loadgen was late, not a server result",
        Some(LateSide::Server) => "the server fell short of the rate",
        None => "the load asked for was not applied",
    };
    let _ = writeln!(s, "FAILED ({side}):");
    for (rule, r) in v.rules.iter().zip(&v.reasons) {
        let _ = writeln!(s, "  [{rule}] {r}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_bounds_and_late_sides_are_said_in_words() {
        let ol = OpenLoopReport {
            censored: 5,
            lower_bound: true,
            ..OpenLoopReport::default()
        };
        assert!(open_loop_lines(&ol).contains("lower bounds, ≥"));
        let v = Verdict {
            trustworthy: false,
            late_side: Some(LateSide::Loadgen),
            rules: vec!["loadgen-send-lag".into()],
            reasons: vec!["loadgen was late".into()],
        };
        assert!(verdict_lines(&v).contains("loadgen was late"));
        assert!(verdict_lines(&Verdict {
            trustworthy: true,
            ..Verdict::default()
        })
        .is_empty());
    }
}
