//! `loadgen`: the command line of the loadgen library (see `loadgen --help`).

fn main() -> std::process::ExitCode {
    loadgen::cli::main()
}
