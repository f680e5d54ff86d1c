//! Sampling a process's CPU with call chains: a `cpu-clock` event on every CPU, for whatever
//! runs there, enabled only while the measured window is open, keeping the samples of the
//! sampled process's threads, those it starts during the run included. (The kernel does not
//! map the ring buffer of a per-thread event that is inherited, so per-CPU sampling, which
//! needs root or CAP_PERFMON, is how threads started during the run are covered.) A thread
//! drains the ring buffers every few milliseconds and counts each distinct call chain, so
//! memory is bounded by the number of distinct stacks, not by the run's length.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use perf_event::data::Record;
use perf_event::events::Software;
use perf_event::{Builder, SampleFlag, Sampler};

use results_model::CpuList;

/// Samples per second on each CPU: off the timer tick's multiples, so sampling does not run in
/// lock-step with the scheduler.
pub(crate) const FREQUENCY_HZ: u64 = 997;
/// Ring buffer per CPU, bytes (a power of two of pages).
const RING_BYTES: usize = 512 * 1024;
/// How often the ring buffers are drained.
const DRAIN_EVERY: Duration = Duration::from_millis(10);
/// Most distinct stacks kept; samples of further new stacks are counted as dropped.
const MAX_STACKS: usize = 100_000;

/// Call chains as the kernel gives them (leaf first, with its context markers), counted.
pub(crate) type Stacks = HashMap<Vec<u64>, u64>;

/// What the sampling gathered.
#[derive(Debug, Default)]
pub(crate) struct Profile {
    /// Each distinct call chain and its samples.
    pub stacks: Stacks,
    /// Samples in all.
    pub samples: u64,
    /// Samples the kernel dropped (ring buffer full), plus those past [`MAX_STACKS`].
    pub lost: u64,
    /// Whether kernel frames were sampled.
    pub kernel_frames: bool,
    /// What a reader must know.
    pub notes: Vec<String>,
}

/// A running sampler of one process.
pub(crate) struct Profiler {
    samplers: Arc<Mutex<Vec<Sampler>>>,
    stop: Arc<AtomicBool>,
    drain: Option<JoinHandle<Profile>>,
}

impl Profiler {
    /// Opens (disabled) a sampler on every CPU for process `pid`; kernel frames where the
    /// kernel allows them, user frames only (with a note) where it does not.
    pub fn open(pid: u32) -> Result<Profiler, String> {
        let cpus = online_cpus()?;
        let mut notes = Vec::new();
        let (samplers, kernel_frames) = match open_all(&cpus, true) {
            Ok(s) => (s, true),
            Err(refused) => {
                let s =
                    open_all(&cpus, false).map_err(|e| format!("cannot sample the server: {e}"))?;
                notes.push(format!("kernel frames not sampled: {refused}"));
                (s, false)
            }
        };
        let samplers = Arc::new(Mutex::new(samplers));
        let stop = Arc::new(AtomicBool::new(false));
        let drain = {
            let (samplers, stop) = (Arc::clone(&samplers), Arc::clone(&stop));
            std::thread::Builder::new()
                .name("loadgen-profile".into())
                .spawn(move || drain_until(&samplers, &stop, pid, (kernel_frames, notes)))
                .map_err(|e| format!("cannot start the sampling thread: {e}"))?
        };
        Ok(Profiler {
            samplers,
            stop,
            drain: Some(drain),
        })
    }

    /// Starts sampling (the window opened).
    pub fn start(&self) {
        self.each(|s| s.as_counter_mut().enable());
    }

    /// Stops sampling (the window closed).
    pub fn stop(&self) {
        self.each(|s| s.as_counter_mut().disable());
    }

    /// Stops sampling and returns what was gathered.
    pub fn finish(mut self) -> Profile {
        self.stop();
        self.stop.store(true, Ordering::Relaxed);
        let drain = self.drain.take().expect("finished once");
        drain.join().unwrap_or_else(|_| Profile {
            notes: vec!["the sampling thread panicked: no profile".into()],
            ..Profile::default()
        })
    }

    /// Applies `f` to every sampler (a failure leaves that thread's sampling as it was).
    fn each(&self, f: impl Fn(&mut Sampler) -> std::io::Result<()>) {
        let mut samplers = self.samplers.lock().unwrap_or_else(PoisonError::into_inner);
        for s in samplers.iter_mut() {
            let _ = f(s);
        }
    }
}

impl Drop for Profiler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The CPUs the kernel has online.
fn online_cpus() -> Result<Vec<usize>, String> {
    const ONLINE: &str = "/sys/devices/system/cpu/online";
    let text = std::fs::read_to_string(ONLINE).map_err(|e| format!("cannot read {ONLINE}: {e}"))?;
    let cpus: CpuList = text.trim().parse().map_err(|e| format!("{ONLINE}: {e}"))?;
    Ok(cpus.0)
}

/// Opens a disabled sampler of every process on each of `cpus`. `Err` with the reason when
/// the kernel refuses.
fn open_all(cpus: &[usize], kernel: bool) -> Result<Vec<Sampler>, String> {
    let mut builder = Builder::new(Software::CPU_CLOCK);
    builder
        .any_pid()
        .sample_frequency(FREQUENCY_HZ)
        .sample(SampleFlag::IP | SampleFlag::TID | SampleFlag::CALLCHAIN)
        .exclude_kernel(!kernel)
        .exclude_callchain_kernel(!kernel)
        .enabled(false);
    let mut samplers = Vec::with_capacity(cpus.len());
    for &cpu in cpus {
        let counter = builder
            .one_cpu(cpu)
            .build()
            .map_err(|e| format!("perf_event_open on CPU {cpu}: {e}"))?;
        samplers.push(
            counter
                .sampled(RING_BYTES)
                .map_err(|e| format!("cannot map the ring buffer: {e}"))?,
        );
    }
    if samplers.is_empty() {
        return Err("no CPU online to sample".into());
    }
    Ok(samplers)
}

/// Drains every ring buffer each [`DRAIN_EVERY`] until `stop`, then once more, keeping the
/// samples of process `pid`.
fn drain_until(
    samplers: &Mutex<Vec<Sampler>>,
    stop: &AtomicBool,
    pid: u32,
    (kernel_frames, notes): (bool, Vec<String>),
) -> Profile {
    let mut profile = Profile {
        kernel_frames,
        notes,
        ..Profile::default()
    };
    loop {
        let last = stop.load(Ordering::Relaxed);
        {
            let mut samplers = samplers.lock().unwrap_or_else(PoisonError::into_inner);
            for s in samplers.iter_mut() {
                drain(s, pid, &mut profile);
            }
        }
        if last {
            return profile;
        }
        std::thread::sleep(DRAIN_EVERY);
    }
}

/// Folds every sample of process `pid` waiting in `sampler`'s ring buffer into `profile`.
fn drain(sampler: &mut Sampler, pid: u32, profile: &mut Profile) {
    while let Some(record) = sampler.next_record() {
        match record.parse_record() {
            Ok(Record::Sample(sample)) if sample.pid() == Some(pid) => {
                profile.samples += 1;
                let chain = sample.callchain().unwrap_or(&[]);
                if let Some(n) = profile.stacks.get_mut(chain) {
                    *n += 1;
                } else if profile.stacks.len() < MAX_STACKS {
                    profile.stacks.insert(chain.to_vec(), 1);
                } else {
                    profile.lost += 1;
                }
            }
            Ok(Record::Lost(lost)) => profile.lost += lost.lost,
            _ => {}
        }
    }
}
