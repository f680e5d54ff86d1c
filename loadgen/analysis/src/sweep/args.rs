//! The options of `loadgen sweep`.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::sweep_dir::plan::SweepPlan;

/// Options of `loadgen sweep`.
#[derive(Args, Debug, Clone)]
pub struct SweepArgs {
    /// The grid and how each cell runs.
    #[command(flatten)]
    pub plan: SweepPlan,
    /// Output directory (default: results/sweep-<UTC timestamp>/).
    #[arg(long, short, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Only errors on stderr (no per-cell progress).
    #[arg(long, short)]
    pub quiet: bool,
    /// Finish the interrupted sweep in DIR with its saved options: only the cells without a
    /// result file run, then the report is rebuilt.
    #[arg(long, value_name = "DIR", conflicts_with = "out")]
    pub resume: Option<PathBuf>,
}

impl SweepArgs {
    /// The sweep `plan` resumed in `dir`.
    pub fn resuming(plan: SweepPlan, dir: &Path, quiet: bool) -> SweepArgs {
        SweepArgs {
            plan,
            out: Some(dir.to_path_buf()),
            quiet,
            resume: Some(dir.to_path_buf()),
        }
    }
}
