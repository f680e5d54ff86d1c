//! When a chunk may leave: arrival + delay + a jitter sample, never before the chunk ahead of it.

use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::time::Instant;

/// The delay of one direction of one connection: a fixed delay plus a uniform jitter in
/// `[-jitter, +jitter]`, seeded so that a run can be repeated.
#[derive(Debug)]
pub struct DelaySampler {
    delay: Duration,
    jitter: Duration,
    rng: SmallRng,
    last_release: Option<Instant>,
}

impl DelaySampler {
    /// A sampler for one direction; `stream` tells the directions and connections apart so that
    /// each gets its own sequence from the one `seed`.
    pub fn new(delay: Duration, jitter: Duration, seed: u64, stream: u64) -> Self {
        // Spread neighbouring stream numbers over the seed space (SplitMix64's constant) so that
        // connection 1 and connection 2 do not draw correlated sequences.
        let mixed = seed ^ stream.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        DelaySampler {
            delay,
            jitter,
            rng: SmallRng::seed_from_u64(mixed),
            last_release: None,
        }
    }

    /// The delay drawn for the next chunk, before ordering: `delay ± jitter`, at least zero.
    fn sample(&mut self) -> Duration {
        let jitter_ns = u64::try_from(self.jitter.as_nanos()).unwrap_or(u64::MAX / 2);
        if jitter_ns == 0 {
            return self.delay;
        }
        let offset = self.rng.random_range(0..=2 * jitter_ns);
        // delay - jitter + offset, computed without going below zero on the way.
        (self.delay + Duration::from_nanos(offset)).saturating_sub(self.jitter)
    }

    /// The release time of a chunk that arrived at `arrival`. Release times never decrease, so a
    /// byte stream leaves in the order it came even when a later chunk draws a smaller delay.
    pub fn release(&mut self, arrival: Instant) -> Instant {
        let sampled = arrival + self.sample();
        let release = match self.last_release {
            Some(last) if last > sampled => last,
            _ => sampled,
        };
        self.last_release = Some(release);
        release
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_jitter_releases_after_exactly_the_delay() {
        let mut s = DelaySampler::new(Duration::from_millis(10), Duration::ZERO, 1, 0);
        let t0 = Instant::now();
        for i in 0..100u64 {
            let arrival = t0 + Duration::from_micros(i * 37);
            assert_eq!(s.release(arrival), arrival + Duration::from_millis(10));
        }
    }

    #[test]
    fn jitter_stays_in_range_and_releases_never_go_back() {
        let delay = Duration::from_millis(10);
        let jitter = Duration::from_millis(3);
        let mut s = DelaySampler::new(delay, jitter, 7, 3);
        let t0 = Instant::now();
        let mut previous = t0;
        let mut held_back = 0;
        for i in 0..10_000u64 {
            // Arrivals 100 µs apart: much closer than the jitter, so many samples would reorder.
            let arrival = t0 + Duration::from_micros(i * 100);
            let release = s.release(arrival);
            assert!(release >= previous, "release went backwards at chunk {i}");
            assert!(release >= arrival + delay - jitter);
            if release > arrival + delay + jitter {
                // Only possible when held back behind an earlier chunk.
                held_back += 1;
                assert_eq!(release, previous);
            }
            previous = release;
        }
        // Ordering must have mattered at least once, or this test checks nothing.
        let mut t = DelaySampler::new(delay, jitter, 7, 3);
        let reorders = (0..10_000u64)
            .map(|i| t.sample() + Duration::from_micros(i * 100))
            .collect::<Vec<_>>()
            .windows(2)
            .filter(|w| w[1] < w[0])
            .count();
        assert!(
            reorders > 0,
            "no sample would have reordered (held back {held_back})"
        );
    }

    #[test]
    fn jitter_larger_than_the_delay_clamps_at_zero() {
        let mut s = DelaySampler::new(Duration::from_millis(1), Duration::from_millis(5), 2, 0);
        let t0 = Instant::now();
        for _ in 0..1000 {
            assert!(s.sample() <= Duration::from_millis(6));
            assert!(s.release(t0) >= t0);
        }
    }

    #[test]
    fn same_seed_same_sequence_other_stream_other_sequence() {
        let draw = |stream| {
            let mut s = DelaySampler::new(
                Duration::from_millis(10),
                Duration::from_millis(1),
                9,
                stream,
            );
            (0..32).map(|_| s.sample()).collect::<Vec<_>>()
        };
        assert_eq!(draw(4), draw(4));
        assert_ne!(draw(4), draw(5));
    }
}
