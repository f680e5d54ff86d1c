//! `echo-proxy`: a TCP delay stage that makes a link look like a WAN (delay and jitter), in
//! userspace, for kernels without `sch_netem`.
//!
//! **How it works.** Each accepted client gets its own connection to the upstream. Each direction
//! has a reader and a writer joined by a FIFO queue. The reader timestamps every chunk it reads
//! and queues it with a release time: arrival + delay + a jitter sample drawn uniformly from
//! `[-jitter, +jitter]` (seeded per connection and direction). A release time is never earlier
//! than the one before it, so bytes leave in the order they came, as on a real link where jitter
//! delays a stream but does not reorder it. The writer waits until each chunk's release time and
//! writes it whole; one timer thread keeps every pending release in a heap and wakes each writer
//! within tens of microseconds of its time (tokio's own timer rounds up to whole milliseconds).
//! End of stream is queued like data: a half-close reaches the other side after the delay, once
//! the bytes before it are out. A failed read (a reset) is also queued, and when it comes out, or
//! a write fails, both sockets are closed with `SO_LINGER` 0 so that each peer sees a reset.
//!
//! **What it costs.** Per connection: two sockets, two tasks' worth of state, a read buffer per
//! direction (16 KiB, or the queue cap if smaller) and the queued bytes, at most `max_queued` per
//! direction (plus at most 4,096 chunk headers). When a queue is full the reader stops reading,
//! so the sender sees TCP backpressure rather than the proxy growing. Every byte is copied once
//! out of the read buffer and written once. Every release is one wake-up of the timer thread and
//! one of the writer's task, so at tens of thousands of chunks per second the proxy's own CPU
//! time (and its scheduling on a busy machine) shows up as extra delay.
//!
//! **Where it breaks.** It delays chunks as `read` returns them, not packets: it cannot model loss,
//! reordering, or a bandwidth limit (use TBF on the link for that), and a chunk's bytes share one
//! release time. The connection handshake is not delayed: a client's `connect` completes at the
//! proxy, so connect latency reads as the local round trip. A queue holds at most `max_queued`
//! bytes, which caps one direction's throughput at `max_queued / delay` (4 MiB per 10 ms is
//! 400 MiB/s). Each connection uses two file descriptors, so the proxy holds half as many
//! clients as its fd limit. Every chunk costs two wake-ups (timer thread, writer task): on a
//! machine whose cores are busy with the server and the load generator too, tens of thousands of
//! chunks per second queue in the proxy and read as extra delay, so give it its own CPUs.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};

pub mod cli;
pub mod config;
pub mod delay;
mod direction;
mod relay;
pub mod release_clock;
pub mod stats;

pub use config::{ProxyConfig, DEFAULT_MAX_QUEUED};
pub use release_clock::ReleaseClock;
pub use stats::{ProxyStats, StatsSnapshot};

/// A bound proxy, ready to run.
#[derive(Debug)]
pub struct Proxy {
    listener: TcpListener,
    config: Arc<ProxyConfig>,
    clock: Arc<ReleaseClock>,
    stats: Arc<ProxyStats>,
}

impl Proxy {
    /// Binds the listening socket (with `SO_REUSEADDR`, so a restart does not wait for TIME_WAIT).
    pub fn bind(config: ProxyConfig) -> io::Result<Proxy> {
        if config.max_queued == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "max_queued must be at least 1 byte",
            ));
        }
        let socket = match config.listen {
            SocketAddr::V4(_) => TcpSocket::new_v4()?,
            SocketAddr::V6(_) => TcpSocket::new_v6()?,
        };
        socket.set_reuseaddr(true)?;
        socket.bind(config.listen)?;
        let listener = socket.listen(config.backlog)?;
        Ok(Proxy {
            listener,
            config: Arc::new(config),
            clock: Arc::new(ReleaseClock::precise()?),
            stats: Arc::default(),
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The counters, live.
    pub fn stats(&self) -> Arc<ProxyStats> {
        Arc::clone(&self.stats)
    }

    /// Accepts clients forever, one task each. A failed accept (e.g. out of file descriptors) is
    /// counted and retried after a short pause instead of spinning.
    pub async fn run(self) {
        let mut next_id = 0u64;
        loop {
            match self.listener.accept().await {
                Ok((client, _)) => {
                    let id = next_id;
                    next_id += 1;
                    let config = Arc::clone(&self.config);
                    let clock = Arc::clone(&self.clock);
                    let stats = Arc::clone(&self.stats);
                    tokio::spawn(relay::relay(client, id, config, clock, stats));
                }
                Err(_) => {
                    self.stats.accept_failed();
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }
}
