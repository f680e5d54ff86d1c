//! Arrival processes: when open-loop messages are intended (evenly spaced, or Poisson as
//! Mutilate, Treadmill and Lancet drive servers), and a Lancet-style self-check that the gaps
//! loadgen actually sent with follow the intended distribution.
//!
//! Evenly spaced sends hide the queueing that independent users cause; exponential gaps
//! (a Poisson process) show it. Either way the check is done on the sends that happened, not
//! on the schedule: a loadgen that batches or stalls turns a Poisson schedule into bursts, and
//! the corrected latency would then describe a different load than the one asked for.

use std::collections::VecDeque;
use std::time::Instant;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
pub use results_model::open_loop::{Arrival, ArrivalCheck};

/// Most inter-send gaps a worker keeps for the self-check (bounded memory).
pub const MAX_GAPS: usize = 20_000;
/// Poisson passes when the coefficient of variation of the sent gaps is within this of 1.
pub const POISSON_CV_TOLERANCE: f64 = 0.2;
/// Poisson passes when the Kolmogorov–Smirnov distance to the exponential is at most this.
pub const POISSON_KS_LIMIT: f64 = 0.1;
/// Uniform passes when the coefficient of variation of the sent gaps is at most this (the
/// intended value is 0; timer jitter of a fraction of the gap is expected).
pub const UNIFORM_CV_LIMIT: f64 = 0.5;
/// Fewer gaps than this say nothing: the check is reported as passed with a note.
const MIN_GAPS: usize = 100;

/// Seeded exponential arrival times, kept from the oldest message still needed onwards.
#[derive(Clone, Debug)]
pub struct PoissonTimes {
    rng: SmallRng,
    mean_ns: f64,
    /// Index of `times[0]`.
    base: u64,
    /// Offsets from the schedule's start, ns; always holds at least the next message.
    times: VecDeque<u64>,
    last_ns: f64,
}

impl PoissonTimes {
    /// Arrivals with mean gap `mean_ns`, the first one gap after the start.
    pub fn new(seed: u64, mean_ns: f64) -> Self {
        let mut p = PoissonTimes {
            rng: SmallRng::seed_from_u64(seed),
            mean_ns,
            base: 0,
            times: VecDeque::new(),
            last_ns: 0.0,
        };
        p.extend_to(0);
        p
    }

    fn extend_to(&mut self, j: u64) {
        while self.base + self.times.len() as u64 <= j {
            // Inverse transform: -ln(U) · mean is exponential; U in (0, 1] avoids ln(0).
            let u: f64 = 1.0 - self.rng.random::<f64>();
            self.last_ns += -u.ln() * self.mean_ns;
            self.times.push_back(self.last_ns as u64);
        }
    }

    /// Offset of message `j`, ns. Forgotten indices answer the oldest kept time (later than
    /// the true one, so a latency measured from it is still a lower bound).
    pub fn offset_ns(&self, j: u64) -> u64 {
        let i = j.saturating_sub(self.base) as usize;
        self.times
            .get(i)
            .or(self.times.back())
            .copied()
            .unwrap_or(0)
    }

    /// Makes sure message `j` has a time (called as the schedule hands out messages).
    pub fn ensure(&mut self, j: u64) {
        self.extend_to(j);
    }

    /// Drops the times of messages before `j`: none of them is needed any more.
    pub fn forget_before(&mut self, j: u64) {
        while self.base < j && self.times.len() > 1 {
            self.times.pop_front();
            self.base += 1;
        }
    }
}

/// Inter-send gaps of one worker's stream, in units of its intended mean gap.
#[derive(Clone, Debug, Default)]
pub struct GapSample {
    /// Intended mean gap of this worker, ns (0: not an open loop, nothing is kept).
    pub mean_ns: f64,
    last: Option<Instant>,
    gaps: Vec<f32>,
}

impl GapSample {
    /// A sample for a stream whose intended mean gap is `mean_ns`.
    pub fn new(mean_ns: f64) -> Self {
        GapSample {
            mean_ns,
            last: None,
            gaps: Vec::new(),
        }
    }

    /// Notes a message sent at `at`.
    pub fn observe(&mut self, at: Instant) {
        if self.mean_ns <= 0.0 {
            return;
        }
        if let Some(last) = self.last {
            if self.gaps.len() < MAX_GAPS {
                let gap = at.saturating_duration_since(last).as_nanos() as f64;
                self.gaps.push((gap / self.mean_ns) as f32);
            }
        }
        self.last = Some(at);
    }

