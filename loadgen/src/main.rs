//! `loadgen`: see the crate docs and `loadgen --help`.
//!
//! The binary also carries the server and the proxy it starts: `loadgen echo-server ARGS…` is
//! `echo-server ARGS…` and `loadgen echo-proxy ARGS…` is `echo-proxy ARGS…`, the same code
//! through the same entry points. loadgen starts itself that way only when no echo-server (or
//! echo-proxy) binary is named or built beside it, so `cargo run -p loadgen` works on a fresh
//! checkout where cargo built nothing else.

use std::ffi::OsString;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    match args.get(1).and_then(|a| a.to_str()) {
        Some("echo-server") => servers::cli::main(args.into_iter().skip(1)),
        Some("echo-proxy") => servers_proxy::cli::main(args.into_iter().skip(1)),
        _ => {
            loadgen_engine::target::carried_by_this_executable();
            loadgen::cli::main()
        }
    }
}
