//! Capacity under a latency SLO: the highest open-loop rate at which the corrected latency
//! percentile stays within the objective and loadgen was not the late side. This is the knee
//! wrk2 users find by hand and tcpkali's `--message-rate @<latency>`, searched automatically.
//!
//! **How it searches.** Short runs: from the lowest rate, multiply by [`search::GROWTH`] until a
//! rate misses the SLO (or the top rate holds), then bisect geometrically between the last rate
//! that held and the first that did not, down to [`search::PRECISION`]. Longer runs confirm the
//! rate found; if they miss, the rate backs off by [`search::BACKOFF`] and is confirmed again (at
//! most [`search::MAX_CONFIRMS`] rates), and the limit is then the confirmation, not the SLO.
//! **Each rate, short or confirming, is decided by a majority** ([`rule`]): it holds when 2 of up
//! to 3 runs hold and misses when 2 miss, with no third run once two agree; a run with loadgen
//! late counts as a miss. Every run is kept: the curve (offered rate → latency, achieved rate,
//! send lag) is the "hockey stick" chart.
//!
//! The search is pure: it calls a closure for each run, so it is tested without sockets. The
//! runs are made by a [`crate::runner::CellRunner`] the caller supplies (the load engine).
//!
//! - [`search`]: the search over a closure; [`rule`]: how a rate's runs decide it;
//!   [`plan`]: the runs of one server's search (a model loadgen starts, or `--addr`);
//!   [`command`]: `loadgen capacity` (the search, its output files and its line);
//!   [`rank`]: `sweep --capacity-slo`, models ranked by capacity.

pub mod command;
pub mod plan;
pub mod rank;
pub mod rule;
pub mod search;

pub use plan::CapacityPlan;
pub use results_model::capacity::{Bounds, Capacity, Limit, Phase, Probe, Slo};
pub use search::search;
