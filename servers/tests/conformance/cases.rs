//! Each conformance case, written once. `main.rs` instantiates them per model and protocol.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use proto::Protocol;

use crate::budget::reserve_fds;
use crate::support::*;

/// The smallest message each protocol has (one payload byte).
pub fn one_byte(model: &str, protocol: Protocol) {
    let server = ServerProcess::start(model, protocol, &[]);
    let mut c = server.connect();
    let msg = encode(protocol, b"x");
    c.write_all(&msg).unwrap();
    assert_eq!(read_exact(&mut c, msg.len()), msg);
    drop(c);
    server.stop();
}

/// A 1 MiB payload, written while the echo is read back.
pub fn one_mib(model: &str, protocol: Protocol) {
    let server = ServerProcess::start(model, protocol, &[]);
    let c = server.connect();
    let data: Vec<u8> = match protocol {
        Protocol::Raw => payload(1, 1 << 20),
        Protocol::Framed => encode(protocol, &payload(1, 1 << 20)),
        // A line is capped at 64 KiB by default: 1 MiB as 17 long lines.
        Protocol::Line => (0..17u64)
            .flat_map(|i| encode(protocol, &payload(i, 62_000)))
            .collect(),
    };
    let echo = round_trip_concurrently(&c, &data);
    assert!(echo == data, "1 MiB echo differs");
    drop(c);
    let stats = server.stop();
    assert_eq!(stats.bytes_in, stats.bytes_out);
}

/// One message written in two parts, split at every byte boundary, on one connection.
pub fn split_at_every_boundary(model: &str, protocol: Protocol) {
    let server = ServerProcess::start(model, protocol, &[]);
    let mut c = server.connect();
    let msg = encode(protocol, b"split me anywhere, 32 bytes");
    for cut in 0..=msg.len() {
        c.write_all(&msg[..cut]).unwrap();
        // Give the first part time to arrive as its own segment, so the server reads it alone.
        std::thread::sleep(Duration::from_millis(2));
        c.write_all(&msg[cut..]).unwrap();
        assert_eq!(read_exact(&mut c, msg.len()), msg, "split at {cut}");
    }
    drop(c);
    server.stop();
}

