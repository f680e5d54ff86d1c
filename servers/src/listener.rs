//! The classic server pattern, written once: socket → setsockopt → bind → listen → accept. Every
//! model gets its listening socket here, and classifies `accept` failures here.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use socket2::{Domain, Protocol as SockProtocol, SockRef, Socket, Type};

use crate::stats::Stats;

/// How long an accept loop pauses after EMFILE/ENFILE before trying again. Long enough not to
/// spin, short enough that clients queued in the backlog are served soon after fds free up.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The listening socket: steps 1–4 of socket → setsockopt → bind → listen → accept.
///
/// 1. create a TCP socket for the address family;
/// 2. set options (SO_REUSEADDR so a restarted server can rebind at once, SO_REUSEPORT when
///    several listeners share the port);
/// 3. bind;
/// 4. listen with `backlog` pending connections (capped by the kernel's `somaxconn`).
pub fn bind(addr: SocketAddr, backlog: i32, reuse_port: bool) -> io::Result<TcpListener> {
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::STREAM,
        Some(SockProtocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    Ok(socket.into())
}

/// The per-connection options of the accept step, applied to every accepted socket: TCP_NODELAY, because an
/// echo is latency-bound and Nagle would hold small echoes back waiting for an ACK.
pub fn configure_accepted(stream: &TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)
}

/// Same as [`configure_accepted`] for any socket-like value (mio and tokio streams).
pub fn configure_fd(fd: &impl std::os::fd::AsFd) -> io::Result<()> {
    SockRef::from(fd).set_tcp_nodelay(true)
}

/// What an accept loop should do after `accept` failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptError {
    /// Nothing more to accept now (non-blocking listeners).
    WouldBlock,
    /// A transient, per-connection failure (the client gave up, a signal): try again at once.
    Retry,
    /// Out of fds or memory: stop accepting for [`ACCEPT_BACKOFF`], keep serving open clients.
    Backoff,
    /// The listener itself is broken.
    Fatal,
}

/// Classifies an `accept` error so every model reacts the same way.
pub fn classify_accept_error(err: &io::Error) -> AcceptError {
    if err.kind() == io::ErrorKind::WouldBlock {
        return AcceptError::WouldBlock;
    }
    match err.raw_os_error() {
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM) => AcceptError::Backoff,
        Some(
            libc::ECONNABORTED
            | libc::EINTR
            | libc::EPROTO
            | libc::EPERM
            | libc::ENETDOWN
            | libc::ENOPROTOOPT
            | libc::EHOSTDOWN
            | libc::ENONET
            | libc::EHOSTUNREACH
            | libc::EOPNOTSUPP
            | libc::ENETUNREACH
            | libc::ETIMEDOUT,
        ) => AcceptError::Retry,
        _ => AcceptError::Fatal,
    }
}

/// What an accept loop does after [`accept_step`].
#[derive(Debug)]
pub enum AcceptStep<S> {
    /// Serve this connection, then accept again.
    Serve(S),
    /// The backlog is empty: wait until the listener is ready again.
    Drained,
    /// Stop accepting until then (out of fds or memory, or a broken listener); connections
    /// already open keep being served. Also right for edge-triggered loops, which get no new
    /// event for connections already queued: they must retry at that time on their own.
    PauseUntil(std::time::Instant),
}

/// One step of every readiness model's accept loop: calls `accept` until it yields a
/// connection or a reason to stop, retrying per-connection failures, and counting and logging
/// the rest, so every model reacts to EMFILE and friends the same way.
pub fn accept_step<S>(mut accept: impl FnMut() -> io::Result<S>, stats: &Stats) -> AcceptStep<S> {
    loop {
        let err = match accept() {
            Ok(conn) => return AcceptStep::Serve(conn),
            Err(err) => err,
        };
        match classify_accept_error(&err) {
            AcceptError::WouldBlock => return AcceptStep::Drained,
            AcceptError::Retry => continue,
            AcceptError::Backoff => stats.accept_error(true),
            AcceptError::Fatal => {
                stats.accept_error(false);
                eprintln!("echo-server: accept failed: {err}");
            }
        }
        return AcceptStep::PauseUntil(std::time::Instant::now() + ACCEPT_BACKOFF);
    }
}

/// [`accept_step`] for loops that accept until told to stop: the next connection to serve, or
/// `None` when the backlog is drained or accepting must pause (then `paused_until` is set).
pub fn accept_next<S>(
    accept: impl FnMut() -> io::Result<S>,
    stats: &Stats,
    paused_until: &mut Option<std::time::Instant>,
) -> Option<S> {
    match accept_step(accept, stats) {
        AcceptStep::Serve(conn) => Some(conn),
        AcceptStep::Drained => None,
        AcceptStep::PauseUntil(at) => {
            *paused_until = Some(at);
            None
        }
    }
}

/// Accepts until the backlog is empty or an accept error pauses accepting (see
/// [`accept_next`]); what the single-threaded loops (`select`, `poll`) do on a readable listener.
pub fn drain_backlog(
    listener: &std::net::TcpListener,
    stats: &Stats,
    paused_until: &mut Option<std::time::Instant>,
) -> Vec<std::net::TcpStream> {
    std::iter::from_fn(|| accept_next(|| listener.accept(), stats, paused_until))
        .map(|(stream, _)| stream)
        .collect()
}

/// What a task-based accept loop does after `accept` failed: true when it must pause for
/// [`ACCEPT_BACKOFF`] (out of fds or memory, or a broken listener: counted, and the latter
/// logged), false when it may accept again at once.
pub fn pause_after_accept_error(err: &io::Error, stats: &Stats) -> bool {
    match classify_accept_error(err) {
        AcceptError::WouldBlock | AcceptError::Retry => false,
        AcceptError::Backoff => {
            stats.accept_error(true);
            true
        }
        AcceptError::Fatal => {
            stats.accept_error(false);
            eprintln!("echo-server: accept failed: {err}");
            true
        }
    }
}
