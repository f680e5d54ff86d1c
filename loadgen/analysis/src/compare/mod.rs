//! `loadgen compare BASE NEW`: two result files or two sweep directories, cell by cell.
//!
//! For each cell in both, msgs/s (higher is better), p99 and server CPU per message (lower is
//! better) are compared. When both sides have at least two runs, each Δ = NEW / BASE − 1 gets a
//! 95% bootstrap interval, paired by run index when the rounds visibly alternated in time
//! ([`interval`]), and the interval is judged: a regression lies wholly beyond the threshold on
//! the worse side, an improvement wholly beyond it on the better side, a point estimate within
//! the threshold is "ok", anything else "within noise". Otherwise the medians are classified
//! ([`point::classify`]), in this order:
//! 1. within the metric's threshold: "ok";
//! 2. beyond it, but no larger than the run-to-run spread (max − min) / median of either side
//!    (when a side has repeats): "within noise": the data cannot tell, so no verdict is guessed;
//! 3. otherwise a regression, or "improved".
//!
//! `--best` compares each cell's best repeat instead of its median. `--normalize` first divides NEW by the machine factor (the median NEW / BASE ratio over all
//! cells), so a machine that is uniformly busier or faster than when BASE was measured shifts
//! nothing, while one cell or model moving against the rest still does (server CPU per message,
//! which a busier machine moves far less, is not normalized).
//!
//! Independently of any threshold, a lost or corrupted echo (or failed connection) in NEW, or a
//! cell that ran in BASE but not in NEW, is a failure. Exit codes: 0 no regression, 1 regression
//! or failure, 2 error (unreadable input).

pub mod cells;
pub mod command;
pub mod interval;
pub mod outcome;
pub mod point;
pub mod side;

pub use cells::compare;
pub use outcome::{Comparison, MetricDelta, Outcome, Row, Thresholds};
pub use side::{read_side, Side};
