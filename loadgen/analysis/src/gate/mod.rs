//! `loadgen gate BASE.jsonl NEW.jsonl`: the verdict of the paired same-job CI gate.
//!
//! Per model, the pairs (base run, new run) made back to back are judged on two metrics with
//! [`loadgen_inference::regression_bound`]: server CPU time per echoed message (primary: the server's own cost,
//! which a loadgen-bound closed loop cannot hide) and msgs/s (secondary, with its own wider
//! threshold because closed-loop throughput on a small machine swings more between runs). A
//! metric fails when the one-sided lower confidence bound of its mean paired log-ratio shows it
//! worse by more than its threshold. Each model's spread of per-pair log-ratios (its A/A-style
//! SD: drift cancels within a pair, so what remains is run-to-run noise plus any real effect's
//! own variation) is reported too, for the power analysis.

pub mod command;
pub mod decide;
pub mod outcome;
pub mod power;
pub mod record;

pub use decide::{judge_model, render, GateSettings, MetricVerdict, ModelVerdict};

#[cfg(test)]
mod tests;
