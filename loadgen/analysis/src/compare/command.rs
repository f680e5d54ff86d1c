//! `loadgen compare BASE NEW`: the comparison of two results or sweeps, printed as markdown.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::cells::compare;
use super::outcome::Thresholds;
use super::side::read_side;

/// Options of `loadgen compare`.
#[derive(Args, Debug)]
pub struct CompareArgs {
    /// The reference: a result file or a sweep directory.
    pub base: PathBuf,
    /// What is checked against it: the same kind of input.
    pub new: PathBuf,
    /// Largest tolerated throughput drop, percent (also p99's unless --p99-threshold is given).
    #[arg(long, default_value_t = 10.0, value_name = "PCT")]
    pub threshold: f64,
    /// Largest tolerated p99 latency rise, percent.
    #[arg(long, value_name = "PCT")]
    pub p99_threshold: Option<f64>,
    /// Largest tolerated rise of server CPU per message, percent. Without it the Δ is shown
    /// but never fails the comparison (it is not normalized by --normalize).
    #[arg(long, value_name = "PCT")]
    pub cpu_threshold: Option<f64>,
    /// Judge each cell against the machine's overall change: divide NEW's ratios to BASE by
    /// their median over all cells first. For a noisy shared machine, where everything can run
    /// 40% slower for a while: one model's 30% drop still fails, a uniform shift does not (it is
    /// reported as the machine factor).
    #[arg(long)]
    pub normalize: bool,
    /// Compare each cell's best repeat (highest msgs/s, lowest p99) instead of its median.
    /// Interference from elsewhere on the machine only ever makes a run worse, so the best of
    /// a few interleaved repeats is the most repeatable figure on a shared machine.
    #[arg(long)]
    pub best: bool,
    /// Also write the markdown table here.
    #[arg(long, value_name = "PATH")]
    pub markdown: Option<PathBuf>,
}

/// `loadgen compare BASE NEW`: prints the markdown table, exits 0/1 (errors: 2, via the caller).
pub fn compare_command(args: &CompareArgs) -> anyhow::Result<ExitCode> {
    for t in [Some(args.threshold), args.p99_threshold, args.cpu_threshold]
        .into_iter()
        .flatten()
    {
        if !(t.is_finite() && t >= 0.0) {
            anyhow::bail!("thresholds must be percentages ≥ 0, got {t}");
        }
    }
    let base = read_side(&args.base)?;
    let new = read_side(&args.new)?;
    let thresholds = Thresholds {
        msgs: args.threshold,
        p99: args.p99_threshold.unwrap_or(args.threshold),
        cpu: args.cpu_threshold.unwrap_or(f64::INFINITY),
    };
    let comparison = compare(&base, &new, thresholds, (args.normalize, args.best))?;
    let md = crate::export::markdown::comparison(&comparison);
    print!("{md}");
    if let Some(path) = &args.markdown {
        std::fs::write(path, &md)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    }
    Ok(ExitCode::from(comparison.exit_code()))
}
