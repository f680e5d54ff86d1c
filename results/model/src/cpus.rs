//! CPU lists as written on command lines: `0`, `0,2`, `1-3`, `0,2-3`.

use std::str::FromStr;

/// A list of CPU numbers (one value, so a command-line parser keeps it whole).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpuList(pub Vec<usize>);

impl FromStr for CpuList {
    type Err = String;

    /// Parses a CPU list: `0`, `0,2`, `1-3`, `0,2-3`.
    fn from_str(s: &str) -> Result<CpuList, String> {
        let mut cpus = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let bad = || format!("bad CPU list {s:?}: expected e.g. 0,2-3");
            let (a, b) = part.split_once('-').unwrap_or((part, part));
            let (a, b): (usize, usize) =
                (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
            if a > b {
                return Err(bad());
            }
            cpus.extend(a..=b);
        }
        if cpus.is_empty() {
            return Err(format!("empty CPU list {s:?}"));
        }
        Ok(CpuList(cpus))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_singles_and_ranges() {
        assert_eq!("0".parse(), Ok(CpuList(vec![0])));
        assert_eq!("0,2-3".parse(), Ok(CpuList(vec![0, 2, 3])));
        assert!("3-1".parse::<CpuList>().is_err());
        assert!("a".parse::<CpuList>().is_err());
        assert!("".parse::<CpuList>().is_err());
    }
}
