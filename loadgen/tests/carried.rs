//! The loadgen binary carries the server and the proxy: `loadgen echo-server …` and
//! `loadgen echo-proxy …` behave as the binaries of those names, so a checkout where cargo built
//! only loadgen can still run `--model` and `--link-delay`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Starts `loadgen ARGS…` and returns it with the address of its `listening on` line.
fn start(args: &[&str]) -> (Child, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("loadgen starts");
    let mut line = String::new();
    let stdout = child.stdout.as_mut().expect("piped stdout");
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("a first line");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .expect("`listening on` first");
    (child, addr.parse().expect("an address"))
}

/// Sends `message` to `addr` in two writes and reads the echo back whole.
fn echo(addr: SocketAddr, message: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).expect("connects");
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let (a, b) = message.split_at(message.len() / 2);
    s.write_all(a).unwrap();
    s.write_all(b).unwrap();
    let mut back = vec![0; message.len()];
    s.read_exact(&mut back).expect("the whole echo");
    back
}

/// Stops `child` with SIGTERM and returns its exit code and stderr.
fn stop(mut child: Child) -> (Option<i32>, String) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("signal");
    let status = child.wait().expect("exits");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status.code(), stderr)
}

#[test]
fn loadgen_echo_server_serves_and_reports_its_counters() {
    let (server, addr) = start(&["echo-server", "--model", "mio", "--addr", "127.0.0.1:0"]);
    assert_eq!(echo(addr, b"carried echo"), b"carried echo");
    let (code, stderr) = stop(server);
    assert_eq!(code, Some(0), "{stderr}");
    let counters: serde_json::Value = serde_json::from_str(stderr.trim()).expect("counters JSON");
    assert_eq!(counters["bytes_out"], 12, "{stderr}");
}

#[test]
fn loadgen_echo_proxy_forwards_to_its_upstream() {
    let (server, upstream) = start(&["echo-server", "--model", "threads", "--addr", "127.0.0.1:0"]);
    let upstream = upstream.to_string();
    let args = [
        "echo-proxy",
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        &upstream,
        "--delay",
        "1ms",
    ];
    let (proxy, addr) = start(&args);
    assert_eq!(echo(addr, b"through the proxy"), b"through the proxy");
    assert_eq!(stop(proxy).0, Some(0));
    assert_eq!(stop(server).0, Some(0));
}
