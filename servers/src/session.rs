//! Moves bytes between a non-blocking socket and a [`Conn`]: the part every readiness-based model
//! (select, poll, mio, thread-per-core) shares. The model only says *when* to call [`Session::pump`].
//! `reactor-pool`, which writes replies of its own, shares the read side ([`Session::read_chunk`]).

use std::io::{self, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use proto::{Conn, Limits, Protocol};
use slab::Slab;

use crate::config::ServerConfig;
use crate::extra_work::ExtraWork;
use crate::listener::configure_accepted;
use crate::shutdown::TICK;
use crate::stats::{CloseReason, Stats};

/// Bytes read per `read` call. One buffer per event-loop thread, not per connection, so 10,000
/// idle connections cost no read buffers.
pub const SCRATCH_LEN: usize = 64 * 1024;

/// Most bytes one connection may read in one pump before yielding to the others. Without it an
/// edge-triggered loop would serve one fast client until it paused.
pub const READ_BUDGET: usize = 256 * 1024;

/// What the loop should do with a connection after a pump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PumpResult {
    /// Still open. Wait for what [`Session::wants_read`] and [`Session::wants_write`] say.
    Open {
        /// The read budget ran out with data possibly still queued: pump again soon even if no
        /// new readiness event arrives (edge-triggered loops must not wait for one).
        more: bool,
    },
    /// Done: close the socket and count the reason.
    Close(CloseReason),
}

/// What one [`Session::read_chunk`] gave.
#[derive(Debug)]
pub enum Chunk<'a> {
    /// Bytes received, already counted as activity and against the budget.
    Data(&'a [u8]),
    /// End of stream, already recorded.
    Eof,
    /// Nothing to read now (`WouldBlock`).
    Blocked,
    /// The socket failed.
    Failed(io::Error),
}

/// One connection's protocol state plus what the socket has told us.
#[derive(Debug)]
pub struct Session {
    /// The protocol state.
    pub conn: Conn,
    read_closed: bool,
    /// Last time bytes moved, for `--idle-timeout`.
    pub last_active: Instant,
}

impl Session {
    /// A new session for a just-accepted connection.
    pub fn new(protocol: Protocol, limits: Limits, now: Instant) -> Self {
        Session {
            conn: Conn::new(protocol, limits),
            read_closed: false,
            last_active: now,
        }
    }

    /// Whether the loop should watch for readability: not after EOF, not under backpressure.
    pub fn wants_read(&self) -> bool {
        !self.read_closed && self.conn.wants_read()
    }

    /// Whether the loop should watch for writability: only while output is pending.
    pub fn wants_write(&self) -> bool {
        self.conn.has_pending_output()
    }

    /// Writes what is pending, reads what is there (within the budget), writes again; stops at
    /// `WouldBlock`. Safe to call on any readiness, spurious or not.
    /// Every message received is charged `work` (`--extra-work`) before its echo is written.
    pub fn pump<S: io::Read + Write>(
        &mut self,
        sock: &mut S,
        scratch: &mut [u8],
        work: &ExtraWork,
        stats: &Stats,
    ) -> PumpResult {
        let mut budget = READ_BUDGET;
        loop {
            if let Err(e) = self.flush(sock) {
                return PumpResult::Close(CloseReason::from_io(&e));
            }
            if let Some(err) = self.conn.error() {
                return PumpResult::Close(CloseReason::Protocol(err));
            }
            if self.read_closed && !self.conn.has_pending_output() {
                return PumpResult::Close(CloseReason::Eof);
            }
            if !self.wants_read() {
                // Backpressure (or EOF with output still pending): wait for writability.
                return PumpResult::Open { more: false };
            }
            if budget == 0 {
                return PumpResult::Open { more: true };
            }
            match self.read_chunk(sock, scratch, &mut budget) {
                Chunk::Data(data) => {
                    // A protocol error is picked up at the top of the loop, after flushing the
                    // echoes of the complete messages that came before it.
                    let _ = work.receive(&mut self.conn, data, stats);
                }
                Chunk::Eof => {}
                Chunk::Blocked => return PumpResult::Open { more: false },
                Chunk::Failed(e) => return PumpResult::Close(CloseReason::from_io(&e)),
            }
        }
    }

    /// Whether the peer has closed its side (EOF was read).
    pub fn read_closed(&self) -> bool {
        self.read_closed
    }

