//! `loadgen sweep`: one benchmark per cell of models × client counts (× repeats), each against a
//! fresh server child, then the report ([`crate::report`]) over everything it wrote.
//!
//! A sweep directory holds every run's JSON (`<model>-<clients>c-<size>B-r<k>.json`), a
//! `sweep.json` ([`SweepRecord`]: the grid asked for and why any cell did not run) and what
//! `loadgen report` makes from those: `summary.json`, `summary.md`, SVG charts and `index.html`.
//! The run files are the record; everything else can be regenerated from them.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use results_model::config::RunConfig;
use results_model::result::RunResult;
use results_model::{format, CpuList, Model};

pub mod aa;
pub mod args;
pub mod resume;

use crate::runner::CellRunner;
use crate::sweep_dir::names::{run_file_name, INDEX_HTML, SUMMARY_MD};
use crate::sweep_dir::plan::SweepPlan;
use crate::sweep_dir::record::{NotRun, SweepRecord};
use aa::{with_aa_twins, PlannedCell};
use args::SweepArgs;

/// `select(2)` cannot watch descriptors at or above this.
const FD_SETSIZE: usize = 1024;
/// Descriptors a server holds besides its clients (stdio, listener, pipes), generously.
const SERVER_FD_OVERHEAD: usize = 16;
/// Time a cell costs besides warm-up and the measured window (start, drain, stop), for the
/// first estimate of time left; later estimates use the measured average.
const CELL_OVERHEAD: Duration = Duration::from_millis(1500);

/// A limit known to stop `model` serving `clients`, said in one line.
pub fn known_limit(model: Model, clients: usize, runner: &dyn CellRunner) -> Option<String> {
    if model == Model::Select && clients + SERVER_FD_OVERHEAD > FD_SETSIZE {
        return Some(format!(
            "select(2) watches only fds below FD_SETSIZE ({FD_SETSIZE}); {clients} clients need more"
        ));
    }
    runner.machine_limit(clients)
}

