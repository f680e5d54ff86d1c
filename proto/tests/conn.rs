//! The core, tested with no sockets: any split of any message sequence echoes exactly.

use proptest::prelude::*;
use proto::{Conn, Limits, Protocol, ProtocolError};

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut f = (payload.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(payload);
    f
}

/// Feeds `chunks` one by one, draining output `drain` bytes at a time between chunks.
fn run(protocol: Protocol, limits: Limits, chunks: &[&[u8]], drain: usize) -> Vec<u8> {
    let mut conn = Conn::new(protocol, limits);
    let mut out = Vec::new();
    for chunk in chunks {
        conn.receive(chunk).expect("valid input");
        while conn.has_pending_output() {
            let n = conn.pending_output().len().min(drain);
            out.extend_from_slice(&conn.pending_output()[..n]);
            conn.consume_output(n);
        }
    }
    out
}

#[test]
fn raw_echoes_every_byte_immediately() {
    let mut conn = Conn::new(Protocol::Raw, Limits::default());
    conn.receive(b"a").unwrap();
    assert_eq!(conn.pending_output(), b"a");
    conn.receive(b"bc").unwrap();
    assert_eq!(conn.pending_output(), b"abc");
    conn.consume_output(2);
    assert_eq!(conn.pending_output(), b"c");
    assert_eq!(conn.counters().bytes_in, 3);
    assert_eq!(conn.counters().bytes_out, 2);
}

#[test]
fn line_waits_for_the_newline() {
    let mut conn = Conn::new(Protocol::Line, Limits::default());
    conn.receive(b"this is a me").unwrap();
    assert!(!conn.has_pending_output(), "half a line must not be echoed");
    conn.receive(b"ssage\nsecond").unwrap();
    assert_eq!(conn.pending_output(), b"this is a message\n");
    conn.receive(b"\n").unwrap();
    assert_eq!(conn.pending_output(), b"this is a message\nsecond\n");
    assert_eq!(conn.counters().messages, 2);
}

#[test]
fn line_at_exact_limit_is_accepted_and_one_more_byte_is_not() {
    let limits = Limits {
        max_line: 8,
        ..Limits::default()
    };
    let mut ok = Conn::new(Protocol::Line, limits);
    ok.receive(b"1234567\n").unwrap();
    assert_eq!(ok.pending_output(), b"1234567\n");

    let mut bad = Conn::new(Protocol::Line, limits);
    bad.receive(b"1234").unwrap();
    assert_eq!(
        bad.receive(b"5678"),
        Err(ProtocolError::LineTooLong { max: 8 })
    );
    assert!(!bad.wants_read());
    assert_eq!(
        bad.receive(b"\n"),
        Err(ProtocolError::LineTooLong { max: 8 })
    );
}

#[test]
fn framed_echoes_header_and_payload_once_complete() {
    let mut conn = Conn::new(Protocol::Framed, Limits::default());
    let f = frame(b"hello");
    conn.receive(&f[..3]).unwrap();
    conn.receive(&f[3..6]).unwrap();
    assert!(!conn.has_pending_output());
    conn.receive(&f[6..]).unwrap();
    assert_eq!(conn.pending_output(), &f[..]);
}

#[test]
fn framed_zero_length_frame_is_valid() {
    let out = run(
        Protocol::Framed,
        Limits::default(),
        &[&[0, 0, 0, 0]],
        usize::MAX,
    );
    assert_eq!(out, vec![0, 0, 0, 0]);
}

#[test]
fn framed_rejects_oversized_length_before_buffering_payload() {
    let limits = Limits {
        max_frame: 100,
        ..Limits::default()
    };
    let mut conn = Conn::new(Protocol::Framed, limits);
    let mut input = frame(b"ok");
    input.extend_from_slice(&101u32.to_be_bytes());
    assert_eq!(
        conn.receive(&input),
        Err(ProtocolError::FrameTooLarge { len: 101, max: 100 })
    );
    // The complete frame before the bad header is still ready to echo.
    assert_eq!(conn.pending_output(), &frame(b"ok")[..]);
    assert!(!conn.wants_read());
}

