//! Merging the open-loop part of results made side by side or as shards: rates and counts
//! add, send-lag histograms add exactly, and the merged run is judged again.

use anyhow::Context;

use results_model::histogram::LatencyHistogram;
use results_model::judge;
use results_model::open_loop::OpenLoopReport;
use results_model::result::RunResult;
use results_model::verdict::Verdict;

/// The open-loop report of runs made side by side, given as (label, report) (`None` when
/// there is none).
pub fn merge_reports<'a>(
    inputs: impl IntoIterator<Item = (&'a str, &'a OpenLoopReport)>,
) -> anyhow::Result<Option<OpenLoopReport>> {
    let mut out: Option<OpenLoopReport> = None;
    let mut lag = LatencyHistogram::new();
    let mut read_delay = LatencyHistogram::new();
    for (label, ol) in inputs {
        lag.add(
            &LatencyHistogram::from_base64(&ol.send_lag_histogram)
                .with_context(|| format!("{label}: bad send lag histogram"))?,
        );
        if !ol.read_delay_histogram.is_empty() {
            read_delay.add(
                &LatencyHistogram::from_base64(&ol.read_delay_histogram)
                    .with_context(|| format!("{label}: bad read delay histogram"))?,
            );
        }
        let Some(m) = out.as_mut() else {
            out = Some(ol.clone());
            continue;
        };
        m.offered_rate += ol.offered_rate;
        m.achieved_send_rate += ol.achieved_send_rate;
        m.achieved_rate += ol.achieved_rate;
        m.censored += ol.censored;
        m.lower_bound |= ol.lower_bound;
        m.unstamped_reads += ol.unstamped_reads;
        m.clock_steps += ol.clock_steps;
        m.loadgen_run_queue_share = m.loadgen_run_queue_share.max(ol.loadgen_run_queue_share);
        if m.arrival_check.passed && !ol.arrival_check.passed {
            m.arrival_check = ol.arrival_check.clone();
        }
    }
    if let Some(m) = out.as_mut() {
        m.send_lag = lag.summary();
        m.send_lag_histogram = lag.to_base64();
        m.read_delay = read_delay.summary();
        m.read_delay_histogram = read_delay.to_base64();
    }
    Ok(out)
}

/// Sets the merged result's open-loop report and verdict: the worst of the inputs' verdicts and
/// the pooled run's (one input that was loadgen-late makes the merge untrustworthy, however
/// the pooled lag reads). A verdict that is not trustworthy fails the merged result.
pub fn apply(out: &mut RunResult, inputs: &[(String, RunResult)]) -> anyhow::Result<()> {
    out.open_loop = merge_reports(
        inputs
            .iter()
            .filter_map(|(label, r)| Some((label.as_str(), r.open_loop.as_ref()?))),
    )?;
    if inputs.iter().any(|(_, r)| r.verdict.is_some()) {
        let pooled = judge::judge(
            &out.config,
            &out.totals,
            &out.latency_us,
            out.open_loop.as_ref(),
        );
        let v = worst(
            pooled,
            inputs
                .iter()
                .filter_map(|(label, r)| Some((label.as_str(), r.verdict.as_ref()?))),
        );
        out.passed &= v.trustworthy;
        out.verdict = Some(v);
    }
    Ok(())
}

/// The worst of the pooled verdict and the inputs': untrustworthy when any is, the late side
/// of the first that names one, and every rule and reason, each input's with its label.
pub fn worst<'a>(
    pooled: Verdict,
    inputs: impl IntoIterator<Item = (&'a str, &'a Verdict)>,
) -> Verdict {
    let mut out = pooled;
    for (label, v) in inputs {
        out.trustworthy &= v.trustworthy;
        if out.late_side.is_none() {
            out.late_side = v.late_side;
        }
        for rule in &v.rules {
            if !out.rules.contains(rule) {
                out.rules.push(rule.clone());
            }
        }
        out.reasons
            .extend(v.reasons.iter().map(|r| format!("{label}: {r}")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use results_model::verdict::LateSide;

    #[test]
    fn the_merged_verdict_is_the_worst_of_the_inputs() {
        let fine = Verdict {
            trustworthy: true,
            ..Verdict::default()
        };
        let late = Verdict {
            trustworthy: false,
            late_side: Some(LateSide::Loadgen),
            rules: vec!["loadgen-send-lag".into()],
            reasons: vec!["send lag p99 900 us".into()],
        };
        let merged = worst(fine.clone(), [("a", &fine), ("b", &late)]);
        assert!(!merged.trustworthy);
        assert_eq!(merged.late_side, Some(LateSide::Loadgen));
        assert_eq!(merged.rules, vec!["loadgen-send-lag"]);
        assert_eq!(merged.reasons, vec!["b: send lag p99 900 us"]);
        assert_eq!(worst(fine.clone(), [("a", &fine)]), fine);
    }

    #[test]
    fn rates_and_lag_add_up() {
        let report = |rate: f64, lag_us: u64, censored: u64| {
            let mut h = LatencyHistogram::new();
            h.record_us(lag_us);
            OpenLoopReport {
                offered_rate: rate,
                achieved_rate: rate,
                censored,
                lower_bound: censored > 0,
                send_lag: h.summary(),
                send_lag_histogram: h.to_base64(),
                ..OpenLoopReport::default()
            }
        };
        let (a, b) = (report(1000.0, 10, 0), report(2000.0, 900, 3));
        let m = merge_reports([("a", &a), ("b", &b)]).unwrap().unwrap();
        assert_eq!(m.offered_rate, 3000.0);
        assert_eq!((m.censored, m.lower_bound), (3, true));
        assert_eq!(m.send_lag.count, 2);
        assert!(m.send_lag.max >= 899);
    }
}