/// Runs the sweep `args` describes, each cell through `runner`, writes the report, and returns
/// the exit code: 0 when every cell that ran passed and none failed to start, 1 otherwise.
pub fn sweep_command(args: &SweepArgs, runner: &mut dyn CellRunner) -> anyhow::Result<ExitCode> {
    let resumed = resume::resolve(args)?;
    let args = resumed.as_ref().unwrap_or(args);
    let plan = &args.plan;
    let (models, clients) = grid(plan)?;
    if let Some(aa) = plan.aa.filter(|m| !models.contains(m)) {
        anyhow::bail!("--aa {aa}: the model must also be one of --models");
    }
    let out = args.out.clone().unwrap_or_else(default_dir);
    prepare_dir(&out, args.resume.is_some())?;
    let mut record = SweepRecord {
        models: models.iter().map(|m| m.name().to_string()).collect(),
        clients: clients.clone(),
        size: plan.message.size,
        protocol: plan.message.protocol.name().to_string(),
        runs: plan.runs,
        duration_s: plan.window.duration.get().as_secs_f64(),
        warmup_s: plan.window.warmup.get().as_secs_f64(),
        not_run: Vec::new(),
        plan: Some(plan.resolved()),
        interrupted: false,
    };
    let cells: Vec<(Model, usize)> = models
        .iter()
        .flat_map(|&m| clients.iter().map(move |&c| (m, c)))
        .collect();
    let runnable = skip_known_limits(args, &cells, &*runner, &mut record);
    // The plan, before any cell: a sweep killed outright stays resumable.
    record.save(&out)?;
    let planned = with_aa_twins(&runnable, plan.aa);
    let mut failed = run_cells(args, &planned, runner, &out, &mut record)?;
    record.save(&out)?;
    show_report(args, &out)?;
    if record.interrupted {
        return Ok(resume::stopped(&out));
    }
    if let Some(slo) = plan.capacity_slo {
        let dir = out.join("capacity");
        let template = (plan, args.quiet);
        failed |= crate::capacity::rank::rank_models(&models, slo, template, &dir, runner)?;
    }
    Ok(if failed {
        ExitCode::from(crate::EXIT_RUN_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

/// The models and client counts (ascending, without repeats) of the grid.
fn grid(plan: &SweepPlan) -> anyhow::Result<(Vec<Model>, Vec<usize>)> {
    if plan.runs == 0 {
        anyhow::bail!("--runs must be at least 1");
    }
    let models = plan.resolved().models;
    let mut clients = plan.clients.clone();
    clients.sort_unstable();
    clients.dedup();
    if clients.is_empty() {
        anyhow::bail!("--clients needs at least one count");
    }
    Ok((models, clients))
}

/// Creates the output directory, refusing one that already holds results unless `resuming`.
fn prepare_dir(out: &Path, resuming: bool) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    // The report reads every JSON file in the directory: old runs would mix into this sweep.
    let old_json = std::fs::read_dir(out)
        .with_context(|| format!("cannot list {}", out.display()))?
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().ends_with(".json"));
    if old_json && !resuming {
        anyhow::bail!(
            "{} already holds result files; give a new --out directory (or remove it)",
            out.display()
        );
    }
    Ok(())
}

/// Records the cells a known limit stops (so they are reported once and cost nothing) and
/// returns the others.
fn skip_known_limits(
    args: &SweepArgs,
    cells: &[(Model, usize)],
    runner: &dyn CellRunner,
    record: &mut SweepRecord,
) -> Vec<(Model, usize)> {
    let mut runnable = Vec::with_capacity(cells.len());
    for &(model, n) in cells {
        match known_limit(model, n, runner) {
            Some(reason) => {
                if !args.quiet {
                    eprintln!("{model} × {n} clients: skipped: {reason}");
                }
                record.not_run.push(NotRun {
                    model: model.name().to_string(),
                    clients: n,
                    skipped: true,
                    reason,
                });
            }
            None => runnable.push((model, n)),
        }
    }
    runnable
}

/// Runs every repeat of every cell, writing each result; returns whether any failed.
///
/// Repeats go round the whole grid (run 1 of every cell, then run 2, ...), so a burst of load
/// from elsewhere on the machine lands in one repeat of many cells rather than every repeat of
/// one cell: the spread then shows the noise, and the median ignores it.
fn run_cells(
    args: &SweepArgs,
    runnable: &[PlannedCell],
    runner: &mut dyn CellRunner,
    out: &Path,
    record: &mut SweepRecord,
) -> anyhow::Result<bool> {
    let plan = &args.plan;
    let (runs, size) = (plan.runs, plan.message.size);
    let per_run = plan.window.warmup.get() + plan.window.duration.get() + CELL_OVERHEAD;
    let total_runs = runnable.len() * runs;
    let mut eta = Eta::new(total_runs, per_run);
    let mut failed = false;
    let mut done = 0;
    'grid: for run in 1..=runs {
        for cell in runnable {
            let (name, model, n) = (cell.name.as_str(), cell.model, cell.clients);
            if args.resume.is_some() && resume::finished(out, name, n, size, run) {
                done += 1;
                eta.skip(1);
                continue;
            }
            if record
                .not_run
                .iter()
                .any(|c| c.model == name && c.clients == n)
            {
                continue; // failed to start in an earlier repeat
            }
            done += 1;
            let label = format!("[{done}/{total_runs}] {name} × {n} clients, run {run}/{runs}");
            let config = cell_config(plan, model, n, run);
            let started = Instant::now();
            let outcome = runner.run_cell(&config);
            eta.done(started.elapsed());
            if runner.interrupted() {
                // The cut cell is not a finished cell: leave it for --resume.
                record.interrupted = true;
                break 'grid;
            }
            match outcome {
                Ok(result) => {
                    let path = out.join(run_file_name(name, n, size, run));
                    crate::export::json::write(&result, &path)?;
                    failed |= !result.passed;
                    if !args.quiet {
                        eprintln!(
                            "{label}: {}; ~{} left",
                            one_line(&result),
                            humantime::format_duration(eta.left())
                        );
                    }
                }
                Err(err) => {
                    let reason = first_line(&format!("{err:#}"));
                    if !args.quiet {
                        eprintln!("{label}: failed: {reason}");
                    }
                    eta.skip(runs - run);
                    failed = true;
                    record.not_run.push(NotRun {
                        model: name.to_string(),
                        clients: n,
                        skipped: false,
                        reason,
                    });
                }
            }
        }
    }
    Ok(failed)
}

/// The first line of `text`.
fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_string()
}

/// Writes the report of `out` and, unless quiet, prints its table and where it went.
fn show_report(args: &SweepArgs, out: &Path) -> anyhow::Result<()> {
    let written = crate::report::write::write_report(out, args.plan.spectrum_clients)?;
    if !args.quiet {
        let md = std::fs::read_to_string(out.join(SUMMARY_MD)).unwrap_or_default();
        eprintln!("\n{md}");
        eprintln!(
            "wrote {} files to {}; open {}",
            written.len(),
            out.display(),
            out.join(INDEX_HTML).display()
        );
    }
    Ok(())
}

/// The configuration of repeat `run` of one cell; repeats differ only in their seed.
fn cell_config(plan: &SweepPlan, model: Model, clients: usize, run: usize) -> RunConfig {
    let mut config = RunConfig::new(model.name(), clients);
    let server_pin = plan.server_pin.server_pin.as_ref();
    config.target = plan.server.spawn(model, server_pin);
    config.protocol = plan.message.protocol;
    config.size = plan.message.size;
    config.duration = plan.window.duration.get();
    config.warmup = plan.window.warmup.get();
    config.pipeline = plan.message.pipeline;
    let threads = plan.workers.threads;
    if let Some(threads) = threads {
        config.threads = threads;
    }
    config.seed = plan.message.seed.wrapping_add(run as u64 - 1);
    config.link = plan.link.link();
    config.kernel = plan.kernel.probes();
    if let Some(CpuList(server_cpus)) = server_pin {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let rest: Vec<usize> = (0..cpus).filter(|c| !server_cpus.contains(c)).collect();
        if !rest.is_empty() {
            config.threads = threads.unwrap_or(rest.len());
            config.pin = Some(rest);
        }
    }
    config
}

