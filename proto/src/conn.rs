//! One connection's protocol state: what has arrived, what is ready to echo, what has been sent.
//!
//! All bytes live in one buffer, so a message is copied once (from the driver's read buffer) and
//! never again; a `raw` chunk with nothing queued before it need not be copied at all
//! ([`Conn::pass_through`]):
//!
//! ```text
//!   buf:  [ already written | ready to write       | incomplete message ]
//!         0               sent                   ready              buf.len()
//! ```
//!
//! `raw` makes every byte ready at once. `line` and `framed` advance `ready` only past complete
//! messages, so an echo is never a fragment of a message.

use crate::error::ProtocolError;
use crate::protocol::{Limits, Protocol, FRAME_HEADER_LEN};

/// Once `sent` passes this, the written prefix is dropped even if output is still pending, so a
/// slow reader cannot make the buffer grow by its already-written bytes.
const COMPACT_AFTER: usize = 64 * 1024;

/// A buffer emptied with more capacity than this is released, so an idle connection holds no
/// memory after a burst of large messages, while small-message workloads reuse their allocation.
const KEEP_CAPACITY: usize = 64 * 1024;

/// Per-connection totals the driver folds into the server's counters when the connection ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnCounters {
    /// Bytes handed to [`Conn::receive`].
    pub bytes_in: u64,
    /// Bytes the driver reported written with [`Conn::consume_output`].
    pub bytes_out: u64,
    /// Complete `line` or `framed` messages made ready to echo (always 0 for `raw`).
    pub messages: u64,
    /// Bytes of an incomplete message thrown away because the peer closed mid-message.
    pub truncated_at_eof: u64,
}

/// The protocol state of one connection, independent of any socket.
#[derive(Debug)]
pub struct Conn {
    protocol: Protocol,
    limits: Limits,
    buf: Vec<u8>,
    sent: usize,
    ready: usize,
    /// In `line` mode: how many bytes of the incomplete line were already scanned for `\n`.
    scanned: usize,
    error: Option<ProtocolError>,
    counters: ConnCounters,
}

impl Conn {
    /// A fresh connection. Allocates nothing until bytes arrive.
    pub fn new(protocol: Protocol, limits: Limits) -> Self {
        Conn {
            protocol,
            limits,
            buf: Vec::new(),
            sent: 0,
            ready: 0,
            scanned: 0,
            error: None,
            counters: ConnCounters::default(),
        }
    }

    /// The protocol this connection speaks.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// Feeds bytes read from the peer, in any split. Complete messages become pending output.
    ///
    /// After an error the connection must be closed; further input is ignored.
    pub fn receive(&mut self, data: &[u8]) -> Result<(), ProtocolError> {
        if let Some(err) = self.error {
            return Err(err);
        }
        self.counters.bytes_in += data.len() as u64;
        if self.buf.capacity() == 0 && !data.is_empty() {
            self.buf.reserve_exact(data.len().max(4096));
        }
        self.buf.extend_from_slice(data);
        let result = match self.protocol {
            Protocol::Raw => {
                self.ready = self.buf.len();
                Ok(())
            }
            Protocol::Line => self.advance_lines(),
            Protocol::Framed => self.advance_frames(),
        };
        if let Err(err) = result {
            self.error = Some(err);
        }
        result
    }

    /// Whether `data` may be echoed straight from the driver's own buffer instead of being
    /// copied here: only for `raw` with nothing buffered and no error, where the echo is `data`
    /// itself. If so, `data` is counted as received; the driver writes it and then reports what
    /// it wrote with [`Conn::passed_through`]. If not, nothing changes: call [`Conn::receive`].
    pub fn pass_through(&mut self, data: &[u8]) -> bool {
        let clear = self.protocol == Protocol::Raw && self.buf.is_empty() && self.error.is_none();
        if clear {
            self.counters.bytes_in += data.len() as u64;
        }
        clear
    }

    /// Counts the first `written` bytes of `data`, a chunk [`Conn::pass_through`] accepted, as
    /// written, and keeps the rest as pending output, so a partial write loses nothing.
    ///
    /// # Panics
    /// If `written` exceeds `data`: that is a bug in the driver, not a peer's doing.
    pub fn passed_through(&mut self, data: &[u8], written: usize) {
        let rest = &data[written..];
        self.counters.bytes_out += written as u64;
        if !rest.is_empty() {
            self.buf.extend_from_slice(rest);
            self.ready = self.buf.len();
        }
    }

