//! Records the build facts of a result: the git commit (`VERGEN_GIT_SHA`, for the
//! `loadgen.git_commit` field), and for the `meta` field the dirty flag (`VERGEN_GIT_DIRTY`),
//! the rustc version (`LOADGEN_RUSTC_VERSION`) and cargo's profile (`LOADGEN_BUILD_PROFILE`),
//! read here because vergen-gitcl's rustc feature pins another vergen-lib. Outside a git
//! checkout vergen emits a placeholder and the fields read `unknown` (see
//! `probes::metadata::git_commit`).

use std::process::Command;

use vergen_gitcl::{Emitter, GitclBuilder};

fn main() {
    let profile = std::env::var("PROFILE").unwrap_or_else(|_| "unknown".to_string());
    println!("cargo:rustc-env=LOADGEN_BUILD_PROFILE={profile}");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    if let Some(version) = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
    {
        println!("cargo:rustc-env=LOADGEN_RUSTC_VERSION={}", version.trim());
    }
    let emitted = GitclBuilder::default()
        .sha(true)
        .dirty(false)
        .build()
        .map_err(|e| e.to_string())
        .and_then(|git| {
            Emitter::default()
                .add_instructions(&git)
                .and_then(|e| e.emit())
                .map_err(|e| e.to_string())
        });
    // The dirty flag follows edits of the sources a run measures, not only commits (vergen
    // watches HEAD and the branch ref).
    for path in [
        "src",
        "../src",
        "../analysis/src",
        "../../results/model/src",
        "../../proto/src",
        "../../servers/src",
    ] {
        println!("cargo:rerun-if-changed={path}");
    }
    if let Err(e) = emitted {
        // A build without git metadata still builds; the result then says `unknown`.
        println!("cargo:warning=no git metadata for loadgen: {e}");
    }
}
