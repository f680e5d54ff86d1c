//! The open-loop report of a run, built from the workers' counters, and the judgement of
//! its figures ([`judge`], defined with the result model so a merge judges the same way).

use results_model::config::RunConfig;
pub use results_model::judge::judge;
pub use results_model::open_loop::OpenLoopReport;
pub use results_model::verdict::{LateSide, Verdict};

use crate::stats::WorkerStats;

/// Builds the open-loop report of a run (`None` in closed loop).
pub fn open_loop_report(
    config: &RunConfig,
    total: &WorkerStats,
    measured_s: f64,
    run_queue_wait_s: f64,
) -> Option<OpenLoopReport> {
    let rate = config.rate?;
    let per_s = |n: f64| {
        if measured_s > 0.0 {
            n / measured_s
        } else {
            0.0
        }
    };
    let ol = &total.open_loop;
    Some(OpenLoopReport {
        offered_rate: rate,
        achieved_send_rate: per_s(ol.sent_in_window as f64),
        achieved_rate: per_s(total.totals.messages as f64),
        send_lag: ol.lag.summary(),
        send_lag_histogram: ol.lag.to_base64(),
        censored: ol.censored,
        lower_bound: ol.censored > 0,
        loadgen_run_queue_share: per_s(run_queue_wait_s),
        arrival_check: ol.gaps.check(config.arrival),
    })
}
