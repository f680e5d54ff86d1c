//! One pair of the gate: the base and the new server of one case, run as a *duet* (both at
//! once, their measured windows opening at one instant, so whatever the machine does in that
//! second hits both sides and cancels in the ratio; Bulej et al., "Duet benchmarking", 2020), or
//! one after the other in the given order (`--sequential`, the solo measurement).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use results_model::config::{RunConfig, Target};
use results_model::result::RunResult;

use super::cases::Case;
use super::record::GateRecord;

/// What runs one side of a pair: the load engine, supplied by the caller (the analysis never
/// opens a socket). Two calls may run at once, from two threads.
pub trait DuetRunner: Sync {
    /// Runs `config` to its result.
    fn run(&self, config: &RunConfig) -> anyhow::Result<RunResult>;
}

/// How each run of a pair is made.
#[derive(Debug, Clone)]
pub struct PairSettings {
    /// The base revision's echo-server.
    pub base_server: PathBuf,
    /// The working tree's echo-server.
    pub new_server: PathBuf,
    /// Clients per side.
    pub clients: usize,
    /// Measured window of each run.
    pub duration: Duration,
    /// Warm-up before it.
    pub warmup: Duration,
    /// A duet's start: time to start both servers, connect and warm up before the window.
    pub lead: Duration,
    /// loadgen worker threads per side.
    pub threads: usize,
    /// One side after the other instead of a duet.
    pub sequential: bool,
}

/// Which side of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The base revision.
    Base,
    /// The working tree.
    New,
}

impl Side {
    /// "base" or "new", as records name it.
    pub fn name(self) -> &'static str {
        match self {
            Side::Base => "base",
            Side::New => "new",
        }
    }
}

/// One run's configuration: `case` against `server` with `extra` server arguments, its window
/// opening at `start_at` when given.
fn config(
    case: &Case,
    server: &Path,
    extra: &[String],
    s: &PairSettings,
    start_at: Option<SystemTime>,
) -> RunConfig {
    let mut c = RunConfig::new(&case.model, s.clients);
    c.target = Target::Spawn {
        model: case.model.clone(),
        server_bin: Some(server.to_path_buf()),
        server_args: case.server_args.iter().chain(extra).cloned().collect(),
        server_pin: case.server_pin.clone(),
    };
    c.duration = s.duration;
    c.warmup = s.warmup;
    c.threads = s.threads;
    c.pin = case.loadgen_pin.clone();
    c.start_at = start_at;
    c
}

/// The record of one run (or of its failure to give a result), and whether it measured
/// nothing of the server ([`unmeasured`]).
fn record(
    side: Side,
    case: &Case,
    pair: u32,
    order: u32,
    run: anyhow::Result<RunResult>,
) -> (GateRecord, bool) {
    let mut r = GateRecord {
        side: side.name().to_string(),
        model: case.model.clone(),
        config: case.config.clone(),
        pair,
        order,
        cpu_ns_per_msg: None,
        msgs_per_sec: None,
        passed: false,
        failure: None,
    };
    let unmeasured = unmeasured(&run);
    match run {
        Err(e) => r.failure = Some(format!("no result: {e:#}")),
        Ok(result) => {
            r.cpu_ns_per_msg = result
                .cost
                .as_ref()
                .and_then(|c| c.server.as_ref())
                .map(|s| s.cpu_ns_per_msg);
            r.msgs_per_sec = Some(result.throughput.msgs_per_sec);
            r.passed = result.passed;
            if !result.passed {
                r.failure = Some(failure_of(&result));
            }
        }
    }
    (r, unmeasured)
}

/// Whether a run that did not pass measured nothing of the server, through no fault of the
/// server's: loadgen itself was late (the machine paused it past the shared start, or its
/// clients were not all connected when the window opened) and no echo was lost or corrupted
/// and no connection failed. Such a pair is run again; any other failure stands.
fn unmeasured(run: &anyhow::Result<RunResult>) -> bool {
    match run {
        Err(e) => format!("{e:#}").contains("is already past"),
        Ok(r) => {
            !r.passed
                && r.totals.errors.total() == 0
                && r.totals.connections.failed == 0
                && r.totals.unanswered == 0
        }
    }
}

/// Why a result did not pass: its error counts, then its warnings.
fn failure_of(result: &RunResult) -> String {
    let mut why = Vec::new();
    let errors = result.totals.errors.nonzero_summary();
    if !errors.is_empty() {
        why.push(errors);
    }
    why.extend(result.warnings.iter().take(3).cloned());
    if why.is_empty() {
        why.push("the run did not pass".into());
    }
    why.join("; ")
}

/// Tries a pair gets when loadgen, not the server, spoiled it ([`unmeasured`]).
const ATTEMPTS: usize = 3;

/// Runs pair `pair` of `case`, the sides in `order` (the first ran, or in a duet was started,
/// first), the new side's server with `new_extra` arguments; returns (base, new) records. A
/// pair that measured nothing of the server is run again, at most [`ATTEMPTS`] times in all.
pub fn run_pair(
    runner: &dyn DuetRunner,
    case: &Case,
    pair: u32,
    order: [Side; 2],
    new_extra: &[String],
    s: &PairSettings,
) -> (GateRecord, GateRecord) {
    let mut attempt = 1;
    loop {
        let ((a, a_unmeasured), (b, b_unmeasured)) =
            attempt_pair(runner, case, pair, order, new_extra, s);
        let broken = |r: &GateRecord, unmeasured: bool| r.failure.is_some() && !unmeasured;
        let retry = (a_unmeasured || b_unmeasured)
            && !broken(&a, a_unmeasured)
            && !broken(&b, b_unmeasured);
        if !retry || attempt == ATTEMPTS {
            return if order[0] == Side::Base {
                (a, b)
            } else {
                (b, a)
            };
        }
        let why = [&a, &b]
            .iter()
            .find_map(|r| r.failure.clone())
            .unwrap_or_default();
        eprintln!(
            "gate: {} pair {pair} measured nothing of the server ({why}); running it again",
            case.label()
        );
        attempt += 1;
    }
}

/// One attempt at a pair: the records in `order`, each with whether it measured nothing.
fn attempt_pair(
    runner: &dyn DuetRunner,
    case: &Case,
    pair: u32,
    order: [Side; 2],
    new_extra: &[String],
    s: &PairSettings,
) -> ((GateRecord, bool), (GateRecord, bool)) {
    let start_at = (!s.sequential).then(|| SystemTime::now() + s.lead);
    let side_config = |side: Side| match side {
        Side::Base => config(case, &s.base_server, &[], s, start_at),
        Side::New => config(case, &s.new_server, new_extra, s, start_at),
    };
    let [first, second] = order.map(side_config);
    let (a, b) = if s.sequential {
        let a = runner.run(&first);
        (a, runner.run(&second))
    } else {
        std::thread::scope(|scope| {
            let a = scope.spawn(|| runner.run(&first));
            let b = runner.run(&second);
            let a = a
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("the run's thread panicked")));
            (a, b)
        })
    };
    (
        record(order[0], case, pair, 0, a),
        record(order[1], case, pair, 1, b),
    )
}
