//! How numbers read everywhere a person sees them (summary, progress line, tables, charts):
//! one formatter each for durations, counts and byte sizes.

/// A duration in µs with the unit that keeps it short, three significant digits at most and no
/// trailing zeros: `850us`, `1.25ms`, `31.6ms`, `100ms`, `2s`.
pub fn duration_us(us: f64) -> String {
    let (value, unit) = match us {
        v if v < 1e3 => return format!("{:.0}us", v.max(0.0)),
        v if v < 1e6 => (v / 1e3, "ms"),
        v => (v / 1e6, "s"),
    };
    let decimals = if value < 10.0 {
        2
    } else if value < 100.0 {
        1
    } else {
        0
    };
    let text = format!("{value:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    format!("{text}{unit}")
}

/// A count with thousands separators, rounded: `12,345`.
pub fn count(v: f64) -> String {
    let n = v.round().max(0.0) as u64;
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A size in bytes with a binary unit: `512 B`, `12.3 KiB`, `4.0 MiB`, `1.2 GiB`.
pub fn bytes(v: f64) -> String {
    const KIB: f64 = 1024.0;
    match v {
        v if v < KIB => format!("{v:.0} B"),
        v if v < KIB * KIB => format!("{:.1} KiB", v / KIB),
        v if v < KIB * KIB * KIB => format!("{:.1} MiB", v / (KIB * KIB)),
        v => format!("{:.1} GiB", v / (KIB * KIB * KIB)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_keep_three_figures() {
        assert_eq!(duration_us(850.0), "850us");
        assert_eq!(duration_us(316.2), "316us");
        assert_eq!(duration_us(1_250.0), "1.25ms");
        assert_eq!(duration_us(1_500.0), "1.5ms");
        assert_eq!(duration_us(31_640.0), "31.6ms");
        assert_eq!(duration_us(100_000.0), "100ms");
        assert_eq!(duration_us(2_000_000.0), "2s");
        assert_eq!(duration_us(2_100_000.0), "2.1s");
    }

    #[test]
    fn counts_and_bytes_read_well() {
        assert_eq!(count(1234567.4), "1,234,567");
        assert_eq!(count(999.0), "999");
        assert_eq!(bytes(100.0), "100 B");
        assert_eq!(bytes(2048.0), "2.0 KiB");
        assert_eq!(bytes(3.0 * 1024.0 * 1024.0), "3.0 MiB");
        assert_eq!(bytes(1.5 * 1024.0 * 1024.0 * 1024.0), "1.5 GiB");
    }
}
