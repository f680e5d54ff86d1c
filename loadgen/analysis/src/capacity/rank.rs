//! `sweep --capacity-slo`: every model's capacity under the SLO, ranked, next to the
//! closed-loop table. Curves go to `<sweep>/capacity/` (a subdirectory, so the sweep report,
//! which reads every JSON file of the sweep directory, does not take them for runs).

use std::fmt::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use results_model::capacity::{Capacity, Slo};
use results_model::open_loop::Arrival;
use results_model::{format, Model};

use super::command::{measure, write_curve};
use super::plan::CapacityPlan;
use crate::runner::CellRunner;

/// Clients of every capacity search in a sweep.
pub const CLIENTS: usize = 100;

/// Searches each model's capacity, writes the curves and `ranking.md` into `dir`; returns
/// whether any search failed to find a rate.
pub fn rank_models(
    models: &[Model],
    slo: Slo,
    template: &crate::sweep::args::SweepArgs,
    dir: &Path,
    runner: &mut dyn CellRunner,
) -> anyhow::Result<bool> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut rows: Vec<(Model, Capacity)> = Vec::new();
    for &model in models {
        if runner.interrupted() {
            break;
        }
        let args = CapacityPlan {
            model,
            slo,
            clients: CLIENTS,
            step_duration: template.duration.min(Duration::from_secs(2)),
            confirm_duration: template.duration,
            warmup: template.warmup.min(Duration::from_millis(500)),
            min_rate: 1000.0,
            max_rate: 1_000_000.0,
            arrival: Arrival::Uniform,
            threads: template.threads,
            server_bin: template.server_bin.clone(),
            server_arg: template.server_arg.clone(),
            quiet: template.quiet,
        };
        if !args.quiet {
            eprintln!("capacity of {model} at {slo}:");
        }
        let c = measure(&args, runner)?;
        write_curve(dir, model, &c)?;
        rows.push((model, c));
    }
    rows.sort_by(|a, b| b.1.rate.unwrap_or(0.0).total_cmp(&a.1.rate.unwrap_or(0.0)));
    let md = ranking_md(&rows, slo);
    let ranking = dir.join("ranking.md");
    std::fs::write(&ranking, &md).with_context(|| format!("cannot write {}", ranking.display()))?;
    if !template.quiet {
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
