//! Records the git commit the engine is built from (`VERGEN_GIT_SHA`), for the
//! `loadgen.git_commit` result field. Outside a git checkout vergen emits a placeholder and the
//! field reads `unknown` (see `run::git_commit`).

use vergen_gitcl::{Emitter, GitclBuilder};

fn main() {
    let emitted = GitclBuilder::default()
        .sha(true)
        .build()
        .map_err(|e| e.to_string())
        .and_then(|git| {
            Emitter::default()
                .add_instructions(&git)
                .and_then(|e| e.emit())
                .map_err(|e| e.to_string())
        });
    if let Err(e) = emitted {
        // A build without git metadata still builds; the result then says `unknown`.
        println!("cargo:warning=no git metadata for loadgen: {e}");
    }
}
