//! The warnings of a result: what a reader must know before trusting its numbers.

use std::time::Duration;

use results_model::config::RunConfig;
use results_model::histogram::Percentiles;
use results_model::judge::tail_lag_caveat;
use results_model::open_loop::OpenLoopReport;
use results_model::open_loop::PaceMode;
use results_model::result::{LoadgenResources, ServerReport, Totals};

/// A worker thread off the CPU this long at once is worth a warning: every echo waited for it.
const STALL_WARNING: Duration = Duration::from_millis(500);

/// What a run observed that the warnings are made from.
pub struct Observed<'a> {
    /// The run's configuration.
    pub config: &'a RunConfig,
    /// The run's counters.
    pub totals: &'a Totals,
    /// loadgen's own resource use.
    pub loadgen: &'a LoadgenResources,
    /// The child server, if loadgen started one.
    pub server: Option<&'a ServerReport>,
    /// Seconds of the window actually measured.
    pub measured_s: f64,
    /// Whether SIGINT/SIGTERM cut the window short.
    pub interrupted: bool,
    /// The longest time a worker thread was off the CPU at once.
    pub longest_stall: Duration,
    /// Open loop: the figures loadgen measured about itself.
    pub open_loop: Option<&'a OpenLoopReport>,
    /// The latency reported (corrected, in open loop).
    pub latency: &'a Percentiles,
}

/// Every warning `o` calls for, in a fixed order.
pub fn warnings(o: &Observed) -> Vec<String> {
    let mut warnings = crate::run::placement::warnings(
        o.config,
        o.loadgen.worker_threads,
        crate::run::placement::allowed_cpus(),
    );
    let totals = o.totals;
    warnings.extend(open_loop_warnings(o));
    if o.interrupted {
        warnings.push(format!(
            "interrupted: the window was cut to {:.1}s of the {:.1}s asked for",
            o.measured_s,
            o.config.duration.as_secs_f64()
        ));
    }
    if o.loadgen.saturated {
        warnings.push(format!(
            "loadgen was saturated: its busiest worker thread was on CPU {:.0}% of the window \
             ({:.2} cores in all, {} workers); the figures may measure loadgen, not the \
             server (try more --threads, --pin, or a second loadgen process and `merge`)",
            o.loadgen.busiest_worker_cpu * 100.0,
            o.loadgen.process.cpu_cores_used,
            o.loadgen.worker_threads
        ));
    }
    if o.longest_stall >= STALL_WARNING {
        warnings.push(format!(
            "a loadgen worker thread was off the CPU for {:.2}s at once (machine overloaded or \
             paused): latencies and throughput include that wait, rerun on a quieter machine",
            o.longest_stall.as_secs_f64()
        ));
    }
    if totals.errors.total() > 0 || totals.unanswered > 0 {
        warnings.push(format!(
            "{} connection(s) failed ({}); {} echo(es) lost",
            totals.connections.failed,
            totals.errors.nonzero_summary(),
            totals.unanswered
        ));
    }
    if totals.unsent > 0 {
        warnings.push(format!(
            "{} message(s) fell due but were never sent: the server (or loadgen) fell behind \
             the open-loop rate by more than the drain time, or clients were not connected",
            totals.unsent
        ));
    }
    if totals.connections.established < o.config.clients as u64 {
        warnings.push(format!(
            "only {} of {} clients connected",
            totals.connections.established, o.config.clients
        ));
    }
    if o.server.is_some_and(|s| s.stats.is_none()) {
        warnings.push("the server printed no counters on shutdown".to_string());
    }
    warnings
}

/// The warnings about the open loop: gaps that do not follow `--arrival`, echoes the end of
/// the run cut short.
fn open_loop_warnings(o: &Observed) -> Vec<String> {
    let mut warnings = Vec::new();
    warnings.extend(o.open_loop.and_then(|ol| tail_lag_caveat(o.latency, ol)));
    if let Some(check) = o.open_loop.map(|ol| &ol.arrival_check) {
        if !check.passed {
            // Batched ticks explain bursts; otherwise name the remedy.
            let batched = o
                .open_loop
                .and_then(|ol| ol.pacing.as_ref())
                .filter(|p| p.mode == PaceMode::Batched);
            let cause = match (o.config.tick_us, batched) {
                (Some(us), _) => {
                    format!("; --tick {us}us sends every message due by a tick at once")
                }
                (None, Some(p)) => format!(
                    "; pacing was batched (one wake-up per {:.0} µs tick, every message due by \
                     then sent at once), because {}",
                    p.tick_us, p.reason
                ),
                (None, None) => "; loadgen could not keep the spacing (fewer clients per thread, \
                         or a quieter machine, help)"
                    .to_string(),
            };
            warnings.push(format!(
                "the gaps actually sent do not follow --arrival {:?}: coefficient of \
                 variation {:.2} (intended {:.0}), KS distance {}{cause}",
                check.process,
                check.cv_achieved,
                check.cv_intended,
                check
                    .ks_distance
                    .map_or("-".to_string(), |d| format!("{d:.3}"))
            ));
        }
    }
    if o.totals.unfinished > 0 {
        warnings.push(format!(
            "{} echo(es) were still in flight, within the reply timeout, when the run ended \
             (unfinished, not a server failure; lengthen --drain to see them complete)",
            o.totals.unfinished
        ));
    }
    warnings
}
