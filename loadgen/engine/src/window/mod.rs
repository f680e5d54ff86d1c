//! The measured window: when it opens and closes.
//!
//! - [`Window`]: the window as instants.
//! - `start_line`: the window opens once every client is connected (or failed for good).
//! - `start_at`: a window opening at an agreed wall-clock time (`--start-at`, for shards),
//!   and the wall-clock times of the window's edges.

mod span;
pub(crate) mod start_at;
pub(crate) mod start_line;

pub use span::Window;
