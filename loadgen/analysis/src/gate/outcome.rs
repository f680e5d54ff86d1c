//! What one gate run concludes under CI's rule. Correctness gets no second chance: a run that
//! lost or corrupted an echo, failed a connection or gave no result fails the gate at once
//! (exit 3). A performance failure (exit 1) is listed, metric and case, in a failures file;
//! CI runs the gate again on those models with `--confirm FILE`, and then only the same model
//! failing on the same metric counts. One disturbed pair cannot fail a job, a real regression
//! fails both runs, and a second run cannot wash out a failure of another kind.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{bail, Context};

use super::decide::{Metric, ModelVerdict};

/// Exit code when the input cannot be judged (unreadable, unpaired, too few pairs).
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit code when a run lost or corrupted echoes, failed a connection or gave no result.
pub const EXIT_CORRECTNESS: u8 = 3;

/// A performance failure: a case (model and configuration) and the metric whose gate it failed.
pub type Failure = (String, Metric);

/// The conclusion of one gate run.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Nothing failed.
    Pass,
    /// Runs failed (model: why); fails at once.
    Correctness(Vec<String>),
    /// Performance gates failed: unconfirmed in a first run, confirmed in a `--confirm` run.
    Performance {
        /// The failures that count.
        failed: Vec<Failure>,
        /// Whether a `--confirm` run repeated them.
        confirmed: bool,
    },
    /// A model could not be judged (too few complete pairs).
    Unjudged,
}

impl Outcome {
    /// The gate's exit code: 0 pass, 1 performance, 2 unjudged, 3 correctness.
    pub fn exit_code(&self) -> u8 {
        match self {
            Outcome::Pass => 0,
            Outcome::Performance { .. } => crate::EXIT_RUN_FAILED,
            Outcome::Unjudged => EXIT_BAD_INPUT,
            Outcome::Correctness(_) => EXIT_CORRECTNESS,
        }
    }
}

/// Applies the rule to `verdicts`; with `confirm` (the first run's failures), a performance
/// failure counts only when the same model failed the same metric there.
pub fn decide(verdicts: &[ModelVerdict], confirm: Option<&BTreeSet<Failure>>) -> Outcome {
    let broken: Vec<String> = verdicts
        .iter()
        .filter(|v| v.failed_runs > 0)
        .map(|v| format!("{}: {}", v.model, v.failures.join("; ")))
        .collect();
    if !broken.is_empty() {
        return Outcome::Correctness(broken);
    }
    let failed: Vec<Failure> = verdicts
        .iter()
        .flat_map(|v| v.failed_metrics().into_iter().map(|m| (v.model.clone(), m)))
        .filter(|f| confirm.is_none_or(|first| first.contains(f)))
        .collect();
    if !failed.is_empty() {
        return Outcome::Performance {
            failed,
            confirmed: confirm.is_some(),
        };
    }
    if verdicts.iter().any(ModelVerdict::unjudged) {
        return Outcome::Unjudged;
    }
    Outcome::Pass
}

/// Writes `failures` one per line, "METRIC CASE" (the case may hold spaces).
pub fn write_failures(path: &Path, failures: &[Failure]) -> anyhow::Result<()> {
    let text: String = failures
        .iter()
        .map(|(case, metric)| format!("{} {case}\n", metric.name()))
        .collect();
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Reads a failures file written by [`write_failures`]; an empty one is refused (there is
/// nothing to confirm).
pub fn read_failures(path: &Path) -> anyhow::Result<BTreeSet<Failure>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut set = BTreeSet::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let Some((metric, model)) = line.trim().split_once(' ') else {
            bail!("{}:{}: not \"METRIC CASE\"", path.display(), i + 1);
        };
        let Some(metric) = Metric::parse(metric) else {
            bail!(
                "{}:{}: unknown metric {metric:?} (cpu or rate)",
                path.display(),
                i + 1
            );
        };
        set.insert((model.to_string(), metric));
    }
    if set.is_empty() {
        bail!("{}: no failure to confirm", path.display());
    }
    Ok(set)
}

/// The outcome as the gate's last line.
pub fn render(outcome: &Outcome, confidence: f64) -> String {
    let list = |failed: &[Failure]| {
        failed
            .iter()
            .map(|(model, metric)| format!("{model} {}", metric.name()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match outcome {
        Outcome::Pass => {
            format!("gate: pass: no regression shown at {confidence:.0}% confidence, no run failed")
        }
        Outcome::Correctness(why) => format!(
            "gate: FAIL (correctness, no second run): {}",
            why.join(" | ")
        ),
        Outcome::Performance {
            failed,
            confirmed: false,
        } => format!(
            "gate: performance regression shown at {confidence:.0}% confidence in {}: \
             fails CI only if a second run shows the same model and metric",
            list(failed)
        ),
        Outcome::Performance {
            failed,
            confirmed: true,
        } => format!(
            "gate: FAIL (confirmed: the same model and metric failed twice): {}",
            list(failed)
        ),
        Outcome::Unjudged => "gate: cannot judge every model (too few complete pairs)".into(),
    }
}
