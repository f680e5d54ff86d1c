//! The echo protocol, once, with no I/O.
//!
//! A server model owns the socket; this crate owns the meaning of the bytes. Every model's loop is:
//!
//! ```text
//! read n bytes into buf  ->  conn.receive(&buf[..n])      (may set conn.error())
//! write conn.pending_output()  ->  conn.consume_output(written)
//! if !conn.wants_read(): stop reading until output drains (backpressure)
//! on EOF: conn.receive_eof(); flush pending output; close
//! ```
//!
//! TCP is a byte stream: one read may hold half a message or three. [`Conn`] accepts any split of
//! the input and produces the same output, so no model ever parses a newline or a length prefix.

mod conn;
mod error;
mod messages;
mod protocol;

pub use conn::{Conn, ConnCounters};
pub use error::ProtocolError;
pub use messages::{complete_message_len, Messages};
pub use protocol::{Limits, Protocol, FRAME_HEADER_LEN};
