//! Holding the CPUs' wake-up latency down while an open loop runs, as `cyclictest` does.
//!
//! **Why.** An idle CPU sleeps in a deep idle state, and in a virtual machine it also hands
//! itself back to the host: the timer that ends a worker's sleep then arrives tens of µs late
//! and costs that worker tens of µs of CPU. The kernel's PM QoS interface
//! (`/dev/cpu_dma_latency`) lets a process ask for a maximum wake-up latency; 0 µs keeps idle
//! CPUs polling, so a wake-up is on time and cheap. The request lasts while the file stays
//! open and ends with it (or with the process).
//!
//! **What it changes.** It applies to every CPU, so the server's wake-ups get faster too: a
//! run's figures are for a host tuned for latency, like `tuned`'s latency-performance profile.
//! The result records whether it was held (`config.cpu_qos` and `open_loop.pacing.cpu_qos`),
//! and `--no-cpu-qos` leaves power management alone. It needs write access to the device
//! (root); without it the run goes on and says why.

use std::fs::File;
use std::io::Write;

/// The PM QoS device.
const DEVICE: &str = "/dev/cpu_dma_latency";

/// A held request (released when dropped), or nothing.
#[derive(Debug)]
pub struct CpuQos(#[allow(dead_code)] Option<File>);

impl CpuQos {
    /// Asks for a 0 µs wake-up latency while the returned guard lives. Returns the guard and
    /// what happened, in words: `held`, or why not.
    pub fn hold() -> (CpuQos, String) {
        match File::options().write(true).open(DEVICE) {
            Ok(mut f) => match f.write_all(&0i32.to_ne_bytes()) {
                Ok(()) => (CpuQos(Some(f)), "held".to_string()),
                Err(e) => (CpuQos(None), format!("not held: writing {DEVICE}: {e}")),
            },
            Err(e) => (CpuQos(None), format!("not held: opening {DEVICE}: {e}")),
        }
    }

    /// A guard that holds nothing (`--no-cpu-qos`, or a closed loop).
    pub fn none() -> CpuQos {
        CpuQos(None)
    }
}