/// `results/sweep-<UTC timestamp>`.
fn default_dir() -> PathBuf {
    let stamp: String = humantime::format_rfc3339_seconds(SystemTime::now())
        .to_string()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    PathBuf::from("results").join(format!("sweep-{stamp}"))
}

/// `123,456 msgs/s, p99 210 µs, 0 errors` for the progress line.
fn one_line(r: &RunResult) -> String {
    let errors = r.totals.errors.total() + r.totals.unanswered;
    format!(
        "{} msgs/s, p99 {}, {errors} errors{}",
        format::count(r.throughput.msgs_per_sec),
        format::duration_us(r.latency_us.p99 as f64),
        if r.loadgen_resources.saturated {
            " (loadgen saturated)"
        } else {
            ""
        }
    )
}

/// Time-left estimate: the plan's per-run guess until runs finish, then their average.
struct Eta {
    remaining: usize,
    guess: Duration,
    spent: Duration,
    finished: u32,
}

impl Eta {
    fn new(runs: usize, guess: Duration) -> Self {
        Eta {
            remaining: runs,
            guess,
            spent: Duration::ZERO,
            finished: 0,
        }
    }

    fn done(&mut self, took: Duration) {
        self.remaining = self.remaining.saturating_sub(1);
        self.spent += took;
        self.finished += 1;
    }

    fn skip(&mut self, runs: usize) {
        self.remaining = self.remaining.saturating_sub(runs);
    }

    fn left(&self) -> Duration {
        let per_run = if self.finished == 0 {
            self.guess
        } else {
            self.spent / self.finished
        };
        // Whole seconds: sub-second precision in an estimate is noise.
        Duration::from_secs((per_run * self.remaining as u32).as_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A runner that never runs and knows no machine limit below `fds` clients.
    struct NoRuns {
        fds: usize,
    }

    impl CellRunner for NoRuns {
        fn run_cell(&mut self, _: &RunConfig) -> anyhow::Result<RunResult> {
            anyhow::bail!("not in this test")
        }

        fn machine_limit(&self, clients: usize) -> Option<String> {
            (clients > self.fds).then(|| format!("{clients} > {}", self.fds))
        }
    }

    #[test]
    fn select_past_fd_setsize_is_a_known_limit() {
        let runner = NoRuns { fds: 5000 };
        assert!(known_limit(Model::Select, 2000, &runner)
            .unwrap()
            .contains("FD_SETSIZE"));
        assert_eq!(known_limit(Model::Select, 100, &runner), None);
        assert_eq!(known_limit(Model::Mio, 2000, &runner), None);
        assert_eq!(
            known_limit(Model::Mio, 6000, &runner).as_deref(),
            Some("6000 > 5000")
        );
    }

    #[test]
    fn eta_uses_the_measured_average() {
        let mut eta = Eta::new(4, Duration::from_secs(10));
        assert_eq!(eta.left(), Duration::from_secs(40));
        eta.done(Duration::from_secs(2));
        assert_eq!(eta.left(), Duration::from_secs(6));
        eta.skip(2);
        assert_eq!(eta.left(), Duration::from_secs(2));
    }

    #[test]
    fn parses_lists() {
        use clap::Parser;
        #[derive(Parser)]
        struct P {
            #[command(flatten)]
            sweep: SweepArgs,
        }
        let p = P::try_parse_from(["x", "--models", "mio,tokio", "--clients", "100,1"]).unwrap();
        assert_eq!(p.sweep.plan.models, vec![Model::Mio, Model::Tokio]);
        assert_eq!(p.sweep.plan.clients, vec![100, 1]);
        let p = P::try_parse_from(["x", "--server-pin", "0,2-3"]).unwrap();
        let pin = p.sweep.plan.server_pin.server_pin;
        assert_eq!(pin, Some(CpuList(vec![0, 2, 3])));
        assert!(P::try_parse_from(["x", "--server-pin", "3-1"]).is_err());
        let p = P::try_parse_from(["x"]).unwrap();
        assert!(p.sweep.plan.models.is_empty(), "empty means all");
        assert_eq!(p.sweep.plan.clients, vec![1, 10, 100, 1000, 10000]);
        let window = p.sweep.plan.window;
        assert_eq!(window.duration.get(), Duration::from_secs(5));
        assert_eq!(window.warmup.get(), Duration::from_secs(1));
    }
}
