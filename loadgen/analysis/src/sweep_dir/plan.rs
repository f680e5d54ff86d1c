//! The options a sweep ran with, saved in `sweep.json` before its first cell, so that
//! `sweep --resume` can finish it with exactly those options.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use proto::Protocol;
use results_model::{CpuList, Model};
use serde::{Deserialize, Serialize};

use super::args::SweepArgs;

/// The options a sweep ran with, named as on the command line (`--server-pin` is
/// `server_pin`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepPlan {
    /// Model names.
    pub models: Vec<String>,
    /// Client counts, as given.
    pub clients: Vec<usize>,
    /// Payload bytes per message.
    pub size: usize,
    /// Measured time per run (`500ms`).
    pub duration: String,
    /// Warm-up per run.
    pub warmup: String,
    /// Repeats per cell.
    pub runs: usize,
    /// Wire protocol name.
    pub protocol: String,
    /// Messages outstanding per client.
    pub pipeline: usize,
    /// loadgen worker threads, when given.
    pub threads: Option<usize>,
    /// The echo-server binary, when given.
    pub server_bin: Option<PathBuf>,
    /// Extra arguments of every child server.
    pub server_arg: Vec<String>,
    /// Payload seed.
    pub seed: u64,
    /// CPUs of the child servers, when pinned.
    pub server_pin: Option<Vec<usize>>,
    /// Client count of the latency-spectrum chart, when given.
    pub spectrum_clients: Option<usize>,
    /// `--capacity-slo`, as given (absent in plans saved without it).
    #[serde(default)]
    pub capacity_slo: Option<String>,
    /// The model run twice as an A/A pair, when given.
    #[serde(default)]
    pub aa: Option<String>,
    /// One-way delay of the link (`10ms`), when given.
    #[serde(default)]
    pub link_delay: Option<String>,
    /// Jitter of the link, when given.
    #[serde(default)]
    pub link_jitter: Option<String>,
}

impl SweepPlan {
    /// The plan of `args` (models resolved: empty means every model).
    pub fn of(args: &SweepArgs) -> SweepPlan {
        let models = if args.models.is_empty() {
            Model::ALL.to_vec()
        } else {
            args.models.clone()
        };
        SweepPlan {
            models: models.iter().map(|m| m.name().to_string()).collect(),
            clients: args.clients.clone(),
            size: args.size,
            duration: humantime::format_duration(args.duration).to_string(),
            warmup: humantime::format_duration(args.warmup).to_string(),
            runs: args.runs,
            protocol: args.protocol.name().to_string(),
            pipeline: args.pipeline,
            threads: args.threads,
            server_bin: args.server_bin.clone(),
            server_arg: args.server_arg.clone(),
            seed: args.seed,
            server_pin: args.server_pin.as_ref().map(|c| c.0.clone()),
            spectrum_clients: args.spectrum_clients,
            capacity_slo: args.capacity_slo.map(|slo| slo.to_string()),
            aa: args.aa.map(|m| m.name().to_string()),
            link_delay: args
                .link
                .link_delay
                .map(|d| humantime::format_duration(d).to_string()),
            link_jitter: args
                .link
                .link_jitter
                .map(|d| humantime::format_duration(d).to_string()),
        }
    }

    /// The sweep options this plan stands for, writing into `out`.
    pub fn to_args(&self, out: &Path, quiet: bool) -> anyhow::Result<SweepArgs> {
        let models = self
            .models
            .iter()
            .map(|m| Model::from_name(m).with_context(|| format!("unknown model {m:?}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let duration = |s: &str| -> anyhow::Result<Duration> {
            humantime::parse_duration(s).with_context(|| format!("bad duration {s:?}"))
        };
        Ok(SweepArgs {
            models,
            clients: self.clients.clone(),
            size: self.size,
            duration: duration(&self.duration)?,
            warmup: duration(&self.warmup)?,
            runs: self.runs,
            protocol: self
                .protocol
                .parse::<Protocol>()
                .map_err(|e| anyhow::anyhow!("bad protocol {:?}: {e}", self.protocol))?,
            pipeline: self.pipeline,
            threads: self.threads,
            server_bin: self.server_bin.clone(),
            server_arg: self.server_arg.clone(),
            seed: self.seed,
            server_pin: self.server_pin.clone().map(CpuList),
            spectrum_clients: self.spectrum_clients,
            capacity_slo: self
                .capacity_slo
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|e| anyhow::anyhow!("bad capacity SLO: {e}"))?,
            aa: self
                .aa
                .as_deref()
                .map(|m| Model::from_name(m).with_context(|| format!("unknown model {m:?}")))
                .transpose()?,
            out: Some(out.to_path_buf()),
            quiet,
            resume: Some(out.to_path_buf()),
            link: crate::link_args::LinkArgs {
                link_delay: self.link_delay.as_deref().map(duration).transpose()?,
                link_jitter: self.link_jitter.as_deref().map(duration).transpose()?,
            },
        })
    }

    pub(crate) fn keyed(&self) -> BTreeMap<String, serde_json::Value> {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(map)) => map.into_iter().collect(),
            _ => BTreeMap::new(),
        }
    }
}
