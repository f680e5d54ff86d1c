//! The result of a run. This struct IS the JSON file: `results/schema.json` is generated from
//! it (`loadgen schema`), and `results/README.md` explains each part.
//!
//! Units are in the names: `_us` microseconds, `_s` seconds, `_bytes` bytes. Counters are exact
//! integers, so results from several processes add up.

use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::config::RunConfig;
use crate::histogram::{HistogramDecodeError, LatencyHistogram, Percentiles};
use crate::server_stats::StatsSnapshot;

/// Bumped whenever a field changes meaning or is removed (adding optional fields keeps it).
pub const SCHEMA_VERSION: u32 = 3;
/// Oldest schema version still read: later versions only added optional fields.
pub const OLDEST_READABLE_SCHEMA: u32 = 1;

/// One benchmark run (or several merged): configuration, counters, latency, resources.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunResult {
    /// Version of this format; see [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Which loadgen produced the file.
    pub loadgen: LoadgenInfo,
    /// When the run started, UTC, RFC 3339 (e.g. `2026-01-31T12:00:00Z`).
    pub started_at: String,
    /// The machine loadgen ran on.
    pub machine: MachineInfo,
    /// The full configuration of the run.
    pub config: RunConfig,
    /// The address the clients connected to (the child's real port when loadgen started it).
    pub target_addr: String,
    /// Length of the measured window actually observed, seconds (rates divide by this).
    pub measured_s: f64,
    /// When the measured window opened, nanoseconds since the Unix epoch, read from the system
    /// clock as it opened (shards of one run compare these); in a merge, the earliest input's.
    #[serde(default)]
    pub window_start_unix_ns: Option<u64>,
    /// When the measured window closed (its end, or the interrupt), nanoseconds since the Unix
    /// epoch, from the system clock; in a merge, the latest input's.
    #[serde(default)]
    pub window_end_unix_ns: Option<u64>,
    /// True when no echo was lost or corrupted and no connection failed; loadgen exits
    /// non-zero otherwise.
    pub passed: bool,
    /// Counts over the measured window (errors: over the whole run).
    pub totals: Totals,
    /// Completed messages and bytes per second of the measured window.
    pub throughput: Throughput,
    /// The latency to quote, µs. Closed loop: first byte written to last byte of the echo read.
    /// Open loop: from the *intended* send time (coordinated-omission corrected) to the kernel's
    /// receive stamp of the echo's last byte (the read time where the kernel gives none).
    pub latency_us: Percentiles,
    /// Open loop only: service time from the *actual* first byte written (uncorrected);
    /// `null` in closed loop, where it equals `latency_us`.
    pub service_time_us: Option<Percentiles>,
    /// Time from `connect()` to an established connection, µs, every connection (warm-up too).
    pub connect_latency_us: Percentiles,
    /// One point per second of the run, warm-up included.
    pub timeline: Vec<TimelinePoint>,
    /// The child server, when loadgen started it (`null` with `--addr`).
    pub server: Option<ServerReport>,
    /// What loadgen itself used.
    pub loadgen_resources: LoadgenResources,
    /// Things a reader must know before trusting the numbers (loadgen saturated, errors, ...).
    pub warnings: Vec<String>,
    /// The full histograms, for lossless merging and re-analysis.
    pub histograms: SerializedHistograms,
    /// Cost per echoed message of the server and of loadgen (schema 2; absent in older files).
    #[serde(default)]
    pub cost: Option<crate::cost::CostReport>,
    /// What makes the run reproducible (schema 2; absent in older files).
    #[serde(default)]
    pub meta: Option<crate::meta::RunMeta>,
    /// Kernel work per echoed message and the flamegraph (schema 3; absent in older files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<crate::kernel::KernelReport>,
    /// Paths of the results this one was merged from (empty for a single run).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<String>,
    /// Open loop: offered and achieved rates, loadgen's send lag, censored messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_loop: Option<crate::open_loop::OpenLoopReport>,
    /// Whether the figures describe the server, and which side was late if not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<crate::verdict::Verdict>,
}

/// Which loadgen produced the file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LoadgenInfo {
    /// Crate version.
    pub version: String,
    /// Git commit loadgen was built from (short hash), or `unknown` outside a git checkout.
    pub git_commit: String,
}

/// The machine loadgen ran on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MachineInfo {
    /// CPUs available to loadgen.
    pub cpus: usize,
    /// Kernel name and release (`uname -sr`).
    pub kernel: String,
    /// Host name.
    pub hostname: String,
}

