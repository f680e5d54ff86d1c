//! Percent formatting for verdict text: a real minus sign, an explicit plus, and as many decimals as
//! the interval's width justifies (quoting −12.37% from an interval 12 points wide claims a
//! precision the data does not have).

/// Decimals worth showing for an interval `width` given in percentage points.
pub(crate) fn decimals_for_width(width_pct: f64) -> usize {
    if width_pct >= 5.0 {
        0
    } else if width_pct >= 0.5 {
        1
    } else {
        2
    }
}

/// Formats a fraction (0.12 → "+12%") with `decimals` decimals and a typographic minus sign.
pub(crate) fn signed_percent(fraction: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, (100.0 * fraction).abs());
    let is_zero = text.chars().all(|c| c == '0' || c == '.');
    let sign = if is_zero {
        ""
    } else if fraction < 0.0 {
        "\u{2212}"
    } else {
        "+"
    };
    format!("{sign}{text}%")
}

/// Formats "Δ [low, high]" for fractions, choosing decimals from the interval width.
pub(crate) fn delta_with_interval(point: f64, low: f64, high: f64) -> String {
    let d = decimals_for_width(100.0 * (high - low));
    format!(
        "{} [{}, {}]",
        signed_percent(point, d),
        signed_percent(low, d),
        signed_percent(high, d)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_the_verdict_text() {
        assert_eq!(delta_with_interval(-0.12, -0.18, -0.06), "−12% [−18%, −6%]");
        assert_eq!(
            delta_with_interval(0.1, 0.098, 0.102),
            "+10.00% [+9.80%, +10.20%]"
        );
        assert_eq!(
            delta_with_interval(0.031, -0.004, 0.02),
            "+3.1% [−0.4%, +2.0%]"
        );
        assert_eq!(signed_percent(-0.0001, 1), "0.0%");
    }
}
