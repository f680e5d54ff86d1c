//! The `echo-proxy` binary: the first line names the bound address; bad arguments are refused.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_echo-proxy");

#[test]
fn prints_the_bound_address_first() {
    let mut child = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9"])
        .args(["--delay", "10ms", "--jitter", "1ms", "--seed", "3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("echo-proxy starts");
    let mut line = String::new();
    let read = BufReader::new(child.stdout.take().unwrap()).read_line(&mut line);
    // Stop it before asserting, so a failed assertion leaves no process behind.
    let _ = child.kill();
    let _ = child.wait();
    read.unwrap();
    let addr = line
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line was {line:?}"));
    let addr: SocketAddr = addr.parse().expect("an ip:port");
    assert_ne!(addr.port(), 0, "the real port, not the requested 0");
}

#[test]
fn refuses_an_empty_queue_cap_and_a_bad_delay() {
    for bad in [["--max-queued", "0"], ["--delay", "ten"]] {
        let out = Command::new(BIN)
            .args(["--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:9"])
            .args(bad)
            .output()
            .expect("echo-proxy runs");
        assert!(!out.status.success(), "{bad:?} was accepted");
        assert!(out.stdout.is_empty(), "{bad:?}: printed {:?}", out.stdout);
    }
}
