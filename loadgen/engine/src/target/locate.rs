//! Where the binaries loadgen starts are: echo-server (the server under load) and echo-proxy
//! (the delayed link). In order: the path given on the command line, else the environment
//! variable, else beside loadgen's own executable or in that directory's parent (test binaries
//! live in `target/<profile>/deps`, the workspace's binaries one level up).
//!
//! Last, when the executable carries the server and the proxy itself (the `loadgen` binary
//! does: it links both and answers to `loadgen echo-server …` and `loadgen echo-proxy …`, see
//! [`carried_by_this_executable`]), it runs itself under that name, so `cargo run -p loadgen`
//! works on a fresh checkout where only loadgen was built.
//!
//! Nothing is built here: a binary that is not found is an error naming every place looked at
//! and the `cargo build` that makes it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{bail, Context};

/// A binary loadgen starts, and how to find or build it.
#[derive(Debug)]
pub(crate) struct Binary {
    /// The file name.
    name: &'static str,
    /// The environment variable that names its path.
    env: &'static str,
    /// The workspace package that builds it.
    package: &'static str,
    /// The option that needs it, for the error.
    needed_by: &'static str,
    /// The other ways around a missing binary, for the error.
    instead: &'static str,
}

/// The server under load.
pub(crate) const ECHO_SERVER: Binary = Binary {
    name: "echo-server",
    env: "ECHO_SERVER_BIN",
    package: "servers",
    needed_by: "--model",
    instead: ", or pass --server-bin PATH, or target a running server with --addr HOST:PORT",
};

/// The delayed link's proxy.
pub(crate) const ECHO_PROXY: Binary = Binary {
    name: "echo-proxy",
    env: "ECHO_PROXY_BIN",
    package: "servers-proxy",
    needed_by: "--link-delay",
    instead: "",
};

/// Whether this executable runs the server and the proxy when its first argument names them.
static CARRIED: AtomicBool = AtomicBool::new(false);

/// Declares that this executable runs `echo-server` and `echo-proxy` itself when its first
/// argument is that name: the last place [`find`] looks.
pub fn carried_by_this_executable() {
    CARRIED.store(true, Ordering::Relaxed);
}

/// How to start a binary: the program, and the arguments that come before its own.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Located {
    /// The executable.
    pub program: PathBuf,
    /// Arguments before the binary's own (the carried binary's name, for this executable).
    pub leading_args: Vec<String>,
}

impl Located {
    fn file(program: &Path) -> Located {
        Located {
            program: program.to_path_buf(),
            leading_args: Vec::new(),
        }
    }
}

/// The path of `bin`: `flag` (`--server-bin`) when given, else its environment variable, else
/// beside the current executable or one directory up, else this executable when it carries `bin`.
pub(crate) fn find(bin: &Binary, flag: Option<&Path>) -> anyhow::Result<Located> {
    let exe = std::env::current_exe().context("cannot locate loadgen's own executable")?;
    let env = std::env::var_os(bin.env).map(PathBuf::from);
    let carried = CARRIED.load(Ordering::Relaxed);
    search(bin, flag, env.as_deref(), &exe, carried)
}

