//! Shards: one run split over several loadgen processes (or hosts), each driving its share of
//! the clients and of the open-loop rate.
//!
//! Shard `i` of `n` drives clients `first .. first + len` of the whole run: `clients / n` each,
//! and the first `clients % n` shards one more, so the shares add up to the total exactly and
//! client numbers never repeat across shards. Its payloads and any seeded choice use a seed
//! derived from the run's seed and `i`, so no two shards send the same byte stream.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Which shard this process is: `index` of `count` (0-based), as given by `--shard I/N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardSpec {
    /// This shard, `0 .. count`.
    pub index: usize,
    /// How many shards the run has.
    pub count: usize,
}

impl ShardSpec {
    /// Shard `index` of `count`, refused unless `index < count`.
    pub fn new(index: usize, count: usize) -> Result<Self, String> {
        if count == 0 {
            return Err("a run has at least 1 shard".into());
        }
        if index >= count {
            return Err(format!(
                "shard index {index} is not below the shard count {count} (shards are numbered 0 to {})",
                count - 1
            ));
        }
        Ok(ShardSpec { index, count })
    }
}

impl FromStr for ShardSpec {
    type Err = String;

    /// Parses `I/N`, e.g. `0/4`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?} is not I/N (e.g. 0/4: shard 0 of 4)"))?;
        let parse = |v: &str, what: &str| {
            v.trim()
                .parse::<usize>()
                .map_err(|_| format!("{what} {v:?} in {s:?} is not a whole number"))
        };
        ShardSpec::new(parse(i, "shard index")?, parse(n, "shard count")?)
    }
}

impl fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The `config.shard` object of a result: which part of a sharded run this is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Shard {
    /// This shard's number, 0-based; `null` in the merge of all `count` shards.
    pub index: Option<usize>,
    /// How many shards the run was split into.
    pub count: usize,
    /// Clients of the whole run (`config.clients` is this shard's share).
    pub total_clients: usize,
    /// Open-loop rate of the whole run, messages/s (`config.rate` is this shard's share);
    /// `null` in closed loop.
    pub total_rate: Option<f64>,
}

/// The clients of shard `index` of `count` out of `total`: `(first client number, how many)`.
pub fn share(total: usize, index: usize, count: usize) -> (usize, usize) {
    let (base, extra) = (total / count, total % count);
    (
        index * base + index.min(extra),
        base + usize::from(index < extra),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up_and_never_overlap() {
        for total in [1, 2, 3, 7, 10, 99, 100, 101, 9000, 18_001] {
            for count in 1..=12 {
                let mut next = 0;
                let mut sizes = Vec::new();
                for index in 0..count {
                    let (first, len) = share(total, index, count);
                    assert_eq!(
                        first, next,
                        "({total}, {index}/{count}) starts after the last"
                    );
                    next = first + len;
                    sizes.push(len);
                }
                assert_eq!(next, total, "shares of {total} over {count} add up");
                let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                assert!(max - min <= 1, "{total}/{count}: {sizes:?} is even");
                // The larger shares come first.
                assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
            }
        }
    }

    #[test]
    fn shard_specs_parse_and_refuse() {
        assert_eq!("0/4".parse(), Ok(ShardSpec { index: 0, count: 4 }));
        assert_eq!("3/4".parse::<ShardSpec>().unwrap().to_string(), "3/4");
        for bad in ["4/4", "1/0", "x/2", "1", "-1/2", "1/2/3"] {
            assert!(bad.parse::<ShardSpec>().is_err(), "{bad} is refused");
        }
        assert!("5/2"
            .parse::<ShardSpec>()
            .unwrap_err()
            .contains("not below"));
    }
}
