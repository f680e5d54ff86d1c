//! The command line: `loadgen [RUN OPTIONS]` runs a benchmark; subcommands do the rest.
//!
//! Adding a subcommand: a variant in [`Command`] with its own `Args` struct in the module that
//! does the work, and one arm in [`main`]. `RunArgs` is reusable (`#[command(flatten)]`) for
//! anything that runs benchmarks.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use loadgen_analysis::capacity::command::{capacity_command, CapacityArgs};
use loadgen_analysis::{compare, explain, export, gate, merge, report, sweep};
use results_model::RunResult;

use crate::benchmark::{exit_code, run_command, RunArgs};
use crate::engine_runner::EngineRunner;

/// Exit code for bad arguments, limits, or a server that would not start.
pub const EXIT_SETUP: u8 = 2;

/// A load generator for echo servers whose numbers can be trusted: thousands of verified
/// clients on a few threads, closed and open loop, HdrHistogram latency, full JSON results.
#[derive(Parser, Debug)]
#[command(
    name = "loadgen",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
#[command(subcommand_negates_reqs = true)]
pub struct Cli {
    /// A subcommand; none means run a benchmark with the options below.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of a benchmark run.
    #[command(flatten)]
    pub run: RunArgs,
}

/// What loadgen can do besides a plain run.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run one benchmark (the same as giving no subcommand).
    Run(Box<RunArgs>),
    /// Combine exactly the shards of one run (`--shard`), or runs made side by side; refuses
    /// inputs that do not belong together, with the reason.
    Merge(MergeArgs),
    /// Print the JSON Schema of result files (what results/schema.json holds).
    Schema,
    /// Run models × client counts (× repeats), then write the table, charts and index.html.
    Sweep(sweep::args::SweepArgs),
    /// Rebuild a sweep directory's table, charts and index.html from its JSON.
    Report(report::write::ReportArgs),
    /// Compare two results or sweeps cell by cell: exit 0 ok, 1 regression or lost echoes, 2 error.
    Compare(compare::command::CompareArgs),
    /// Find the highest open-loop rate a model, or any echo server at --addr, holds under a
    /// latency SLO, each rate decided by 2 of up to 3 runs (curve as JSON + SVG).
    Capacity(CapacityArgs),
    /// Print where the server's and loadgen's CPU went per message in a result: user and
    /// system time, system calls by name, context switches, faults ("not recorded" where the
    /// result has no such figure).
    Explain(explain::command::ExplainArgs),
    /// The paired CI gate: run base and new servers as duets (--base-server, --new-server) or
    /// judge BASE.jsonl NEW.jsonl; exit 0 pass, 1 regression, 2 bad input, 3 a run failed.
    Gate(gate::command::GateArgs),
}

/// Options of `loadgen merge`. Inputs that are shards of one run (`--shard`) must be all the
/// shards of one configuration, with windows aligned; other inputs merge as runs made side by
/// side. Open-loop and closed-loop results never mix.
#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Result files to combine.
    #[arg(required = true, num_args = 1..)]
    pub inputs: Vec<PathBuf>,
    /// Where the merged JSON goes (`-` for stdout).
    #[arg(long, short, default_value = "-")]
    pub output: PathBuf,
    /// Shards of one run must have opened their windows within this of each other.
    #[arg(long, default_value = "10ms", value_parser = humantime::parse_duration)]
    pub window_tolerance: Duration,
}

/// Runs the command line; the binary's `main` is just this.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        None => run_command(&cli.run),
        Some(Command::Run(args)) => run_command(&args),
        Some(Command::Merge(args)) => merge_command(&args),
        Some(Command::Sweep(args)) => sweep::sweep_command(&args, &mut EngineRunner),
        Some(Command::Report(args)) => report::write::report_command(&args),
        Some(Command::Compare(args)) => compare::command::compare_command(&args),
        Some(Command::Capacity(args)) => capacity_command(&args, &mut EngineRunner),
        Some(Command::Gate(args)) => gate::command::gate_command(&args, &EngineRunner),
        Some(Command::Explain(args)) => explain::command::explain_command(&args),
        Some(Command::Schema) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&RunResult::json_schema())
                    .expect("a schema serializes")
            );
            Ok(ExitCode::SUCCESS)
        }
    };
    outcome.unwrap_or_else(|err| {
        eprintln!("loadgen: error: {err:#}");
        ExitCode::from(EXIT_SETUP)
    })
}

fn merge_command(args: &MergeArgs) -> anyhow::Result<ExitCode> {
    let inputs = args
        .inputs
        .iter()
        .map(|p| Ok((p.display().to_string(), RunResult::load(p)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let merged = merge::merge_with_tolerance(&inputs, args.window_tolerance)?;
    export::json::write(&merged, &args.output)?;
    Ok(exit_code(&merged))
}

#[cfg(test)]
mod tests {
    use super::*;
    use results_model::{RunConfig, Target};

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn no_subcommand_means_run() {
        let cli =
            Cli::try_parse_from(["loadgen", "--model", "threads", "--clients", "1000"]).unwrap();
        assert!(cli.command.is_none());
        let config = cli.run.to_config().unwrap();
        assert_eq!(config.clients, 1000);
        assert_eq!(config.target.label(), "threads");
        let cli =
            Cli::try_parse_from(["loadgen", "merge", "a.json", "b.json", "-o", "c.json"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Merge(_))));
        assert!(
            Cli::try_parse_from(["loadgen", "--clients", "5"]).is_err(),
            "needs a target"
        );
        let cli = Cli::try_parse_from([
            "loadgen",
            "--addr",
            "127.0.0.1:7",
            "--server-arg=--workers",
            "--server-arg=1",
            "--pin",
            "1",
            "--server-pin",
            "0-1",
        ])
        .unwrap();
        assert_eq!(cli.run.target.server.server_arg, vec!["--workers", "1"]);
        let config = cli.run.to_config().unwrap();
        assert_eq!(config.pin, Some(vec![1]));
    }

    #[test]
    fn pin_and_server_pin_reach_the_config() {
        let cli = Cli::try_parse_from(["loadgen", "--model", "mio", "--server-pin", "0"]).unwrap();
        let config = cli.run.to_config().unwrap();
        assert!(
            matches!(&config.target, Target::Spawn { server_pin: Some(p), .. } if p == &[0]),
            "{:?}",
            config.target
        );
        assert_eq!(config.pin, None);
        let cli = Cli::try_parse_from(["loadgen", "--model", "mio", "--pin", "1"]).unwrap();
        let config = cli.run.to_config().unwrap();
        assert_eq!(config.pin, Some(vec![1]));
        assert!(matches!(
            &config.target,
            Target::Spawn {
                server_pin: None,
                ..
            }
        ));
    }

    #[test]
    fn a_plain_run_has_the_defaults_of_run_config_new() {
        let cli = Cli::try_parse_from(["loadgen", "--model", "mio"]).unwrap();
        let config = cli.run.to_config().unwrap();
        let mut expected = RunConfig::new("mio", results_model::defaults::CLIENTS);
        expected.threads = config.threads;
        assert_eq!(config, expected);
    }
}
