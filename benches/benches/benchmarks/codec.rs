//! The sans-IO core alone: how many bytes a second one connection's state machine can echo,
//! fed whole (one read holds the message) and in 100-byte chunks (TCP split it).

use std::hint::black_box;

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use proto::{Conn, Limits, Protocol};

const SIZES: [usize; 5] = [16, 256, 4096, 16 * 1024, 64 * 1024 - 1];

fn message(protocol: Protocol, size: usize) -> Vec<u8> {
    let mut payload: Vec<u8> = (0..size).map(|i| (i % 251) as u8 | 1).collect();
    match protocol {
        Protocol::Raw => payload,
        Protocol::Line => {
            payload
                .iter_mut()
                .for_each(|b| *b = if *b == b'\n' { b'n' } else { *b });
            payload.push(b'\n');
            payload
        }
        Protocol::Framed => {
            let mut f = (size as u32).to_be_bytes().to_vec();
            f.append(&mut payload);
            f
        }
    }
}

fn echo(conn: &mut Conn, input: &[u8], chunk: usize) {
    for piece in input.chunks(chunk) {
        conn.receive(piece).expect("valid input");
    }
    let n = conn.pending_output().len();
    black_box(conn.pending_output());
    conn.consume_output(n);
}

fn codec(c: &mut Criterion) {
    for protocol in Protocol::ALL {
        let mut group = c.benchmark_group(format!("codec/{protocol}"));
        for size in SIZES {
            let input = message(protocol, size);
            group.throughput(Throughput::Bytes(input.len() as u64));
            for (feed, chunk) in [("whole", usize::MAX), ("chunked-100B", 100)] {
                group.bench_with_input(BenchmarkId::new(feed, size), &input, |b, input| {
                    let mut conn = Conn::new(protocol, Limits::default());
                    b.iter(|| echo(&mut conn, black_box(input), chunk));
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, codec);
