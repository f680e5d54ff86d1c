//! Graceful stop: a flag every loop checks, plus wake-ups for loops blocked in the kernel.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often a blocked loop wakes to check the shutdown flag and idle timeouts when it has no
/// waker of its own. 10 wake-ups a second per loop thread is noise next to any real load.
pub const TICK: Duration = Duration::from_millis(100);

type Waker = Box<dyn Fn() + Send + Sync>;

/// A cloneable "please stop" signal. SIGINT/SIGTERM trigger it in the binary; tests and the
/// library trigger it directly.
#[derive(Clone, Default)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    triggered: AtomicBool,
    wakers: Mutex<Vec<Waker>>,
}

impl Shutdown {
    /// A signal that has not fired.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks every loop to stop, and wakes those that registered a waker.
    pub fn trigger(&self) {
        self.inner.triggered.store(true, Ordering::SeqCst);
        let wakers = self.inner.wakers.lock().unwrap_or_else(|e| e.into_inner());
        for wake in wakers.iter() {
            wake();
        }
    }

    /// Whether [`Shutdown::trigger`] was called.
    pub fn is_triggered(&self) -> bool {
        self.inner.triggered.load(Ordering::SeqCst)
    }

    /// Registers `wake` to run on trigger (or at once, if already triggered).
    pub fn on_trigger(&self, wake: impl Fn() + Send + Sync + 'static) {
        let mut wakers = self.inner.wakers.lock().unwrap_or_else(|e| e.into_inner());
        if self.is_triggered() {
            wake();
        }
        wakers.push(Box::new(wake));
    }

    /// Triggers on the first SIGINT or SIGTERM, from a small background thread.
    pub fn trigger_on_signals(&self) -> std::io::Result<()> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
        let this = self.clone();
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                if signals.forever().next().is_some() {
                    this.trigger();
                }
            })?;
        Ok(())
    }
}
