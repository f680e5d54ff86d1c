//! `uring`: one thread, io_uring completions: multishot accept, multishot receive into a ring of
//! provided buffers, one send in flight per connection.
//!
//! **How it works.** Instead of asking "which sockets are ready?" (epoll) and then calling `read`,
//! the loop queues the operations themselves and the kernel reports them done. One multishot
//! accept yields every new connection; one multishot receive per connection yields every chunk of
//! bytes, each written by the kernel into a buffer it picked from a shared ring of provided buffers
//! (so 10,000 idle connections own no receive buffer). The bytes are copied into the
//! connection's [`Conn`] and the buffer goes straight back to the ring. Complete messages are
//! taken out of the core ([`Conn::take_ready`]) into an owned buffer that is sent with one `send`
//! at a time per connection (partial sends are resumed). Backpressure: when unsent output reaches
//! `--max-pending`, the multishot receive is cancelled, and re-armed once the output drains; the
//! chunks the kernel delivered before the cancel took effect are still accepted (bounded by the
//! buffer ring). Closing a connection cancels its operations and frees it only when the kernel
//! has reported every one of them, because until then the kernel may still use its memory.
//!
//! **What it costs.** Per connection: a slab slot and its protocol buffer (none while idle), no
//! per-connection receive buffer (measured at 1,000 connections: 0.3 KiB of RSS per idle client,
//! 1.5 KiB after one message each, of which 1 KiB is pages of the shared pool touched). Per chunk
//! received: one completion entry and one copy; many completions are reaped per
//! `io_uring_enter`, so a busy loop makes few system calls. Fixed: the rings (a few hundred KiB)
//! and the buffer pool (4 MiB, resident only as used).
//!
//! **Where it breaks.** One thread, one core, like `mio`. Backpressure is coarser than with
//! `read`: one kernel pass of a multishot receive can drain a socket into many buffers before the
//! loop sees the first completion, so a client that never reads leaves more behind than the cap
//! (measured with 20 such clients: 0.65 MiB unsent and 1.6 MiB of RSS each, against 0.28 MiB and
//! 0.37 MiB under `mio`; bounded by the pool, 4 MiB). It needs Linux 5.19+ (multishot accept,
//! buffer rings; multishot receive 6.0) and io_uring not disabled by policy; otherwise the server
//! refuses to start with a clear error. Every operation points into user memory the kernel uses
//! later, which is why the buffer lifetimes are spelled out in `SAFETY` comments.
//!
//! [`Conn`]: proto::Conn
//! [`Conn::take_ready`]: proto::Conn::take_ready

mod buf_ring;
mod completion;
mod connection;
mod drive;
mod ring;
mod server;

pub use ring::check_available;
pub use server::run;
