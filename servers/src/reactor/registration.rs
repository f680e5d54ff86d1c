//! Registering connections with the loop's epoll instance: what every [`Handler`](super::event_loop::Handler) does
//! when it takes a connection and whenever its need to write changes.

use std::io;

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use slab::Slab;

use super::event_loop::Turn;
use crate::stats::RefuseReason;

/// Registers an accepted connection for reading under the next free key of `conns` and stores
/// what `make` builds from it there. Returns the key, or `None` after counting the refusal when
/// it cannot be registered (the stream is dropped, and so closed).
pub fn insert<T>(
    conns: &mut Slab<T>,
    turn: &Turn<'_>,
    mut stream: TcpStream,
    make: impl FnOnce(TcpStream) -> T,
) -> Option<usize> {
    let entry = conns.vacant_entry();
    let key = entry.key();
    match turn
        .registry
        .register(&mut stream, Token(key), Interest::READABLE)
    {
        Ok(()) => {
            entry.insert(make(stream));
            Some(key)
        }
        Err(e) => {
            eprintln!("echo-server: cannot register connection: {e}");
            turn.stats.refuse(RefuseReason::RegisterFailed);
            None
        }
    }
}

/// Adds or removes WRITABLE from a connection's registration when `want_write` differs from
/// what `watching_write` says it is, and records the change.
pub fn watch_writes(
    registry: &Registry,
    stream: &mut TcpStream,
    key: usize,
    watching_write: &mut bool,
    want_write: bool,
) -> io::Result<()> {
    if want_write == *watching_write {
        return Ok(());
    }
    let interest = if want_write {
        Interest::READABLE | Interest::WRITABLE
    } else {
        Interest::READABLE
    };
    registry.reregister(stream, Token(key), interest)?;
    *watching_write = want_write;
    Ok(())
}
