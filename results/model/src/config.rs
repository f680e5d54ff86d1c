//! What one run is asked to do. This struct is both the engine's input and the
//! `config` object of the result JSON, so a result file always says exactly how it was made.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::prng::splitmix64;
use crate::shard::{share, Shard, ShardSpec};
use proto::Protocol;
use serde::{Deserialize, Serialize};

/// Everything that shapes the load. Durations are seconds (f64) in JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunConfig {
    /// Which server is driven: a child loadgen starts, or an external address.
    pub target: Target,
    /// Wire protocol: `raw` (RFC 862), `line` or `framed`.
    #[serde(with = "protocol_name")]
    #[schemars(with = "ProtocolName")]
    pub protocol: Protocol,
    /// Concurrent client connections.
    pub clients: usize,
    /// Length of the measured window, after warm-up.
    #[serde(rename = "duration_s", with = "crate::seconds")]
    #[schemars(with = "f64")]
    pub duration: Duration,
    /// Time before the measured window; its messages are not recorded.
    #[serde(rename = "warmup_s", with = "crate::seconds")]
    #[schemars(with = "f64")]
    pub warmup: Duration,
    /// Payload bytes per message. `line` counts the trailing newline in it; `framed` adds a
    /// 4-byte length header on the wire.
    pub size: usize,
    /// Messages each client keeps outstanding in closed loop (1 = strict request/response);
    /// in open loop, the most each client may have unanswered before it stops sending.
    pub pipeline: usize,
    /// Open loop: total messages per second over all clients, sent on schedule whatever the
    /// replies do. `null` means closed loop.
    pub rate: Option<f64>,
    /// New connections per second over all clients; `null` means as fast as possible.
    pub connect_rate: Option<f64>,
    /// A connection not established after this long counts as a connect timeout.
    #[serde(rename = "connect_timeout_s", with = "crate::seconds")]
    #[schemars(with = "f64")]
    pub connect_timeout: Duration,
    /// A reply not complete after this long counts as a reply timeout and ends the connection.
    #[serde(rename = "reply_timeout_s", with = "crate::seconds")]
    #[schemars(with = "f64")]
    pub reply_timeout: Duration,
    /// After the window closes, how long outstanding replies may still arrive; the run always
    /// ends by warm-up + duration + drain.
    #[serde(rename = "drain_s", with = "crate::seconds")]
    #[schemars(with = "f64")]
    pub drain: Duration,
    /// loadgen worker threads, each multiplexing its share of the clients.
    pub threads: usize,
    /// CPUs the worker threads are pinned to (round-robin); `null` = not pinned.
    pub pin: Option<Vec<usize>>,
    /// Seed of every payload: message `i` of client `c` is a pure function of `(seed, c, i)`.
    /// A shard uses a seed derived from this one and its index (the same `seed` on every shard).
    pub seed: u64,
    /// Open loop: how intended send times are spaced (`uniform` or `poisson`).
    #[serde(default)]
    pub arrival: crate::open_loop::Arrival,
    /// Open loop, uniform arrivals: release ticks at least this far apart (µs, `--tick`), each
    /// sending every message due by then. `null`: one message per tick, ticks at least 10 µs
    /// apart. Coarser ticks cost loadgen fewer wake-ups and send in bursts, which the send lag
    /// and the arrival check show.
    #[serde(default)]
    pub tick_us: Option<u64>,
    /// Open loop: hold the CPUs' wake-up latency at 0 µs (`/dev/cpu_dma_latency`) for the
    /// run, so timed wake-ups are on time (`false`: `--no-cpu-qos`, or older files).
    #[serde(default)]
    pub cpu_qos: bool,
    /// Open loop: spin the last µs before a message is due (`false`: `--no-spin`, or older
    /// files, whose loadgen did not).
    #[serde(default)]
    pub spin: bool,
    /// Which shard of a sharded run this is (`--shard I/N` or `JOB_COMPLETION_INDEX` and
    /// `LOADGEN_SHARDS`); `null` when the run is not sharded. `clients` and `rate` are then this
    /// shard's share, and the whole run's are in here.
    #[serde(default)]
    pub shard: Option<Shard>,
    /// When the measured window was asked to open (`--start-at`), UTC, RFC 3339; `null` = right
    /// after the warm-up. Connecting and warm-up happen in the `warmup_s` before it.
    #[serde(default, with = "rfc3339_opt")]
    #[schemars(with = "Option<String>")]
    pub start_at: Option<SystemTime>,
    /// The delayed link (`--link-delay`, `--link-jitter`): loadgen starts `echo-proxy` between
    /// its clients and the server it starts; `null` = the clients connect to the server directly.
    #[serde(default)]
    pub link: Option<crate::link::Link>,
    /// What loadgen asks the kernel about the run: counters, flamegraph (older files: the
    /// defaults).
    #[serde(default)]
    pub kernel: crate::kernel::KernelProbes,
}

