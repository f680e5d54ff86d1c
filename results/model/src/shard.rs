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

/// splitmix64, to derive a shard's seed from the run's.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RunConfig;

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
    fn a_shard_config_keeps_the_totals_and_splits_the_rate() {
        let mut whole = RunConfig::new("mio", 10);
        whole.rate = Some(1000.0);
        let shards: Vec<_> = (0..3)
            .map(|i| whole.for_shard(ShardSpec::new(i, 3).unwrap()))
            .collect();
        let clients: Vec<_> = shards.iter().map(|c| c.clients).collect();
        assert_eq!(clients, [4, 3, 3]);
        let rate: f64 = shards.iter().map(|c| c.rate.unwrap()).sum();
        assert!((rate - 1000.0).abs() < 1e-9, "{rate}");
        assert_eq!(shards[0].rate, Some(400.0));
        let firsts: Vec<_> = shards.iter().map(RunConfig::first_client).collect();
        assert_eq!(firsts, [0, 4, 7]);
        let s = shards[1].shard.as_ref().unwrap();
        assert_eq!((s.index, s.count, s.total_clients), (Some(1), 3, 10));
        assert_eq!(s.total_rate, Some(1000.0));
        let seeds: std::collections::HashSet<_> =
            shards.iter().map(RunConfig::effective_seed).collect();
        assert_eq!(seeds.len(), 3, "every shard has its own seed");
        assert_eq!(whole.effective_seed(), whole.seed);
        assert_eq!(whole.first_client(), 0);
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

    #[test]
    fn a_shard_without_a_client_is_refused() {
        let whole = RunConfig::new("mio", 2);
        let config = whole.for_shard(ShardSpec::new(2, 3).unwrap());
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("cannot be split into 3 shards"), "{err}");
    }
}
