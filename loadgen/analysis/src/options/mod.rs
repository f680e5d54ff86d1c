//! The command-line options of the subcommands that run benchmarks (`run`, `sweep`,
//! `capacity`), one flattened clap group per concept, each option typed once:
//!
//! - [`target`]: which server ([`TargetArgs`]) and the child server's options ([`ServerArgs`]);
//! - [`load`]: the load's shape ([`LoadArgs`]: [`WindowArgs`], [`MessageArgs`],
//!   [`OpenLoopArgs`], [`ConnectionArgs`]);
//! - [`placement`]: CPU placement ([`PlacementArgs`]: [`WorkerArgs`], [`ServerPinArgs`]);
//! - [`link`]: the delayed link between loadgen and its server ([`LinkArgs`]);
//! - [`kernel`]: what loadgen asks the kernel about a run ([`KernelArgs`]);
//! - [`text`]: how the options read and are saved as text ([`HumanDuration`]).
//!
//! A run's defaults are [`results_model::defaults`]; a subcommand whose default differs
//! (`sweep`, `capacity`) names its own constant and sets it with `mut_arg`.

pub mod kernel;
pub mod link;
pub mod load;
pub mod placement;
pub mod target;
pub mod text;

pub use kernel::KernelArgs;
pub use link::LinkArgs;
pub use load::{ArrivalArgs, ConnectionArgs, LoadArgs, MessageArgs, OpenLoopArgs, WindowArgs};
pub use placement::{PlacementArgs, ServerPinArgs, WorkerArgs};
pub use target::{ServerArgs, TargetArgs};
pub use text::HumanDuration;
