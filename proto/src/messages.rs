//! Message boundaries in bytes that hold only complete messages, such as a batch taken with
//! [`Conn::take_ready`](crate::Conn::take_ready): a driver that hands messages to other code
//! walks them with [`Messages`] instead of parsing a newline or a length prefix itself.

use crate::protocol::{Protocol, FRAME_HEADER_LEN};

/// Length of the first message at the start of `bytes`, if it is complete. `raw` has no
/// boundaries: all of `bytes` is one message. Limits are not checked here: [`Conn`](crate::Conn)
/// checked them before the bytes became ready.
pub fn complete_message_len(protocol: Protocol, bytes: &[u8]) -> Option<usize> {
    match protocol {
        Protocol::Raw => (!bytes.is_empty()).then_some(bytes.len()),
        Protocol::Line => memchr::memchr(b'\n', bytes).map(|i| i + 1),
        Protocol::Framed => {
            let header = bytes.first_chunk::<FRAME_HEADER_LEN>()?;
            let len = FRAME_HEADER_LEN + u32::from_be_bytes(*header) as usize;
            (bytes.len() >= len).then_some(len)
        }
    }
}

/// The complete messages in `bytes`, oldest first, each with its newline or header.
///
/// Bytes after the last complete message (which a batch from `take_ready` never has) are left
/// in [`Messages::remainder`] rather than yielded as a message.
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    protocol: Protocol,
    rest: &'a [u8],
}

impl<'a> Messages<'a> {
    /// Walks `bytes` as `protocol` messages.
    pub fn new(protocol: Protocol, bytes: &'a [u8]) -> Self {
        Messages {
            protocol,
            rest: bytes,
        }
    }

    /// What is left unwalked: an incomplete message, or nothing.
    pub fn remainder(&self) -> &'a [u8] {
        self.rest
    }
}

impl<'a> Iterator for Messages<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let len = complete_message_len(self.protocol, self.rest)?;
        let (message, rest) = self.rest.split_at(len);
        self.rest = rest;
        Some(message)
    }
}
