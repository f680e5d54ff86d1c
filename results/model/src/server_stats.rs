//! The server's counters as one value: what `echo-server` prints as its last JSON line, and
//! what loadgen reads back into `server.stats` of a result. One struct for both sides, so the
//! two cannot drift apart.

use serde::{Deserialize, Serialize};

/// Every counter at one moment; serialized as the JSON line printed on shutdown.
///
/// Missing fields read as zero, so a result from a server that predates a counter still loads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct StatsSnapshot {
    /// The model that served.
    pub model: String,
    /// Connections returned by `accept`.
    pub accepted: u64,
    /// Connections still open.
    pub active: u64,
    /// Most connections open at once.
    pub peak_active: u64,
    /// Connections closed after being served.
    pub closed: u64,
    /// Connections closed right after `accept`, by reason.
    pub refused: Refused,
    /// `accept` calls that failed (EMFILE, ENFILE, ENOMEM, ...).
    pub accept_errors: u64,
    /// Times the accept loop paused because of such an error.
    pub accept_backoffs: u64,
    /// Bytes received from clients.
    pub bytes_in: u64,
    /// Bytes echoed back.
    pub bytes_out: u64,
    /// Complete `line`/`framed` messages echoed.
    pub messages: u64,
    /// Connections closed for breaking the protocol.
    pub protocol_errors: ProtocolErrors,
    /// Bytes of incomplete messages dropped because the client closed mid-message.
    pub truncated_at_eof_bytes: u64,
    /// Served connections by how they ended.
    pub closed_by: ClosedBy,
    /// Accepted connections per worker thread (models with several accept loops).
    pub per_worker_accepted: Vec<u64>,
    /// Messages charged with `--extra-work` (0 when the option is off).
    pub extra_work_messages: u64,
    /// The error that stopped an event loop, if one did; the server then exits non-zero.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fatal_error: Option<String>,
}

/// Refused connections by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct Refused {
    /// Past `--max-conns`.
    pub max_conns: u64,
    /// fd ≥ FD_SETSIZE (select only).
    pub fd_setsize: u64,
    /// No thread could be spawned (threads only).
    pub spawn_failed: u64,
    /// Could not be added to the event loop.
    pub register_failed: u64,
}

/// Protocol errors by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct ProtocolErrors {
    /// A `framed` length above `--max-frame`.
    pub frame_too_large: u64,
    /// A `line` longer than `--max-line`.
    pub line_too_long: u64,
}

/// How served connections ended (protocol errors are counted separately).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct ClosedBy {
    /// Clean close by the peer.
    pub eof: u64,
    /// Reset by the peer.
    pub reset: u64,
    /// Other I/O errors.
    pub io_error: u64,
    /// Idle past `--idle-timeout`.
    pub idle_timeout: u64,
    /// Still open at shutdown.
    pub shutdown: u64,
    /// Open when their event loop failed (see `fatal_error`).
    pub loop_failed: u64,
}

impl StatsSnapshot {
    /// Adds every counter of `other`, as for servers that ran side by side (the model name
    /// stays this one's). Peaks add too: the servers were separate processes, so their peaks
    /// bound the combined one from above.
    pub fn add(&mut self, other: &StatsSnapshot) {
        self.accepted += other.accepted;
        self.active += other.active;
        self.peak_active += other.peak_active;
        self.closed += other.closed;
        self.refused.max_conns += other.refused.max_conns;
        self.refused.fd_setsize += other.refused.fd_setsize;
        self.refused.spawn_failed += other.refused.spawn_failed;
        self.refused.register_failed += other.refused.register_failed;
        self.accept_errors += other.accept_errors;
        self.accept_backoffs += other.accept_backoffs;
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        self.messages += other.messages;
        self.protocol_errors.frame_too_large += other.protocol_errors.frame_too_large;
        self.protocol_errors.line_too_long += other.protocol_errors.line_too_long;
        self.truncated_at_eof_bytes += other.truncated_at_eof_bytes;
        self.closed_by.eof += other.closed_by.eof;
        self.closed_by.reset += other.closed_by.reset;
        self.closed_by.io_error += other.closed_by.io_error;
        self.closed_by.idle_timeout += other.closed_by.idle_timeout;
        self.closed_by.shutdown += other.closed_by.shutdown;
        self.closed_by.loop_failed += other.closed_by.loop_failed;
        self.extra_work_messages += other.extra_work_messages;
        if self.fatal_error.is_none() {
            self.fatal_error.clone_from(&other.fatal_error);
        }
        for (i, n) in other.per_worker_accepted.iter().enumerate() {
            match self.per_worker_accepted.get_mut(i) {
                Some(mine) => *mine += n,
                None => self.per_worker_accepted.push(*n),
            }
        }
    }

    /// Parses the line a server printed, if it is the counters line.
    pub fn from_line(line: &str) -> Option<StatsSnapshot> {
        let line = line.trim();
        if !line.starts_with('{') {
            return None;
        }
        serde_json::from_str(line).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_sums_every_counter_and_keeps_the_longer_worker_list() {
        let mut a = StatsSnapshot {
            model: "mio".into(),
            accepted: 2,
            closed_by: ClosedBy {
                eof: 1,
                ..ClosedBy::default()
            },
            per_worker_accepted: vec![1],
            ..StatsSnapshot::default()
        };
        let b = StatsSnapshot {
            model: "poll".into(),
            accepted: 3,
            closed_by: ClosedBy {
                eof: 4,
                ..ClosedBy::default()
            },
            per_worker_accepted: vec![2, 5],
            ..StatsSnapshot::default()
        };
        a.add(&b);
        assert_eq!(a.model, "mio");
        assert_eq!((a.accepted, a.closed_by.eof), (5, 5));
        assert_eq!(a.per_worker_accepted, vec![3, 5]);
    }

    #[test]
    fn reads_a_line_with_missing_and_unknown_fields() {
        let s = StatsSnapshot::from_line(r#"{"model":"mio","accepted":7,"later_counter":1}"#)
            .expect("a counters line");
        assert_eq!((s.model.as_str(), s.accepted, s.closed), ("mio", 7, 0));
        assert!(StatsSnapshot::from_line("listening on 127.0.0.1:1").is_none());
    }
}
