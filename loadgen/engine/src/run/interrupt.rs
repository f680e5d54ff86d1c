//! SIGINT and SIGTERM: the first ends the run in progress early (it still returns a result),
//! a second exits.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// The process-wide interrupt flag, set by the first SIGINT or SIGTERM (handlers installed on
/// first use). A run in progress then ends its window at once and still returns a result; runs
/// started afterwards end immediately; a second signal exits with status 130 (the server child
/// then gets SIGTERM from the kernel, see `target/spawn.rs`).
pub(super) fn flag() -> Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    Arc::clone(FLAG.get_or_init(|| {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let flag = Arc::new(AtomicBool::new(false));
        for signal in [SIGINT, SIGTERM] {
            // The conditional exit goes first: on the first signal it still sees `false`.
            // If registering fails the signal keeps its default action, which is also safe.
            let _ =
                signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&flag));
            let _ = signal_hook::flag::register(signal, Arc::clone(&flag));
        }
        flag
    }))
}

/// Whether SIGINT or SIGTERM was received: callers running many benchmarks (sweeps) stop.
pub fn interrupted() -> bool {
    flag().load(Ordering::Relaxed)
}
