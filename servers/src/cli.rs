//! The `echo-server` command line: its options, and serving until SIGINT/SIGTERM. The binary's
//! `main` is just [`main`]; `loadgen`, which carries the server, runs it the same way.

use std::ffi::OsString;
use std::io::Write;
use std::net::SocketAddr;
use std::num::NonZeroU64;
use std::process::ExitCode;
use std::time::Duration;

use crate::config::{Model, ServerConfig};
use crate::extra_work::{ExtraWork, WorkKind};
use crate::shutdown::Shutdown;
use crate::Server;
use clap::Parser;
use proto::{Limits, Protocol};

/// An echo server (RFC 862 raw, newline-delimited, or length-framed) in the concurrency model of
/// your choice. Prints `listening on <ip:port>` first, and one JSON line of counters to stderr on
/// SIGINT/SIGTERM.
#[derive(Parser, Debug)]
#[command(name = "echo-server", version, about)]
struct Args {
    /// Concurrency model.
    #[arg(long, value_enum, default_value_t = Model::Threads)]
    model: Model,
    /// Address to listen on; port 0 lets the kernel pick (the real one is printed).
    #[arg(long, default_value = "127.0.0.1:7007")]
    addr: SocketAddr,
    /// Wire protocol.
    #[arg(long, value_enum, default_value_t = Protocol::Raw)]
    protocol: Protocol,
    /// Longest line in `line` mode, newline included, in bytes.
    #[arg(long, default_value_t = Limits::default().max_line)]
    max_line: usize,
    /// Largest frame payload in `framed` mode, in bytes.
    #[arg(long, default_value_t = Limits::default().max_frame)]
    max_frame: u32,
    /// Unwritten echo bytes per connection past which the server stops reading it (at least 1:
    /// with 0 no connection would ever be read).
    #[arg(long, default_value_t = Limits::default().max_pending_output, value_parser = at_least_one)]
    max_pending: usize,
    /// listen(2) backlog.
    #[arg(long, default_value_t = 4096)]
    backlog: i32,
    /// Refuse (close and count) connections past this many open at once.
    #[arg(long)]
    max_conns: Option<usize>,
    /// Close connections idle for this long (e.g. 30s, 500ms). Off by default.
    #[arg(long, value_parser = humantime::parse_duration)]
    idle_timeout: Option<Duration>,
    /// Worker threads for tokio, thread-per-core, reactor-pool, monoio, glommio, compio, smol and
    /// may (default: number of cores).
    #[arg(long)]
    workers: Option<usize>,
    /// Stack size in bytes of each client thread (`threads`) or coroutine (`may`).
    #[arg(long, default_value_t = 64 * 1024)]
    thread_stack: usize,
    /// A known cost per echoed message, on the thread that produces the echo: busy CPU by the
    /// thread's CPU clock (`300ns`, `cpu:500us`; a bare number is nanoseconds), KiB of memory
    /// touched (`mem:64`), or system calls (`syscall`, `syscall:3`). A message is a complete
    /// line or frame; in `raw` mode, every 64 bytes received (rounded up per read). One thread
    /// at 500us answers at most about 2,000 messages a second.
    #[arg(long, default_value = "0", value_parser = WorkKind::parse)]
    extra_work: WorkKind,
    /// Fault plant for testing harnesses that must catch it: every Nth chunk this process
    /// receives gets one byte flipped, so its echo comes back corrupted.
    #[arg(long, value_name = "N")]
    fault_corrupt_every: Option<NonZeroU64>,
}

/// Parses a byte count that must not be 0.
fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        parsed => parsed.map_err(|e| e.to_string()),
    }
}

/// Runs `echo-server` with `args` (the first is the program's name, as in `std::env::args_os`).
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args = Args::parse_from(args);
    match serve(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("echo-server: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: Args) -> anyhow::Result<()> {
    let defaults = ServerConfig::default();
    let config = ServerConfig {
        addr: args.addr,
        protocol: args.protocol,
        limits: Limits {
            max_line: args.max_line,
            max_frame: args.max_frame,
            max_pending_output: args.max_pending,
        },
        backlog: args.backlog,
        max_conns: args.max_conns,
        idle_timeout: args.idle_timeout,
        workers: args.workers.unwrap_or(defaults.workers).max(1),
        thread_stack: args.thread_stack,
        extra_work: ExtraWork::of_kind(args.extra_work)
            .with_corruption_every(args.fault_corrupt_every),
    };
    let shutdown = Shutdown::new();
    shutdown.trigger_on_signals()?;
    let server = Server::bind(args.model, config)?;
    // Harnesses bind port 0 and read this line to learn the port: it must come first, flushed.
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on {}", server.local_addr()?)?;
    stdout.flush()?;
    drop(stdout);
    let stats = server.serve(shutdown);
    // The counters are printed even after a fatal error: they say what was served until then.
    eprintln!("{}", serde_json::to_string(&stats)?);
    match stats.fatal_error {
        Some(err) => anyhow::bail!("the event loop failed: {err}"),
        None => Ok(()),
    }
}
