//! The connections a handler keeps, keyed by the token they are registered under: registering
//! them, watching writability only while there is something to write (an edge-triggered
//! WRITABLE left on would wake the loop for nothing), and closing them, one, the idle ones or
//! all, with the counts the stats need.

use std::io;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use slab::Slab;

use super::event_loop::Turn;
use crate::session::{close_all, idle_keys, PumpResult, Session};
use crate::stats::{CloseReason, RefuseReason, Stats};

/// One registered connection: its socket and session, and what the model keeps besides (`X`).
pub struct Connection<X> {
    /// The socket, registered under the connection's key.
    pub stream: TcpStream,
    /// Protocol state, EOF and last activity.
    pub session: Session,
    /// Whether WRITABLE is currently part of the registration.
    watching_write: bool,
    /// The model's own per-connection state.
    pub extra: X,
}

/// A handler's connections, keyed by the token each is registered under.
pub struct Connections<X> {
    slab: Slab<Connection<X>>,
}

impl<X> Default for Connections<X> {
    fn default() -> Self {
        Connections { slab: Slab::new() }
    }
}

impl<X> Connections<X> {
    /// Registers an accepted connection for reading under the next free key and keeps it there
    /// with `session` and `extra`. Returns the key, or `None` after counting the refusal when it
    /// cannot be registered (the stream is dropped, and so closed).
    pub fn insert(
        &mut self,
        turn: &Turn<'_>,
        mut stream: TcpStream,
        session: Session,
        extra: X,
    ) -> Option<usize> {
        let entry = self.slab.vacant_entry();
        let key = entry.key();
        match turn
            .registry
            .register(&mut stream, Token(key), Interest::READABLE)
        {
            Ok(()) => {
                entry.insert(Connection {
                    stream,
                    session,
                    watching_write: false,
                    extra,
                });
                Some(key)
            }
            Err(e) => {
                eprintln!("echo-server: cannot register connection: {e}");
                turn.stats.refuse(RefuseReason::RegisterFailed);
                None
            }
        }
    }

    /// The connection under `key`, unless it was closed (earlier in this turn, say).
    pub fn get_mut(&mut self, key: usize) -> Option<&mut Connection<X>> {
        self.slab.get_mut(key)
    }

    /// Acts on what a pump of `key` said: queue it to be pumped again when its read budget ran
    /// out, watch writability when `want_write` (and only then), or close it.
    pub fn settle(
        &mut self,
        key: usize,
        pumped: PumpResult,
        want_write: bool,
        turn: &mut Turn<'_>,
    ) {
        let reason = match pumped {
            PumpResult::Open { more } => {
                if more {
                    turn.again.push_back(key);
                }
                let Some(conn) = self.slab.get_mut(key) else {
                    return;
                };
                match conn.watch_writes(turn.registry, key, want_write) {
                    Ok(()) => return,
                    Err(_) => CloseReason::IoError,
                }
            }
            PumpResult::Close(reason) => reason,
        };
        self.close(key, reason, turn);
    }

    /// Deregisters and drops connection `key`, counting it as closed for `reason`.
    pub fn close(&mut self, key: usize, reason: CloseReason, turn: &Turn<'_>) {
        let mut conn = self.slab.remove(key);
        let _ = turn.registry.deregister(&mut conn.stream);
        turn.stats.closed(&conn.session.conn, reason);
    }

    /// Closes every connection idle for `idle` or longer at `now`.
    pub fn close_idle(&mut self, now: Instant, idle: Duration, turn: &Turn<'_>) {
        for key in idle_keys(&self.slab, now, idle, |c| Some(c.session.last_active)) {
            self.close(key, CloseReason::IdleTimeout, turn);
        }
    }

    /// Counts every connection left as closed for `reason` and drops them all.
    pub fn close_all(&mut self, reason: CloseReason, stats: &Stats) {
        close_all(
            stats,
            self.slab.iter().map(|(_, c)| &c.session.conn),
            reason,
        );
        self.slab.clear();
    }
}

impl<X> Connection<X> {
    /// Adds or removes WRITABLE from the registration when `want_write` differs from what it is.
    fn watch_writes(
        &mut self,
        registry: &Registry,
        key: usize,
        want_write: bool,
    ) -> io::Result<()> {
        if want_write == self.watching_write {
            return Ok(());
        }
        let interest = if want_write {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        registry.reregister(&mut self.stream, Token(key), interest)?;
        self.watching_write = want_write;
        Ok(())
    }
}
