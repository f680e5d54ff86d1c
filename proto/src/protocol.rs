//! The three wire modes and the limits that keep a connection's memory bounded.

use std::fmt;
use std::str::FromStr;

/// Length of the big-endian `u32` length prefix in `framed` mode.
pub const FRAME_HEADER_LEN: usize = 4;

/// Which wire protocol a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Protocol {
    /// RFC 862: every byte received is sent back, in order, unframed.
    #[default]
    Raw,
    /// Newline-delimited: each complete line, with its `\n`, is echoed once whole.
    Line,
    /// A 4-byte big-endian length, then that many bytes; the whole frame is echoed once complete.
    Framed,
}

impl Protocol {
    /// Every protocol, in a stable order.
    pub const ALL: [Protocol; 3] = [Protocol::Raw, Protocol::Line, Protocol::Framed];

    /// The name used on the command line and in result files.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Raw => "raw",
            Protocol::Line => "line",
            Protocol::Framed => "framed",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Protocol {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Protocol::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown protocol {s:?}: expected raw, line or framed"))
    }
}

/// Per-connection bounds. Together they cap what one client can make the server hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest `line` message, newline included, before the connection is closed.
    pub max_line: usize,
    /// Largest `framed` payload length accepted.
    pub max_frame: u32,
    /// Output not yet written past which the connection stops reading (backpressure).
    pub max_pending_output: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line: 64 * 1024,
            max_frame: 1024 * 1024,
            max_pending_output: 256 * 1024,
        }
    }
}
