//! Statistics for benchmark verdicts: bootstrap intervals, paired comparisons, significance, power.
//!
//! Pure functions, no I/O; every random draw comes from a caller-seeded RNG, so equal inputs and
//! seeds give equal outputs.
//!
//! - [`summarize`]: a sample's median with a percentile-bootstrap interval (Efron 1979) and an
//!   outlier warning.
//! - [`compare_unpaired`], [`compare_paired`], [`classify`], [`Comparison::describe`]: Δ = B/A − 1 with an
//!   interval and the [`Change`] it shows. Pairing follows from interleaved runs (Abedi & Brecht, ICPE 2017).
//! - [`rank`]: k groups ordered by median with Holm-corrected (Holm 1979) significance and tiers.
//! - [`noise_floor`]: the spread of an A/A pair.
//! - [`regression_bound`]: a one-sided paired bound on a mean log-ratio, the CI gate's decision;
//!   [`power`], [`suggest_pairs`] and [`suggest_plan`]: its detection and false-alarm rates,
//!   analytic and simulated, and planning.
//!
//! Δ values and thresholds are fractions throughout (0.10 means +10%).
//!
//! ```
//! use loadgen_inference::{compare_paired, classify, BootstrapConfig, Comparison, Direction, Change};
//!
//! // Server CPU per message (ns) of five interleaved rounds: base, then new.
//! let base = [1510.0, 1620.0, 1480.0, 1700.0, 1550.0];
//! let new = [1330.0, 1440.0, 1290.0, 1500.0, 1370.0];
//! let delta = compare_paired(&base, &new, &BootstrapConfig::default())?;
//! let change = classify(&delta, Direction::LowerIsBetter, 0.02);
//! assert_eq!(change, Change::Faster);
//! let line = Comparison::new("mio", "uring", "server CPU/msg", delta, change).describe();
//! // The median per-round ratio is 1500/1700 = 0.882, so Δ = −11.8%.
//! assert!(line.starts_with("mio \u{2192} uring: server CPU/msg \u{2212}11.8% ["), "{line}");
//! # Ok::<(), loadgen_inference::Error>(())
//! ```

mod bootstrap;
mod compare;
mod distributions;
mod error;
mod holm;
mod noise;
mod order_stats;
mod percent;
mod plan;
mod power;
mod rank;
mod regression_bound;
mod summary;
mod t_test;

pub use bootstrap::BootstrapConfig;
pub use compare::{
    classify, compare, compare_paired, compare_unpaired, log_ratios, Change, Comparison, Delta,
    Direction, Pairing,
};
pub use distributions::{normal_cdf, normal_quantile, t_cdf, t_quantile};
pub use error::Error;
pub use holm::holm_adjust;
pub use noise::{noise_floor, NoiseFloor};
pub use plan::{suggest_pairs, suggest_plan, Plan, Scenario, Targets};
pub use power::{
    power, power_analytic, power_monte_carlo, PowerEstimate, PowerQuery, Rates,
    DEFAULT_SIMULATIONS, DEFAULT_SIMULATION_SEED,
};
pub use rank::{rank, Group, PairScope, PairTest, RankConfig, RankedGroup, Ranking};
pub use regression_bound::{
    regression_bound, regression_bound_of_logs, BoundConfig, BoundDecision,
};
pub use summary::{summarize, Summary, TUKEY_FENCE};
