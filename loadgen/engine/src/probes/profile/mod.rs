//! The server's on-CPU flamegraph over the measured window (`--flamegraph`).
//!
//! - [`sampler`]: the server's threads sampled on a CPU clock, with call chains, while the
//!   window is open; stacks folded by address as they arrive;
//! - [`symbols`]: addresses to function names (the process's ELF symbols, the kernel's
//!   kallsyms);
//! - [`render`]: the folded stacks drawn as an SVG;
//! - [`flamegraph`]: all of it, into what the result records.

pub(crate) mod flamegraph;
pub(crate) mod render;
pub(crate) mod sampler;
pub(crate) mod symbols;
