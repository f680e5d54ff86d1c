//! The `loadgen explain` subcommand: reads a result and prints its explanation.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use results_model::result::RunResult;

use super::text::explain;

/// Options of `loadgen explain`.
#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// A result file (any schema version loadgen reads).
    pub result: PathBuf,
}

/// Prints where each side's CPU went per message in `args.result`.
pub fn explain_command(args: &ExplainArgs) -> anyhow::Result<ExitCode> {
    let result = RunResult::load(&args.result)?;
    print!("{}", explain(&result, &args.result.display().to_string()));
    Ok(ExitCode::SUCCESS)
}
