//! Instruction counts (Callgrind, through gungraun) of the per-message paths every model shares.
//! Counts are exact and do not move with machine load, so `scripts/instr-gate.sh` can fail a
//! change that adds a few percent of work per message, which wall-clock benches on a shared VM
//! cannot see.
//!
//! Run: `cargo bench -p benches --bench instructions` (needs valgrind and a
//! `gungraun-runner` of the same version as the `gungraun` library).
//!
//! - `codec`: one connection's sans-IO state ([`Conn`]) echoing [`MESSAGES`] messages of
//!   [`MESSAGE_LEN`] bytes per protocol, each fed whole, or the stream cut into [`SPLIT_LEN`]-byte
//!   pieces so that cuts fall inside payloads, newlines and length prefixes.
//! - `pump`: [`Session::pump`], the non-blocking read/echo/write step of the readiness models,
//!   over a Unix socket pair in lock-step (the peer writes a message, the session pumps, the peer
//!   reads the echo) for [`MESSAGES`] messages. `std_stream` is the std socket that `select` and
//!   `poll` pump; `mio_stream` is mio's wrapper that `mio` and `thread-per-core` pump.
//!   `reactor-pool` pumps with a loop of its own that is not public, so it is not measured here.
//!
//! - `client`: the load generator's per-echo path, [`Client::received`] verifying
//!   [`MESSAGES`] echoed raw messages of [`MESSAGE_LEN`] bytes (one read each) and its
//!   [`Recorder`] placing each latency in the window's histograms, as a worker does per read.
//!
//! Setup (building inputs, creating sockets, first allocation of the connection buffer) runs
//! before the measured function and is not counted.

// gungraun's macros generate modules without docs.
#![allow(missing_docs)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Instant;

use gungraun::{library_benchmark, library_benchmark_group, main};
use loadgen_engine::driver::client::{Client, SendPolicy};
use loadgen_engine::driver::payload::Payload;
use loadgen_engine::driver::stats::{Recorder, WorkerStats};
use loadgen_engine::window::Window;
use proto::{Conn, ConnCounters, Limits, Protocol, FRAME_HEADER_LEN};
use servers::extra_work::ExtraWork;
use servers::session::{PumpResult, Session, SCRATCH_LEN};
use servers::stats::Stats;

/// Every allocation starts on a 64-byte boundary. `memchr` (the `line` codec) takes a different
/// number of instructions for a buffer that starts at a different offset within a vector
/// register, and with plain `malloc` the offset depends on what was allocated before: the same
/// code built in another directory, with other path lengths in the harness, counted 2.5% more.
struct CacheLineAligned;

const ALLOC_ALIGN: usize = 64;

/// `layout` with at least [`ALLOC_ALIGN`]; None where the size no longer fits (an allocation
/// failure, reported as a null pointer: an allocator must not panic).
fn aligned(layout: Layout) -> Option<Layout> {
    layout.align_to(ALLOC_ALIGN).ok()
}

