//! A metric over a cell's repeats: median, min, max, and the run-to-run noise they imply.

use serde::{Deserialize, Serialize};

/// A metric over a cell's repeats.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Median of the repeats (mean of the middle two for an even count).
    pub median: f64,
    /// Smallest repeat.
    pub min: f64,
    /// Largest repeat.
    pub max: f64,
    /// Number of repeats.
    pub n: usize,
}

impl Spread {
    /// The spread of `values`; `None` when there are none.
    pub fn of(values: &[f64]) -> Option<Spread> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let mid = v.len() / 2;
        let median = if v.len() % 2 == 1 {
            v[mid]
        } else {
            (v[mid - 1] + v[mid]) / 2.0
        };
        Some(Spread {
            median,
            min: v[0],
            max: v[v.len() - 1],
            n: v.len(),
        })
    }

    /// Run-to-run noise: (max − min) / median in percent; `None` with a single repeat, where
    /// the noise is unknown rather than zero.
    pub fn noise_pct(&self) -> Option<f64> {
        if self.n < 2 {
            return None;
        }
        if self.median == 0.0 {
            return Some(if self.max == self.min {
                0.0
            } else {
                f64::INFINITY
            });
        }
        Some((self.max - self.min) / self.median.abs() * 100.0)
    }
}

/// A metric's median over a cell's repeats with its 95% percentile-bootstrap interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Median of the repeats.
    pub median: f64,
    /// Lower end of the interval.
    pub low: f64,
    /// Upper end of the interval.
    pub high: f64,
    /// Number of repeats.
    pub n: usize,
}

impl Interval {
    /// The interval of `values`; `None` with fewer than two finite values (one run has a
    /// median but no interval).
    pub fn of(values: &[f64]) -> Option<Interval> {
        let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.len() < 2 {
            return None;
        }
        let s = loadgen_inference::summarize(&v, &loadgen_inference::BootstrapConfig::default())
            .ok()?;
        Some(Interval {
            median: s.median,
            low: s.ci_low,
            high: s.ci_high,
            n: s.n,
        })
    }
}