/// Three messages dribbled one byte per write.
pub fn one_byte_dribble(model: &str, protocol: Protocol) {
    let server = ServerProcess::start(model, protocol, &[]);
    let c = server.connect();
    let data: Vec<u8> = (0..3)
        .flat_map(|i| encode(protocol, &payload(i, 7)))
        .collect();
    let mut writer = c.try_clone().unwrap();
    let mut reader = c.try_clone().unwrap();
    let echo = std::thread::scope(|s| {
        let r = s.spawn(|| read_exact(&mut reader, data.len()));
        for (i, byte) in data.iter().enumerate() {
            writer.write_all(std::slice::from_ref(byte)).unwrap();
            if i % 4 == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        r.join().unwrap()
    });
    assert_eq!(echo, data);
    drop(c);
    server.stop();
}

/// 100 messages coalesced into one write.
pub fn hundred_coalesced(model: &str, protocol: Protocol) {
    let server = ServerProcess::start(model, protocol, &[]);
    let mut c = server.connect();
    let data: Vec<u8> = (0..100u64)
        .flat_map(|i| encode(protocol, &payload(i, (i as usize * 7) % 50 + 1)))
        .collect();
    c.write_all(&data).unwrap();
    assert_eq!(read_exact(&mut c, data.len()), data);
    drop(c);
    let stats = server.stop();
    if protocol != Protocol::Raw {
        assert_eq!(stats.messages, 100);
    }
}

/// The client half-closes; it still gets every echo, then EOF.
pub fn half_close(model: &str, protocol: Protocol) {
    let server = ServerProcess::start(model, protocol, &[]);
    let mut c = server.connect();
    let data: Vec<u8> = (0..20u64)
        .flat_map(|i| encode(protocol, &payload(i, 300)))
        .collect();
    c.write_all(&data).unwrap();
    shutdown_write(&c);
    assert_eq!(read_to_eof(&mut c), data);
    let stats = server.stop();
    assert_eq!(stats.closed_by.eof, 1);
}

/// A client reset mid-message does not disturb another client.
pub fn reset_mid_message(model: &str, protocol: Protocol) {
    let server = ServerProcess::start(model, protocol, &[]);
    let mut good = server.connect();
    let msg = encode(protocol, b"still here");
    good.write_all(&msg).unwrap();
    assert_eq!(read_exact(&mut good, msg.len()), msg);

    let bad = server.connect();
    let half = encode(protocol, &payload(9, 1000));
    (&bad).write_all(&half[..500]).unwrap();
    socket2::SockRef::from(&bad)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(bad); // SO_LINGER 0: close sends RST

    for _ in 0..10 {
        good.write_all(&msg).unwrap();
        assert_eq!(read_exact(&mut good, msg.len()), msg);
    }
    drop(good);
    server.stop();
}

/// Zero-length frames are valid and echoed as a bare header.
pub fn zero_length_frame(model: &str) {
    let server = ServerProcess::start(model, Protocol::Framed, &[]);
    let mut c = server.connect();
    let data = [
        encode(Protocol::Framed, b""),
        encode(Protocol::Framed, b"after"),
    ]
    .concat();
    c.write_all(&data).unwrap();
    assert_eq!(read_exact(&mut c, data.len()), data);
    drop(c);
    server.stop();
}

/// A garbage length prefix closes that connection only; the counters show it.
pub fn oversized_frame_closes_only_that_connection(model: &str) {
    let server = ServerProcess::start(model, Protocol::Framed, &["--max-frame", "1024"]);
    let mut good = server.connect();
    let msg = encode(Protocol::Framed, b"hello");
    good.write_all(&msg).unwrap();
    assert_eq!(read_exact(&mut good, msg.len()), msg);

    let mut bad = server.connect();
    bad.write_all(&[0xff, 0xff, 0xff, 0xff, 1, 2, 3]).unwrap();
    assert!(is_closed_by_server(&mut bad), "bad client not closed");

    good.write_all(&msg).unwrap();
    assert_eq!(read_exact(&mut good, msg.len()), msg);
    drop(good);
    let stats = server.stop();
    assert_eq!(stats.protocol_errors.frame_too_large, 1);
}

/// A line past --max-line closes that connection only; the counters show it.
pub fn over_long_line_closes_only_that_connection(model: &str) {
    let server = ServerProcess::start(model, Protocol::Line, &["--max-line", "1000"]);
    let mut good = server.connect();
    good.write_all(b"fine\n").unwrap();
    assert_eq!(read_exact(&mut good, 5), b"fine\n");

    let mut bad = server.connect();
    bad.write_all(&payload(3, 1500)).unwrap();
    assert!(is_closed_by_server(&mut bad), "bad client not closed");

    good.write_all(b"still fine\n").unwrap();
    assert_eq!(read_exact(&mut good, 11), b"still fine\n");
    drop(good);
    let stats = server.stop();
    assert_eq!(stats.protocol_errors.line_too_long, 1);
}

/// 1,000 clients connected at once, each verifying its own random payload.
///
/// `select` cannot hold fds ≥ FD_SETSIZE: it must serve what fits and refuse the rest cleanly.
pub fn thousand_concurrent_clients(model: &str) {
    const CLIENTS: usize = 1000;
    let Some(_fds) = reserve_fds(
        &format!("{model}: thousand_concurrent_clients"),
        CLIENTS as u64 + 16,
    ) else {
        return;
    };
    let protocol = Protocol::Framed;
    let server = ServerProcess::start(model, protocol, &[]);
    // Connect everyone first so all 1,000 are open at the same time.
    let mut clients: Vec<TcpStream> = (0..CLIENTS).map(|_| server.connect()).collect();
    let messages: Vec<Vec<u8>> = (0..CLIENTS)
        .map(|i| encode(protocol, &payload(i as u64, 64 + i % 200)))
        .collect();
    let mut served = 0;
    let mut refused = 0;
    for (c, msg) in clients.iter_mut().zip(&messages) {
        if c.write_all(msg).is_err() {
            refused += 1;
        }
    }
    for (c, msg) in clients.iter_mut().zip(&messages) {
        let mut buf = vec![0u8; msg.len()];
        match std::io::Read::read_exact(c, &mut buf) {
            Ok(()) => {
                assert!(
                    buf == *msg,
                    "a client got someone else's or a corrupted echo"
                );
                served += 1;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                panic!("a client timed out waiting for its echo")
            }
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                panic!("a client timed out waiting for its echo")
            }
            Err(_) => refused += 1,
        }
    }
    // Held concurrently: every served client is still open here.
    drop(clients);
    let stats = server.stop();
    if model == "select" {
        assert!(served >= 900, "select served only {served}");
        assert_eq!(served + refused, CLIENTS);
        assert_eq!(stats.refused.fd_setsize, refused as u64);
    } else {
        assert_eq!(served, CLIENTS, "{refused} clients were not served");
        assert_eq!(stats.peak_active, CLIENTS as u64);
    }
}

