//! Starting the echo-server child, learning its port, and stopping it with its counters.
//!
//! The child is started on `127.0.0.1:0` and prints `listening on <addr>` as its first stdout
//! line; on SIGTERM it prints one JSON line of counters to stderr and exits 0. Both pipes are
//! drained by small threads so the child can never block on a full pipe.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use proto::Protocol;

use super::locate::Located;
use results_model::StatsSnapshot;

/// How long the child may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the child may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Most stderr kept from the child (its last lines matter: the counters).
const STDERR_KEEP: usize = 64 * 1024;

/// A running echo-server child.
pub struct ServerChild {
    child: Child,
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The binary that runs.
    pub bin: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    stderr: Option<JoinHandle<String>>,
}

/// What the child left behind.
#[derive(Debug)]
pub struct ServerExit {
    /// Exit code (`None`: killed by a signal).
    pub code: Option<i32>,
    /// The JSON counters line, parsed, if it printed one.
    pub stats: Option<StatsSnapshot>,
    /// Its stderr (last 64 KiB), for error messages.
    pub stderr: String,
}

/// The command that starts the server with `args`, in its own process group, pinned to `pin`,
/// and stopped by the kernel should loadgen die first.
fn command(bin: &Path, args: &[String], pin: Option<&[usize]>) -> anyhow::Result<Command> {
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut cpu_set = None;
    if let Some(cpus) = pin {
        let mut set = nix::sched::CpuSet::new();
        for &cpu in cpus {
            set.set(cpu)
                .with_context(|| format!("--server-pin: no CPU {cpu}"))?;
        }
        cpu_set = Some(set);
    }
    use std::os::unix::process::CommandExt;
    // Its own process group: a Ctrl-C at the terminal reaches loadgen only, which then
    // finishes the run and stops the server itself, keeping the server's counters clean.
    cmd.process_group(0);
    let parent = nix::unistd::getpid();
    // SAFETY: the closure runs between fork and exec. It makes only async-signal-safe
    // system calls (prctl, getppid, sched_setaffinity) on values built before the fork, and
    // allocates nothing (errors are raw OS errors).
    unsafe {
        cmd.pre_exec(move || {
            // If loadgen dies without stopping it, the server gets SIGTERM instead of
            // lingering in its own process group.
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM)?;
            if nix::unistd::getppid() != parent {
                // loadgen died before prctl took effect.
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            if let Some(set) = &cpu_set {
                nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), set)?;
            }
            Ok(())
        });
    }
    Ok(cmd)
}

/// The first stdout line, as it arrives; and the thread keeping stderr's tail. Both pipes are
/// drained to the end so the child never blocks writing.
fn read_output(child: &mut Child) -> anyhow::Result<(FirstLine, JoinHandle<String>)> {
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    let stderr = std::thread::Builder::new()
        .name("server-stderr".into())
        .spawn(move || keep_tail(stderr))?;
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("server-stdout".into())
        .spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next());
            // Keep draining so the child never blocks writing to stdout.
            for _ in lines {}
        })?;
    Ok((rx, stderr))
}

/// Where the server's first stdout line arrives.
type FirstLine = mpsc::Receiver<Option<std::io::Result<String>>>;

impl ServerChild {
    /// Starts `bin --model model --addr 127.0.0.1:0 --protocol p extra...`, pinned to `pin`,
    /// and waits for its `listening on` line.
    pub(crate) fn start(
        bin: &Located,
        model: &str,
        protocol: Protocol,
        extra: &[String],
        pin: Option<&[usize]>,
    ) -> anyhow::Result<ServerChild> {
        let mut args: Vec<String> = ["--model", model, "--addr", "127.0.0.1:0", "--protocol"]
            .map(String::from)
            .into();
        args.push(protocol.name().to_string());
        args.extend(extra.iter().cloned());
        Self::launch(bin, args, pin)
    }

    /// Starts `bin args...`, pinned to `pin`, and waits for its `listening on <addr>` line
    /// (echo-server and echo-proxy both print one first).
    pub(crate) fn launch(
        located: &Located,
        own_args: Vec<String>,
        pin: Option<&[usize]>,
    ) -> anyhow::Result<ServerChild> {
        let bin = located.program.as_path();
        let args: Vec<String> = located
            .leading_args
            .iter()
            .cloned()
            .chain(own_args)
            .collect();
        let mut cmd = command(bin, &args, pin)?;
        let mut child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let (first_line, stderr) = read_output(&mut child)?;
        let mut server = ServerChild {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            bin: bin.to_path_buf(),
            args,
            stderr: Some(stderr),
        };
        let first = first_line.recv_timeout(START_TIMEOUT);
        let line = match first {
            Ok(Some(Ok(line))) => line,
            _ => {
                let exit = server.stop();
                bail!(
                    "{} {} did not print `listening on <addr>` (exit {:?}): {}",
                    bin.display(),
                    server.args.join(" "),
                    exit.code,
                    exit.stderr.trim()
                );
            }
        };
        match line.strip_prefix("listening on ").map(|a| a.trim().parse()) {
            Some(Ok(addr)) => server.addr = addr,
            _ => {
                server.stop();
                bail!("unexpected first line from {}: {line:?}", bin.display());
            }
        }
        Ok(server)
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM, waits (killing it after 10 s), and collects its counters.
    pub fn stop(&mut self) -> ServerExit {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + STOP_TIMEOUT;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                _ => {
                    let _ = self.child.kill();
                    break self.child.wait().ok();
                }
            }
        };
        let stderr = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        let stats = stderr.lines().rev().find_map(StatsSnapshot::from_line);
        ServerExit {
            code: status.and_then(|s| s.code()),
            stats,
            stderr,
        }
    }
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        // Never leave a server running behind an error path.
        if self.stderr.is_some() {
            self.stop();
        }
    }
}

/// Reads `r` to the end, keeping only the last [`STDERR_KEEP`] bytes.
fn keep_tail(mut r: impl Read) -> String {
    let mut kept: Vec<u8> = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                kept.extend_from_slice(&buf[..n]);
                if kept.len() > 2 * STDERR_KEEP {
                    kept.drain(..kept.len() - STDERR_KEEP);
                }
            }
        }
    }
    String::from_utf8_lossy(&kept).into_owned()
}
