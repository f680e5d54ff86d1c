//! `sweep --capacity-slo`: every model's capacity under the SLO, ranked, next to the
//! closed-loop table. Curves go to `<sweep>/capacity/` (a subdirectory, so the sweep report,
//! which reads every JSON file of the sweep directory, does not take them for runs).

use std::fmt::Write;
use std::path::Path;

use anyhow::Context;
use results_model::capacity::{Capacity, Slo};
use results_model::{defaults, format, Model};

use super::command::{measure, write_curve};
use super::plan::{CapacityPlan, CLIENTS, MAX_RATE, MIN_RATE, STEP_DURATION, WARMUP};
use crate::options::{ArrivalArgs, HumanDuration, TargetArgs};
use crate::runner::CellRunner;
use crate::sweep_dir::plan::SweepPlan;

/// Searches each model's capacity, runs shaped like the sweep's `template` (quiet when the
/// sweep is), writes the curves and `ranking.md` into `dir`; returns whether any search failed
/// to find a rate.
pub fn rank_models(
    models: &[Model],
    slo: Slo,
    (template, quiet): (&SweepPlan, bool),
    dir: &Path,
    runner: &mut dyn CellRunner,
) -> anyhow::Result<bool> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut rows: Vec<(Model, Capacity)> = Vec::new();
    for &model in models {
        if runner.interrupted() {
            break;
        }
        let window = template.window;
        let args = CapacityPlan {
            target: TargetArgs {
                model: Some(model),
                addr: None,
                server: template.server.clone(),
            },
            slo,
            clients: CLIENTS,
            step_duration: HumanDuration(window.duration.get().min(STEP_DURATION)),
            confirm_duration: window.duration,
            warmup: HumanDuration(window.warmup.get().min(WARMUP)),
            min_rate: MIN_RATE,
            max_rate: MAX_RATE,
            arrival: ArrivalArgs {
                arrival: defaults::ARRIVAL,
            },
            workers: template.workers,
            quiet,
        };
        if !args.quiet {
            eprintln!("capacity of {model} at {slo}:");
        }
        let c = measure(&args, runner)?;
        write_curve(dir, model.name(), &c)?;
        rows.push((model, c));
    }
    rows.sort_by(|a, b| b.1.rate.unwrap_or(0.0).total_cmp(&a.1.rate.unwrap_or(0.0)));
    let md = ranking_md(&rows, slo);
    let ranking = dir.join("ranking.md");
    std::fs::write(&ranking, &md).with_context(|| format!("cannot write {}", ranking.display()))?;
    if !quiet {
        eprintln!("\n{md}");
    }
    Ok(rows.iter().any(|(_, c)| c.rate.is_none()))
}

/// The ranking as a markdown table, best first.
pub fn ranking_md(rows: &[(Model, Capacity)], slo: Slo) -> String {
    let mut s = format!(
        "## Capacity at {slo} ({CLIENTS} clients, open loop)\n\n| rank | model | msgs/s | limited by | runs |\n|---|---|---|---|---|\n"
    );
    for (i, (m, c)) in rows.iter().enumerate() {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:?} | {} |",
            i + 1,
            m.name(),
            c.rate.map_or("none".to_string(), format::count),
            c.limit,
            c.curve.len()
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use results_model::capacity::Limit;

    #[test]
    fn ranks_best_first_and_shows_models_without_a_rate() {
        let slo: Slo = "p99=1ms".parse().unwrap();
        let cap = |rate| Capacity {
            slo,
            rate,
            limit: Limit::Slo,
            confirmed: rate.is_some(),
            found: rate,
            rule: String::new(),
            curve: vec![],
        };
        let rows = vec![
            (Model::Uring, cap(Some(90_000.0))),
            (Model::Select, cap(None)),
        ];
        let md = ranking_md(&rows, slo);
        assert!(md.contains("| 1 | uring | 90,000 |"));
        assert!(md.contains("| 2 | select | none |"));
    }
}
