//! `loadgen gate`: judges a paired CI gate. Given `--base-server` and `--new-server` it runs
//! the duets itself ([`super::run`]); given BASE.jsonl and NEW.jsonl it judges those.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::duet::DuetRunner;
use super::judge::{judge, JudgeArgs};
use super::outcome::{self, Outcome};
use super::record::read_jsonl;
use super::run::run_gate;
use super::run_args::DuetArgs;

/// Options of `loadgen gate`.
#[derive(Args, Debug)]
pub struct GateArgs {
    /// The base side's runs, one JSON object per line (what the gate writes to OUT/BASE.jsonl).
    #[arg(
        required_unless_present = "base_server",
        conflicts_with = "base_server"
    )]
    pub base: Option<PathBuf>,
    /// The new side's runs, paired with BASE's by case and pair number.
    #[arg(required_unless_present = "base_server")]
    pub new: Option<PathBuf>,
    /// How the runs are judged.
    #[command(flatten)]
    pub judging: JudgeArgs,
    /// How the gate runs its own duets (with --base-server and --new-server).
    #[command(flatten)]
    pub duet: DuetArgs,
    /// Where to list the performance failures ("METRIC CASE" lines), judging files.
    #[arg(long, value_name = "FILE")]
    pub failures_out: Option<PathBuf>,
    /// Judging files as a confirming run: only a case and metric listed in FILE (the first
    /// run's --failures-out) can fail on performance.
    #[arg(long, value_name = "FILE")]
    pub confirm: Option<PathBuf>,
}

/// Runs or reads the pairs and judges them; exit 0 pass, 1 a performance regression
/// (confirmed, when the gate ran its own duets), 2 bad input, 3 a run that lost or corrupted
/// echoes, failed a connection or gave no result.
pub fn gate_command(args: &GateArgs, runner: &dyn DuetRunner) -> anyhow::Result<ExitCode> {
    let decided = match (&args.base, &args.new) {
        (Some(base), Some(new)) => {
            let confirm = args
                .confirm
                .as_deref()
                .map(outcome::read_failures)
                .transpose()?;
            let decided = judge(
                &read_jsonl(base)?,
                &read_jsonl(new)?,
                &args.judging,
                confirm.as_ref(),
            )?;
            if let (Outcome::Performance { failed, .. }, Some(path)) =
                (&decided, &args.failures_out)
            {
                outcome::write_failures(path, failed)?;
            }
            decided
        }
        _ => run_gate(&args.duet, &args.judging, runner)?,
    };
    Ok(ExitCode::from(decided.exit_code()))
}

#[cfg(test)]
mod tests {
    use super::GateArgs;
    use crate::gate::decide::GateSettings;
    use crate::gate::judge::parse_percent;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        gate: GateArgs,
    }

    #[test]
    fn the_option_defaults_are_the_shipped_settings() {
        let args = Cli::try_parse_from(["gate", "B", "N"])
            .unwrap()
            .gate
            .judging;
        let shipped = GateSettings::shipped();
        assert_eq!(args.threshold, shipped.cpu.threshold);
        assert_eq!(args.alpha, shipped.cpu.alpha);
        assert_eq!(args.rate_threshold, shipped.rate.threshold);
        assert_eq!(args.rate_alpha, shipped.rate.alpha);
    }

    #[test]
    fn the_gate_reads_files_or_runs_servers_never_neither() {
        assert!(Cli::try_parse_from(["gate"]).is_err());
        let run = Cli::try_parse_from(["gate", "--base-server", "b", "--new-server", "n"]);
        assert!(run.unwrap().gate.base.is_none());
        assert!(Cli::try_parse_from(["gate", "--base-server", "b"]).is_err());
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
