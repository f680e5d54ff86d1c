//! Per-model round trips on loopback, with the server in this process on its own threads:
//! one connection in lock-step, and a batch over many connections (one write each, then every
//! echo read), which shows how a model handles many ready sockets at once.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use servers::{Model, Server, ServerConfig, Shutdown};

const MESSAGE: [u8; 64] = [7; 64];
const BATCH_CONNECTIONS: usize = 100;

/// A server running in a background thread; stopped on drop.
struct Running {
    addr: std::net::SocketAddr,
    shutdown: Shutdown,
    thread: Option<JoinHandle<()>>,
}

impl Running {
    /// Starts `model`, or None when it cannot run here (e.g. no io_uring).
    fn start(model: Model) -> Option<Self> {
        let config = ServerConfig {
            workers: 1,
            ..ServerConfig::default()
        };
        let server = Server::bind(model, config).ok()?;
        let addr = server.local_addr().ok()?;
        let shutdown = Shutdown::new();
        let s = shutdown.clone();
        let thread = std::thread::spawn(move || {
            if let Err(e) = server.run(s) {
                eprintln!("{model}: {e:#}");
            }
        });
        // A model that fails at start (no io_uring) closes the listener: probe it once.
        let mut probe = connect(addr)?;
        probe.write_all(&MESSAGE).ok()?;
        let mut buf = [0u8; MESSAGE.len()];
        probe.read_exact(&mut buf).ok()?;
        Some(Running {
            addr,
            shutdown,
            thread: Some(thread),
        })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.trigger();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Only `uring` may be missing (a kernel without io_uring); any other model failing to start is
/// a bug the bench run must not hide.
fn start_or_skip(model: Model) -> Option<Running> {
    let running = Running::start(model);
    match (&running, model) {
        (None, Model::Uring) => eprintln!("skipping {model}: io_uring is not available here"),
        (None, _) => panic!("{model} did not start"),
        _ => {}
    }
    running
}

fn connect(addr: std::net::SocketAddr) -> Option<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).ok()?;
    s.set_nodelay(true).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    Some(s)
}

fn round_trip(stream: &mut TcpStream, buf: &mut [u8; MESSAGE.len()]) {
    stream.write_all(&MESSAGE).expect("write");
    stream.read_exact(buf).expect("echo");
}

fn roundtrip(c: &mut Criterion) {
    let mut single = c.benchmark_group("roundtrip/1-connection-64B");
    single.throughput(Throughput::Elements(1));
    for model in Model::ALL {
        let Some(server) = start_or_skip(model) else {
            continue;
        };
        let mut stream = connect(server.addr).expect("connect");
        let mut buf = [0u8; MESSAGE.len()];
        single.bench_function(BenchmarkId::from_parameter(model), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    round_trip(&mut stream, &mut buf);
                }
                start.elapsed()
            });
        });
    }
    single.finish();

    let mut batch = c.benchmark_group(format!(
        "roundtrip/batch-{BATCH_CONNECTIONS}-connections-64B"
    ));
    batch.throughput(Throughput::Elements(BATCH_CONNECTIONS as u64));
    for model in Model::ALL {
        let Some(server) = start_or_skip(model) else {
            continue;
        };
        let mut streams: Vec<TcpStream> = (0..BATCH_CONNECTIONS)
            .map(|_| connect(server.addr).expect("connect"))
            .collect();
        let mut buf = [0u8; MESSAGE.len()];
        batch.bench_function(BenchmarkId::from_parameter(model), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    for s in &mut streams {
                        s.write_all(&MESSAGE).expect("write");
                    }
                    for s in &mut streams {
                        s.read_exact(&mut buf).expect("echo");
                    }
                }
                start.elapsed()
            });
        });
    }
    batch.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = roundtrip
}
