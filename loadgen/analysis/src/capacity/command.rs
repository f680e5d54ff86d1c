//! `loadgen capacity`: runs the search of [`super::search`] through a runner (a fresh child
//! server per run, or the server at `--addr` once it has echoed), prints each run, and writes
//! the curve as JSON and an SVG chart.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use results_model::capacity::{Capacity, Limit, Phase, Probe, Slo};
use results_model::format;

use super::plan::CapacityPlan;
use super::rule::{RULE, RULE_SHORT};
use super::search::search;
use crate::runner::CellRunner;

/// Where `loadgen capacity` writes by default.
pub const OUT: &str = "results/capacity";

/// Options of `loadgen capacity`.
#[derive(Args, Debug, Clone)]
#[command(after_help = concat!(
    "How each rate is decided: a majority of its runs. A rate holds when 2 of up to 3 runs hold \
     the SLO and misses when 2 miss (no third run once two agree); the confirmation's longer \
     runs are decided the same way, at the rate reported. One lucky or unlucky run cannot move \
     the result.\n\n",
    "With --addr, loadgen first connects and checks that two messages come back unchanged; an \
     unreachable address or a server that does not echo stops it with exit 2, before any search."
))]
pub struct CapacityArgs {
    /// The search.
    #[command(flatten)]
    pub plan: CapacityPlan,
    /// Directory for `capacity-<model>.json` and `.svg` (created if missing); with --addr,
    /// `capacity-<host>-<port>.json`.
    #[arg(long, default_value = OUT)]
    pub out: PathBuf,
}