/// A client that sends 64 MiB and never reads cannot make the server hold it all, and does not
/// stop another client from being served.
pub fn never_reading_client_is_bounded(model: &str) {
    const TOTAL: usize = 64 << 20;
    let server = ServerProcess::start(model, Protocol::Raw, &[]);
    let mut probe = server.connect();
    probe.write_all(b"warm").unwrap();
    assert_eq!(read_exact(&mut probe, 4), b"warm");
    let rss_before = server.rss_kib();

    let hog = server.connect();
    hog.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
    let chunk = payload(5, 64 * 1024);
    let mut sent = 0;
    // Stops when 64 MiB are written or the server stopped reading (the write blocks 2 s).
    while sent < TOTAL {
        match (&hog).write(&chunk) {
            Ok(n) => sent += n,
            Err(_) => break,
        }
    }
    let rss_after = server.rss_kib();
    let growth_mib = rss_after.saturating_sub(rss_before) as f64 / 1024.0;
    assert!(
        growth_mib < 16.0,
        "server RSS grew by {growth_mib:.1} MiB for a client that never reads ({sent} bytes sent)"
    );
    for _ in 0..5 {
        probe.write_all(b"ping").unwrap();
        assert_eq!(read_exact(&mut probe, 4), b"ping");
    }
    drop(hog);
    drop(probe);
    server.stop();
}

/// Past --max-conns, a connection is closed at once and counted; the others are served.
pub fn max_conns_refuses_the_excess(model: &str) {
    let server = ServerProcess::start(model, Protocol::Raw, &["--max-conns", "2"]);
    let mut a = server.connect();
    let mut b = server.connect();
    for c in [&mut a, &mut b] {
        c.write_all(b"ok").unwrap();
        assert_eq!(read_exact(c, 2), b"ok");
    }
    let mut extra = server.connect();
    let _ = extra.write_all(b"no");
    assert!(
        is_closed_by_server(&mut extra),
        "third connection was not refused"
    );
    a.write_all(b"ok").unwrap();
    assert_eq!(read_exact(&mut a, 2), b"ok");
    drop((a, b));
    let stats = server.stop();
    assert_eq!(stats.refused.max_conns, 1);
}

/// --idle-timeout closes a silent connection and counts it.
pub fn idle_timeout_closes_silent_clients(model: &str) {
    let server = ServerProcess::start(model, Protocol::Raw, &["--idle-timeout", "300ms"]);
    let mut c = server.connect();
    c.write_all(b"hi").unwrap();
    assert_eq!(read_exact(&mut c, 2), b"hi");
    assert!(
        is_closed_by_server(&mut c),
        "idle connection was not closed"
    );
    let stats = server.stop();
    assert_eq!(stats.closed_by.idle_timeout, 1);
}

