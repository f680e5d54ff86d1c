//! Capacity under a latency SLO: the highest open-loop rate at which the corrected latency
//! percentile stays within the objective and loadgen was not the late side. This is the knee
//! wrk2 users find by hand and tcpkali's `--message-rate @<latency>`, searched automatically.
//!
//! **How it searches.** Short runs: from the lowest rate, multiply by [`search::GROWTH`] until a run
//! misses the SLO (or the top rate passes), then bisect geometrically between the last rate
//! that held and the first that did not, down to [`search::PRECISION`]. A longer run confirms the
//! rate found; if it misses, the rate backs off by [`search::BACKOFF`] and is confirmed again (at most
//! [`search::MAX_CONFIRMS`] rates). A rate misses only when every try at it missed: a run that
//! missed with loadgen the late side measured the load generator, not the server, and is run
//! again up to [`search::LATE_RETRIES`] times; any other miss once ([`search::MISS_RETRIES`]),
//! since one stall of a shared machine can push a short run's p99 past the SLO. Every run is kept: the curve (offered rate → latency, achieved
//! rate, send lag) is the "hockey stick" chart.
//!
//! The search is pure: it calls a closure for each run, so it is tested without sockets. The
//! runs are made by a [`crate::runner::CellRunner`] the caller supplies (the load engine).
//!
//! - [`search`]: the search over a closure; [`plan`]: the runs of one model's search;
//!   [`command`]: `loadgen capacity` (the search, its output files and its line);
//!   [`rank`]: `sweep --capacity-slo`, models ranked by capacity.

pub mod command;
pub mod plan;
pub mod rank;
pub mod search;

pub use plan::CapacityPlan;
pub use results_model::capacity::{Bounds, Capacity, Limit, Phase, Probe, Slo};
pub use search::search;
