//! Order statistics and moments of a sample: median, quantiles, quartiles, mean, SD.
//!
//! Quantiles use linear interpolation between order statistics (Hyndman & Fan type 7, the default of
//! R and NumPy), so the median of an even-sized sample is the mean of the two middle points.

/// Median of `xs`, reordering it in place; `xs` must be non-empty and free of NaN.
pub(crate) fn median_in_place(xs: &mut [f64]) -> f64 {
    let n = xs.len();
    let mid = n / 2;
    let (lower, upper, _) = xs.select_nth_unstable_by(mid, f64::total_cmp);
    if n % 2 == 1 {
        *upper
    } else {
        // The lower middle point is the largest of the left partition.
        let below = lower.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (below + *upper) / 2.0
    }
}

/// Median of `xs` without disturbing it.
pub(crate) fn median(xs: &[f64]) -> f64 {
    median_in_place(&mut xs.to_vec())
}

/// Type-7 quantile `q` in [0, 1] of an ascending-sorted, non-empty slice.
pub(crate) fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Returns an ascending-sorted copy of `xs`.
pub(crate) fn sorted(xs: &[f64]) -> Vec<f64> {
    let mut v = xs.to_vec();
    v.sort_unstable_by(f64::total_cmp);
    v
}

/// Arithmetic mean of a non-empty slice.
pub(crate) fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Sample standard deviation (n − 1 denominator); zero for fewer than two points.
pub(crate) fn sample_sd(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return 0.0;
    }
    let m = mean(xs);
    let ss: f64 = xs.iter().map(|x| (x - m) * (x - m)).sum();
    (ss / (xs.len() - 1) as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_odd_and_even() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[7.0]), 7.0);
    }

    #[test]
    fn quantiles_interpolate() {
        let s = sorted(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(quantile_sorted(&s, 0.25), 2.0);
        assert_eq!(quantile_sorted(&s, 0.1), 1.4);
        assert_eq!(quantile_sorted(&s, 1.0), 5.0);
    }

    #[test]
    fn sd_of_known_sample() {
        // Values 2,4,4,4,5,5,7,9: population SD 2, sample SD sqrt(32/7).
        let xs = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        assert!((sample_sd(&xs) - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        assert_eq!(mean(&xs), 5.0);
    }
}
