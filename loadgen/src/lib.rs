//! `loadgen`: drives an echo server with thousands of verified clients and reports latency the
//! way it should be reported (HdrHistogram, coordinated omission corrected, full JSON).
//!
//! Modules, one concern each: [`config`] (what to run), [`result`] (the JSON), [`histogram`].

pub mod config;
pub mod histogram;
pub mod result;

pub use config::{RunConfig, Target};
pub use histogram::{LatencyHistogram, Percentiles};
pub use result::{RunResult, SCHEMA_VERSION};
