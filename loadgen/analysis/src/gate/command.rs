//! `loadgen gate BASE.jsonl NEW.jsonl`: reads both sides, judges each model, prints the verdict.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use loadgen_inference::BoundConfig;

use super::decide::{judge_model, render, GateSettings};
use super::outcome::{self, Outcome};
use super::power::{self, PowerSettings};
use super::record::{pair_up, read_jsonl};

/// Options of `loadgen gate`.
#[derive(Args, Debug)]
pub struct GateArgs {
    /// The base side's runs, one JSON object per line (what scripts/ci-gate.sh writes).
    pub base: PathBuf,
    /// The new side's runs, paired with BASE's by model and pair number.
    pub new: PathBuf,
    /// Server CPU per message: the rise the lower confidence bound must exceed to fail ("5%" or "5").
    #[arg(long, default_value = "3%", value_parser = parse_percent, value_name = "PCT")]
    pub threshold: f64,
    /// msgs/s: the slowdown (base/new − 1) the lower confidence bound must exceed to fail.
    #[arg(long, default_value = "15%", value_parser = parse_percent, value_name = "PCT")]
    pub rate_threshold: f64,
    /// One-sided error level of each bound (confidence 1 − alpha).
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// One-sided error level of the msgs/s bound: smaller than --alpha, so that the noisier
    /// secondary metric adds little to the job's false-alarm chance.
    #[arg(long, default_value_t = 0.01)]
    pub rate_alpha: f64,
    /// Also estimate, from each model's measured pair SD, the chance of catching a regression
    /// of this size in one model and the family-wise false-alarm chance (a power analysis).
    #[arg(long, value_parser = parse_percent, value_name = "PCT")]
    pub power_effect: Option<f64>,
    /// Pairs per model the power analysis assumes (default: the pairs judged here).
    #[arg(long, requires = "power_effect", value_name = "N")]
    pub power_pairs: Option<usize>,
    /// Where to list the performance failures ("MODEL METRIC" lines) for a confirming run.
    #[arg(long, value_name = "FILE")]
    pub failures_out: Option<PathBuf>,
    /// A confirming run: only a model and metric listed in FILE (the first run's
    /// --failures-out) can fail on performance.
    #[arg(long, value_name = "FILE")]
    pub confirm: Option<PathBuf>,
}

/// Parses "5%", "5" or "2.5 %" as a fraction (0.05).
fn parse_percent(s: &str) -> Result<f64, String> {
    let number = s.trim().trim_end_matches('%').trim();
    let pct: f64 = number
        .parse()
        .map_err(|_| format!("not a percentage: {s:?}"))?;
    if !(pct.is_finite() && pct >= 0.0) {
        return Err(format!("a percentage ≥ 0 is needed, got {s:?}"));
    }
    Ok(pct / 100.0)
}

/// Prints the per-model verdict; exit 0 pass, 1 a performance regression, 2 bad input, 3 a run
/// that lost or corrupted echoes or failed a connection.
pub fn gate_command(args: &GateArgs) -> anyhow::Result<ExitCode> {
    if ![args.alpha, args.rate_alpha]
        .iter()
        .all(|a| *a > 0.0 && *a < 1.0)
    {
        anyhow::bail!(
            "--alpha and --rate-alpha must lie strictly between 0 and 1, got {} and {}",
            args.alpha,
            args.rate_alpha
        );
    }
    let settings = GateSettings {
        cpu: BoundConfig {
            threshold: args.threshold,
            alpha: args.alpha,
        },
        rate: BoundConfig {
            threshold: args.rate_threshold,
            alpha: args.rate_alpha,
        },
    };
    let base = read_jsonl(&args.base)?;
    let new = read_jsonl(&args.new)?;
    let by_model = pair_up(&base, &new)?;
    if by_model.is_empty() {
        anyhow::bail!("no runs in {}", args.base.display());
    }
    let verdicts: Vec<_> = by_model
        .iter()
        .map(|(model, pairs)| judge_model(model, pairs, &settings))
        .collect();
    print!("{}", render(&verdicts));
    if let Some(effect) = args.power_effect {
        let pairs = args
            .power_pairs
            .unwrap_or_else(|| verdicts.iter().map(|v| v.pairs).min().unwrap_or(0));
        let p = PowerSettings { effect, pairs };
        print!(
            "{}",
            power::render(&power::estimate(&verdicts, &settings, &p), &p)
        );
    }
    let confirm = args
        .confirm
        .as_deref()
        .map(outcome::read_failures)
        .transpose()?;
    let decided = outcome::decide(&verdicts, confirm.as_ref());
    println!("{}", outcome::render(&decided, 100.0 * (1.0 - args.alpha)));
    if let (Outcome::Performance { failed, .. }, Some(path)) = (&decided, &args.failures_out) {
        outcome::write_failures(path, failed)?;
    }
    Ok(ExitCode::from(decided.exit_code()))
}

#[cfg(test)]
mod tests {
    use super::{parse_percent, GateArgs};
    use crate::gate::decide::GateSettings;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        gate: GateArgs,
    }

    #[test]
    fn the_option_defaults_are_the_shipped_settings() {
        let args = Cli::try_parse_from(["gate", "B", "N"]).unwrap().gate;
        let shipped = GateSettings::shipped();
        assert_eq!(args.threshold, shipped.cpu.threshold);
        assert_eq!(args.alpha, shipped.cpu.alpha);
        assert_eq!(args.rate_threshold, shipped.rate.threshold);
        assert_eq!(args.rate_alpha, shipped.rate.alpha);
    }

    #[test]
    fn percentages_parse_with_or_without_sign() {
        assert_eq!(parse_percent("5%"), Ok(0.05));
        assert_eq!(parse_percent("2.5 %"), Ok(0.025));
        assert_eq!(parse_percent("10"), Ok(0.1));
        assert!(parse_percent("-1%").is_err());
        assert!(parse_percent("five").is_err());
    }
}
