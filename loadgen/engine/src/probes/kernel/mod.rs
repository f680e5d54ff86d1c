//! Kernel work per echoed message, counted by the kernel through `perf_event_open`.
//!
//! - [`catalogue`]: the events and the figure each adds to;
//! - [`tracefs`]: where tracepoint ids come from;
//! - [`counters`]: one process's events, opened per thread and inherited;
//! - [`window`]: the readings at the window's edges, per message.

pub(crate) mod catalogue;
pub(crate) mod counters;
pub(crate) mod tracefs;
pub(crate) mod window;
