//! `echo-server --model M`: serve the echo protocol with one concurrency model.

fn main() -> std::process::ExitCode {
    servers::cli::main(std::env::args_os())
}
