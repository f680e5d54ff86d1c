//! One client's message state, with no socket: what to write next, what the echo must be, when
//! each message started. The driver ([`super`]) does the I/O and calls in here.
//!
//! Messages `next_recv ..` are in flight; the first `send_offset` wire bytes of `next_send` are
//! written. TCP may split both directions anywhere, so every method accepts any split: a write
//! may take half a message or three, a read may return part of one echo and the start of the
//! next. In `raw` mode the server may echo the start of a message before its end is written, so
//! the only rule on received bytes is that they never get ahead of the bytes sent.

use std::collections::VecDeque;
use std::time::Instant;

use super::payload::Payload;

/// What went wrong on a connection. The first error ends it and is counted once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// An echo differed from what was sent (or arrived before it was sent).
    Mismatch,
    /// The connection ended with an echo partly received.
    ShortReply,
    /// The server closed the connection.
    UnexpectedEof,
    /// ECONNRESET / EPIPE.
    Reset,
    /// `connect()` failed.
    ConnectFailed,
    /// Not connected within the connect timeout.
    ConnectTimeout,
    /// An echo did not complete within the reply timeout (or before the run ended).
    ReplyTimeout,
    /// Any other I/O error.
    OtherIo,
}

impl ErrorKind {
    /// Classifies an I/O error on an established connection.
    pub fn from_io(err: &std::io::Error) -> Self {
        use std::io::ErrorKind::*;
        match err.kind() {
            ConnectionReset | BrokenPipe | ConnectionAborted => ErrorKind::Reset,
            _ => ErrorKind::OtherIo,
        }
    }
}

/// Receives each verified, complete echo.
pub trait Completion {
    /// Message `index` of the client with worker-local number `local`, whose first byte was
    /// written at `sent_at`, was fully echoed by `done`.
    fn complete(&mut self, local: usize, index: u64, sent_at: Instant, done: Instant);
}

/// When a client may start a new message.
#[derive(Clone, Copy, Debug)]
pub struct SendPolicy {
    /// Most messages in flight at once.
    pub pipeline: usize,
    /// Open loop: messages due so far for this client are `0 .. due`. Closed loop: `None`.
    pub due: Option<u64>,
    /// False once the measured window is over: finish what was started, start nothing.
    pub may_start: bool,
}

/// One client's in-flight messages and offsets.
#[derive(Debug)]
pub struct Client {
    /// Global client number (the payload depends on it).
    id: u64,
    next_send: u64,
    send_offset: usize,
    next_recv: u64,
    recv_offset: usize,
    /// When the first byte of each started, unanswered message was written (oldest first).
    sent_at: VecDeque<Instant>,
}

impl Client {
    /// A client with global number `id`, able to hold `pipeline` messages in flight.
    pub fn new(id: u64, pipeline: usize) -> Self {
        Client {
            id,
            next_send: 0,
            send_offset: 0,
            next_recv: 0,
            recv_offset: 0,
            sent_at: VecDeque::with_capacity(pipeline),
        }
    }

    /// Global client number.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Messages whose first byte was written but whose echo is not complete.
    pub fn in_flight(&self) -> usize {
        self.sent_at.len()
    }

    /// When the oldest unanswered message started (for the reply timeout).
    fn oldest_sent_at(&self) -> Option<Instant> {
        self.sent_at.front().copied()
    }

    /// Whether the oldest unanswered message has waited `timeout` by `now`.
    pub fn overdue(&self, now: Instant, timeout: std::time::Duration) -> bool {
        self.oldest_sent_at().is_some_and(|t| now - t >= timeout)
    }

    /// Messages answered so far (the next one to be received).
    pub fn completed(&self) -> u64 {
        self.next_recv
    }

    /// Messages started so far (first byte written).
    pub fn started(&self) -> u64 {
        self.next_send + u64::from(self.send_offset > 0)
    }

    /// Whether a message is partly written (the socket took only its start).
    pub fn mid_message(&self) -> bool {
        self.send_offset > 0
    }

    /// How the connection ending now should be counted (EOF from the server).
    pub fn eof_kind(&self) -> ErrorKind {
        if self.recv_offset > 0 {
            ErrorKind::ShortReply
        } else {
            ErrorKind::UnexpectedEof
        }
    }

    /// How the run ending with messages still in flight should be counted.
    pub fn unfinished_kind(&self) -> ErrorKind {
        if self.recv_offset > 0 {
            ErrorKind::ShortReply
        } else {
            ErrorKind::ReplyTimeout
        }
    }

    fn may_start(&self, k: u64, policy: &SendPolicy) -> bool {
        policy.may_start
            && k - self.next_recv < policy.pipeline as u64
            && policy.due.is_none_or(|due| k < due)
    }