// SAFETY: every call forwards to `System` with the same size and a larger power-of-two
// alignment, and `dealloc`/`realloc` rebuild that same layout, so `System` always sees matching
// layouts for a block.
unsafe impl GlobalAlloc for CacheLineAligned {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match aligned(layout) {
            // SAFETY: the caller's layout has non-zero size; the aligned one has the same size.
            Some(l) => unsafe { System.alloc(l) },
            None => std::ptr::null_mut(),
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(l) = aligned(layout) {
            // SAFETY: `ptr` came from `alloc`/`realloc` above with this same aligned layout.
            unsafe { System.dealloc(ptr, l) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        match aligned(layout) {
            // SAFETY: `ptr` was allocated with `aligned(layout)`; `System.realloc` keeps its
            // alignment for the new size, which the caller guarantees is non-zero and in range.
            Some(l) => unsafe { System.realloc(ptr, l, new_size) },
            None => std::ptr::null_mut(),
        }
    }
}

#[global_allocator]
static ALLOCATOR: CacheLineAligned = CacheLineAligned;

/// Messages echoed per benchmark run.
const MESSAGES: usize = 100;
/// Bytes of one message on the wire, framing included.
const MESSAGE_LEN: usize = 64;
/// Piece length for the split feed: prime, so cuts drift through every offset of a message.
const SPLIT_LEN: usize = 37;

/// How the input reaches [`Conn::receive`].
#[derive(Debug, Clone, Copy)]
enum Feed {
    /// One `receive` per message, as when each read returns exactly one message.
    Whole,
    /// The stream cut into [`SPLIT_LEN`]-byte pieces, as TCP may deliver it.
    Split,
}

/// One message of [`MESSAGE_LEN`] bytes on the wire for `protocol`.
fn message(protocol: Protocol, seq: usize) -> Vec<u8> {
    let fill =
        |len: usize| -> Vec<u8> { (0..len).map(|i| b'a' + ((i + seq) % 26) as u8).collect() };
    match protocol {
        Protocol::Raw => fill(MESSAGE_LEN),
        Protocol::Line => {
            let mut m = fill(MESSAGE_LEN - 1);
            m.push(b'\n');
            m
        }
        Protocol::Framed => {
            let payload = MESSAGE_LEN - FRAME_HEADER_LEN;
            let mut m = (payload as u32).to_be_bytes().to_vec();
            m.extend(fill(payload));
            m
        }
    }
}

/// A connection whose buffer is already allocated (by echoing one message), and its input.
struct CodecCase {
    conn: Conn,
    pieces: Vec<Vec<u8>>,
}

fn codec_case(protocol: Protocol, feed: Feed) -> CodecCase {
    let mut conn = Conn::new(protocol, Limits::default());
    echo_piece(&mut conn, &message(protocol, 0));
    let stream: Vec<u8> = (1..=MESSAGES).flat_map(|i| message(protocol, i)).collect();
    let pieces = match feed {
        Feed::Whole => stream.chunks(MESSAGE_LEN).map(<[u8]>::to_vec).collect(),
        Feed::Split => stream.chunks(SPLIT_LEN).map(<[u8]>::to_vec).collect(),
    };
    CodecCase { conn, pieces }
}

/// What a model does with one read: hand it to the core, write out what became ready.
fn echo_piece(conn: &mut Conn, piece: &[u8]) -> usize {
    conn.receive(piece).expect("the bench input is valid");
    let out = black_box(conn.pending_output()).len();
    conn.consume_output(out);
    out
}

#[library_benchmark(setup = codec_case)]
#[bench::raw_whole(Protocol::Raw, Feed::Whole)]
#[bench::raw_split(Protocol::Raw, Feed::Split)]
#[bench::line_whole(Protocol::Line, Feed::Whole)]
#[bench::line_split(Protocol::Line, Feed::Split)]
#[bench::framed_whole(Protocol::Framed, Feed::Whole)]
#[bench::framed_split(Protocol::Framed, Feed::Split)]
fn codec(mut case: CodecCase) -> ConnCounters {
    let mut echoed = 0;
    for piece in &case.pieces {
        echoed += echo_piece(&mut case.conn, black_box(piece));
    }
    assert_eq!(echoed, MESSAGES * MESSAGE_LEN, "every message echoed");
    case.conn.counters()
}

/// A session on one end of a socket pair, the peer on the other, and the messages to send.
struct PumpCase<S> {
    session: Session,
    sock: S,
    peer: UnixStream,
    scratch: Vec<u8>,
    stats: Stats,
    messages: Vec<Vec<u8>>,
}

fn socket_pair() -> (UnixStream, UnixStream) {
    let (server, peer) = UnixStream::pair().expect("socketpair");
    server
        .set_nonblocking(true)
        .expect("non-blocking server end");
    (server, peer)
}

fn pump_case<S: Read + Write>(wrap: fn(UnixStream) -> S) -> PumpCase<S> {
    let protocol = Protocol::Framed;
    let (server, peer) = socket_pair();
    let mut case = PumpCase {
        session: Session::new(protocol, Limits::default(), Instant::now()),
        sock: wrap(server),
        peer,
        scratch: vec![0; SCRATCH_LEN],
        stats: Stats::new(1),
        messages: (1..=MESSAGES).map(|i| message(protocol, i)).collect(),
    };
    // Warm up: the first echo allocates the connection's buffer, which is not what is counted.
    let first = message(protocol, 0);
    case.peer.write_all(&first).expect("write to the peer");
    case.lock_step_round();
    case
}

fn std_stream() -> PumpCase<UnixStream> {
    pump_case(|s| s)
}

fn mio_stream() -> PumpCase<mio::net::UnixStream> {
    pump_case(mio::net::UnixStream::from_std)
}

impl<S: Read + Write> PumpCase<S> {
    /// Pumps the message the peer already wrote, then reads its echo back on the peer.
    fn lock_step_round(&mut self) {
        // No planted cost: `--extra-work 0` reads no clock, as in a default server.
        let result = self.session.pump(
            &mut self.sock,
            &mut self.scratch,
            &ExtraWork::default(),
            &self.stats,
        );
        assert_eq!(
            result,
            PumpResult::Open { more: false },
            "pump keeps the connection open"
        );
        let mut echo = [0u8; MESSAGE_LEN];
        self.peer.read_exact(&mut echo).expect("the echo arrives");
        black_box(&echo);
    }
}

fn run_pump<S: Read + Write>(mut case: PumpCase<S>) -> ConnCounters {
    // Taken out of the case so that a round may borrow the whole case mutably.
    let messages = std::mem::take(&mut case.messages);
    for m in &messages {
        case.peer
            .write_all(black_box(m))
            .expect("write to the peer");
        case.lock_step_round();
    }
    case.session.conn.counters()
}

#[library_benchmark]
#[bench::std_stream(setup = std_stream)]
fn pump_std(case: PumpCase<UnixStream>) -> ConnCounters {
    run_pump(case)
}

#[library_benchmark]
#[bench::mio_stream(setup = mio_stream)]
fn pump_mio(case: PumpCase<mio::net::UnixStream>) -> ConnCounters {
    run_pump(case)
}

/// A client with [`MESSAGES`] messages written, their echoes, and the worker's stats.
struct ClientCase {
    client: Client,
    payload: Payload,
    echoes: Vec<u8>,
    stats: WorkerStats,
    window: Window,
    written_at: Instant,
}

/// Latency every echo in the bench arrives with: a fixed figure keeps the histogram path (and
/// so the count) the same from run to run.
const ECHO_LATENCY: std::time::Duration = std::time::Duration::from_micros(37);

fn client_case() -> ClientCase {
    let payload = Payload::new(1, Protocol::Raw, MESSAGE_LEN);
    let mut client = Client::new(7, MESSAGES);
    let policy = SendPolicy {
        pipeline: MESSAGES,
        due: None,
        may_start: true,
    };
    let mut echoes = vec![0; MESSAGES * payload.wire_len()];
    let written = client.next_write(&payload, &policy, &mut echoes);
    assert_eq!(written, echoes.len(), "every message fits in the write");
    let written_at = Instant::now();
    client.wrote(&payload, written, written_at);
    let window = Window {
        start: written_at,
        end: written_at + std::time::Duration::from_secs(60),
    };
    ClientCase {
        client,
        payload,
        echoes,
        stats: WorkerStats::default(),
        window,
        written_at,
    }
}

#[library_benchmark]
#[bench::raw_64b(setup = client_case)]
fn client_verify_record(mut case: ClientCase) -> u64 {
    let done = case.written_at + ECHO_LATENCY;
    let mut recorder = Recorder {
        stats: &mut case.stats,
        schedule: None,
        window: case.window,
        wire_len: case.payload.wire_len() as u64,
        carry: None,
        pipeline: 1,
    };
    let mut completed = 0;
    for echo in case.echoes.chunks(case.payload.wire_len()) {
        completed += case
            .client
            .received(&case.payload, 0, black_box(echo), done, &mut recorder)
            .expect("the echoes are the bytes sent");
    }
    assert_eq!(completed, MESSAGES as u64, "every echo verified");
    case.stats.totals.messages
}

library_benchmark_group!(name = codec_group; benchmarks = codec);
library_benchmark_group!(name = pump_group; benchmarks = pump_std, pump_mio);
library_benchmark_group!(name = client_group; benchmarks = client_verify_record);

main!(
    library_benchmark_groups = codec_group,
    pump_group,
    client_group
);
