//! `loadgen capacity`: runs the search of [`super::search`] through a runner (a fresh child
//! server per run), prints each run, and writes the curve as JSON and an SVG chart.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use results_model::capacity::{Capacity, Limit, Phase, Probe, Slo};
use results_model::{format, Model};

use super::plan::CapacityPlan;
use super::search::search;
use crate::runner::CellRunner;

/// Where `loadgen capacity` writes by default.
pub const OUT: &str = "results/capacity";

/// Options of `loadgen capacity`.
#[derive(Args, Debug, Clone)]
pub struct CapacityArgs {
    /// The search.
    #[command(flatten)]
    pub plan: CapacityPlan,
    /// Directory for `capacity-<model>.json` and `.svg` (created if missing).
    #[arg(long, default_value = OUT)]
    pub out: PathBuf,
}

/// Runs the search for one model.
pub fn measure(args: &CapacityPlan, runner: &mut dyn CellRunner) -> anyhow::Result<Capacity> {
    let default_threads = runner.default_threads(args.model);
    search(args.slo, args.bounds(), |rate, phase| {
        if runner.interrupted() {
            anyhow::bail!("interrupted");
        }
        let result = runner.run_cell(&args.config(rate, phase, default_threads))?;
        let p = Probe::from_result(&result, &args.slo);
        if !args.quiet {
            eprintln!("{}", probe_line(&p, phase, &args.slo));
        }
        Ok(p)
    })
}

fn probe_line(p: &Probe, phase: Phase, slo: &Slo) -> String {
    format!(
        "  {phase:?} {:>9} msgs/s: answered {:>9}/s, p50 {:>8} p99 {:>8} p99.9 {:>8}, send lag \
         p99 {:>8}{}{} -> {}",
        format::count(p.offered_rate),
        format::count(p.achieved_rate),
        format::duration_us(p.p50_us as f64),
        format::duration_us(p.p99_us as f64),
        format::duration_us(p.p99_9_us as f64),
        format::duration_us(p.send_lag_p99_us as f64),
        if p.lower_bound { " (≥)" } else { "" },
        p.late_side
            .map_or(String::new(), |s| format!(", late: {s:?}")),
        if p.holds(slo) { "holds" } else { "misses" }
    )
}

/// Writes the curve of `model` as `capacity-<model>.json` and `.svg` into `dir`; returns the
/// JSON file's path.
pub fn write_curve(dir: &Path, model: Model, c: &Capacity) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let base = dir.join(format!("capacity-{}", model.name()));
    let json = base.with_extension("json");
    let text = serde_json::to_string_pretty(c)? + "\n";
    std::fs::write(&json, text).with_context(|| format!("cannot write {}", json.display()))?;
    let svg = base.with_extension("svg");
    std::fs::write(&svg, crate::export::capacity_svg::chart(model.name(), c)?)
        .with_context(|| format!("cannot write {}", svg.display()))?;
    Ok(json)
}

/// What stopped the search, in words; with no rate, why none was found.
fn limit_text(c: &Capacity) -> String {
    let confirms: Vec<&Probe> = c
        .curve
        .iter()
        .filter(|p| p.phase == Some(Phase::Confirm))
        .collect();
    if let (None, Some(last)) = (c.rate, confirms.last()) {
        let side = last.late_side.map_or("the SLO".to_string(), |s| {
            format!("{s:?} late").to_lowercase()
        });
        return format!(
            "the short runs held, but none of {} longer confirmation runs did, down to {} msgs/s: {side}",
            confirms.len(),
            format::count(last.offered_rate)
        );
    }
    match c.limit {
        Limit::Slo => "the SLO",
        Limit::Loadgen if c.rate.is_none() => {
            "loadgen: it was late even at --min-rate; the server may hold more"
        }
        Limit::Loadgen => "loadgen (it was late above this rate; the server may hold more)",
        Limit::MaxRate => "--max-rate (the server may hold more)",
        Limit::BelowMinRate => "--min-rate: nothing held",
    }
    .to_string()
}

/// `loadgen capacity`: searches, writes the curve into `out`; exit 0 with a rate, 1 when no
/// rate held the SLO (errors are returned).
pub fn capacity_command(
    args: &CapacityArgs,
    runner: &mut dyn CellRunner,
) -> anyhow::Result<ExitCode> {
    let (args, out) = (&args.plan, &args.out);
    let c = measure(args, runner)?;
    let json = write_curve(out, args.model, &c)?;
    match c.rate {
        Some(rate) => println!(
            "capacity {}: {} msgs/s at {} ({} clients), limited by {}; {} runs; {}",
            args.model.name(),
            format::count(rate),
            args.slo,
            args.clients,
            limit_text(&c),
            c.curve.len(),
            json.display()
        ),
        None => println!(
            "capacity {}: no rate held {} ({}); {}",
            args.model.name(),
            args.slo,
            limit_text(&c),
            json.display()
        ),
    }
    Ok(if c.rate.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(crate::EXIT_RUN_FAILED)
    })
}