/// The server under load.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// loadgen starts `echo-server --model M` as a child on 127.0.0.1:0 and stops it after.
    Spawn {
        /// The concurrency model (an `echo-server --model` name).
        model: String,
        /// The echo-server binary; `null` = `$ECHO_SERVER_BIN`, else next to loadgen's own
        /// executable (or in its parent directory), else loadgen itself as `loadgen echo-server`.
        server_bin: Option<PathBuf>,
        /// Extra arguments for the child (e.g. `--workers 1`).
        server_args: Vec<String>,
        /// CPUs the child is pinned to; `null` = not pinned.
        server_pin: Option<Vec<usize>>,
    },
    /// An echo server already running at this address (`raw` works with any RFC 862 server).
    External {
        /// Where to connect.
        addr: SocketAddr,
    },
}

impl Target {
    /// The label used in file names and summaries: the model, or `external`.
    pub fn label(&self) -> &str {
        match self {
            Target::Spawn { model, .. } => model,
            Target::External { .. } => "external",
        }
    }
}

impl RunConfig {
    /// A closed-loop run of `clients` against a child `model` with every other option at its
    /// command-line default (10 s, 2 s warm-up, 64 B, raw, pipeline 1, threads = cores).
    pub fn new(model: &str, clients: usize) -> Self {
        use crate::defaults;
        RunConfig {
            target: Target::Spawn {
                model: model.to_string(),
                server_bin: None,
                server_args: Vec::new(),
                server_pin: None,
            },
            protocol: defaults::PROTOCOL,
            clients,
            duration: defaults::DURATION,
            warmup: defaults::WARMUP,
            size: defaults::SIZE,
            pipeline: defaults::PIPELINE,
            rate: None,
            connect_rate: None,
            connect_timeout: defaults::CONNECT_TIMEOUT,
            reply_timeout: defaults::REPLY_TIMEOUT,
            drain: defaults::DRAIN,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            pin: None,
            seed: defaults::SEED,
            arrival: defaults::ARRIVAL,
            tick_us: None,
            cpu_qos: true,
            spin: true,
            shard: None,
            start_at: None,
            link: None,
            kernel: crate::kernel::KernelProbes::default(),
        }
    }

    /// Whether this is an open-loop (fixed-rate) run.
    pub fn is_open_loop(&self) -> bool {
        self.rate.is_some()
    }

