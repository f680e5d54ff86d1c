//! How an open-loop worker keeps time: one wake-up per message when it can afford it, batches
//! on coarser ticks only when it cannot.
//!
//! **Precise** (the default wherever it fits): the worker sleeps on an absolute timer (timer
//! slack 1 ns) until a spin margin before the next message is due, reads the echoes that
//! queued meanwhile, then spins on the clock for the rest and writes the message when it is
//! due. A sleeping thread wakes late by however long the kernel (and, in a virtual machine, the
//! hypervisor) takes to deliver the timer; the margin covers that lateness, so the write lands
//! on time, and the spin costs only what is left of the margin.
//!
//! **Batched**: when one wake-up per message would cost more CPU than [`WAKE_BUDGET`], the
//! worker wakes once per tick, a whole number of message intervals, and sends every message due
//! by then: fewer wake-ups, and up to one tick of send lag, which is measured. The tick is the
//! shortest whose wake-ups cost at most [`BATCH_WAKE_BUDGET`] of a CPU: once a message may wait
//! a tick, its send is late anyway and the latency is known only to within a tick, so a finer
//! tick buys little and its wake-ups take CPU from the server on the same machine.
//!
//! The choice comes from the per-worker rate and the wake-up cost this machine shows, measured
//! by [`calibrate`] before the run (sleeps timed by the thread's CPU clock and by the monotonic
//! clock). `--tick` overrides it. The mode, its inputs and the reason are recorded in the result.

use std::time::{Duration, Instant};

use results_model::open_loop::{PaceMode, Pacing};

/// Share of one CPU a worker may spend on waking and spinning before it batches.
pub const WAKE_BUDGET: f64 = 0.6;
/// Share of one CPU a batching worker spends on its ticks' wake-ups: where a wake-up costs
/// 18 µs, as on a virtual machine, ticks fall 180 µs or more apart; where it costs 3 µs, 30 µs.
pub const BATCH_WAKE_BUDGET: f64 = 0.1;
/// The spin margin never exceeds this: beyond it, spinning costs more than it saves.
pub const MAX_MARGIN: Duration = Duration::from_micros(150);
/// Sleeps measured by [`calibrate`], and how long each asks for.
const CALIBRATION_SLEEPS: usize = 64;
const CALIBRATION_SLEEP: Duration = Duration::from_micros(300);

/// What a sleep costs on this machine, measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WakeCost {
    /// CPU time one sleep and wake-up costs the sleeping thread.
    pub cpu: Duration,
    /// How late a sleep ends after the instant it asked for: median and 99th percentile.
    pub late_p50: Duration,
    /// See `late_p50`.
    pub late_p90: Duration,
    /// See `late_p50`.
    pub late_p99: Duration,
}

impl WakeCost {
    /// The typical spin margin, for costing a wake-up: the 90th-percentile lateness (+2 µs),
    /// within [`MAX_MARGIN`]. A few dozen sleeps tell it well, their largest poorly.
    pub fn margin(&self) -> Duration {
        (self.late_p90 + Duration::from_micros(2)).min(MAX_MARGIN)
    }

    /// The first margin a worker spins: the 99th-percentile lateness (+2 µs), so the window's
    /// first messages are on time too; the worker then sets it from its own sleeps (see the
    /// driver's pacer).
    pub fn first_margin(&self) -> Duration {
        (self.late_p99 + Duration::from_micros(2)).min(MAX_MARGIN)
    }

    /// CPU one wake-up costs, spin included (the margin less the median lateness).
    pub fn per_wake(&self) -> Duration {
        self.cpu + self.margin().saturating_sub(self.late_p50)
    }
}

/// Measures [`WakeCost`] on the calling thread (timer slack must already be 1 ns): a few
/// dozen absolute sleeps, about 20 ms in all.
pub fn calibrate() -> WakeCost {
    let mut late = Vec::with_capacity(CALIBRATION_SLEEPS);
    let cpu0 = thread_cpu();
    for _ in 0..CALIBRATION_SLEEPS {
        let at = Instant::now() + CALIBRATION_SLEEP;
        sleep_until(at);
        late.push(Instant::now().saturating_duration_since(at));
    }
    let cpu = thread_cpu().saturating_sub(cpu0) / CALIBRATION_SLEEPS as u32;
    late.sort_unstable();
    let at = |q: f64| late[((late.len() - 1) as f64 * q).round() as usize];
    WakeCost {
        cpu,
        late_p50: at(0.5),
        late_p90: at(0.9),
        late_p99: at(0.99),
    }
}

