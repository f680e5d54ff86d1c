//! The kinds of per-message cost `--extra-work` can plant, each one a regression of a kind real
//! code has: CPU (timed by the thread's own CPU clock, so preemption does not shorten it),
//! memory (N KiB touched per message, leaving a cache footprint), and system calls.

use std::cell::RefCell;
use std::fmt;
use std::time::Duration;

/// Bytes of the per-thread arena the memory kind walks: larger than a core's L2, so touching
/// it evicts what the server itself keeps in cache.
const ARENA_BYTES: usize = 8 << 20;
/// One cache line: the memory kind writes one byte per line it touches.
const LINE: usize = 64;

/// One kind of per-message cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkKind {
    /// Busy CPU for this long per message, by the calling thread's CPU clock.
    Cpu(Duration),
    /// Touch (write one byte of every cache line of) this many KiB per message.
    Memory {
        /// KiB touched per message.
        kib: usize,
    },
    /// This many system calls per message (`getppid`, which no C library caches).
    Syscall {
        /// Calls per message.
        calls: u32,
    },
}

impl WorkKind {
    /// Parses `300ns`, `cpu:300ns`, `mem:64` (KiB; `mem:64KiB` too), `syscall`, `syscall:3`.
    pub fn parse(s: &str) -> Result<WorkKind, String> {
        if s == "syscall" {
            return Ok(WorkKind::Syscall { calls: 1 });
        }
        let (kind, amount) = s.split_once(':').unwrap_or(("cpu", s));
        match (kind, amount) {
            ("syscall", n) => n
                .parse()
                .map(|calls| WorkKind::Syscall { calls })
                .map_err(|_| format!("syscall:N needs a count, got {n:?}")),
            ("mem" | "memory", n) => {
                let n = n.trim_end_matches("KiB").trim_end_matches("kib").trim();
                n.parse()
                    .map(|kib| WorkKind::Memory { kib })
                    .map_err(|_| format!("mem:N needs KiB per message, got {n:?}"))
            }
            ("cpu", d) => parse_duration(d).map(WorkKind::Cpu),
            (other, _) => Err(format!(
                "unknown --extra-work kind {other:?} (cpu:DURATION, mem:KIB, syscall[:N])"
            )),
        }
    }

    /// Whether this kind costs nothing.
    pub fn is_zero(&self) -> bool {
        match *self {
            WorkKind::Cpu(d) => d.is_zero(),
            WorkKind::Memory { kib } => kib == 0,
            WorkKind::Syscall { calls } => calls == 0,
        }
    }

    /// Spends the cost of `messages` messages on the calling thread.
    pub fn spend(&self, messages: u64) {
        match *self {
            WorkKind::Cpu(per_message) => {
                let n = u32::try_from(messages).unwrap_or(u32::MAX);
                spin_cpu_for(per_message.saturating_mul(n));
            }
            WorkKind::Memory { kib } => {
                for _ in 0..messages {
                    touch(kib * 1024);
                }
            }
            WorkKind::Syscall { calls } => {
                for _ in 0..messages.saturating_mul(u64::from(calls)) {
                    // SAFETY: getppid takes no arguments and cannot fail.
                    std::hint::black_box(unsafe { libc::getppid() });
                }
            }
        }
    }
}

impl fmt::Display for WorkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkKind::Cpu(d) => write!(f, "cpu:{}ns", d.as_nanos()),
            WorkKind::Memory { kib } => write!(f, "mem:{kib}KiB"),
            WorkKind::Syscall { calls } => write!(f, "syscall:{calls}"),
        }
    }
}

/// A duration such as `300ns` or `2ms`; a bare number is nanoseconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    match s.parse::<u64>() {
        Ok(ns) => Ok(Duration::from_nanos(ns)),
        Err(_) => humantime::parse_duration(s).map_err(|e| e.to_string()),
    }
}

/// The calling thread's CPU time so far (CLOCK_THREAD_CPUTIME_ID).
pub fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; this clock exists on every Linux since 2.6.12,
    // and on failure `ts` stays zero (the spin then ends at once rather than never).
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Keeps the CPU busy for `duration` of this thread's CPU time: a counted loop of
/// [`spin_rate`] steps per ns. Counted work takes the same CPU however often the thread is
/// preempted, unlike a spin timed by the wall clock; and it reads no clock per message (a read
/// of the thread's CPU clock is a system call, which would itself be a cost larger than a small
/// plant and would not scale with it).
fn spin_cpu_for(duration: Duration) {
    let steps = (duration.as_nanos() as f64 * spin_rate()) as u64;
    spin_steps(steps);
}

