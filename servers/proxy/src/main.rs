//! `echo-proxy --listen A --upstream B --delay 10ms --jitter 1ms`: forward TCP with a delay.

fn main() -> std::process::ExitCode {
    servers_proxy::cli::main(std::env::args_os())
}