    /// Adds another worker's gaps (each already in units of its own mean).
    pub fn merge(&mut self, other: &GapSample) {
        self.gaps.extend_from_slice(&other.gaps);
    }

    /// The self-check of these gaps against `arrival`.
    pub fn check(&self, arrival: Arrival) -> ArrivalCheck {
        check(&self.gaps, arrival)
    }
}

/// Checks gaps (in units of the intended mean) against `arrival`.
pub fn check(gaps: &[f32], arrival: Arrival) -> ArrivalCheck {
    let n = gaps.len();
    let mean = gaps.iter().map(|&g| f64::from(g)).sum::<f64>() / n.max(1) as f64;
    let var = gaps
        .iter()
        .map(|&g| (f64::from(g) - mean).powi(2))
        .sum::<f64>()
        / n.max(1) as f64;
    let cv = if mean > 0.0 { var.sqrt() / mean } else { 0.0 };
    let (cv_intended, ks_distance, ok) = match arrival {
        Arrival::Uniform => (0.0, None, cv <= UNIFORM_CV_LIMIT),
        Arrival::Poisson => {
            let d = ks_exponential(gaps, mean);
            (
                1.0,
                Some(d),
                (cv - 1.0).abs() <= POISSON_CV_TOLERANCE && d <= POISSON_KS_LIMIT,
            )
        }
    };
    ArrivalCheck {
        process: arrival,
        samples: n as u64,
        cv_intended,
        cv_achieved: cv,
        ks_distance,
        passed: n < MIN_GAPS || ok,
    }
}

/// KS distance between `gaps` and the exponential distribution with mean `mean`.
fn ks_exponential(gaps: &[f32], mean: f64) -> f64 {
    if gaps.is_empty() || mean <= 0.0 {
        return 0.0;
    }
    let mut x: Vec<f64> = gaps.iter().map(|&g| f64::from(g)).collect();
    x.sort_by(f64::total_cmp);
    let n = x.len() as f64;
    x.iter()
        .enumerate()
        .map(|(i, &v)| {
            let f = 1.0 - (-v / mean).exp();
            ((i + 1) as f64 / n - f).max(f - i as f64 / n)
        })
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poisson_gaps(seed: u64, n: u64) -> Vec<f32> {
        let mut p = PoissonTimes::new(seed, 1000.0);
        p.ensure(n);
        (1..=n)
            .map(|j| (p.offset_ns(j) - p.offset_ns(j - 1)) as f32 / 1000.0)
            .collect()
    }

    #[test]
    fn seeded_poisson_gaps_pass_the_poisson_check_and_fail_the_uniform_one() {
        let gaps = poisson_gaps(7, 5000);
        let c = check(&gaps, Arrival::Poisson);
        assert!(c.passed, "{c:?}");
        assert!(!check(&gaps, Arrival::Uniform).passed);
        assert_eq!(poisson_gaps(7, 50), poisson_gaps(7, 50), "seeded");
    }

    #[test]
    fn even_gaps_pass_uniform_and_bursts_fail_poisson() {
        let even = vec![1.0f32; 1000];
        assert!(check(&even, Arrival::Uniform).passed);
        // Bursts of 5 back to back, then a long gap: mean 1, far from exponential.
        let bursts: Vec<f32> = (0..1000)
            .map(|i| if i % 5 == 4 { 5.0 } else { 0.0 })
            .collect();
        let c = check(&bursts, Arrival::Poisson);
        assert!(!c.passed, "{c:?}");
        assert!(c.ks_distance.unwrap() > POISSON_KS_LIMIT);
    }

    #[test]
    fn forgetting_keeps_later_times_and_bounds_memory() {
        let mut p = PoissonTimes::new(1, 100.0);
        p.ensure(1000);
        let t500 = p.offset_ns(500);
        p.forget_before(400);
        assert_eq!(p.offset_ns(500), t500);
        assert!(p.times.len() <= 601);
        assert!(
            p.offset_ns(3) >= p.offset_ns(400),
            "forgotten: a later, lower-bound time"
        );
    }

    #[test]
    fn gap_sample_is_bounded_and_normalised() {
        let t0 = Instant::now();
        let mut g = GapSample::new(1000.0);
        for i in 0..(MAX_GAPS as u64 + 10) {
            g.observe(t0 + std::time::Duration::from_nanos(i * 1000));
        }
        assert_eq!(g.gaps.len(), MAX_GAPS);
        assert!(g.gaps.iter().all(|&x| (x - 1.0).abs() < 1e-6));
    }
}