/// `steps` steps of dependent integer work the compiler cannot remove. Never inlined, so that a
/// profile of the server names it.
#[inline(never)]
fn spin_steps(steps: u64) {
    let mut x = 1u64;
    for _ in 0..steps {
        x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
    }
    std::hint::black_box(x);
}

/// Steps of [`spin_steps`] per ns of this machine's thread CPU time, measured once per process
/// by the thread CPU clock (CLOCK_THREAD_CPUTIME_ID): the fastest of five timed batches, so a
/// batch the thread was preempted in (which the CPU clock does not count, but whose cache and
/// pipeline state it loses) does not lower it.
fn spin_rate() -> f64 {
    static RATE: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *RATE.get_or_init(|| {
        const BATCH: u64 = 200_000;
        let best = (0..5)
            .map(|_| {
                let start = thread_cpu_time();
                spin_steps(BATCH);
                (thread_cpu_time() - start).as_nanos().max(1)
            })
            .min()
            .unwrap_or(1);
        BATCH as f64 / best as f64
    })
}

thread_local! {
    /// Each thread's arena and where its next touch starts.
    static ARENA: RefCell<(Vec<u8>, usize)> = const { RefCell::new((Vec::new(), 0)) };
}

/// Writes one byte in each cache line of the next `bytes` of this thread's arena, wrapping
/// around: successive messages walk the whole arena, so each touch misses the caches as a
/// handler's growing working set would.
fn touch(bytes: usize) {
    ARENA.with_borrow_mut(|(arena, at)| {
        if arena.is_empty() {
            arena.resize(ARENA_BYTES, 0);
        }
        for _ in 0..bytes.div_ceil(LINE) {
            arena[*at] = arena[*at].wrapping_add(1);
            *at = (*at + LINE) % ARENA_BYTES;
        }
        std::hint::black_box(&arena[*at]);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_and_print_back() {
        assert_eq!(
            WorkKind::parse("300ns"),
            Ok(WorkKind::Cpu(Duration::from_nanos(300)))
        );
        assert_eq!(
            WorkKind::parse("cpu:2us"),
            Ok(WorkKind::Cpu(Duration::from_micros(2)))
        );
        assert_eq!(
            WorkKind::parse("mem:64KiB"),
            Ok(WorkKind::Memory { kib: 64 })
        );
        assert_eq!(WorkKind::parse("memory:8"), Ok(WorkKind::Memory { kib: 8 }));
        assert_eq!(
            WorkKind::parse("syscall"),
            Ok(WorkKind::Syscall { calls: 1 })
        );
        assert_eq!(
            WorkKind::parse("syscall:3"),
            Ok(WorkKind::Syscall { calls: 3 })
        );
        assert!(WorkKind::parse("disk:1").is_err());
        assert!(WorkKind::parse("mem:lots").is_err());
        for s in ["cpu:300ns", "mem:64KiB", "syscall:3"] {
            assert_eq!(WorkKind::parse(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn cpu_work_scales_with_its_duration_by_the_threads_cpu_clock() {
        let used = |d: Duration| {
            let before = thread_cpu_time();
            WorkKind::Cpu(d).spend(10);
            thread_cpu_time() - before
        };
        let _ = used(Duration::from_micros(1)); // measures the rate once
                                                // By the thread's own clock, which does not count time spent preempted: ten times
                                                // 2 ms of work uses at least about 20 ms of this thread's CPU, on a loaded machine too.
                                                // A lower bound only, with room for the CPU's clock speed to rise after the rate was
                                                // measured: a spin that did no work, or ended early, falls far below it.
        let twenty = used(Duration::from_millis(2));
        assert!(twenty >= Duration::from_millis(10), "{twenty:?}");
    }

    #[test]
    fn memory_work_walks_the_arena() {
        touch(4096);
        let at = ARENA.with_borrow(|(arena, at)| {
            assert_eq!(arena.len(), ARENA_BYTES);
            assert_eq!(arena[0], 1);
            assert_eq!(arena[LINE], 1);
            *at
        });
        assert_eq!(at, 4096);
    }
}