/// Counters. Messages and bytes cover the measured window; errors the whole run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Totals {
    /// Messages sent in the window whose echo came back complete and correct.
    pub messages: u64,
    /// Payload bytes of those messages as sent (wire bytes, framing included).
    pub bytes_sent: u64,
    /// Echo bytes received and verified for those messages.
    pub bytes_received: u64,
    /// Messages completed during warm-up (not in any other figure).
    pub warmup_messages: u64,
    /// Messages sent (at any time) whose echo never came back complete: lost echoes.
    pub unanswered: u64,
    /// Open loop: messages that fell due but were never sent, because their client was not
    /// connected or the backlog was not cleared by the end of the drain (0 in closed loop).
    #[serde(default)]
    pub unsent: u64,
    /// Echoes still in flight when the run ended that had waited less than the reply
    /// timeout: the run ended first, so they are no server failure (censored in open loop).
    #[serde(default)]
    pub unfinished: u64,
    /// Connection counts.
    pub connections: ConnectionTotals,
    /// Errors by kind.
    pub errors: ErrorCounts,
}

impl Totals {
    /// Adds every counter of `other` (`source_addrs` takes the larger of the two).
    pub fn add(&mut self, other: &Totals) {
        self.messages += other.messages;
        self.bytes_sent += other.bytes_sent;
        self.bytes_received += other.bytes_received;
        self.warmup_messages += other.warmup_messages;
        self.unanswered += other.unanswered;
        self.unsent += other.unsent;
        self.unfinished += other.unfinished;
        let (a, b) = (&mut self.connections, &other.connections);
        a.connected_at_window_start += b.connected_at_window_start;
        a.attempted += b.attempted;
        a.established += b.established;
        a.failed += b.failed;
        a.source_addrs = a.source_addrs.max(b.source_addrs);
        self.errors.add(&other.errors);
    }
}

/// Connection counts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ConnectionTotals {
    /// `connect()` calls made.
    pub attempted: u64,
    /// Connections established.
    pub established: u64,
    /// Connections that ended in an error (any kind in `errors`).
    pub failed: u64,
    /// Source addresses used (more than 1 when clients were spread over 127.0.0.x).
    pub source_addrs: u64,
    /// Clients connected when the measured window opened.
    #[serde(default)]
    pub connected_at_window_start: u64,
}

/// Errors by kind. Each failed connection counts exactly once, under the first error it hit.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ErrorCounts {
    /// An echo differed from what was sent.
    pub mismatch: u64,
    /// The connection ended with an echo partly received.
    pub short_reply: u64,
    /// The server closed the connection while it still owed echoes or before the run ended.
    pub unexpected_eof: u64,
    /// The connection was reset (ECONNRESET, EPIPE).
    pub reset: u64,
    /// `connect()` failed (refused, unreachable, no free port, ...).
    pub connect_failed: u64,
    /// No connection within `connect_timeout_s`.
    pub connect_timeout: u64,
    /// An echo not complete within `reply_timeout_s`, or still missing when the run ended.
    pub reply_timeout: u64,
    /// Any other I/O error.
    pub other_io: u64,
}

impl ErrorCounts {
    /// Sum of every kind.
    pub fn total(&self) -> u64 {
        self.mismatch
            + self.short_reply
            + self.unexpected_eof
            + self.reset
            + self.connect_failed
            + self.connect_timeout
            + self.reply_timeout
            + self.other_io
    }

    /// Adds every counter of `other`.
    pub fn add(&mut self, other: &ErrorCounts) {
        self.mismatch += other.mismatch;
        self.short_reply += other.short_reply;
        self.unexpected_eof += other.unexpected_eof;
        self.reset += other.reset;
        self.connect_failed += other.connect_failed;
        self.connect_timeout += other.connect_timeout;
        self.reply_timeout += other.reply_timeout;
        self.other_io += other.other_io;
    }

    /// The kinds that occurred with their counts, as `mismatch 2, reset 1`.
    pub fn nonzero_summary(&self) -> String {
        self.by_kind()
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `(name, count)` for every kind, in a fixed order, for printing.
    pub fn by_kind(&self) -> [(&'static str, u64); 8] {
        [
            ("mismatch", self.mismatch),
            ("short_reply", self.short_reply),
            ("unexpected_eof", self.unexpected_eof),
            ("reset", self.reset),
            ("connect_failed", self.connect_failed),
            ("connect_timeout", self.connect_timeout),
            ("reply_timeout", self.reply_timeout),
            ("other_io", self.other_io),
        ]
    }
}

/// Rates over the measured window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Throughput {
    /// Completed messages per second.
    pub msgs_per_sec: f64,
    /// Echo bytes received per second.
    pub bytes_per_sec: f64,
}

/// One second of the run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TimelinePoint {
    /// End of this one-second interval, seconds since the run started (warm-up included).
    pub t_s: f64,
    /// Whether the interval lies in the warm-up.
    pub warmup: bool,
    /// Clients connected at the end of the interval.
    pub connected: u64,
    /// Messages completed in the interval.
    pub msgs: u64,
    /// Messages completed per second in the interval.
    pub msgs_per_sec: f64,
    /// Median latency in the interval, µs (same measure as `latency_us`).
    pub p50_us: u64,
    /// 99th percentile latency in the interval, µs.
    pub p99_us: u64,
    /// Errors in the interval.
    pub errors: u64,
}

