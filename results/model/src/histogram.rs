//! Latency histograms: one fixed shape everywhere, so any two can be added without loss.
//!
//! Every histogram loadgen makes records microseconds from 1 µs to 60 s with 3 significant
//! digits (HdrHistogram), so a worker's histogram, a second of the timeline and a whole run from
//! another process all add exactly. Recording never allocates; values outside the range are
//! clamped (a 0 µs reply counts as 1 µs, a reply slower than 60 s counts as 60 s).
//!
//! On disk a histogram is HdrHistogram's V2 compressed format, base64-encoded: the same bytes
//! the Java, Go and C implementations read, and compact (a few hundred bytes for a typical run).

use std::time::Duration;

use base64::Engine;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use serde::{Deserialize, Serialize};

/// Lowest value told apart, in µs.
pub const LOWEST_US: u64 = 1;
/// Highest value recorded, in µs (60 s); anything slower is clamped to it.
pub const HIGHEST_US: u64 = 60_000_000;
/// Significant decimal digits kept at every magnitude.
pub const SIGFIG: u8 = 3;

/// Why a serialized histogram could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum HistogramDecodeError {
    /// The text is not valid base64.
    #[error("histogram is not valid base64: {0}")]
    Base64(#[from] base64::DecodeError),
    /// The bytes are not an HdrHistogram V2 (compressed) histogram.
    #[error("histogram is not a valid HdrHistogram V2 encoding: {0:?}")]
    Hdr(hdrhistogram::serialization::DeserializeError),
    /// The histogram's range differs from loadgen's, so it could not be added exactly.
    #[error("histogram cannot be merged: {0:?}")]
    Add(hdrhistogram::errors::AdditionError),
}

/// A latency histogram in microseconds with loadgen's fixed bounds.
#[derive(Clone, Debug, PartialEq)]
pub struct LatencyHistogram {
    inner: hdrhistogram::Histogram<u64>,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    /// An empty histogram (allocates its counts array once, ~140 KiB).
    pub fn new() -> Self {
        let inner = hdrhistogram::Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, SIGFIG)
            .expect("constant bounds are valid");
        LatencyHistogram { inner }
    }

    /// Records one latency (clamped to 1 µs ..= 60 s). Never allocates.
    pub fn record(&mut self, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.record_us(us);
    }

    /// Records one latency given in µs (clamped to 1 ..= 60,000,000).
    pub fn record_us(&mut self, us: u64) {
        self.inner
            .saturating_record(us.clamp(LOWEST_US, HIGHEST_US));
    }

    /// Adds every count of `other` into `self`. Exact: both have the same bounds.
    pub fn add(&mut self, other: &LatencyHistogram) {
        self.inner
            .add(&other.inner)
            .expect("histograms with identical bounds always add");
    }

    /// Forgets every recorded value, keeping the allocation.
    pub fn reset(&mut self) {
        self.inner.reset();
    }

    /// Number of values recorded.
    pub fn len(&self) -> u64 {
        self.inner.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// The value at `quantile` (0.0 ..= 1.0) in µs; 0 when empty.
    pub fn value_at_quantile(&self, quantile: f64) -> u64 {
        if self.is_empty() {
            0
        } else {
            self.inner.value_at_quantile(quantile)
        }
    }

    /// The standard summary: min, mean, stdev, p50 … p99.99, max, count.
    pub fn summary(&self) -> Percentiles {
        if self.is_empty() {
            return Percentiles::default();
        }
        let h = &self.inner;
        Percentiles {
            count: h.len(),
            min: h.min_nz(),
            mean: h.mean(),
            stdev: h.stdev(),
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p99_9: h.value_at_quantile(0.999),
            p99_99: h.value_at_quantile(0.9999),
            max: h.max(),
        }
    }

    /// HdrHistogram V2 compressed (deflate) bytes, base64-encoded (standard alphabet, padded).
    pub fn to_base64(&self) -> String {
        let mut bytes = Vec::new();
        V2DeflateSerializer::new()
            .serialize(&self.inner, &mut bytes)
            .expect("serializing into a Vec cannot fail");
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// Reads what [`LatencyHistogram::to_base64`] wrote (plain V2 is accepted too). The result
    /// has loadgen's bounds whatever the encoded ones were, so it always adds to others.
    pub fn from_base64(text: &str) -> Result<Self, HistogramDecodeError> {
        let bytes = base64::engine::general_purpose::STANDARD.decode(text.trim())?;
        let decoded: hdrhistogram::Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(HistogramDecodeError::Hdr)?;
        let mut out = LatencyHistogram::new();
        out.inner.add(&decoded).map_err(HistogramDecodeError::Add)?;
        Ok(out)
    }
}

/// A latency distribution summarized, in microseconds (all zero when nothing was recorded).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Percentiles {
    /// Number of values recorded.
    pub count: u64,
    /// Smallest value, µs.
    pub min: u64,
    /// Arithmetic mean, µs.
    pub mean: f64,
    /// Standard deviation, µs.
    pub stdev: f64,
    /// Median, µs.
    pub p50: u64,
    /// 90th percentile, µs.
    pub p90: u64,
    /// 99th percentile, µs.
    pub p99: u64,
    /// 99.9th percentile, µs.
    pub p99_9: u64,
    /// 99.99th percentile, µs.
    pub p99_99: u64,
    /// Largest value, µs (values above 60 s are clamped to 60 s).
    pub max: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_base64() {
        let mut h = LatencyHistogram::new();
        for us in [1, 5, 50, 500, 5_000, 50_000, 500_000, 5_000_000] {
            h.record_us(us);
        }
        let back = LatencyHistogram::from_base64(&h.to_base64()).unwrap();
        assert_eq!(back, h);
        assert_eq!(back.summary(), h.summary());
    }

    #[test]
    fn clamps_out_of_range_values() {
        let mut h = LatencyHistogram::new();
        h.record(Duration::ZERO);
        h.record(Duration::from_secs(3600));
        let s = h.summary();
        assert_eq!(s.count, 2);
        assert_eq!(s.min, 1);
        assert!(s.max >= HIGHEST_US && s.max < HIGHEST_US + HIGHEST_US / 1000);
    }

    #[test]
    fn rejects_garbage() {
        assert!(LatencyHistogram::from_base64("not base64!").is_err());
        assert!(LatencyHistogram::from_base64("AAAA").is_err());
    }

    #[test]
    fn empty_summary_is_zero() {
        assert_eq!(LatencyHistogram::new().summary(), Percentiles::default());
    }
}