/// SIGTERM with clients connected: exit 0, every open connection counted as closed at shutdown.
pub fn sigterm_closes_open_connections(model: &str) {
    let server = ServerProcess::start(model, Protocol::Raw, &[]);
    let mut clients: Vec<TcpStream> = (0..3).map(|_| server.connect()).collect();
    for c in &mut clients {
        c.write_all(b"x").unwrap();
        assert_eq!(read_exact(c, 1), b"x");
    }
    let stats = server.stop();
    assert_eq!(stats.closed_by.shutdown, 3);
    assert_eq!(stats.accepted, 3);
    for c in &mut clients {
        assert!(is_closed_by_server(c), "client still open after shutdown");
    }
}

/// 10,000 clients connected at once, each served (`select`: what fits under FD_SETSIZE, the rest
/// refused), then SIGTERM with all of them still open: exit 0, every connection counted once,
/// and nothing left in flight.
pub fn ten_thousand_clients_then_sigterm(model: &str) {
    const CLIENTS: usize = 10_000;
    let Some(_fds) = reserve_fds(
        &format!("{model}: ten_thousand_clients_then_sigterm"),
        CLIENTS as u64 + 16,
    ) else {
        return;
    };
    let server = ServerProcess::start(model, Protocol::Raw, &[]);
    let mut clients: Vec<TcpStream> = (0..CLIENTS).map(|_| server.connect()).collect();
    let mut served = 0;
    for (i, c) in clients.iter_mut().enumerate() {
        let msg = (i as u32).to_be_bytes();
        if c.write_all(&msg).is_err() {
            continue;
        }
        let mut buf = [0u8; 4];
        match std::io::Read::read_exact(c, &mut buf) {
            Ok(()) => {
                assert_eq!(buf, msg, "client {i} got a wrong echo");
                served += 1;
            }
            Err(e) => assert!(
                !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ),
                "client {i} timed out waiting for its echo"
            ),
        }
    }
    let (stats, stderr) = server.stop_with_stderr();
    drop(clients);
    if model == "select" {
        assert!(served >= 900, "select served only {served}");
    } else {
        assert_eq!(served, CLIENTS, "not every client was served");
    }
    assert!(
        !stderr.contains("in flight"),
        "shutdown did not finish cleanly: {stderr}"
    );
    let r = &stats.refused;
    let refused = r.max_conns + r.fd_setsize + r.spawn_failed + r.register_failed;
    assert_eq!(stats.accepted, CLIENTS as u64);
    assert_eq!(stats.active, 0);
    assert_eq!(stats.closed + refused, CLIENTS as u64);
    assert_eq!(stats.closed_by.shutdown, served as u64);
    assert_eq!(stats.closed_by.loop_failed, 0);
    assert_eq!(stats.fatal_error, None);
}