/// The child server loadgen started.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ServerReport {
    /// Its concurrency model.
    pub model: String,
    /// The binary that ran.
    pub bin: String,
    /// Its full argument list.
    pub args: Vec<String>,
    /// Its process id.
    pub pid: u32,
    /// Its exit code after SIGTERM (`null` if killed by a signal or not reaped).
    pub exit_code: Option<i32>,
    /// The counters it printed on shutdown, if it printed them.
    pub stats: Option<StatsSnapshot>,
    /// What it used, from `/proc/<pid>`.
    pub resources: ProcessResources,
}

/// A process's resource use, from `/proc/<pid>`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ProcessResources {
    /// User CPU seconds during the measured window.
    pub user_cpu_s: f64,
    /// System CPU seconds during the measured window.
    pub system_cpu_s: f64,
    /// (user + system) / window: 1.0 is one core fully busy.
    pub cpu_cores_used: f64,
    /// User CPU seconds over its whole life until the last sample.
    pub total_user_cpu_s: f64,
    /// System CPU seconds over its whole life until the last sample.
    pub total_system_cpu_s: f64,
    /// Peak resident set size (VmHWM), bytes.
    pub peak_rss_bytes: u64,
    /// Most threads seen at once (sampled every second).
    pub max_threads: u64,
    /// Most open file descriptors seen at once (sampled every second).
    pub max_open_fds: u64,
}

/// loadgen's own resource use.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LoadgenResources {
    /// Worker threads that drove the clients.
    pub worker_threads: usize,
    /// loadgen's CPU use (`/proc/self`), same fields as the server's.
    pub process: ProcessResources,
    /// Resident memory added by the clients (the larger RSS at the window's two edges minus
    /// RSS before the first connection) divided by the clients, bytes.
    pub memory_per_client_bytes: u64,
    /// True when a loadgen worker thread was busy nearly all the window (or the process used
    /// nearly all its workers' CPU): the numbers may measure loadgen rather than the server.
    pub saturated: bool,
    /// CPU time of the busiest worker thread over the window, as a share of the window
    /// (1.0 = never idle).
    #[serde(default)]
    pub busiest_worker_cpu: f64,
}

/// The full histograms: HdrHistogram V2 compressed, base64 (1 µs–60 s, 3 significant digits).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SerializedHistograms {
    /// The values behind `latency_us`.
    pub latency: String,
    /// The values behind `service_time_us` (open loop only).
    pub service_time: Option<String>,
    /// The values behind `connect_latency_us`.
    pub connect: String,
}

impl SerializedHistograms {
    /// Decodes the latency histogram.
    pub fn latency(&self) -> Result<LatencyHistogram, HistogramDecodeError> {
        LatencyHistogram::from_base64(&self.latency)
    }

    /// Decodes the service-time histogram, if there is one.
    pub fn service_time(&self) -> Result<Option<LatencyHistogram>, HistogramDecodeError> {
        self.service_time
            .as_deref()
            .map(LatencyHistogram::from_base64)
            .transpose()
    }

    /// Decodes the connect-latency histogram.
    pub fn connect(&self) -> Result<LatencyHistogram, HistogramDecodeError> {
        LatencyHistogram::from_base64(&self.connect)
    }
}

impl RunResult {
    /// Reads a result file, checking its schema version.
    pub fn load(path: &Path) -> anyhow::Result<RunResult> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let result: RunResult = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a loadgen result", path.display()))?;
        if !(OLDEST_READABLE_SCHEMA..=SCHEMA_VERSION).contains(&result.schema_version) {
            anyhow::bail!(
                "{} has schema version {}, this loadgen reads versions \
                 {OLDEST_READABLE_SCHEMA} to {SCHEMA_VERSION}",
                path.display(),
                result.schema_version
            );
        }
        Ok(result)
    }

    /// Pretty JSON, newline-terminated.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a RunResult always serializes");
        s.push('\n');
        s
    }

    /// The JSON Schema of this format (what `results/schema.json` holds).
    pub fn json_schema() -> serde_json::Value {
        let schema = schemars::schema_for!(RunResult);
        serde_json::to_value(schema).expect("a schema always serializes")
    }
}
