//! The proxy over real loopback sockets: bytes unchanged, order kept, delay added, resets passed on.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use servers_proxy::{Proxy, ProxyConfig};
use socket2::SockRef;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

/// Every test finishes well within this, or fails instead of hanging.
const BOUND: Duration = Duration::from_secs(20);

/// An echo server for the tests: copies each connection's bytes back, then half-closes.
async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = stream.into_split();
                if tokio::io::copy(&mut r, &mut w).await.is_ok() {
                    let _ = w.shutdown().await;
                }
            });
        }
    });
    addr
}

/// Starts a proxy in front of `upstream` and returns its address.
fn start_proxy(upstream: SocketAddr, delay: Duration, jitter: Duration) -> SocketAddr {
    let listen = "127.0.0.1:0".parse().unwrap();
    let proxy = Proxy::bind(ProxyConfig::new(listen, upstream, delay, jitter)).unwrap();
    let addr = proxy.local_addr().unwrap();
    tokio::spawn(proxy.run());
    addr
}

/// Writes `payload` in random-sized pieces, half-closes, and returns everything read back.
async fn round_trip_chunked(addr: SocketAddr, payload: &[u8], seed: u64) -> Vec<u8> {
    let stream = TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (mut r, mut w) = stream.into_split();
    let to_send = payload.to_vec();
    let writer = tokio::spawn(async move {
        let mut rng = SmallRng::seed_from_u64(seed);
        let mut rest = &to_send[..];
        while !rest.is_empty() {
            let n = rng.random_range(1..=rest.len().min(3000));
            w.write_all(&rest[..n]).await.unwrap();
            rest = &rest[n..];
            if rng.random_bool(0.3) {
                tokio::task::yield_now().await;
            }
        }
        w.shutdown().await.unwrap();
    });
    let mut echoed = Vec::with_capacity(payload.len());
    r.read_to_end(&mut echoed).await.unwrap();
    writer.await.unwrap();
    echoed
}

#[tokio::test]
async fn bytes_are_unchanged_for_random_chunking() {
    let proxy = start_proxy(
        echo_server().await,
        Duration::from_millis(1),
        Duration::from_millis(1),
    );
    for seed in 0..4u64 {
        let mut rng = SmallRng::seed_from_u64(100 + seed);
        let payload: Vec<u8> = (0..200_000).map(|_| rng.random()).collect();
        let echoed = timeout(BOUND, round_trip_chunked(proxy, &payload, seed))
            .await
            .expect("round trip timed out");
        // read_to_end returning also shows the half-close travelled there and back.
        assert_eq!(echoed.len(), payload.len(), "seed {seed}");
        assert!(echoed == payload, "seed {seed}: echoed bytes differ");
    }
}

#[tokio::test]
async fn order_is_kept_under_jitter_as_large_as_the_delay() {
    let proxy = start_proxy(
        echo_server().await,
        Duration::from_millis(2),
        Duration::from_millis(2),
    );
    let stream = TcpStream::connect(proxy).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (mut r, mut w) = stream.into_split();
    const COUNT: u32 = 3000;
    let writer = tokio::spawn(async move {
        for i in 0..COUNT {
            // One small write at a time, with a yield, so most become separate chunks, each
            // drawing its own delay.
            w.write_all(&i.to_be_bytes()).await.unwrap();
            if i % 4 == 0 {
                tokio::task::yield_now().await;
            }
        }
        w.shutdown().await.unwrap();
    });
    let mut echoed = Vec::new();
    timeout(BOUND, r.read_to_end(&mut echoed))
        .await
        .expect("timed out")
        .unwrap();
    writer.await.unwrap();
    let numbers: Vec<u32> = echoed
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(numbers, (0..COUNT).collect::<Vec<_>>());
}

#[tokio::test]
async fn ten_ms_each_way_reads_back_as_at_least_twenty_ms() {
    let delay = Duration::from_millis(10);
    let proxy = start_proxy(echo_server().await, delay, Duration::ZERO);
    let mut stream = TcpStream::connect(proxy).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let mut buf = [0u8; 64];
    for i in 0..5u8 {
        let msg = [i; 64];
        let sent = Instant::now();
        stream.write_all(&msg).await.unwrap();
        timeout(BOUND, stream.read_exact(&mut buf))
            .await
            .expect("echo timed out")
            .unwrap();
        let rtt = sent.elapsed();
        assert_eq!(buf, msg);
        // A lower bound only: how much above it depends on the machine.
        assert!(
            rtt >= 2 * delay,
            "round trip {rtt:?} shorter than the injected {:?}",
            2 * delay
        );
    }
}

#[tokio::test]
async fn a_client_reset_reaches_the_upstream_as_a_reset() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = start_proxy(
        listener.local_addr().unwrap(),
        Duration::from_millis(1),
        Duration::ZERO,
    );
    let client = TcpStream::connect(proxy).await.unwrap();
    let (mut upstream, _) = timeout(BOUND, listener.accept()).await.unwrap().unwrap();
    SockRef::from(&client)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(client);
    let mut buf = [0u8; 16];
    let got = timeout(BOUND, upstream.read(&mut buf))
        .await
        .expect("no reset seen");
    let err = got.expect_err("upstream read an end of stream instead of a reset");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset);
}

#[tokio::test]
async fn an_upstream_reset_reaches_the_client_as_a_reset() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = start_proxy(
        listener.local_addr().unwrap(),
        Duration::from_millis(1),
        Duration::ZERO,
    );
    let mut client = TcpStream::connect(proxy).await.unwrap();
    let (upstream, _) = timeout(BOUND, listener.accept()).await.unwrap().unwrap();
    SockRef::from(&upstream)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(upstream);
    let mut buf = [0u8; 16];
    let got = timeout(BOUND, client.read(&mut buf))
        .await
        .expect("no reset seen");
    let err = got.expect_err("client read an end of stream instead of a reset");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset);
}

#[tokio::test]
async fn an_unreachable_upstream_resets_the_client() {
    // Bind then drop: a port nothing listens on.
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let proxy = start_proxy(closed, Duration::ZERO, Duration::ZERO);
    let mut client = TcpStream::connect(proxy).await.unwrap();
    let mut buf = [0u8; 16];
    let got = timeout(BOUND, client.read(&mut buf))
        .await
        .expect("client left hanging");
    let err = got.expect_err("client read an end of stream instead of a reset");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset);
}
