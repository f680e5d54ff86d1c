//! Judging one gate run's two sides: the options that set the bounds, the verdict per case, the
//! power of the rule, and the outcome under CI's rule ([`super::outcome`]).

use std::collections::BTreeSet;

use clap::Args;
use loadgen_inference::BoundConfig;

use super::decide::{judge_model, render, GateSettings};
use super::outcome::{self, Failure, Outcome};
use super::power::{self, PowerSettings};
use super::record::{pair_up, GateRecord};

/// How the gate judges: thresholds, confidence and the power analysis.
#[derive(Args, Debug, Clone)]
pub struct JudgeArgs {
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
    /// Also estimate, from each case's measured pair SD, the chance of catching a regression
    /// of this size in one case and the false-alarm chance, for one run and for CI's rule.
    #[arg(long, value_parser = parse_percent, value_name = "PCT")]
    pub power_effect: Option<f64>,
    /// Pairs per case the power analysis assumes (default: the pairs judged here).
    #[arg(long, requires = "power_effect", value_name = "N")]
    pub power_pairs: Option<usize>,
}

/// Parses "5%", "5" or "2.5 %" as a fraction (0.05).
pub fn parse_percent(s: &str) -> Result<f64, String> {
    let number = s.trim().trim_end_matches('%').trim();
    let pct: f64 = number
        .parse()
        .map_err(|_| format!("not a percentage: {s:?}"))?;
    if !(pct.is_finite() && pct >= 0.0) {
        return Err(format!("a percentage ≥ 0 is needed, got {s:?}"));
    }
    Ok(pct / 100.0)
}

impl JudgeArgs {
    /// The bounds these options set; an alpha outside (0, 1) is an error.
    pub fn settings(&self) -> anyhow::Result<GateSettings> {
        if ![self.alpha, self.rate_alpha]
            .iter()
            .all(|a| *a > 0.0 && *a < 1.0)
        {
            anyhow::bail!(
                "--alpha and --rate-alpha must lie strictly between 0 and 1, got {} and {}",
                self.alpha,
                self.rate_alpha
            );
        }
        Ok(GateSettings {
            cpu: BoundConfig {
                threshold: self.threshold,
                alpha: self.alpha,
            },
            rate: BoundConfig {
                threshold: self.rate_threshold,
                alpha: self.rate_alpha,
            },
        })
    }
}

/// Judges `base` against `new`, prints every case's verdict, the power of the rule and the
/// outcome; with `confirm`, only those failures can count.
pub fn judge(
    base: &[GateRecord],
    new: &[GateRecord],
    args: &JudgeArgs,
    confirm: Option<&BTreeSet<Failure>>,
) -> anyhow::Result<Outcome> {
    let settings = args.settings()?;
    let by_case = pair_up(base, new)?;
    if by_case.is_empty() {
        anyhow::bail!("no runs to judge");
    }
    let verdicts: Vec<_> = by_case
        .iter()
        .map(|(case, pairs)| judge_model(case, pairs, &settings))
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
    let decided = outcome::decide(&verdicts, confirm);
    println!("{}", outcome::render(&decided, 100.0 * (1.0 - args.alpha)));
    Ok(decided)
}
