//! The warnings of a result: what a reader must know before trusting its numbers.

use std::time::Duration;

use echo_results::config::RunConfig;
use echo_results::result::{LoadgenResources, ServerReport, Totals};

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
}

/// Every warning `o` calls for, in a fixed order.
pub fn warnings(o: &Observed) -> Vec<String> {
    let mut warnings = Vec::new();
    let totals = o.totals;
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
        let kinds: Vec<String> = totals
            .errors
            .by_kind()
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        warnings.push(format!(
            "{} connection(s) failed ({}); {} echo(es) lost",
            totals.connections.failed,
            kinds.join(", "),
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