/// Out of fds (EMFILE) with clients still arriving: the server backs off instead of failing,
/// and once some clients leave, serves every one that is left, including those that waited in
/// the backlog. A model with several loops must create every loop's own fds (epoll, waker)
/// before any loop accepts, or a late one finds none left.
pub fn fd_exhaustion_backs_off_and_recovers(model: &str) {
    const CLIENTS: usize = 160;
    const KEPT: usize = 60;
    // EMFILE comes only once every fd below the limit is open; waiting for fewer lets the test
    // free fds before the server ever ran out.
    const FD_LIMIT: u64 = 128;
    let Some(_fds) = reserve_fds(
        &format!("{model}: fd_exhaustion_backs_off_and_recovers"),
        CLIENTS as u64 + 16,
    ) else {
        return;
    };
    let server =
        ServerProcess::start_with_fd_limit(model, Protocol::Raw, &["--workers", "16"], FD_LIMIT);
    let mut clients: Vec<TcpStream> = (0..CLIENTS).map(|_| server.connect()).collect();
    // Wait (bounded) until the server holds every fd it may: the rest wait in the backlog.
    let deadline = std::time::Instant::now() + IO_TIMEOUT;
    while (open_fds(server.pid()) as u64) < FD_LIMIT {
        assert!(
            std::time::Instant::now() < deadline,
            "the server never used up its fds"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // Free fds: every client left, accepted already or queued, must now be served.
    let kept = clients.split_off(CLIENTS - KEPT);
    drop(clients);
    for (i, mut c) in kept.into_iter().enumerate() {
        let msg = (i as u32).to_be_bytes();
        c.write_all(&msg).unwrap();
        assert_eq!(read_exact(&mut c, 4), msg, "client {i} not served");
    }
    let stats = server.stop();
    assert!(stats.accept_backoffs > 0, "fds never ran out: {stats:?}");
}

/// 10,000 silent clients reach `--idle-timeout` at once while one client keeps talking: the
/// talker is served throughout (each round trip within a 2 s read timeout, far above the
/// milliseconds it takes) and every silent client is closed. A loop that spends long on each
/// close (a cancel by fd scans every request in flight) stalls the talker here.
pub fn mass_idle_timeout_keeps_serving_the_rest(model: &str) {
    const SILENT: usize = 10_000;
    let Some(_fds) = reserve_fds(
        &format!("{model}: mass_idle_timeout_keeps_serving_the_rest"),
        SILENT as u64 + 16,
    ) else {
        return;
    };
    let server = ServerProcess::start(model, Protocol::Raw, &["--idle-timeout", "2s"]);
    // The talker connects first (for `select`, so that its fd fits) and keeps talking while the
    // silent ones connect, so it is never idle itself.
    let mut talker = server.connect();
    talker
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut ping = |i: u8| {
        talker.write_all(&[i]).unwrap();
        assert_eq!(read_exact(&mut talker, 1), [i], "ping {i}");
    };
    let mut silent = Vec::with_capacity(SILENT);
    for i in 0..SILENT {
        silent.push(server.connect());
        if i % 500 == 0 {
            ping(0);
        }
    }
    // 4 s of pings: every silent client times out in the middle of them.
    for i in 0..80u8 {
        ping(i);
        std::thread::sleep(Duration::from_millis(50));
    }
    for (i, c) in silent.iter_mut().enumerate() {
        assert!(is_closed_by_server(c), "silent client {i} still open");
    }
    drop(silent);
    let stats = server.stop();
    let served = SILENT as u64 - stats.refused.fd_setsize;
    assert!(stats.closed_by.idle_timeout >= served);
}

/// `--extra-work` is spent for every message, on the path of its echo: the server counts each
/// one, and `N` messages sent one at a time take at least half of `N` times the planted cost.
/// Half, because the plant is a count of CPU steps calibrated once at start-up, and a core that
/// runs faster later (frequency, a busy sibling at calibration) spends it sooner; without the
/// plant the same 40 echoes take well under a millisecond each, so half still tells them apart.
pub fn extra_work_is_spent_per_message(model: &str) {
    const MESSAGES: u32 = 40;
    const COST: Duration = Duration::from_millis(5);
    let server = ServerProcess::start(model, Protocol::Line, &["--extra-work", "5ms"]);
    let mut c = server.connect();
    let started = std::time::Instant::now();
    for i in 0..MESSAGES {
        let msg = encode(Protocol::Line, format!("message {i}").as_bytes());
        c.write_all(&msg).unwrap();
        assert_eq!(read_exact(&mut c, msg.len()), msg);
    }
    let elapsed = started.elapsed();
    drop(c);
    let stats = server.stop();
    assert_eq!(stats.extra_work_messages, u64::from(MESSAGES));
    assert!(
        elapsed >= COST * MESSAGES / 2,
        "{MESSAGES} echoes at 5ms each took only {elapsed:?}"
    );
}
