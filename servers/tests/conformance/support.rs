//! Test harness: runs the real `echo-server` binary on port 0 and talks to it like any client.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown as NetShutdown, SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use proto::Protocol;
use servers::StatsSnapshot;

/// Every socket operation in the suite gives up after this long, so a broken model fails a test
/// instead of hanging it.
pub const IO_TIMEOUT: Duration = Duration::from_secs(20);

/// A running `echo-server` child; stopped with SIGTERM when dropped.
pub struct ServerProcess {
    child: Option<Child>,
    /// The address from its `listening on` line.
    pub addr: SocketAddr,
}

impl ServerProcess {
    /// Starts `echo-server --model model --protocol protocol --addr 127.0.0.1:0 extra...`.
    pub fn start(model: &str, protocol: Protocol, extra: &[&str]) -> Self {
        Self::start_command(
            model,
            protocol,
            extra,
            Command::new(env!("CARGO_BIN_EXE_echo-server")),
        )
    }

    /// [`ServerProcess::start`] with the server's fd limit (RLIMIT_NOFILE) lowered to `max_fds`.
    pub fn start_with_fd_limit(
        model: &str,
        protocol: Protocol,
        extra: &[&str],
        max_fds: u64,
    ) -> Self {
        use std::os::unix::process::CommandExt;
        let mut command = Command::new(env!("CARGO_BIN_EXE_echo-server"));
        let limit = libc::rlimit {
            rlim_cur: max_fds,
            rlim_max: max_fds,
        };
        // SAFETY: the closure runs in the child between fork and exec, where only
        // async-signal-safe calls are allowed; it makes one system call (setrlimit) on a value
        // prepared before the fork, and allocates nothing.
        unsafe {
            command.pre_exec(move || {
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
        Self::start_command(model, protocol, extra, command)
    }

    fn start_command(
        model: &str,
        protocol: Protocol,
        extra: &[&str],
        mut command: Command,
    ) -> Self {
        let mut child = command
            .args(["--model", model, "--addr", "127.0.0.1:0", "--protocol"])
            .arg(protocol.name())
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn echo-server");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(IO_TIMEOUT) {
            Ok(line) if !line.is_empty() => line,
            _ => {
                let _ = child.kill();
                let out = child.wait_with_output().expect("wait");
                panic!(
                    "{model} did not print its listening line; stderr: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        };
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .expect("address in listening line");
        ServerProcess {
            child: Some(child),
            addr,
        }
    }

    /// The child's pid, for /proc.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Resident set size of the server in KiB, from /proc/<pid>/status.
    pub fn rss_kib(&self) -> u64 {
        proc_status_field(self.pid(), "VmRSS:")
    }

    /// A connected client with timeouts and TCP_NODELAY set.
    pub fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect_timeout(&self.addr, IO_TIMEOUT).expect("connect");
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        stream
    }

    /// Sends SIGTERM, waits (bounded) for exit, and returns the counters it printed.
    pub fn stop(self) -> StatsSnapshot {
        self.stop_with_stderr().0
    }

    /// [`ServerProcess::stop`], also returning everything else the server wrote to stderr.
    pub fn stop_with_stderr(mut self) -> (StatsSnapshot, String) {
        let mut child = self.child.take().expect("running");
        terminate(&child);
        let deadline = Instant::now() + IO_TIMEOUT;
        loop {
            match child.try_wait().expect("try_wait") {
                Some(status) => {
                    let mut stderr = String::new();
                    child
                        .stderr
                        .take()
                        .expect("stderr")
                        .read_to_string(&mut stderr)
                        .unwrap();
                    assert!(status.success(), "server exited with {status}: {stderr}");
                    let line = stderr
                        .lines()
                        .rev()
                        .find(|l| l.starts_with('{'))
                        .unwrap_or_else(|| panic!("no JSON counters on stderr: {stderr}"));
                    let counters =
                        serde_json::from_str(line).expect("counters are a StatsSnapshot");
                    return (counters, stderr);
                }
                None if Instant::now() > deadline => {
                    let _ = child.kill();
                    panic!("server did not exit within {IO_TIMEOUT:?} of SIGTERM");
                }
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn terminate(child: &Child) {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).expect("SIGTERM");
}

/// How many fds process `pid` has open, from /proc/<pid>/fd.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// A numeric field (in kB) of /proc/<pid>/status.
pub fn proc_status_field(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// Encodes one message for `protocol`. `line` messages must not contain `\n`.
pub fn encode(protocol: Protocol, payload: &[u8]) -> Vec<u8> {
    match protocol {
        Protocol::Raw => payload.to_vec(),
        Protocol::Line => {
            assert!(!payload.contains(&b'\n'));
            let mut v = payload.to_vec();
            v.push(b'\n');
            v
        }
        Protocol::Framed => {
            let mut v = (payload.len() as u32).to_be_bytes().to_vec();
            v.extend_from_slice(payload);
            v
        }
    }
}

/// Deterministic pseudo-random bytes without `\n` (valid in every protocol).
pub fn payload(seed: u64, len: usize) -> Vec<u8> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
    (0..len)
        .map(|_| {
            let b: u8 = rng.random();
            if b == b'\n' {
                b'N'
            } else {
                b
            }
        })
        .collect()
}

/// Reads exactly `len` bytes (or panics with what arrived, on EOF or timeout).
pub fn read_exact(stream: &mut TcpStream, len: usize) -> Vec<u8> {
    let mut buf = vec![0; len];
    let mut got = 0;
    while got < len {
        match stream.read(&mut buf[got..]) {
            Ok(0) => panic!("EOF after {got} of {len} bytes"),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => panic!("read failed after {got} of {len} bytes: {e}"),
        }
    }
    buf
}

/// Reads until EOF; returns what arrived.
pub fn read_to_eof(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    stream.read_to_end(&mut out).expect("read to EOF");
    out
}

/// Whether the server closed this connection: the next read gives EOF or a reset (not a timeout).
pub fn is_closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue, // echoes of earlier complete messages may still arrive
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

/// Writes `data` while another thread reads the echo, so neither side's buffers fill up.
pub fn round_trip_concurrently(stream: &TcpStream, data: &[u8]) -> Vec<u8> {
    let mut writer = stream.try_clone().expect("clone");
    let mut reader = stream.try_clone().expect("clone");
    let len = data.len();
    std::thread::scope(|s| {
        let r = s.spawn(move || read_exact(&mut reader, len));
        writer.write_all(data).expect("write");
        r.join().expect("reader thread")
    })
}

/// Half-closes the write side.
pub fn shutdown_write(stream: &TcpStream) {
    stream.shutdown(NetShutdown::Write).expect("shutdown write");
}
