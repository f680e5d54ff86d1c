//! Shared by the integration tests: the binaries, a bounded way to run loadgen, and small
//! misbehaving echo servers written with std::net.

#![allow(dead_code)] // each test file uses a different part of this module

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use loadgen::RunResult;

/// No loadgen invocation in the tests may take longer than this.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// The loadgen binary cargo built for these tests.
pub fn loadgen_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_loadgen"))
}

/// The echo-server binary beside loadgen's, where loadgen itself finds it.
pub fn echo_server_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| workspace_bin("echo-server", "servers"))
}

/// The echo-proxy binary beside loadgen's, where loadgen finds it for `--link-delay`.
pub fn echo_proxy_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| workspace_bin("echo-proxy", "servers-proxy"))
}

/// Binary `name` of workspace package `package`, in the target directory of loadgen's binary.
/// `cargo test --workspace` builds it there; `cargo test -p loadgen` alone does not, and the
/// failure says what to build (the tests build nothing themselves).
fn workspace_bin(name: &str, package: &str) -> PathBuf {
    let dir = loadgen_bin().parent().expect("binary has a directory");
    let bin = dir.join(name);
    let release = if dir.file_name().is_some_and(|n| n == "release") {
        " --release"
    } else {
        ""
    };
    assert!(
        bin.is_file(),
        "{name} not found at {}: run `cargo build{release} -p {package}` first, or test with \
         `cargo test --workspace`, which builds it",
        bin.display()
    );
    bin
}

/// What a loadgen invocation left.
pub struct Outcome {
    /// Exit code.
    pub code: Option<i32>,
    /// stdout.
    pub stdout: String,
    /// stderr.
    pub stderr: String,
}

impl Outcome {
    /// Asserts the exit code, showing both streams when it differs.
    pub fn assert_code(&self, code: i32) {
        let (out, err) = (&self.stdout, &self.stderr);
        assert_eq!(self.code, Some(code), "stdout: {out}\nstderr: {err}");
    }
}

/// Waits for `child` to exit; past `deadline`, kills it and panics with `what`.
pub fn wait_until(child: &mut Child, deadline: Instant, what: &str) -> ExitStatus {
    loop {
        if let Some(status) = child.try_wait().expect("wait works") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `cmd` to completion, killing it after [`RUN_TIMEOUT`].
pub fn run_bounded(mut cmd: Command) -> Outcome {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("command starts");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + RUN_TIMEOUT;
    let what = format!("command timed out after {RUN_TIMEOUT:?}: {cmd:?}");
    let status = wait_until(&mut child, deadline, &what);
    Outcome {
        code: status.code(),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// Runs loadgen with `args` plus `--quiet --output <tmp>` and returns the outcome and the
/// result file, if one was written.
pub fn loadgen(args: &[&str], name: &str) -> (Outcome, Option<RunResult>) {
    let path = temp_path(name);
    let _ = std::fs::remove_file(&path);
    let mut cmd = Command::new(loadgen_bin());
    cmd.args(args).arg("--quiet").arg("--output").arg(&path);
    let outcome = run_bounded(cmd);
    let result = path
        .is_file()
        .then(|| RunResult::load(&path).expect("result parses"));
    (outcome, result)
}

/// A fresh path in the temp directory for this test process.
pub fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("loadgen-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

/// How a test server treats each connection.
pub type Handler = Arc<dyn Fn(usize, TcpStream) + Send + Sync>;

/// A thread-per-connection test server on 127.0.0.1:0, stopped on drop.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Connections accepted.
    pub accepted: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Serves every connection with `handler(connection_number, stream)` on its own thread.
    pub fn start(handler: Handler) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicU64::new(0));
        let (stop2, accepted2) = (Arc::clone(&stop), Arc::clone(&accepted));
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let n = accepted2.fetch_add(1, Ordering::Relaxed) as usize;
                        stream.set_nonblocking(false).unwrap();
                        // Every socket op is bounded, so no handler thread outlives the test.
                        stream
                            .set_read_timeout(Some(Duration::from_secs(10)))
                            .unwrap();
                        stream
                            .set_write_timeout(Some(Duration::from_secs(10)))
                            .unwrap();
                        let handler = Arc::clone(&handler);
                        std::thread::spawn(move || handler(n, stream));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        TestServer {
            addr,
            accepted,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Echoes what arrives, through `hook(bytes_echoed_so_far, chunk) -> n`: the hook may alter
/// or delay the chunk; the first `n` bytes are echoed, and if `n` is less than the chunk the
/// connection is then closed (a short or missing reply).
pub fn echo_with(mut stream: TcpStream, mut hook: impl FnMut(u64, &mut [u8]) -> usize) {
    let mut buf = [0u8; 16 * 1024];
    let mut total = 0u64;
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let keep = hook(total, &mut buf[..n]).min(n);
        if stream.write_all(&buf[..keep]).is_err() || keep < n {
            return;
        }
        total += n as u64;
    }
}