#[test]
fn framed_garbage_length_is_rejected() {
    let mut conn = Conn::new(Protocol::Framed, Limits::default());
    assert!(matches!(
        conn.receive(b"\xff\xff\xff\xffgarbage"),
        Err(ProtocolError::FrameTooLarge { len: u32::MAX, .. })
    ));
}

#[test]
fn backpressure_stops_reads_until_output_drains() {
    let limits = Limits {
        max_pending_output: 10,
        ..Limits::default()
    };
    let mut conn = Conn::new(Protocol::Raw, limits);
    conn.receive(b"0123456789").unwrap();
    assert!(!conn.wants_read());
    conn.consume_output(1);
    assert!(conn.wants_read());
}

#[test]
fn eof_drops_and_counts_an_incomplete_message() {
    let mut conn = Conn::new(Protocol::Framed, Limits::default());
    let mut input = frame(b"done");
    input.extend_from_slice(&frame(b"cut short")[..7]);
    conn.receive(&input).unwrap();
    assert_eq!(conn.receive_eof(), 7);
    assert_eq!(conn.pending_output(), &frame(b"done")[..]);
    assert_eq!(conn.counters().truncated_at_eof, 7);
}

#[test]
fn memory_is_released_after_a_large_burst() {
    let mut conn = Conn::new(Protocol::Raw, Limits::default());
    conn.receive(&vec![7u8; 200_000]).unwrap();
    assert!(conn.buffered_capacity() >= 200_000);
    let n = conn.pending_output().len();
    conn.consume_output(n);
    assert_eq!(conn.buffered_capacity(), 0);
}

#[test]
fn slow_reader_does_not_grow_buffer_by_written_prefix() {
    let mut conn = Conn::new(Protocol::Raw, Limits::default());
    for _ in 0..1000 {
        if conn.wants_read() {
            conn.receive(&[1u8; 1000]).unwrap();
        }
        conn.consume_output(conn.pending_output().len().min(900));
    }
    // Pending stays under the cap plus one read; the buffer is never much more than that.
    assert!(conn.buffered_capacity() < 2 * (256 * 1024 + 64 * 1024));
}

#[test]
fn framed_split_at_every_byte_boundary() {
    let mut input = frame(b"first message");
    input.extend(frame(b""));
    input.extend(frame(b"third"));
    for cut in 0..=input.len() {
        let out = run(
            Protocol::Framed,
            Limits::default(),
            &[&input[..cut], &input[cut..]],
            usize::MAX,
        );
        assert_eq!(out, input, "cut at {cut}");
    }
}

#[test]
fn one_byte_dribble_in_every_mode() {
    for protocol in Protocol::ALL {
        let input: Vec<u8> = match protocol {
            Protocol::Framed => [frame(b"abc"), frame(b"de\nf")].concat(),
            _ => b"abc\nde f\n".to_vec(),
        };
        let chunks: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(
            run(protocol, Limits::default(), &chunks, 1),
            input,
            "{protocol}"
        );
    }
}

#[test]
fn hundred_messages_coalesced_in_one_read() {
    let messages: Vec<Vec<u8>> = (0..100)
        .map(|i| frame(format!("m{i}").as_bytes()))
        .collect();
    let input = messages.concat();
    let mut conn = Conn::new(Protocol::Framed, Limits::default());
    conn.receive(&input).unwrap();
    assert_eq!(conn.pending_output(), &input[..]);
    assert_eq!(conn.counters().messages, 100);
}

fn encode(protocol: Protocol, messages: &[Vec<u8>]) -> Vec<u8> {
    messages
        .iter()
        .flat_map(|m| match protocol {
            Protocol::Raw => m.clone(),
            Protocol::Line => {
                let mut l: Vec<u8> = m
                    .iter()
                    .map(|&b| if b == b'\n' { b' ' } else { b })
                    .collect();
                l.push(b'\n');
                l
            }
            Protocol::Framed => frame(m),
        })
        .collect()
}

