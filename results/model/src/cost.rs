//! Cost per echoed message (the result's `cost`): CPU time (user and system), context switches
//! and run-queue wait of a process over the measured window, divided by the messages echoed in
//! it. How each figure is measured is described where it is made, in loadgen-engine's `cost`.
//!
//! A process's CPU per message is far steadier than its throughput on a shared machine, and it
//! stays comparable when throughput is limited by the load generator rather than the server.

use serde::{Deserialize, Serialize};

/// Cost per message of each side of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CostReport {
    /// The child server (`null` with `--addr`, or when its /proc could not be read).
    pub server: Option<ProcessCost>,
    /// loadgen itself (`null` when /proc could not be read).
    pub loadgen: Option<ProcessCost>,
}

/// One process's cost per echoed message over the measured window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ProcessCost {
    /// CPU time per message, ns (user + system).
    pub cpu_ns_per_msg: f64,
    /// User CPU time per message, ns (CPU ns split by the utime/stime tick ratio).
    pub user_ns_per_msg: f64,
    /// System CPU time per message, ns.
    pub sys_ns_per_msg: f64,
    /// Voluntary context switches (blocking) per message.
    pub vol_ctx_switches_per_msg: f64,
    /// Involuntary context switches (preemption) per message.
    pub invol_ctx_switches_per_msg: f64,
    /// Time threads were runnable but waited for a CPU, per message, ns.
    pub runqueue_wait_ns_per_msg: f64,
    /// Real interval between the two samples, ns.
    pub interval_ns: u64,
    /// Messages echoed in the measured window (the divisor).
    pub messages: u64,
    /// CPU ns of the interval in all (the numerator of `cpu_ns_per_msg`).
    pub cpu_ns: u64,
    /// Threads alive at the first sample and gone at the second: their CPU is estimated from
    /// ticks, their context switches and run-queue wait are missing.
    pub threads_exited: u64,
}

impl ProcessCost {
    /// `5.20 µs CPU/msg (1.10 user + 4.10 sys), 0.90 vol + 0.02 invol cs/msg, 0.30 µs run-queue
    /// wait/msg`, for the run summary.
    pub fn one_line(&self) -> String {
        let us = |ns: f64| ns / 1000.0;
        let mut s = format!(
            "{:.2} µs CPU/msg ({:.2} user + {:.2} sys), {:.2} vol + {:.2} invol cs/msg, \
             {:.2} µs run-queue wait/msg",
            us(self.cpu_ns_per_msg),
            us(self.user_ns_per_msg),
            us(self.sys_ns_per_msg),
            self.vol_ctx_switches_per_msg,
            self.invol_ctx_switches_per_msg,
            us(self.runqueue_wait_ns_per_msg),
        );
        if self.threads_exited > 0 {
            s += &format!(" ({} thread(s) exited in the window)", self.threads_exited);
        }
        s
    }
}