    /// Rejects combinations that cannot run, with a message saying what to change.
    pub fn validate(&self) -> anyhow::Result<()> {
        use anyhow::bail;
        self.validate_shard()?;
        if self.clients == 0 {
            bail!("--clients must be at least 1");
        }
        if self.size == 0 {
            bail!("--size must be at least 1 byte");
        }
        if self.pipeline == 0 {
            bail!("--pipeline must be at least 1");
        }
        if self.threads == 0 {
            bail!("--threads must be at least 1");
        }
        if self.duration.is_zero() {
            bail!("--duration must be longer than 0s");
        }
        if let Some(rate) = self.rate {
            if !(rate.is_finite() && rate > 0.0) {
                bail!("--rate must be a positive number of messages per second");
            }
        }
        if let Some(rate) = self.connect_rate {
            if !(rate.is_finite() && rate > 0.0) {
                bail!("--connect-rate must be a positive number of connections per second");
            }
        }
        if self.start_at.is_some() && self.warmup.is_zero() {
            bail!("--start-at needs a --warmup longer than 0s: the clients connect during the warm-up");
        }
        if let (Some(_), Target::External { addr }) = (&self.link, &self.target) {
            bail!(
                "--link-delay/--link-jitter need a server loadgen starts (--model); with --addr, \
                 put echo-proxy in front of {addr} yourself (echo-proxy --listen 127.0.0.1:0 \
                 --upstream {addr} --delay D --jitter J) and point --addr at it"
            );
        }
        if let Target::Spawn { model, .. } = &self.target {
            if crate::Model::from_name(model).is_none() {
                let names: Vec<_> = crate::Model::ALL.iter().map(|m| m.name()).collect();
                bail!(
                    "unknown model {model:?}; expected one of {}",
                    names.join(", ")
                );
            }
        }
        Ok(())
    }
}

/// The protocol names as they appear in JSON (for the schema only).
#[derive(schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)] // exists to describe the JSON; values are built from proto::Protocol.
enum ProtocolName {
    Raw,
    Line,
    Framed,
}

/// `proto::Protocol` as its command-line name.
mod protocol_name {
    use proto::Protocol;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(p: &Protocol, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(p.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Protocol, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// An optional `SystemTime` as an RFC 3339 UTC string.
mod rfc3339_opt {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&humantime::format_rfc3339(*t).to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SystemTime>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| humantime::parse_rfc3339(&text).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// Shards: a run's share of the clients, the rate and the seed (see [`crate::shard`]).
impl RunConfig {
    /// This run's configuration for shard `spec`: its share of the clients and of the rate,
    /// the totals kept in [`Shard`]. `self` is the whole run.
    pub fn for_shard(&self, spec: ShardSpec) -> RunConfig {
        let (_, clients) = share(self.clients, spec.index, spec.count);
        let mut config = self.clone();
        config.clients = clients;
        config.rate = self
            .rate
            .map(|r| r * clients as f64 / self.clients.max(1) as f64);
        config.shard = Some(Shard {
            index: Some(spec.index),
            count: spec.count,
            total_clients: self.clients,
            total_rate: self.rate,
        });
        config
    }

    /// The number of this run's first client: 0 unless it is a shard, whose clients follow
    /// those of the shards before it.
    pub fn first_client(&self) -> u64 {
        match &self.shard {
            Some(Shard {
                index: Some(i),
                count,
                total_clients,
                ..
            }) => share(*total_clients, *i, *count).0 as u64,
            _ => 0,
        }
    }

    /// The seed payloads (and any seeded choice) use: `seed` itself unless this is a shard,
    /// which derives its own from `seed` and its index.
    pub fn effective_seed(&self) -> u64 {
        match &self.shard {
            Some(Shard { index: Some(i), .. }) => splitmix64(self.seed ^ splitmix64(*i as u64 + 1)),
            _ => self.seed,
        }
    }

    /// Refuses a shard that cannot run (no client of its own, an index out of range).
    pub(crate) fn validate_shard(&self) -> anyhow::Result<()> {
        let Some(shard) = &self.shard else {
            return Ok(());
        };
        if let Some(index) = shard.index {
            ShardSpec::new(index, shard.count).map_err(anyhow::Error::msg)?;
        }
        if shard.total_clients < shard.count {
            anyhow::bail!(
                "--clients {} cannot be split into {} shards: every shard needs at least 1 client",
                shard.total_clients,
                shard.count
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_shard_without_a_client_is_refused() {
        let whole = RunConfig::new("mio", 2);
        let config = whole.for_shard(ShardSpec::new(2, 3).unwrap());
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains("cannot be split into 3 shards"), "{err}");
    }
}
