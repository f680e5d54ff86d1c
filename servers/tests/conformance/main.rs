//! The conformance suite: every case, for every model, for every protocol it applies to, against
//! the real `echo-server` binary on port 0. A model that is fast because it is wrong fails here.

mod budget;
mod cases;
mod support;

use proto::Protocol;

/// Instantiates every case for one model as `#[test]`s in a module named after it, so
/// `cargo test --test conformance -- tokio::` runs one model and `-- half_close` one case.
macro_rules! conformance_suite {
    ($($module:ident => $model:literal),* $(,)?) => {$(
        mod $module {
            use super::*;

            per_protocol!($model;
                one_byte, one_mib, split_at_every_boundary, one_byte_dribble,
                hundred_coalesced, half_close, reset_mid_message);

            #[test]
            fn framed_zero_length_frame() {
                if budget::model_available($model) {
                    cases::zero_length_frame($model);
                }
            }
            #[test]
            fn framed_oversized_frame_closes_only_that_connection() {
                if budget::model_available($model) {
                    cases::oversized_frame_closes_only_that_connection($model);
                }
            }
            #[test]
            fn line_over_long_line_closes_only_that_connection() {
                if budget::model_available($model) {
                    cases::over_long_line_closes_only_that_connection($model);
                }
            }
            #[test]
            fn thousand_concurrent_clients() {
                if budget::model_available($model) {
                    cases::thousand_concurrent_clients($model);
                }
            }
            #[test]
            fn never_reading_client_is_bounded() {
                if budget::model_available($model) {
                    cases::never_reading_client_is_bounded($model);
                }
            }
            #[test]
            fn max_conns_refuses_the_excess() {
                if budget::model_available($model) {
                    cases::max_conns_refuses_the_excess($model);
                }
            }
            #[test]
            fn idle_timeout_closes_silent_clients() {
                if budget::model_available($model) {
                    cases::idle_timeout_closes_silent_clients($model);
                }
            }
            #[test]
            fn fd_exhaustion_backs_off_and_recovers() {
                if budget::model_available($model) {
                    cases::fd_exhaustion_backs_off_and_recovers($model);
                }
            }
            #[test]
            fn mass_idle_timeout_keeps_serving_the_rest() {
                if budget::model_available($model) {
                    cases::mass_idle_timeout_keeps_serving_the_rest($model);
                }
            }
            #[test]
            fn ten_thousand_clients_then_sigterm() {
                if budget::model_available($model) {
                    cases::ten_thousand_clients_then_sigterm($model);
                }
            }
            #[test]
            fn extra_work_is_spent_per_message() {
                if budget::model_available($model) {
                    cases::extra_work_is_spent_per_message($model);
                }
            }
            #[test]
            fn sigterm_closes_open_connections() {
                if budget::model_available($model) {
                    cases::sigterm_closes_open_connections($model);
                }
            }
        }
    )*};
}

/// One `#[test]` per case and protocol: `raw_one_byte`, `line_one_byte`, `framed_one_byte`, ...
macro_rules! per_protocol {
    ($model:literal; $($case:ident),* $(,)?) => {
        mod raw {
            use super::*;
            $( #[test] fn $case() { if budget::model_available($model) { cases::$case($model, Protocol::Raw); } } )*
        }
        mod line {
            use super::*;
            $( #[test] fn $case() { if budget::model_available($model) { cases::$case($model, Protocol::Line); } } )*
        }
        mod framed {
            use super::*;
            $( #[test] fn $case() { if budget::model_available($model) { cases::$case($model, Protocol::Framed); } } )*
        }
    };
}

conformance_suite! {
    threads => "threads",
    select => "select",
    poll => "poll",
    mio => "mio",
    tokio => "tokio",
    tokio_current_thread => "tokio-current-thread",
    thread_per_core => "thread-per-core",
    reactor_pool => "reactor-pool",
    uring => "uring",
    monoio => "monoio",
    smol => "smol",
    compio => "compio",
    glommio => "glommio",
    may => "may",
}

#[test]
fn every_model_is_in_the_suite() {
    let listed = [
        "threads",
        "select",
        "poll",
        "mio",
        "tokio",
        "tokio-current-thread",
        "thread-per-core",
        "reactor-pool",
        "uring",
        "monoio",
        "smol",
        "compio",
        "glommio",
        "may",
    ];
    let all: Vec<&str> = servers::Model::ALL.iter().map(|m| m.name()).collect();
    assert_eq!(
        all, listed,
        "a model was added without adding it to the conformance suite"
    );
}

/// `--max-pending 0` would start a server that never reads any connection (every client would
/// hang): it is refused at start.
#[test]
fn zero_max_pending_is_refused_at_start() {
    use std::io::Read;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_echo-server"))
        .args([
            "--model",
            "mio",
            "--addr",
            "127.0.0.1:0",
            "--max-pending",
            "0",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run echo-server");
    let deadline = std::time::Instant::now() + support::IO_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server started with --max-pending 0");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let mut stderr = String::new();
    let _ = child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr);
    assert!(!status.success(), "the server accepted --max-pending 0");
    assert!(stderr.contains("at least 1"), "no clear error: {stderr}");
}