    /// One `read` of at most `budget` bytes into `scratch`, retried on EINTR. The session records
    /// what every driver must: EOF (in itself and in the protocol state), activity for the idle
    /// timeout, and the bytes taken from the budget. What to do with the bytes is the caller's.
    pub fn read_chunk<'s, S: io::Read>(
        &mut self,
        sock: &mut S,
        scratch: &'s mut [u8],
        budget: &mut usize,
    ) -> Chunk<'s> {
        let want = scratch.len().min(*budget);
        loop {
            match sock.read(&mut scratch[..want]) {
                Ok(0) => {
                    self.read_closed = true;
                    self.conn.receive_eof();
                    return Chunk::Eof;
                }
                Ok(n) => {
                    *budget -= n;
                    self.last_active = Instant::now();
                    return Chunk::Data(&scratch[..n]);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Chunk::Blocked,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Chunk::Failed(e),
            }
        }
    }

    /// Writes pending output until it is all written or the socket would block.
    fn flush<S: Write>(&mut self, sock: &mut S) -> io::Result<()> {
        while self.conn.has_pending_output() {
            match sock.write(self.conn.pending_output()) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.conn.consume_output(n);
                    self.last_active = Instant::now();
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// A std socket, set non-blocking, with its session: what the level-triggered loops (`select`,
/// `poll`) keep per client.
#[derive(Debug)]
pub struct Client {
    /// The socket.
    pub stream: TcpStream,
    /// Its protocol state.
    pub session: Session,
}

impl Client {
    /// Sets up an accepted and admitted socket (non-blocking, TCP_NODELAY); on failure counts it
    /// as closed and returns `None`, and dropping the stream closes it.
    pub fn open(stream: TcpStream, config: &ServerConfig, stats: &Stats) -> Option<Client> {
        let session = Session::new(config.protocol, config.limits, Instant::now());
        match stream
            .set_nonblocking(true)
            .and_then(|()| configure_accepted(&stream))
        {
            Ok(()) => Some(Client { stream, session }),
            Err(e) => {
                stats.closed(&session.conn, CloseReason::from_io(&e));
                None
            }
        }
    }

    /// [`Session::pump`] on this client's socket, charging `config.extra_work`.
    pub fn pump(&mut self, scratch: &mut [u8], config: &ServerConfig, stats: &Stats) -> PumpResult {
        self.session
            .pump(&mut self.stream, scratch, &config.extra_work, stats)
    }
}

/// Why the connections still open when a loop returns `served` are closed: shutdown, or the
/// loop's own failure.
pub fn close_reason<T, E>(served: &Result<T, E>) -> CloseReason {
    match served {
        Ok(_) => CloseReason::Shutdown,
        Err(_) => CloseReason::LoopFailed,
    }
}

/// When the idle sweep runs: at most once per [`TICK`], and never without `--idle-timeout`.
#[derive(Debug)]
pub struct IdleSweep {
    idle: Option<Duration>,
    last: Instant,
}

impl IdleSweep {
    /// A sweep for `idle_timeout` (none: never due).
    pub fn new(idle_timeout: Option<Duration>) -> Self {
        IdleSweep {
            idle: idle_timeout,
            last: Instant::now(),
        }
    }

    /// The idle timeout, when a sweep is due at `now` (and then counts it as done).
    pub fn due(&mut self, now: Instant) -> Option<Duration> {
        let idle = self.idle?;
        if now.duration_since(self.last) < TICK {
            return None;
        }
        self.last = now;
        Some(idle)
    }
}

/// Whether a connection last active at `last_active` has been idle for `idle` at `now`.
pub fn is_idle(last_active: Instant, now: Instant, idle: Duration) -> bool {
    now.saturating_duration_since(last_active) >= idle
}

/// How long a loop may block: not at all when work is queued (`busy`); otherwise until an accept
/// backoff ends or the next idle sweep, whichever is sooner; without either, until an event.
pub fn wait_timeout(
    busy: bool,
    accept_paused_until: Option<Instant>,
    idle_timeout: Option<Duration>,
) -> Option<Duration> {
    if busy {
        return Some(Duration::ZERO);
    }
    let backoff = accept_paused_until.map(|t| t.saturating_duration_since(Instant::now()));
    let idle = idle_timeout.map(|_| TICK);
    match (backoff, idle) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The keys of the connections in `conns` idle for `idle` at `now`; `last_active` gives a
/// connection's last activity, or `None` for one that must not be swept (already closing).
pub fn idle_keys<T>(
    conns: &Slab<T>,
    now: Instant,
    idle: Duration,
    last_active: impl Fn(&T) -> Option<Instant>,
) -> Vec<usize> {
    conns
        .iter()
        .filter(|(_, c)| last_active(c).is_some_and(|t| is_idle(t, now, idle)))
        .map(|(k, _)| k)
        .collect()
}

/// Like [`wait_timeout`] for loops with no waker (select, poll), which wake at least every
/// [`TICK`] to notice shutdown.
pub fn ticking_timeout(accept_paused_until: Option<Instant>) -> Duration {
    accept_paused_until.map_or(TICK, |t| {
        t.saturating_duration_since(Instant::now()).min(TICK)
    })
}

/// Folds every connection in `conns` into `stats` as closed for `reason`.
pub fn close_all<'a>(
    stats: &Stats,
    conns: impl IntoIterator<Item = &'a Conn>,
    reason: CloseReason,
) {
    for conn in conns {
        stats.closed(conn, reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_timeout_takes_the_soonest_deadline() {
        assert_eq!(wait_timeout(true, None, Some(TICK)), Some(Duration::ZERO));
        assert_eq!(wait_timeout(false, None, None), None);
        assert_eq!(wait_timeout(false, None, Some(TICK * 50)), Some(TICK));
        let soon = Instant::now() + Duration::from_millis(5);
        let t = wait_timeout(false, Some(soon), Some(TICK)).unwrap();
        assert!(t <= Duration::from_millis(5));
        let past = Instant::now() - Duration::from_secs(1);
        assert_eq!(wait_timeout(false, Some(past), None), Some(Duration::ZERO));
    }

    #[test]
    fn idle_sweep_runs_once_per_tick_and_only_when_configured() {
        let start = Instant::now();
        assert_eq!(IdleSweep::new(None).due(start + TICK * 2), None);
        let mut sweep = IdleSweep::new(Some(Duration::from_secs(3)));
        let later = Instant::now() + TICK;
        assert_eq!(sweep.due(later), Some(Duration::from_secs(3)));
        assert_eq!(sweep.due(later), None);
        assert!(is_idle(
            start,
            start + Duration::from_secs(3),
            Duration::from_secs(3)
        ));
        assert!(!is_idle(
            start,
            start + Duration::from_secs(2),
            Duration::from_secs(3)
        ));
    }
}
