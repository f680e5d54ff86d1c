//! `loadgen gate`: the paired same-job CI gate. With `--base-server` and `--new-server` it runs
//! the duets itself ([`run`]: every case of [`cases`], pair by pair, [`duet`]), writes one record
//! type ([`record`]) and judges; `loadgen gate BASE.jsonl NEW.jsonl` judges such records.
//!
//! Per model, the pairs (base run, new run) made back to back are judged on two metrics with
//! [`loadgen_inference::regression_bound`]: server CPU time per echoed message (primary: the server's own cost,
//! which a loadgen-bound closed loop cannot hide) and msgs/s (secondary, with its own wider
//! threshold because closed-loop throughput on a small machine swings more between runs). A
//! metric fails when the one-sided lower confidence bound of its mean paired log-ratio shows it
//! worse by more than its threshold. Each model's spread of per-pair log-ratios (its A/A-style
//! SD: drift cancels within a pair, so what remains is run-to-run noise plus any real effect's
//! own variation) is reported too, for the power analysis.

pub mod cases;
pub mod command;
pub mod decide;
pub mod duet;
pub mod judge;
pub mod outcome;
pub mod plant;
pub mod power;
pub mod record;
pub mod run;
pub mod run_args;
pub mod stalls;

pub use decide::{judge_model, render, GateSettings, MetricVerdict, ModelVerdict};

#[cfg(test)]
mod tests;
