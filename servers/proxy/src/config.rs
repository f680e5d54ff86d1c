//! What the proxy listens on, forwards to, and how it delays. A module of its own because both
//! the crate root (which binds and accepts) and each connection's relay read it.

use std::net::SocketAddr;
use std::time::Duration;

/// Default per-direction cap on queued bytes.
pub const DEFAULT_MAX_QUEUED: usize = 4 << 20;

/// What the proxy listens on, forwards to, and how it delays.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// Address to accept clients on (port 0: the kernel picks).
    pub listen: SocketAddr,
    /// The server every client is forwarded to.
    pub upstream: SocketAddr,
    /// Fixed one-way delay, each direction.
    pub delay: Duration,
    /// Uniform jitter around the delay, each direction: the delay is `delay ± jitter`, at least 0.
    pub jitter: Duration,
    /// Seed of the jitter samples.
    pub seed: u64,
    /// Most bytes queued per direction of a connection before reading stops (at least 1).
    pub max_queued: usize,
    /// An upstream connect slower than this resets the client.
    pub connect_timeout: Duration,
    /// listen(2) backlog.
    pub backlog: u32,
}

impl ProxyConfig {
    /// A configuration with the given addresses and delay, and defaults for the rest.
    pub fn new(
        listen: SocketAddr,
        upstream: SocketAddr,
        delay: Duration,
        jitter: Duration,
    ) -> Self {
        ProxyConfig {
            listen,
            upstream,
            delay,
            jitter,
            seed: 1,
            max_queued: DEFAULT_MAX_QUEUED,
            connect_timeout: Duration::from_secs(5),
            backlog: 4096,
        }
    }
}
