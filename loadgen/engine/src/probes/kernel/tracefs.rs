//! Where tracepoint ids come from: tracefs, at `/sys/kernel/tracing` (or under debugfs). When
//! neither is mounted, loadgen mounts tracefs itself (root only); when that fails, every
//! tracepoint is reported absent with the reason.

use std::path::{Path, PathBuf};

/// Where tracefs is normally mounted.
const TRACEFS: &str = "/sys/kernel/tracing";
/// Where older systems reach it, through debugfs.
const DEBUGFS_TRACING: &str = "/sys/kernel/debug/tracing";

/// The `events/` directory of a mounted tracefs, or why there is none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Tracefs {
    /// tracefs' `events/` directory.
    Events(PathBuf),
    /// No tracefs could be had: the reason.
    Missing(String),
}

impl Tracefs {
    /// Finds tracefs, mounting it at `/sys/kernel/tracing` when nothing is mounted there.
    pub fn find() -> Tracefs {
        for root in [TRACEFS, DEBUGFS_TRACING] {
            let events = Path::new(root).join("events");
            if events.is_dir() {
                return Tracefs::Events(events);
            }
        }
        match mount_tracefs() {
            Ok(()) if Path::new(TRACEFS).join("events").is_dir() => {
                Tracefs::Events(Path::new(TRACEFS).join("events"))
            }
            Ok(()) => Tracefs::Missing(format!("tracefs mounted at {TRACEFS} has no events/")),
            Err(e) => Tracefs::Missing(format!(
                "no tracefs at {TRACEFS} or {DEBUGFS_TRACING}, and mounting it failed: {e}"
            )),
        }
    }

    /// A tracefs rooted at `events` (tests use a directory of their own).
    #[cfg(test)]
    pub fn at(events: &Path) -> Tracefs {
        Tracefs::Events(events.to_path_buf())
    }

    /// The id of tracepoint `system:name`; `Ok(None)` when this kernel has no such tracepoint
    /// but does have its system (the call does not exist here); `Err` with the reason otherwise.
    pub fn id(&self, system: &str, name: &str) -> Result<Option<u64>, String> {
        let events = match self {
            Tracefs::Events(events) => events,
            Tracefs::Missing(why) => return Err(why.clone()),
        };
        let dir = events.join(system);
        if !dir.is_dir() {
            return Err(format!(
                "{} does not exist (this kernel has no {system} tracepoints)",
                dir.display()
            ));
        }
        let file = dir.join(name).join("id");
        match std::fs::read_to_string(&file) {
            Ok(text) => text
                .trim()
                .parse()
                .map(Some)
                .map_err(|e| format!("{}: {e}", file.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("cannot read {}: {e}", file.display())),
        }
    }
}

/// Mounts tracefs at its usual place (needs CAP_SYS_ADMIN).
fn mount_tracefs() -> nix::Result<()> {
    nix::mount::mount(
        Some("tracefs"),
        TRACEFS,
        Some("tracefs"),
        nix::mount::MsFlags::empty(),
        None::<&str>,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_missing_calls_are_none_and_a_missing_system_is_an_error() {
        let dir = std::env::temp_dir().join(format!("tracefs-test-{}", std::process::id()));
        let tp = dir.join("syscalls").join("sys_enter_read");
        std::fs::create_dir_all(&tp).unwrap();
        std::fs::write(tp.join("id"), "642\n").unwrap();
        let fs = Tracefs::at(&dir);
        assert_eq!(fs.id("syscalls", "sys_enter_read"), Ok(Some(642)));
        assert_eq!(fs.id("syscalls", "sys_enter_nothing"), Ok(None));
        assert!(fs.id("raw_syscalls", "sys_enter").is_err());
        let missing = Tracefs::Missing("no tracefs".into());
        assert_eq!(
            missing.id("syscalls", "sys_enter_read"),
            Err("no tracefs".into())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