    /// Fills `out` with the next bytes to write and returns how many (0: nothing to send now).
    /// Bytes not accepted by the socket are simply regenerated next time.
    pub fn next_write(&self, payload: &Payload, policy: &SendPolicy, out: &mut [u8]) -> usize {
        let wire = payload.wire_len();
        let (mut k, mut off, mut len) = (self.next_send, self.send_offset, 0);
        while len < out.len() {
            if off == 0 && !self.may_start(k, policy) {
                break;
            }
            let n = (wire - off).min(out.len() - len);
            payload.fill(self.id, k, off, &mut out[len..len + n]);
            len += n;
            off += n;
            if off == wire {
                k += 1;
                off = 0;
            }
        }
        len
    }

    /// Records that the first `n` bytes from the last [`Client::next_write`] were written by a
    /// `write` call made at `at`.
    pub fn wrote(&mut self, payload: &Payload, mut n: usize, at: Instant) {
        let wire = payload.wire_len();
        while n > 0 {
            if self.send_offset == 0 {
                self.sent_at.push_back(at);
            }
            let step = (wire - self.send_offset).min(n);
            self.send_offset += step;
            n -= step;
            if self.send_offset == wire {
                self.next_send += 1;
                self.send_offset = 0;
            }
        }
    }

    /// Verifies echo bytes read at `now`, reporting each completed message to `sink`.
    /// Returns how many messages completed, or the error that must end the connection.
    pub fn received(
        &mut self,
        payload: &Payload,
        local: usize,
        mut data: &[u8],
        now: Instant,
        sink: &mut impl Completion,
    ) -> Result<u64, ErrorKind> {
        let wire = payload.wire_len() as u64;
        let sent = self.next_send * wire + self.send_offset as u64;
        let got = self.next_recv * wire + self.recv_offset as u64;
        if got + data.len() as u64 > sent {
            // Bytes that were never sent cannot be an echo.
            return Err(ErrorKind::Mismatch);
        }
        let mut completed = 0;
        while !data.is_empty() {
            let n = (wire as usize - self.recv_offset).min(data.len());
            if !payload.verify(self.id, self.next_recv, self.recv_offset, &data[..n]) {
                return Err(ErrorKind::Mismatch);
            }
            self.recv_offset += n;
            data = &data[n..];
            if self.recv_offset == wire as usize {
                let sent_at = self.sent_at.pop_front().unwrap_or(now);
                sink.complete(local, self.next_recv, sent_at, now);
                self.next_recv += 1;
                self.recv_offset = 0;
                completed += 1;
            }
        }
        Ok(completed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::Protocol;
    use std::time::Duration;

    #[derive(Default)]
    struct Log(Vec<(u64, Duration)>);

    impl Completion for Log {
        fn complete(&mut self, _local: usize, index: u64, sent_at: Instant, done: Instant) {
            self.0.push((index, done - sent_at));
        }
    }

    const CLOSED: SendPolicy = SendPolicy {
        pipeline: 1,
        due: None,
        may_start: true,
    };

    #[test]
    fn closed_loop_waits_for_each_echo_and_times_it() {
        let p = Payload::new(1, Protocol::Framed, 10);
        let mut c = Client::new(4, 1);
        let mut buf = [0u8; 100];
        let t0 = Instant::now();
        let n = c.next_write(&p, &CLOSED, &mut buf);
        assert_eq!(n, 14, "one whole message, no more");
        c.wrote(&p, 5, t0);
        assert_eq!(c.next_write(&p, &CLOSED, &mut buf), 9, "the rest of it");
        c.wrote(&p, 9, t0 + Duration::from_millis(1));
        assert_eq!(c.next_write(&p, &CLOSED, &mut buf), 0, "pipeline 1: wait");
        let mut msg = [0u8; 14];
        p.fill(4, 0, 0, &mut msg);
        let mut log = Log::default();
        let done = t0 + Duration::from_millis(3);
        assert_eq!(c.received(&p, 0, &msg[..6], done, &mut log), Ok(0));
        assert_eq!(c.eof_kind(), ErrorKind::ShortReply);
        assert_eq!(c.received(&p, 0, &msg[6..], done, &mut log), Ok(1));
        assert_eq!(
            log.0,
            vec![(0, Duration::from_millis(3))],
            "from the first byte"
        );
        assert_eq!(c.next_write(&p, &CLOSED, &mut buf), 14);
    }

    #[test]
    fn pipelining_and_split_echoes() {
        let p = Payload::new(9, Protocol::Raw, 7);
        let policy = SendPolicy {
            pipeline: 3,
            ..CLOSED
        };
        let mut c = Client::new(0, 3);
        let mut buf = [0u8; 64];
        let t = Instant::now();
        let n = c.next_write(&p, &policy, &mut buf);
        assert_eq!(n, 21);
        c.wrote(&p, n, t);
        assert_eq!(c.in_flight(), 3);
        let echo = buf[..n].to_vec();
        let mut log = Log::default();
        for piece in echo.chunks(4) {
            c.received(&p, 0, piece, t, &mut log).unwrap();
        }
        assert_eq!(log.0.iter().map(|e| e.0).collect::<Vec<_>>(), vec![0, 1, 2]);
        assert_eq!(c.in_flight(), 0);
    }

    #[test]
    fn corruption_and_unsent_bytes_are_mismatches() {
        let p = Payload::new(1, Protocol::Raw, 8);
        let mut c = Client::new(0, 1);
        let mut buf = [0u8; 8];
        c.next_write(&p, &CLOSED, &mut buf);
        c.wrote(&p, 8, Instant::now());
        let mut log = Log::default();
        let mut bad = buf;
        bad[7] ^= 0x20;
        assert_eq!(
            c.received(&p, 0, &bad, Instant::now(), &mut log),
            Err(ErrorKind::Mismatch)
        );
        let mut c = Client::new(0, 1);
        c.wrote(&p, 4, Instant::now());
        assert_eq!(
            c.received(&p, 0, &buf[..5], Instant::now(), &mut log),
            Err(ErrorKind::Mismatch),
            "5 bytes back when 4 were sent"
        );
    }

    /// A client that wrote `n` pipelined messages of `p`, and the bytes it wrote.
    fn written(p: &Payload, n: usize) -> (Client, Vec<u8>) {
        let mut c = Client::new(3, n);
        let policy = SendPolicy {
            pipeline: n,
            ..CLOSED
        };
        let mut buf = vec![0u8; n * p.wire_len()];
        assert_eq!(c.next_write(p, &policy, &mut buf), buf.len());
        c.wrote(p, buf.len(), Instant::now());
        (c, buf)
    }

    /// Feeds `echo` to a client that wrote `n` messages, in reads of 1 to 37 bytes; returns
    /// the messages it completed, or its error.
    fn feed(p: &Payload, n: usize, echo: &[u8]) -> Result<u64, ErrorKind> {
        let (mut c, _) = written(p, n);
        let (mut done, mut rest, mut step) = (0, echo, 1);
        while !rest.is_empty() {
            let (now, later) = rest.split_at(step.min(rest.len()));
            done += c.received(p, 0, now, Instant::now(), &mut Log::default())?;
            rest = later;
            step = step % 37 + 5;
        }
        Ok(done)
    }

    #[test]
    fn every_damaged_byte_of_a_pipelined_stream_is_caught() {
        for protocol in Protocol::ALL {
            let p = Payload::new(5, protocol, 64);
            let (_, stream) = written(&p, 4);
            assert_eq!(
                feed(&p, 4, &stream),
                Ok(4),
                "{protocol}: the true echo passes"
            );
            for i in 0..stream.len() {
                let mut flipped = stream.clone();
                flipped[i] ^= 0x04;
                let mut dropped = stream.clone();
                dropped.remove(i);
                let mut doubled = stream.clone();
                doubled.insert(i, stream[i]);
                for (what, bad) in [
                    ("flipped", flipped),
                    ("dropped", dropped),
                    ("doubled", doubled),
                ] {
                    // A short echo may verify as far as it goes; it must not complete.
                    assert_ne!(feed(&p, 4, &bad), Ok(4), "{protocol}: byte {i} {what}");
                }
                if i + 1 < stream.len() && stream[i] != stream[i + 1] {
                    let mut swapped = stream.clone();
                    swapped.swap(i, i + 1);
                    assert_eq!(
                        feed(&p, 4, &swapped),
                        Err(ErrorKind::Mismatch),
                        "{i} swapped"
                    );
                }
            }
        }
    }

    #[test]
    fn echoes_out_of_order_are_mismatches() {
        for size in [8, 64, 5000] {
            let p = Payload::new(5, Protocol::Raw, size);
            let (_, stream) = written(&p, 3);
            let (a, rest) = stream.split_at(size);
            let (b, c) = rest.split_at(size);
            for order in [[b, a, c], [a, c, b], [a, a, b], [a, b, b]] {
                assert_eq!(feed(&p, 3, &order.concat()), Err(ErrorKind::Mismatch));
            }
        }
    }

    #[test]
    fn open_loop_sends_only_what_is_due() {
        let p = Payload::new(1, Protocol::Raw, 4);
        let mut c = Client::new(0, 8);
        let mut buf = [0u8; 64];
        let policy = |due| SendPolicy {
            pipeline: 8,
            due: Some(due),
            may_start: true,
        };
        assert_eq!(c.next_write(&p, &policy(0), &mut buf), 0);
        assert_eq!(c.next_write(&p, &policy(2), &mut buf), 8);
        c.wrote(&p, 8, Instant::now());
        assert_eq!(c.next_write(&p, &policy(2), &mut buf), 0);
        let stop = SendPolicy {
            may_start: false,
            ..policy(5)
        };
        assert_eq!(c.next_write(&p, &stop, &mut buf), 0, "window over");
    }
}
