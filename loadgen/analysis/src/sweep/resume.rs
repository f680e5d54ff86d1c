//! `loadgen sweep --resume DIR`: finishing a sweep that was cut off.
//!
//! A sweep saves its plan ([`SweepPlan`]: every option that decides which cells exist and what
//! they measure) in `sweep.json` before its first cell, and writes each cell's result file
//! atomically as the cell completes. Resuming reads the plan back, runs only the cells whose
//! result file is missing (same model, clients, size and repeat index), and regenerates the
//! report. An option given again on the resuming command line must equal the saved one: a
//! sweep whose cells were measured differently would not be one sweep.

use std::path::Path;

use anyhow::Context;
use results_model::result::RunResult;

use super::args::SweepArgs;
use crate::sweep_dir::names::run_file_name;
use crate::sweep_dir::plan::SweepPlan;
use crate::sweep_dir::record::SweepRecord;

/// The first of the `given` options whose value in `now` differs from `saved`, as a message.
pub fn check_same(saved: &SweepPlan, now: &SweepPlan, given: &[String]) -> Result<(), String> {
    let (saved, now) = (saved.keyed(), now.keyed());
    for key in given {
        if let (Some(a), Some(b)) = (saved.get(key), now.get(key)) {
            if a != b {
                return Err(format!(
                    "--{} differs from the interrupted sweep's: it ran with {a}, this command \
                     gives {b} (drop the option to keep the saved value)",
                    key.replace('_', "-")
                ));
            }
        }
    }
    Ok(())
}

/// The sweep options to resume `dir` with: the saved plan, after checking that every option
/// given on this command line agrees with it.
pub fn resumed_args(args: &SweepArgs, dir: &Path) -> anyhow::Result<SweepArgs> {
    let record = SweepRecord::load(dir)?
        .with_context(|| format!("{} holds no sweep.json: nothing to resume", dir.display()))?;
    let plan = record.plan.with_context(|| {
        format!(
            "{}/sweep.json has no saved plan (written by an older loadgen): cannot resume",
            dir.display()
        )
    })?;
    check_same(&plan, &args.plan.resolved(), &given_options()).map_err(anyhow::Error::msg)?;
    Ok(SweepArgs::resuming(plan, dir, args.quiet))
}

/// With `--resume DIR`: the options to run with instead of `args`; `None` for a new sweep.
pub fn resolve(args: &SweepArgs) -> anyhow::Result<Option<SweepArgs>> {
    args.resume
        .as_deref()
        .map(|dir| resumed_args(args, dir))
        .transpose()
}

/// Says how to finish an interrupted sweep in `dir`, and returns the interrupted exit code.
pub fn stopped(dir: &Path) -> std::process::ExitCode {
    eprintln!(
        "interrupted: finish the sweep with `loadgen sweep --resume {}`",
        dir.display()
    );
    std::process::ExitCode::from(crate::EXIT_INTERRUPTED)
}

/// Whether repeat `run` of a cell already has a readable result file in `dir`.
pub fn finished(dir: &Path, model: &str, clients: usize, size: usize, run: usize) -> bool {
    RunResult::load(&dir.join(run_file_name(model, clients, size, run))).is_ok()
}

/// The `sweep` options given on this process's command line (clap's value sources): the
/// arguments after the `sweep` subcommand, parsed as [`SweepArgs`].
fn given_options() -> Vec<String> {
    use clap::parser::ValueSource;
    use clap::Args;
    let argv: Vec<std::ffi::OsString> = std::env::args_os().skip_while(|a| a != "sweep").collect();
    let Ok(sub) = SweepArgs::augment_args(clap::Command::new("sweep")).try_get_matches_from(argv)
    else {
        return Vec::new();
    };
    sub.ids()
        .filter(|id| sub.value_source(id.as_str()) == Some(ValueSource::CommandLine))
        .map(|id| id.as_str().to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn args(extra: &[&str]) -> SweepArgs {
        use clap::Parser;
        #[derive(Parser)]
        struct P {
            #[command(flatten)]
            sweep: SweepArgs,
        }
        let mut argv = vec!["x"];
        argv.extend_from_slice(extra);
        P::try_parse_from(argv).unwrap().sweep
    }

    #[test]
    fn a_plan_round_trips_through_its_json() {
        let a = args(&[
            "--models",
            "mio,tokio",
            "--clients",
            "1,10",
            "--duration",
            "300ms",
            "--server-pin",
            "0",
            "--server-arg",
            "--x",
        ]);
        let plan = a.plan.resolved();
        let json = serde_json::to_string(&plan).unwrap();
        let back: SweepPlan = serde_json::from_str(&json).unwrap();
        assert_eq!(back, plan);
        let b = SweepArgs::resuming(back, Path::new("d"), true);
        assert_eq!(b.plan.window.duration.get(), Duration::from_millis(300));
        assert_eq!(b.resume.as_deref(), Some(Path::new("d")));
    }

    #[test]
    fn only_a_given_option_that_differs_is_refused() {
        let saved = args(&["--clients", "1,2", "--runs", "3"]).plan.resolved();
        let now = args(&["--clients", "1,5"]).plan.resolved();
        assert_eq!(check_same(&saved, &now, &[]), Ok(()));
        assert_eq!(
            check_same(&saved, &now, &["runs".to_string()]),
            Err(
                "--runs differs from the interrupted sweep's: it ran with 3, this command gives 1 \
             (drop the option to keep the saved value)"
                    .to_string()
            )
        );
        let err = check_same(&saved, &now, &["quiet".into(), "clients".into()]).unwrap_err();
        assert!(err.starts_with("--clients differs"), "{err}");
        let same = args(&["--clients", "1,2"]).plan.resolved();
        assert_eq!(check_same(&saved, &same, &["clients".to_string()]), Ok(()));
    }
}
