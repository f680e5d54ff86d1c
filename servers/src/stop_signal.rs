//! How the task-per-client models that sit on a foreign runtime (monoio, glommio, compio, smol)
//! end every task at shutdown and know when the last one is gone, and how their accept loops
//! race the next client against the stop ([`StopSignal::next_client`]).
//!
//! A runtime's wakers may only be woken from the runtime's own thread (monoio and glommio run
//! tasks on the thread that spawned them and keep no cross-thread queue), so the signal-handling
//! thread never wakes a task itself: a watcher task on each runtime thread checks the
//! [`Shutdown`] flag every [`TICK`] and wakes the tasks of its own thread. Runtimes whose wakers
//! may be woken anywhere (smol) can call [`StopSignal::notify`] straight from
//! [`Shutdown::on_trigger`] instead.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use event_listener::{Event, EventListener};
use futures_lite::future::or;

use crate::listener::{pause_after_accept_error, ACCEPT_BACKOFF};
use crate::shutdown::{Shutdown, TICK};
use crate::stats::{CloseReason, Stats};

/// What an accept loop's wait for its next client ended with.
pub enum Next<T> {
    /// A client connected.
    Client(T),
    /// `accept` failed (counted, and backed off from if it must): try again.
    Retry,
    /// Shutdown began: stop accepting.
    Stop,
}

/// One worker's stop signal: fires once shutdown is triggered, and counts the tasks still alive.
pub struct StopSignal {
    shutdown: Shutdown,
    stop: Event,
    live: AtomicUsize,
    drained: Event,
}

impl StopSignal {
    /// A signal that fires after `shutdown` is triggered.
    pub fn new(shutdown: Shutdown) -> Arc<Self> {
        Arc::new(StopSignal {
            shutdown,
            stop: Event::new(),
            live: AtomicUsize::new(0),
            drained: Event::new(),
        })
    }

    /// Whether shutdown was triggered.
    pub fn is_stopping(&self) -> bool {
        self.shutdown.is_triggered()
    }

    /// Wakes every task waiting in [`StopSignal::stopped`] (on any thread whose runtime allows
    /// it; see the module doc).
    pub fn notify(&self) {
        self.stop.notify(usize::MAX);
    }

    /// Waits for `accept` or for the stop, whichever comes first. After an accept error that
    /// calls for it, pauses for [`ACCEPT_BACKOFF`] with the runtime's own `sleep` (the stop
    /// still ends the pause), so every accept loop backs off on EMFILE the same way.
    pub async fn next_client<T, S: Future>(
        &self,
        accept: impl Future<Output = io::Result<T>>,
        sleep: impl FnOnce(Duration) -> S,
        stats: &Stats,
    ) -> Next<T> {
        let accepted = or(async { Some(accept.await) }, async {
            self.stopped().await;
            None
        })
        .await;
        match accepted {
            None => Next::Stop,
            Some(Ok(client)) => Next::Client(client),
            Some(Err(e)) if pause_after_accept_error(&e, stats) => {
                let paused = async {
                    sleep(ACCEPT_BACKOFF).await;
                    Next::Retry
                };
                or(paused, async {
                    self.stopped().await;
                    Next::Stop
                })
                .await
            }
            Some(Err(_)) => Next::Retry,
        }
    }

    /// Runs a client's loop until it ends, or until the stop fires: then the client ends for
    /// [`CloseReason::Shutdown`].
    pub async fn or_stopped(&self, served: impl Future<Output = CloseReason>) -> CloseReason {
        or(served, async {
            self.stopped().await;
            CloseReason::Shutdown
        })
        .await
    }

    /// Polls the shutdown flag every [`TICK`] with the runtime's own `sleep`, then wakes every
    /// task of this thread waiting in [`StopSignal::stopped`].
    pub async fn watch<F: Future>(&self, sleep: impl Fn(Duration) -> F) {
        while !self.is_stopping() {
            sleep(TICK).await;
        }
        self.notify();
    }

    /// Completes once shutdown is triggered and announced with [`StopSignal::notify`].
    pub fn stopped(&self) -> Stopped<'_> {
        Stopped {
            signal: self,
            listener: None,
        }
    }

    /// Counts a task as alive until the returned guard is dropped.
    pub fn enter(self: &Arc<Self>) -> LiveTask {
        self.live.fetch_add(1, Ordering::SeqCst);
        LiveTask {
            signal: Arc::clone(self),
        }
    }

    /// Completes once no [`LiveTask`] is left.
    pub async fn drained(&self) {
        loop {
            let listener = self.drained.listen();
            if self.live.load(Ordering::SeqCst) == 0 {
                return;
            }
            listener.await;
        }
    }
}

/// The future of [`StopSignal::stopped`].
///
/// It sits beside every connection's loop and is polled on each of the task's wake-ups, so
/// after the first poll it only reads the flag: polling its listener again would take the
/// event's lock once per message. That is sound because the waker it registered first is the
/// task's own, which wakes the same task for as long as the task lives (every runtime here
/// keeps one waker per task).
pub struct Stopped<'a> {
    signal: &'a StopSignal,
    listener: Option<EventListener>,
}

impl Future for Stopped<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if self.signal.is_stopping() {
                return Poll::Ready(());
            }
            if self.listener.is_some() {
                return Poll::Pending;
            }
            // Listen, then check again, so a notification between the two is not lost.
            let mut listener = self.signal.stop.listen();
            if self.signal.is_stopping() {
                return Poll::Ready(());
            }
            if Pin::new(&mut listener).poll(cx).is_pending() {
                self.listener = Some(listener);
                return Poll::Pending;
            }
            // Notified between listening and polling: the flag is set by now.
        }
    }
}

/// A task counted as alive by [`StopSignal::enter`].
pub struct LiveTask {
    signal: Arc<StopSignal>,
}

impl Drop for LiveTask {
    fn drop(&mut self) {
        if self.signal.live.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.signal.drained.notify(usize::MAX);
        }
    }
}