fn split(input: &[u8], mut cuts: Vec<usize>) -> Vec<&[u8]> {
    cuts.iter_mut().for_each(|c| *c %= input.len() + 1);
    cuts.sort_unstable();
    let mut chunks = Vec::new();
    let mut prev = 0;
    for c in cuts.into_iter().chain([input.len()]) {
        chunks.push(&input[prev..c]);
        prev = c;
    }
    chunks
}

proptest! {
    #[test]
    fn any_chunking_of_any_messages_echoes_exactly(
        protocol in prop::sample::select(Protocol::ALL.to_vec()),
        messages in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..40),
        cuts in prop::collection::vec(any::<usize>(), 0..30),
        drain in 1usize..5000,
    ) {
        let input = encode(protocol, &messages);
        let chunks = split(&input, cuts);
        prop_assert_eq!(run(protocol, Limits::default(), &chunks, drain), input);
    }

    #[test]
    fn truncated_input_echoes_only_complete_messages(
        protocol in prop::sample::select(vec![Protocol::Line, Protocol::Framed]),
        messages in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..50), 1..10),
        cut in any::<usize>(),
    ) {
        let input = encode(protocol, &messages);
        let cut = cut % (input.len() + 1);
        let mut conn = Conn::new(protocol, Limits::default());
        conn.receive(&input[..cut]).unwrap();
        let dropped = conn.receive_eof();
        let out = conn.pending_output().to_vec();
        // What is echoed is a prefix made of whole messages, and nothing is lost unaccounted.
        prop_assert_eq!(out.len() + dropped, cut);
        let whole: Vec<usize> = (0..=messages.len())
            .map(|k| encode(protocol, &messages[..k]).len())
            .collect();
        prop_assert!(whole.contains(&out.len()));
        prop_assert_eq!(&out[..], &input[..out.len()]);
    }
}

#[test]
fn take_ready_returns_whole_messages_and_keeps_the_incomplete_tail() {
    let mut conn = Conn::new(Protocol::Framed, Limits::default());
    let mut input = frame(b"one");
    input.extend(frame(b"two"));
    let tail = frame(b"three");
    input.extend_from_slice(&tail[..5]);
    conn.receive(&input).unwrap();
    assert_eq!(conn.take_ready(), [frame(b"one"), frame(b"two")].concat());
    assert!(!conn.has_pending_output());
    assert!(conn.take_ready().is_empty());
    conn.receive(&tail[5..]).unwrap();
    assert_eq!(conn.take_ready(), tail);
    assert_eq!(conn.counters().messages, 3);
}

#[test]
fn take_ready_in_line_mode_keeps_the_scan_position() {
    let limits = Limits {
        max_line: 8,
        ..Limits::default()
    };
    let mut conn = Conn::new(Protocol::Line, limits);
    conn.receive(b"ab\ncdef").unwrap();
    assert_eq!(conn.take_ready(), b"ab\n");
    // "cdef" + "ghi" + "\n" is 8 bytes: exactly the limit, so still accepted.
    conn.receive(b"ghi\n").unwrap();
    assert_eq!(conn.take_ready(), b"cdefghi\n");
    // And the limit still counts bytes buffered before a take.
    conn.receive(b"1234").unwrap();
    assert!(conn.take_ready().is_empty());
    assert_eq!(
        conn.receive(b"5678"),
        Err(ProtocolError::LineTooLong { max: 8 })
    );
}

#[test]
fn take_ready_after_a_partial_write_returns_only_the_unsent_rest() {
    let mut conn = Conn::new(Protocol::Raw, Limits::default());
    conn.receive(b"hello").unwrap();
    conn.consume_output(2);
    assert_eq!(conn.take_ready(), b"llo");
    assert_eq!(conn.counters().bytes_out, 2);
    conn.record_output(3);
    assert_eq!(conn.counters().bytes_out, 5);
    assert_eq!(conn.counters().bytes_in, 5);
}

#[test]
fn take_ready_lifts_the_core_backpressure_to_the_driver() {
    let limits = Limits {
        max_pending_output: 10,
        ..Limits::default()
    };
    let mut conn = Conn::new(Protocol::Raw, limits);
    conn.receive(b"0123456789").unwrap();
    assert!(!conn.wants_read());
    assert_eq!(conn.take_ready().len(), 10);
    assert!(conn.wants_read());
    assert_eq!(conn.buffered_capacity(), 0);
}

