//! The `echo-proxy` command line: its options, and forwarding until SIGINT/SIGTERM. The binary's
//! `main` is just [`main`]; `loadgen`, which carries the proxy, runs it the same way.

use std::ffi::OsString;
use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use crate::config::{ProxyConfig, DEFAULT_MAX_QUEUED};
use crate::Proxy;
use anyhow::Context;
use clap::Parser;
use tokio::signal::unix::{signal, SignalKind};

/// A TCP delay stage: every byte is forwarded after `--delay ± --jitter`, each direction, in order.
/// Prints `listening on <ip:port>` first, and one JSON line of counters to stderr on
/// SIGINT/SIGTERM.
#[derive(Parser, Debug)]
#[command(name = "echo-proxy", version, about)]
struct Args {
    /// Address to accept clients on; port 0 lets the kernel pick (the real one is printed).
    #[arg(long, default_value = "127.0.0.1:7008")]
    listen: SocketAddr,
    /// The server to forward to, HOST:PORT (resolved once, at start).
    #[arg(long)]
    upstream: String,
    /// One-way delay, applied to each direction (e.g. 10ms).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10ms")]
    delay: Duration,
    /// Uniform jitter around the delay, each direction (e.g. 1ms: 9 to 11 ms).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "0ms")]
    jitter: Duration,
    /// Seed of the jitter samples.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Most bytes queued per direction of a connection before the proxy stops reading it.
    #[arg(long, default_value_t = DEFAULT_MAX_QUEUED, value_parser = at_least_one)]
    max_queued: usize,
    /// An upstream connect slower than this resets the client.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "5s")]
    connect_timeout: Duration,
    /// listen(2) backlog.
    #[arg(long, default_value_t = 4096)]
    backlog: u32,
}

/// Parses a byte count that must not be 0.
fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        parsed => parsed.map_err(|e| e.to_string()),
    }
}

/// Runs `echo-proxy` with `args` (the first is the program's name, as in `std::env::args_os`).
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args = Args::parse_from(args);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("echo-proxy: error: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("echo-proxy: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let upstream = args
        .upstream
        .to_socket_addrs()
        .with_context(|| format!("resolving --upstream {}", args.upstream))?
        .next()
        .with_context(|| format!("--upstream {} resolves to no address", args.upstream))?;
    let config = ProxyConfig {
        seed: args.seed,
        max_queued: args.max_queued,
        connect_timeout: args.connect_timeout,
        backlog: args.backlog,
        ..ProxyConfig::new(args.listen, upstream, args.delay, args.jitter)
    };
    let proxy = Proxy::bind(config).with_context(|| format!("binding {}", args.listen))?;
    let mut stdout = std::io::stdout().lock();
    // Harnesses bind port 0 and read this line to learn the port: it must come first, flushed.
    writeln!(stdout, "listening on {}", proxy.local_addr()?)?;
    stdout.flush()?;
    drop(stdout);
    let stats = proxy.stats();
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::select! {
        () = proxy.run() => {}
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
    eprintln!("{}", serde_json::to_string(&stats.snapshot())?);
    Ok(())
}
