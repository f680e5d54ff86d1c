//! Where the binaries loadgen starts are: echo-server (the server under load) and echo-proxy
//! (the delayed link). In order: the path given on the command line, else the environment
//! variable, else beside loadgen's own executable or in that directory's parent (test binaries
//! live in `target/<profile>/deps`, the workspace's binaries one level up).
//!
//! Nothing is built here: a binary that is not found is an error naming every place looked at
//! and the `cargo build` that makes it.

use std::path::{Path, PathBuf};

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

/// The path of `bin`: `flag` (`--server-bin`) when given, else its environment variable, else
/// beside the current executable or one directory up.
pub(crate) fn find(bin: &Binary, flag: Option<&Path>) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot locate loadgen's own executable")?;
    let env = std::env::var_os(bin.env).map(PathBuf::from);
    search(bin, flag, env.as_deref(), &exe)
}

/// [`find`] with its inputs given: the flag's path, the environment variable's, and the
/// current executable.
fn search(
    bin: &Binary,
    flag: Option<&Path>,
    env: Option<&Path>,
    exe: &Path,
) -> anyhow::Result<PathBuf> {
    // A path asked for by name is used or refused, never passed over for another binary.
    if let Some(path) = flag {
        if path.is_file() {
            return Ok(path.to_path_buf());
        }
        bail!("--server-bin {} does not exist", path.display());
    }
    if let Some(path) = env {
        if path.is_file() {
            return Ok(path.to_path_buf());
        }
        bail!("{}={} does not exist", bin.env, path.display());
    }
    let dir = exe.parent().unwrap_or(Path::new("."));
    let beside = dir.join(bin.name);
    let above = dir.parent().map(|up| up.join(bin.name));
    let candidates: Vec<PathBuf> = std::iter::once(beside).chain(above).collect();
    if let Some(found) = candidates.iter().find(|p| p.is_file()) {
        return Ok(found.clone());
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
        assert_eq!(search(&ECHO_SERVER, None, None, &exe).unwrap(), server);
        let beside = exe.with_file_name("echo-server");
        std::fs::write(&beside, b"").unwrap();
        assert_eq!(search(&ECHO_SERVER, None, None, &exe).unwrap(), beside);
        assert_eq!(
            search(&ECHO_SERVER, None, Some(&server), &exe).unwrap(),
            server
        );
        assert_eq!(
            search(&ECHO_SERVER, Some(&server), Some(&beside), &exe).unwrap(),
            server
        );
        let _ = std::fs::remove_dir_all(debug.parent().unwrap());
    }

    #[test]
    fn a_missing_binary_says_where_it_looked_and_what_to_build() {
        let (debug, exe) = layout("missing");
        let e = search(&ECHO_PROXY, None, None, &exe)
            .unwrap_err()
            .to_string();
        assert!(e.contains("ECHO_PROXY_BIN"), "{e}");
        assert!(
            e.contains(&debug.join("echo-proxy").display().to_string()),
            "{e}"
        );
        assert!(e.contains("cargo build --release -p servers-proxy"), "{e}");
        let e = search(&ECHO_SERVER, None, None, &exe)
            .unwrap_err()
            .to_string();
        assert!(e.contains("cargo build --release -p servers`"), "{e}");
        let gone = debug.join("gone");
        let e = search(&ECHO_SERVER, None, Some(&gone), &exe).unwrap_err();
        assert!(e.to_string().starts_with("ECHO_SERVER_BIN="), "{e}");
        let e = search(&ECHO_SERVER, Some(&gone), None, &exe).unwrap_err();
        assert!(e.to_string().starts_with("--server-bin"), "{e}");
        let _ = std::fs::remove_dir_all(debug.parent().unwrap());
    }
}
