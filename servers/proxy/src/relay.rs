//! One proxied connection: connect upstream, run both directions, propagate close or reset.

use std::sync::Arc;
use std::time::Duration;

use socket2::SockRef;
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::config::ProxyConfig;
use crate::delay::DelaySampler;
use crate::direction::forward;
use crate::release_clock::ReleaseClock;
use crate::stats::{CloseKind, ProxyStats};

/// Serves one accepted client until both directions end or one side fails.
pub async fn relay(
    mut client: TcpStream,
    id: u64,
    config: Arc<ProxyConfig>,
    clock: Arc<ReleaseClock>,
    stats: Arc<ProxyStats>,
) {
    stats.opened();
    let connect = timeout(config.connect_timeout, TcpStream::connect(config.upstream)).await;
    let mut upstream = match connect {
        Ok(Ok(stream)) => stream,
        Ok(Err(_)) | Err(_) => {
            stats.upstream_failed();
            reset(&client);
            stats.closed(CloseKind::Reset);
            return;
        }
    };
    // Small echoes must not wait for Nagle: the only delay is the one configured.
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);

    let ended = {
        let (client_read, client_write) = client.split();
        let (upstream_read, upstream_write) = upstream.split();
        let sampler = |direction| {
            DelaySampler::new(config.delay, config.jitter, config.seed, id * 2 + direction)
        };
        let to_upstream = forward(
            client_read,
            upstream_write,
            sampler(0),
            config.max_queued,
            &clock,
            &stats,
        );
        let to_client = forward(
            upstream_read,
            client_write,
            sampler(1),
            config.max_queued,
            &clock,
            &stats,
        );
        // The first failure in either direction ends both: a reset is not half of a connection.
        match tokio::try_join!(to_upstream, to_client) {
            Ok(_) => CloseKind::Clean,
            Err(e) => CloseKind::from_io(e.io()),
        }
    };
    if ended != CloseKind::Clean {
        reset(&client);
        reset(&upstream);
    }
    stats.closed(ended);
}

/// Makes the coming close send RST instead of FIN, so the peer sees a reset as the other side did.
fn reset(stream: &TcpStream) {
    // Failing to set the option only turns the reset into an orderly close.
    let _ = SockRef::from(stream).set_linger(Some(Duration::ZERO));
}