/// Chooses how a worker sending one message every `interval` keeps time. `tick` is `--tick`;
/// `uniform` is false for Poisson gaps, which are never batched onto ticks.
pub fn choose(interval: Duration, uniform: bool, cost: WakeCost, tick: Option<Duration>) -> Pacing {
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let per_wake = cost.per_wake();
    let base = Pacing {
        mode: PaceMode::Precise,
        tick_us: us(interval),
        spin_us: us(cost.first_margin()),
        wake_cpu_us: us(cost.cpu),
        wake_late_p50_us: us(cost.late_p50),
        wake_late_p99_us: us(cost.late_p99),
        reason: String::new(),
        cpu_qos: String::new(),
    };
    if let Some(tick) = tick.filter(|_| uniform) {
        let tick = super::tick::tick_for(interval, tick);
        return Pacing {
            mode: PaceMode::Batched,
            tick_us: us(tick),
            spin_us: 0.0,
            reason: format!("--tick asked for ticks at least {:.0} µs apart", us(tick)),
            ..base
        };
    }
    let share = per_wake.as_secs_f64() / interval.as_secs_f64().max(1e-9);
    if share <= WAKE_BUDGET || !uniform {
        let why = if uniform {
            "fits"
        } else {
            "Poisson gaps are never batched, though it exceeds"
        };
        return Pacing {
            reason: format!(
                "one wake-up per message ({:.1} µs CPU with the spin, every {:.1} µs) uses \
                 {:.0}% of a CPU: {why} the {:.0}% budget",
                us(per_wake),
                us(interval),
                share * 100.0,
                WAKE_BUDGET * 100.0
            ),
            ..base
        };
    }
    // Batched ticks do not spin: a message waits up to a tick anyway, and a spin per tick
    // would cost more CPU than the batching saves.
    let shortest = Duration::from_secs_f64(cost.cpu.as_secs_f64() / BATCH_WAKE_BUDGET);
    let tick = super::tick::tick_for(interval, shortest);
    Pacing {
        mode: PaceMode::Batched,
        tick_us: us(tick),
        spin_us: 0.0,
        reason: format!(
            "one wake-up per message ({:.1} µs CPU with the spin, every {:.1} µs) would use \
             {:.0}% of a CPU, over the {:.0}% budget: one wake-up ({:.1} µs CPU), without \
             spin, per {:.0} µs tick, so ticks use at most {:.0}% of a CPU",
            us(per_wake),
            us(interval),
            share * 100.0,
            WAKE_BUDGET * 100.0,
            us(cost.cpu),
            us(tick),
            BATCH_WAKE_BUDGET * 100.0
        ),
        ..base
    }
}

/// Sleeps until `at` on the monotonic clock (absolute, so a preempted call does not drift);
/// returns at once if `at` has passed.
pub fn sleep_until(at: Instant) {
    let now = Instant::now();
    if at > now {
        // `Instant` is CLOCK_MONOTONIC: the absolute target is the clock now plus the rest.
        if let Ok(mono) = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC) {
            let target = Duration::from(mono) + (at - Instant::now().min(at));
            let ts = nix::sys::time::TimeSpec::from_duration(target);
            let _ = nix::time::clock_nanosleep(
                nix::time::ClockId::CLOCK_MONOTONIC,
                nix::time::ClockNanosleepFlags::TIMER_ABSTIME,
                &ts,
            );
        }
    }
}

/// Spins on the clock until `at` (the last few µs before a message is due).
pub fn spin_until(at: Instant) {
    while Instant::now() < at {
        std::hint::spin_loop();
    }
}

/// CPU time used by the calling thread so far.
pub fn thread_cpu() -> Duration {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID)
        .map_or(Duration::ZERO, Duration::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    const US: fn(u64) -> Duration = Duration::from_micros;

    fn cost(cpu: u64, p50: u64, p90: u64) -> WakeCost {
        WakeCost {
            cpu: US(cpu),
            late_p50: US(p50),
            late_p90: US(p90),
            late_p99: US(p90 * 3),
        }
    }

    #[test]
    fn light_rates_wake_per_message_and_spin_the_margin() {
        let p = choose(US(1000), true, cost(20, 40, 60), None);
        assert_eq!(p.mode, PaceMode::Precise, "{}", p.reason);
        assert!(
            (p.spin_us - 150.0).abs() < 0.5,
            "first margin = p99 late + 2 µs, capped"
        );
        assert!((p.tick_us - 1000.0).abs() < 0.5);
    }

    #[test]
    fn rates_beyond_the_budget_batch_on_whole_intervals() {
        // 20 µs CPU + 22 µs spin per wake-up, every 20 µs: 210% of a CPU.
        let p = choose(US(20), true, cost(20, 40, 60), None);
        assert_eq!(p.mode, PaceMode::Batched, "{}", p.reason);
        // Shortest tick whose wake-ups fit the batch budget: 20 / 0.1 = 200 µs, 10 intervals.
        assert!((p.tick_us - 200.0).abs() < 0.5, "{}", p.tick_us);
        // Intervals that do not divide it: 30 µs apart, 210 µs ticks (7 intervals).
        let p = choose(US(30), true, cost(20, 40, 60), None);
        assert!((p.tick_us - 210.0).abs() < 0.5, "{}", p.tick_us);
        // A cheap wake-up batches on fine ticks: 2 µs CPU, 2 µs late, every 3 µs.
        let p = choose(US(3), true, cost(2, 2, 3), None);
        assert_eq!(p.mode, PaceMode::Batched, "{}", p.reason);
        assert!((p.tick_us - 21.0).abs() < 0.5, "{}", p.tick_us);
        assert_eq!(p.spin_us, 0.0, "batched ticks do not spin");
        assert!(p.reason.contains("budget"));
    }

    #[test]
    fn tick_overrides_and_poisson_never_batches() {
        let p = choose(US(1000), true, cost(1, 1, 1), Some(US(4000)));
        assert_eq!(p.mode, PaceMode::Batched);
        assert!(p.reason.contains("--tick"));
        let p = choose(US(20), false, cost(20, 40, 60), Some(US(40)));
        assert_eq!(p.mode, PaceMode::Precise, "{}", p.reason);
    }

    #[test]
    fn the_margin_is_capped() {
        assert_eq!(cost(1, 1, 10_000).margin(), MAX_MARGIN);
    }
}