proptest! {
    #[test]
    fn taking_after_any_chunk_yields_exactly_the_input(
        protocol in prop::sample::select(Protocol::ALL.to_vec()),
        messages in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..40),
        cuts in prop::collection::vec(any::<usize>(), 0..30),
        drain in 0usize..64,
    ) {
        let input = encode(protocol, &messages);
        let chunks = split(&input, cuts);
        let mut conn = Conn::new(protocol, Limits::default());
        let mut out = Vec::new();
        for chunk in chunks {
            conn.receive(chunk).expect("valid input");
            // Mix the two ways out: some bytes written in place, the rest taken.
            let n = conn.pending_output().len().min(drain);
            out.extend_from_slice(&conn.pending_output()[..n]);
            conn.consume_output(n);
            let taken = conn.take_ready();
            conn.record_output(taken.len());
            out.extend(taken);
        }
        prop_assert_eq!(conn.counters().bytes_out, out.len() as u64);
        prop_assert_eq!(out, input);
    }
}

#[test]
fn pass_through_is_refused_where_the_echo_is_not_the_chunk_itself() {
    for protocol in [Protocol::Line, Protocol::Framed] {
        let mut conn = Conn::new(protocol, Limits::default());
        assert!(!conn.pass_through(b"ab"), "{protocol:?} must frame first");
        assert_eq!(conn.counters().bytes_in, 0, "a refusal counts nothing");
    }
    let mut raw = Conn::new(Protocol::Raw, Limits::default());
    raw.receive(b"held").unwrap();
    assert!(
        !raw.pass_through(b"next"),
        "bytes still buffered must go out first"
    );
    raw.consume_output(4);
    assert!(raw.pass_through(b"next"), "an empty raw connection passes");
    assert_eq!(raw.counters().bytes_in, 8);
}

#[test]
fn a_partial_pass_through_keeps_the_rest_as_pending_output() {
    let mut conn = Conn::new(Protocol::Raw, Limits::default());
    assert!(conn.pass_through(b"abcdef"));
    conn.passed_through(b"abcdef", 2);
    assert_eq!(conn.pending_output(), b"cdef");
    assert!(
        !conn.pass_through(b"gh"),
        "the rest must be written before more passes"
    );
    conn.receive(b"gh").unwrap();
    assert_eq!(conn.pending_output(), b"cdefgh");
    let c = conn.counters();
    assert_eq!((c.bytes_in, c.bytes_out), (8, 2));
}

proptest! {
    #[test]
    fn raw_pass_through_with_any_partial_writes_echoes_exactly(
        input in prop::collection::vec(any::<u8>(), 0..3000),
        cuts in prop::collection::vec(any::<usize>(), 0..30),
        writes in prop::collection::vec(0usize..400, 1..50),
    ) {
        // A driver that passes through whenever it may and otherwise buffers, with writes that
        // take any number of bytes: the peer gets every byte once, in order.
        let mut conn = Conn::new(Protocol::Raw, Limits::default());
        let mut out = Vec::new();
        let mut sizes = writes.iter().cycle();
        for chunk in split(&input, cuts) {
            if conn.pass_through(chunk) {
                let n = (*sizes.next().unwrap()).min(chunk.len());
                out.extend_from_slice(&chunk[..n]);
                conn.passed_through(chunk, n);
            } else {
                conn.receive(chunk).unwrap();
            }
            if conn.has_pending_output() {
                let n = (*sizes.next().unwrap()).min(conn.pending_output().len());
                out.extend_from_slice(&conn.pending_output()[..n]);
                conn.consume_output(n);
            }
        }
        out.extend_from_slice(conn.pending_output());
        let n = conn.pending_output().len();
        conn.consume_output(n);
        prop_assert_eq!(&out, &input);
        prop_assert_eq!(conn.counters().bytes_in, input.len() as u64);
        prop_assert_eq!(conn.counters().bytes_out, input.len() as u64);
    }
}
