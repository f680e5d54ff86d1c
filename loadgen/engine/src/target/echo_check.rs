//! Whether a server already listening is an echo server: one connection, two messages sent one
//! after the other, each read back whole and compared byte for byte, all within one deadline.
//! A search of many runs starts only after this, so a wrong address or a server that is not an
//! RFC 862 echo server is one clear error instead of a search that finds "nothing held".
//! Two different messages, so a server that answers each message twice (or with the previous
//! one) shows as a mismatch too.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};

/// The whole check (connect, both writes and both echoes) must end within this by default.
pub const TIMEOUT: Duration = Duration::from_secs(2);
/// Bytes of each message of the check (the runs' default message size).
const SIZE: usize = results_model::defaults::SIZE;

/// Message `n` of the check: bytes that differ from message to message and along the message.
fn message(n: u8) -> Vec<u8> {
    (0..SIZE)
        .map(|i| (i as u8).wrapping_mul(37).wrapping_add(n.wrapping_mul(101)) ^ 0x5a)
        .collect()
}

/// Connects to `addr` and checks that two messages come back unchanged within `timeout`;
/// the error names the step that failed and what came back.
pub fn check_echo(addr: SocketAddr, timeout: Duration) -> anyhow::Result<()> {
    let check = Check {
        addr,
        deadline: Instant::now() + timeout,
        timeout,
    };
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| {
        anyhow!("--addr {addr}: cannot connect: {e}; is an echo server listening there?")
    })?;
    stream.set_nodelay(true)?;
    for n in 0..2u8 {
        let sent = message(n);
        stream.set_write_timeout(Some(check.remaining(0, sent.len())?))?;
        stream
            .write_all(&sent)
            .map_err(|e| anyhow!("--addr {addr}: cannot send a message to echo: {e}"))?;
        let got = check.read_echo(&mut stream, sent.len())?;
        if let Some(i) = got.iter().zip(&sent).position(|(g, s)| g != s) {
            bail!(
                "--addr {addr} is not an echo server: message {} came back different at byte {i} \
                 (sent {:#04x}, got {:#04x})",
                n + 1,
                sent[i],
                got[i]
            );
        }
    }
    Ok(())
}

/// One check under way: where, and until when.
struct Check {
    addr: SocketAddr,
    deadline: Instant,
    timeout: Duration,
}

impl Check {
    /// Time left, or the error that the server has not echoed (`have` of `len` bytes back).
    fn remaining(&self, have: usize, len: usize) -> anyhow::Result<Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(self.silent(have, len));
        }
        Ok(left)
    }

    /// The error of a server that accepted but did not echo in time.
    fn silent(&self, have: usize, len: usize) -> anyhow::Error {
        anyhow!(
            "--addr {} accepted but did not echo: {have} of {len} bytes came back within {:?}; \
             is it an RFC 862 echo server (raw protocol)?",
            self.addr,
            self.timeout
        )
    }

    /// Reads `len` bytes (the echo may arrive in pieces) before the deadline.
    fn read_echo(&self, stream: &mut TcpStream, len: usize) -> anyhow::Result<Vec<u8>> {
        let addr = self.addr;
        let mut got = vec![0u8; len];
        let mut have = 0;
        while have < len {
            stream.set_read_timeout(Some(self.remaining(have, len)?))?;
            match stream.read(&mut got[have..]) {
                Ok(0) => return Err(closed(addr, have, len)),
                Ok(n) => have += n,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Err(self.silent(have, len))
                }
                Err(e) if e.kind() == ErrorKind::ConnectionReset => {
                    return Err(closed(addr, have, len))
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => bail!("--addr {addr}: reading the echo failed: {e}"),
            }
        }
        Ok(got)
    }
}

/// The error of a server that closed (or reset) the connection before echoing all.
fn closed(addr: SocketAddr, have: usize, len: usize) -> anyhow::Error {
    anyhow!(
        "--addr {addr} closed the connection after echoing {have} of {len} bytes: is it an \
         RFC 862 echo server (raw protocol)?"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A server on loopback that treats its one connection with `serve`.
    fn one_shot(serve: impl FnOnce(TcpStream) + Send + 'static) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            if let Ok((s, _)) = listener.accept() {
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                serve(s);
            }
        });
        addr
    }

    /// Echoes what arrives through `f`, in pieces of at most `piece` bytes.
    fn echo(mut s: TcpStream, piece: usize, f: impl Fn(&mut [u8])) {
        let mut buf = [0u8; 1024];
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                return;
            }
            f(&mut buf[..n]);
            for chunk in buf[..n].chunks(piece) {
                if s.write_all(chunk).is_err() {
                    return;
                }
            }
        }
    }

    const SHORT: Duration = Duration::from_millis(500);

    #[test]
    fn an_echo_server_passes_even_in_pieces() {
        let addr = one_shot(|s| echo(s, 7, |_| {}));
        check_echo(addr, TIMEOUT).unwrap();
    }

    #[test]
    fn wrong_bytes_silence_and_a_close_each_fail_with_a_reason() {
        let addr = one_shot(|s| echo(s, 64, |b| b[3] ^= 1));
        let e = check_echo(addr, TIMEOUT).unwrap_err().to_string();
        assert!(
            e.contains("not an echo server") && e.contains("byte 3"),
            "{e}"
        );
        let addr = one_shot(|mut s| {
            let mut buf = [0u8; 1024];
            while s.read(&mut buf).is_ok_and(|n| n > 0) {}
        });
        let e = check_echo(addr, SHORT).unwrap_err().to_string();
        assert!(e.contains("did not echo") && e.contains("0 of 64"), "{e}");
        let addr = one_shot(|mut s| {
            let mut buf = [0u8; 10];
            let _ = s.read_exact(&mut buf);
            let _ = s.write_all(&buf);
        });
        let e = check_echo(addr, TIMEOUT).unwrap_err().to_string();
        assert!(e.contains("closed the connection"), "{e}");
    }

    #[test]
    fn a_server_echoing_twice_fails_on_the_second_message() {
        let addr = one_shot(|mut s| {
            let mut buf = [0u8; 1024];
            while let Ok(n) = s.read(&mut buf) {
                if n == 0 || s.write_all(&buf[..n]).is_err() || s.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        });
        let e = check_echo(addr, TIMEOUT).unwrap_err().to_string();
        assert!(e.contains("message 2 came back different"), "{e}");
    }

    #[test]
    fn nothing_listening_is_a_connect_error() {
        // A port just bound and released: nothing listens there.
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let e = check_echo(addr, SHORT).unwrap_err().to_string();
        assert!(e.contains("cannot connect"), "{e}");
    }
}
