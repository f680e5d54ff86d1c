//! `loadgen gate BASE.jsonl NEW.jsonl`: reads both sides, judges each model, prints the verdict.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use loadgen_inference::BoundConfig;

use super::decide::{judge_model, render, GateSettings};
use super::power::{self, PowerSettings};
use super::record::{pair_up, read_jsonl};
use crate::EXIT_RUN_FAILED;

/// Exit code when the input cannot be judged (unreadable, unpaired, too few pairs).
const EXIT_BAD_INPUT: u8 = 2;

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

/// Prints the per-model verdict; exit 0 pass, 1 a regression or a failed run, 2 bad input.
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
    let regressed: Vec<&str> = verdicts
        .iter()
        .filter(|v| v.regressed())
        .map(|v| v.model.as_str())
        .collect();
    let confidence = 100.0 * (1.0 - args.alpha);
    if !regressed.is_empty() {
        println!(
            "gate: FAIL: {} regressed (shown at {confidence:.0}% confidence) or lost echoes",
            regressed.join(", ")
        );
        return Ok(ExitCode::from(EXIT_RUN_FAILED));
    }
    if verdicts.iter().any(|v| v.unjudged()) {
        println!("gate: cannot judge every model (too few complete pairs)");
        return Ok(ExitCode::from(EXIT_BAD_INPUT));
    }
    println!(
        "gate: pass: {} models, no regression shown at {confidence:.0}% confidence",
        verdicts.len()
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::parse_percent;

    #[test]
    fn percentages_parse_with_or_without_sign() {
        assert_eq!(parse_percent("5%"), Ok(0.05));
        assert_eq!(parse_percent("2.5 %"), Ok(0.025));
        assert_eq!(parse_percent("10"), Ok(0.1));
        assert!(parse_percent("-1%").is_err());
        assert!(parse_percent("five").is_err());
    }
}