    /// The peer closed its writing half. An incomplete message can never complete: it is dropped
    /// and counted. Returns how many bytes were dropped.
    pub fn receive_eof(&mut self) -> usize {
        let dropped = self.buf.len() - self.ready;
        self.buf.truncate(self.ready);
        self.scanned = 0;
        self.counters.truncated_at_eof += dropped as u64;
        self.release_if_empty();
        dropped
    }

    /// Bytes ready to be written to the peer, oldest first.
    pub fn pending_output(&self) -> &[u8] {
        &self.buf[self.sent..self.ready]
    }

    /// Whether any output is waiting to be written.
    pub fn has_pending_output(&self) -> bool {
        self.ready > self.sent
    }

    /// Records that the first `n` bytes of [`Conn::pending_output`] were written.
    ///
    /// # Panics
    /// If `n` exceeds the pending output: that is a bug in the driver, not a peer's doing.
    pub fn consume_output(&mut self, n: usize) {
        assert!(
            n <= self.ready - self.sent,
            "consumed more output than was pending"
        );
        self.sent += n;
        self.counters.bytes_out += n as u64;
        if self.sent == self.ready || self.sent >= COMPACT_AFTER {
            self.buf.drain(..self.sent);
            self.ready -= self.sent;
            self.sent = 0;
            self.release_if_empty();
        }
    }

    /// Removes the bytes ready to echo (whole messages, oldest first) and returns them, for a
    /// driver that builds replies somewhere else (`reactor-pool` hands them to a worker pool).
    ///
    /// They stop being pending output, so [`Conn::wants_read`] no longer counts them: such a
    /// driver must cap its own in-flight bytes. Report them written with [`Conn::record_output`].
    pub fn take_ready(&mut self) -> Vec<u8> {
        let taken = if self.sent == 0 && self.ready == self.buf.len() {
            // Only whole messages are buffered (the common case): hand over the allocation
            // instead of copying it.
            std::mem::take(&mut self.buf)
        } else {
            let taken = self.buf[self.sent..self.ready].to_vec();
            self.buf.drain(..self.ready);
            self.release_if_empty();
            taken
        };
        // `scanned` counts bytes past `ready`, which did not move relative to the incomplete tail.
        self.sent = 0;
        self.ready = 0;
        taken
    }

    /// Counts `n` bytes taken with [`Conn::take_ready`] as written to the peer (`bytes_out`).
    pub fn record_output(&mut self, n: usize) {
        self.counters.bytes_out += n as u64;
    }

    /// Whether the driver should read more. False while output is backed up past the limit
    /// (backpressure) and after a protocol error.
    pub fn wants_read(&self) -> bool {
        self.error.is_none() && self.ready - self.sent < self.limits.max_pending_output
    }

    /// The protocol error that ended this connection, if any.
    pub fn error(&self) -> Option<ProtocolError> {
        self.error
    }

    /// Totals so far.
    pub fn counters(&self) -> ConnCounters {
        self.counters
    }

    /// Bytes of buffer memory this connection holds now (capacity, not length).
    pub fn buffered_capacity(&self) -> usize {
        self.buf.capacity()
    }

    fn release_if_empty(&mut self) {
        if self.buf.is_empty() && self.buf.capacity() > KEEP_CAPACITY {
            self.buf = Vec::new();
        }
    }

    fn advance_lines(&mut self) -> Result<(), ProtocolError> {
        let max = self.limits.max_line;
        loop {
            let start = self.ready + self.scanned;
            match memchr::memchr(b'\n', &self.buf[start..]) {
                Some(i) => {
                    let line_len = self.scanned + i + 1;
                    if line_len > max {
                        return Err(ProtocolError::LineTooLong { max });
                    }
                    self.ready += line_len;
                    self.scanned = 0;
                    self.counters.messages += 1;
                }
                None => {
                    self.scanned = self.buf.len() - self.ready;
                    // Even a newline in the next byte would make the line longer than `max`.
                    if self.scanned >= max {
                        return Err(ProtocolError::LineTooLong { max });
                    }
                    return Ok(());
                }
            }
        }
    }

    fn advance_frames(&mut self) -> Result<(), ProtocolError> {
        loop {
            let rest = &self.buf[self.ready..];
            let Some(header) = rest.first_chunk::<FRAME_HEADER_LEN>() else {
                return Ok(());
            };
            let len = u32::from_be_bytes(*header);
            if len > self.limits.max_frame {
                return Err(ProtocolError::FrameTooLarge {
                    len,
                    max: self.limits.max_frame,
                });
            }
            let frame_len = FRAME_HEADER_LEN + len as usize;
            if rest.len() < frame_len {
                return Ok(());
            }
            self.ready += frame_len;
            self.counters.messages += 1;
        }
    }
}
