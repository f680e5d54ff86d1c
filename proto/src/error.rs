//! Why the protocol core gave up on a connection.

/// A peer sent something the protocol cannot accept; the connection must be closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// A `framed` length prefix larger than the configured maximum.
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    FrameTooLarge {
        /// The length the peer announced.
        len: u32,
        /// The configured `--max-frame`.
        max: u32,
    },
    /// A `line` message that grew past the configured maximum without a newline.
    #[error("line exceeds the limit of {max} bytes without a newline")]
    LineTooLong {
        /// The configured `--max-line`.
        max: usize,
    },
}

impl ProtocolError {
    /// A short stable name for counters and logs (`frame_too_large`, `line_too_long`).
    pub fn kind(&self) -> &'static str {
        match self {
            ProtocolError::FrameTooLarge { .. } => "frame_too_large",
            ProtocolError::LineTooLong { .. } => "line_too_long",
        }
    }
}
