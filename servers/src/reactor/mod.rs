//! The edge-triggered mio event loop, written once. `mio`, `thread-per-core` and `reactor-pool`
//! differ only in what they do with a connection, which each says in a [`Handler`]; the loop
//! does the waiting, the accepting, the retries of connections whose read budget ran out, the
//! accept backoff, the idle sweep and the final count. [`serve_echo`] is the handler `mio` and
//! `thread-per-core` share: echo in place, on the loop's thread.
//!
//! The shape is mio's own `tcp_server` example: wait for events, dispatch them by token (the
//! listener, the waker, or a connection's slab key), and drain each ready socket until
//! `WouldBlock`, because an edge-triggered event is not repeated.

mod connections;
mod echo;
mod event_loop;

pub use connections::{Connection, Connections};
pub use echo::serve_echo;
pub use event_loop::{Handler, Prepared, Readiness, Turn, LISTENER, WAKER};
