//! Many messages in flight on one connection come back whole and in order, also while
//! backpressure keeps switching reads off and on. Aimed at the models that could reorder or lose
//! bytes in ways a request/response test cannot see: `reactor-pool` (replies built out of order
//! by a pool), `uring` (multishot receives cancelled and re-armed), `thread-per-core`; `mio` is the
//! reference. Runs each server in-process on port 0.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::Duration;

use proto::{Limits, Protocol};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use servers::{Model, Server, ServerConfig, Shutdown, StatsSnapshot};

const IO_TIMEOUT: Duration = Duration::from_secs(20);
const MESSAGES: usize = 20_000;

/// `MESSAGES` numbered messages of random length, encoded for `protocol`.
fn stream(protocol: Protocol, seed: u64) -> Vec<u8> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut out = Vec::new();
    for i in 0..MESSAGES {
        let mut body = format!("{i}:").into_bytes();
        let extra = rng.random_range(0..300);
        body.extend((0..extra).map(|_| rng.random_range(b'a'..=b'z')));
        match protocol {
            Protocol::Framed => {
                out.extend_from_slice(&(body.len() as u32).to_be_bytes());
                out.extend_from_slice(&body);
            }
            _ => {
                out.extend_from_slice(&body);
                out.push(b'\n');
            }
        }
    }
    out
}

/// Writes `data` in random-sized pieces from one thread while this one reads the echo.
fn pipelined_round_trip(model: Model, protocol: Protocol, max_pending: usize) {
    if model == Model::Uring {
        if let Err(why) = servers::models::uring::check_available() {
            testkit::skip(
                testkit::facility::IO_URING,
                &format!("pipelined_round_trip: io_uring is not available here: {why:#}"),
            );
            return;
        }
    }
    let config = ServerConfig {
        protocol,
        limits: Limits {
            max_pending_output: max_pending,
            ..Limits::default()
        },
        workers: 4,
        ..ServerConfig::default()
    };
    let server = Server::bind(model, config).expect("bind");
    let addr = server.local_addr().expect("local addr");
    let shutdown = Shutdown::new();
    let stop = shutdown.clone();
    let running = thread::spawn(move || server.run(stop));

    let data = stream(protocol, 7);
    let client = TcpStream::connect(addr).expect("connect");
    client.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    client.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    let mut writer = client.try_clone().unwrap();
    let to_send = data.clone();
    let sending = thread::spawn(move || {
        let mut rng = SmallRng::seed_from_u64(11);
        let mut rest = &to_send[..];
        while !rest.is_empty() {
            let n = rng.random_range(1..=4096).min(rest.len());
            writer.write_all(&rest[..n]).expect("write");
            rest = &rest[n..];
        }
        writer.shutdown(std::net::Shutdown::Write).unwrap();
    });
    let mut echoed = Vec::with_capacity(data.len());
    (&client)
        .read_to_end(&mut echoed)
        .expect("read echo to EOF");
    sending.join().unwrap();
    assert!(
        echoed == data,
        "{model} {protocol}: echo differs (got {} of {} bytes; first difference at {:?})",
        echoed.len(),
        data.len(),
        echoed.iter().zip(&data).position(|(a, b)| a != b)
    );
    drop(client);

    shutdown.trigger();
    let stats: StatsSnapshot = running.join().unwrap().expect("server run");
    assert_eq!(stats.bytes_in, data.len() as u64);
    assert_eq!(stats.bytes_out, data.len() as u64);
    assert_eq!(stats.messages, MESSAGES as u64);
}

macro_rules! order_tests {
    ($($name:ident => $model:expr),* $(,)?) => {$(
        mod $name {
            use super::*;

            #[test]
            fn framed_pipelined_stays_in_order() {
                pipelined_round_trip($model, Protocol::Framed, Limits::default().max_pending_output);
            }
            #[test]
            fn line_pipelined_stays_in_order() {
                pipelined_round_trip($model, Protocol::Line, Limits::default().max_pending_output);
            }
            #[test]
            fn framed_in_order_under_constant_backpressure() {
                // A cap smaller than some messages: reads stop and resume all the time.
                pipelined_round_trip($model, Protocol::Framed, 1024);
            }
        }
    )*};
}

order_tests! {
    mio => Model::Mio,
    thread_per_core => Model::ThreadPerCore,
    reactor_pool => Model::ReactorPool,
    uring => Model::Uring,
    monoio => Model::Monoio,
    smol => Model::Smol,
    compio => Model::Compio,
    glommio => Model::Glommio,
    may => Model::May,
}