/// Runs the search for one server: with `--addr`, only once the server has echoed.
pub fn measure(args: &CapacityPlan, runner: &mut dyn CellRunner) -> anyhow::Result<Capacity> {
    let default_threads = match (args.target.model, args.target.addr) {
        (_, Some(addr)) => {
            runner.check_echo(addr)?;
            runner.default_threads_at(addr)
        }
        (Some(model), None) => runner.default_threads(model),
        (None, None) => anyhow::bail!("give --model or --addr"),
    };
    if !args.quiet {
        eprintln!("{RULE}");
    }
    search(args.slo, args.bounds(), |rate, phase| {
        if runner.interrupted() {
            anyhow::bail!("interrupted");
        }
        let result = runner.run_cell(&args.config(rate, phase, default_threads)?)?;
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

/// Writes the curve of the server `name` (a model, or `HOST:PORT`) as `capacity-<name>.json`
/// and `.svg` into `dir` (`:` and other characters a file name may not hold become `-`);
/// returns the JSON file's path.
pub fn write_curve(dir: &Path, name: &str, c: &Capacity) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let file: String = name
        .chars()
        .map(|ch| match ch {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' | '_' => ch,
            _ => '-',
        })
        .collect();
    // Built whole: `with_extension` would cut an address at its last dot.
    let base = format!("capacity-{}", file.trim_matches('-'));
    let json = dir.join(format!("{base}.json"));
    let text = serde_json::to_string_pretty(c)? + "\n";
    std::fs::write(&json, text).with_context(|| format!("cannot write {}", json.display()))?;
    let svg = dir.join(format!("{base}.svg"));
    std::fs::write(&svg, crate::export::capacity_svg::chart(name, c)?)
        .with_context(|| format!("cannot write {}", svg.display()))?;
    Ok(json)
}

/// What stopped the search, in words; with no rate, why none was found.
fn limit_text(c: &Capacity) -> String {
    match c.limit {
        Limit::Confirm => return confirm_text(c),
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

/// Why the confirmation backed off: where the short runs and the longer runs parted, and who
/// was late in the longer runs that missed.
fn confirm_text(c: &Capacity) -> String {
    let confirms: Vec<&Probe> = c
        .curve
        .iter()
        .filter(|p| p.phase == Some(Phase::Confirm))
        .collect();
    let missed = confirms.iter().rev().find(|p| !p.holds(&c.slo));
    let why = match missed.and_then(|p| p.late_side) {
        Some(side) => format!("{side:?} late").to_lowercase(),
        None => format!("{} missed with neither side late", c.slo),
    };
    let found = c.found.map_or("?".to_string(), format::count);
    match c.rate {
        Some(rate) => format!(
            "the confirmation: the short runs held {found} msgs/s but the longer runs missed \
             there ({why}); backed off to {}, which they held",
            format::count(rate)
        ),
        None => {
            format!(
            "the confirmation: the short runs held {found} msgs/s, but the longer runs missed at \
             every rate tried, down to {} msgs/s ({why})",
            confirms.last().map_or("?".to_string(), |p| format::count(p.offered_rate))
        )
        }
    }
}

/// `loadgen capacity`: searches, writes the curve into `out`; exit 0 with a rate, 1 when no
/// rate held the SLO (errors are returned).
pub fn capacity_command(
    args: &CapacityArgs,
    runner: &mut dyn CellRunner,
) -> anyhow::Result<ExitCode> {
    let (args, out) = (&args.plan, &args.out);
    let c = measure(args, runner)?;
    let name = args.name();
    let json = write_curve(out, &name, &c)?;
    match c.rate {
        Some(rate) => println!(
            "capacity {name}: {} msgs/s at {} ({} clients), limited by {}; {} runs, {}; {}",
            format::count(rate),
            args.slo,
            args.clients,
            limit_text(&c),
            c.curve.len(),
            RULE_SHORT,
            json.display()
        ),
        None => println!(
            "capacity {name}: no rate held {} ({}; {}); {}",
            args.slo,
            limit_text(&c),
            RULE_SHORT,
            json.display()
        ),
    }
    Ok(if c.rate.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(crate::EXIT_RUN_FAILED)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(rate: f64, phase: Phase, held: bool) -> Probe {
        Probe {
            offered_rate: rate,
            slo_value_us: if held { 100 } else { 5_000 },
            passed: true,
            late_side: (!held).then_some(results_model::verdict::LateSide::Server),
            phase: Some(phase),
            ..Probe::default()
        }
    }

    #[test]
    fn a_backed_off_confirmation_is_the_reason_given_not_the_slo() {
        let slo: Slo = "p99=1ms".parse().unwrap();
        let mut c = Capacity {
            slo,
            rate: Some(9000.0),
            limit: Limit::Confirm,
            confirmed: true,
            found: Some(10_000.0),
            rule: RULE.to_string(),
            curve: vec![
                run(10_000.0, Phase::Bisect, true),
                run(10_000.0, Phase::Confirm, false),
                run(10_000.0, Phase::Confirm, false),
                run(9000.0, Phase::Confirm, true),
                run(9000.0, Phase::Confirm, true),
            ],
        };
        let text = limit_text(&c);
        assert!(!text.contains("the SLO"), "{text}");
        assert!(
            text.contains("the confirmation") && text.contains("10,000") && text.contains("9,000"),
            "{text}"
        );
        assert!(text.contains("server late"), "{text}");
        c.rate = None;
        c.confirmed = false;
        let text = limit_text(&c);
        assert!(text.contains("every rate tried, down to 9,000"), "{text}");
        c.limit = Limit::Slo;
        assert_eq!(limit_text(&c), "the SLO");
    }

    #[test]
    fn an_address_names_its_files_whole() {
        let dir = std::env::temp_dir().join(format!("capacity-names-{}", std::process::id()));
        let c = Capacity {
            slo: "p99=1ms".parse().unwrap(),
            rate: None,
            limit: Limit::BelowMinRate,
            confirmed: false,
            found: None,
            rule: RULE.to_string(),
            curve: vec![run(1000.0, Phase::Grow, false)],
        };
        let json = write_curve(&dir, "127.0.0.1:7007", &c).unwrap();
        assert_eq!(json, dir.join("capacity-127.0.0.1-7007.json"));
        assert!(dir.join("capacity-127.0.0.1-7007.svg").is_file());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