/// [`find`] with its inputs given: the flag's path, the environment variable's, the current
/// executable, and whether it carries the binaries.
fn search(
    bin: &Binary,
    flag: Option<&Path>,
    env: Option<&Path>,
    exe: &Path,
    carried: bool,
) -> anyhow::Result<Located> {
    // A path asked for by name is used or refused, never passed over for another binary.
    if let Some(path) = flag {
        if path.is_file() {
            return Ok(Located::file(path));
        }
        bail!("--server-bin {} does not exist", path.display());
    }
    if let Some(path) = env {
        if path.is_file() {
            return Ok(Located::file(path));
        }
        bail!("{}={} does not exist", bin.env, path.display());
    }
    let dir = exe.parent().unwrap_or(Path::new("."));
    let beside = dir.join(bin.name);
    let above = dir.parent().map(|up| up.join(bin.name));
    let candidates: Vec<PathBuf> = std::iter::once(beside).chain(above).collect();
    if let Some(found) = candidates.iter().find(|p| p.is_file()) {
        return Ok(Located::file(found));
    }
    if carried {
        return Ok(Located {
            program: exe.to_path_buf(),
            leading_args: vec![bin.name.to_string()],
        });
    }
    let looked: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
    bail!(
        "{} needs {name}, not found: {env} is not set, and no {name} at {}. Build it with \
         `cargo build --release -p {package}` (`cargo build -p {package}` beside a debug \
         loadgen), or set {env} to its path{}",
        bin.needed_by,
        looked.join(" or "),
        bin.instead,
        name = bin.name,
        env = bin.env,
        package = bin.package,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh `target/debug/deps` layout under the temp directory.
    fn layout(name: &str) -> (PathBuf, PathBuf) {
        let root = std::env::temp_dir().join(format!("locate-{}-{name}", std::process::id()));
        let deps = root.join("debug").join("deps");
        std::fs::create_dir_all(&deps).unwrap();
        (root.join("debug"), deps.join("loadgen-test"))
    }

    #[test]
    fn the_flag_then_the_variable_then_beside_or_above_the_executable() {
        let (debug, exe) = layout("order");
        let server = debug.join("echo-server");
        std::fs::write(&server, b"").unwrap();
        assert_eq!(
            search(&ECHO_SERVER, None, None, &exe, true)
                .unwrap()
                .program,
            server
        );
        let beside = exe.with_file_name("echo-server");
        std::fs::write(&beside, b"").unwrap();
        assert_eq!(
            search(&ECHO_SERVER, None, None, &exe, true)
                .unwrap()
                .program,
            beside
        );
        assert_eq!(
            search(&ECHO_SERVER, None, Some(&server), &exe, true)
                .unwrap()
                .program,
            server
        );
        assert_eq!(
            search(&ECHO_SERVER, Some(&server), Some(&beside), &exe, true)
                .unwrap()
                .program,
            server
        );
        let _ = std::fs::remove_dir_all(debug.parent().unwrap());
    }

    #[test]
    fn a_missing_binary_says_where_it_looked_and_what_to_build() {
        let (debug, exe) = layout("missing");
        let e = search(&ECHO_PROXY, None, None, &exe, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("ECHO_PROXY_BIN"), "{e}");
        assert!(
            e.contains(&debug.join("echo-proxy").display().to_string()),
            "{e}"
        );
        assert!(e.contains("cargo build --release -p servers-proxy"), "{e}");
        let e = search(&ECHO_SERVER, None, None, &exe, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("cargo build --release -p servers`"), "{e}");
        let gone = debug.join("gone");
        let e = search(&ECHO_SERVER, None, Some(&gone), &exe, true).unwrap_err();
        assert!(e.to_string().starts_with("ECHO_SERVER_BIN="), "{e}");
        let e = search(&ECHO_SERVER, Some(&gone), None, &exe, true).unwrap_err();
        assert!(e.to_string().starts_with("--server-bin"), "{e}");
        let _ = std::fs::remove_dir_all(debug.parent().unwrap());
    }

    #[test]
    fn an_executable_that_carries_the_server_runs_itself_only_when_none_is_built() {
        let (debug, exe) = layout("carried");
        let itself = search(&ECHO_SERVER, None, None, &exe, true).unwrap();
        assert_eq!(itself.program, exe);
        assert_eq!(itself.leading_args, vec!["echo-server".to_string()]);
        let built = debug.join("echo-server");
        std::fs::write(&built, b"").unwrap();
        let found = search(&ECHO_SERVER, None, None, &exe, true).unwrap();
        assert_eq!(found, Located::file(&built));
        let _ = std::fs::remove_dir_all(debug.parent().unwrap());
    }
}
