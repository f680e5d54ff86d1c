//! The server under load and the way to it.
//!
//! - `locate`: where the echo-server and echo-proxy binaries are (nothing is built), or this
//!   executable when it carries them ([`carried_by_this_executable`]).
//! - `spawn`: the echo-server child: started, its address learnt, stopped with its counters.
//! - `link`: the echo-proxy child of a delayed link.
//! - [`connect`]: sockets, the fd limit, source addresses.
//! - [`echo_check`]: whether a server already listening echoes, before a search of many runs.

pub mod connect;
pub mod echo_check;
pub(crate) mod link;
pub(crate) mod locate;

pub use locate::carried_by_this_executable;
pub(crate) mod spawn;
