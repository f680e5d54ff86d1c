//! How a test that cannot run on this machine says so. A skip is never silent: it writes
//! `skipped: <facility>: <reason>` straight to stderr (past the test harness's capture, which
//! hides what passing tests print) and, when `ECHOBENCH_SKIP_LOG` names a file, appends the same
//! line to it. `.ci/run` sets that file, counts the skips in its summary, and fails when a test
//! skipped for a facility the CI machine has ([`CI_HAS`]).

use std::io::Write;

/// The facilities tests skip for, by the name a skip line gives them.
pub mod facility {
    /// io_uring (the `uring` model).
    pub const IO_URING: &str = "io_uring";
    /// Root, to create network namespaces.
    pub const ROOT: &str = "root";
    /// Kernel receive timestamps on TCP data (SO_TIMESTAMPNS).
    pub const RX_TIMESTAMPS: &str = "rx-timestamps";
    /// Per-thread scheduler statistics, /proc/<pid>/task/*/schedstat (CONFIG_SCHEDSTATS).
    pub const SCHEDSTAT: &str = "schedstat";
    /// More file descriptors than the hard limit allows.
    pub const FDS: &str = "fds";
}

/// The facilities the CI machine has: a skip for one of these fails `.ci/run`.
pub const CI_HAS: [&str; 4] = [
    facility::IO_URING,
    facility::ROOT,
    facility::RX_TIMESTAMPS,
    facility::SCHEDSTAT,
];

/// The environment variable naming the file skips are appended to.
pub const SKIP_LOG_ENV: &str = "ECHOBENCH_SKIP_LOG";

/// The line a skip writes: `skipped: <facility>: <reason>`.
pub fn skip_line(facility: &str, reason: &str) -> String {
    format!("skipped: {facility}: {reason}")
}

/// Reports that the calling test skips for want of `facility`, and why.
pub fn skip(facility: &str, reason: &str) {
    let line = skip_line(facility, reason);
    let _ = writeln!(std::io::stderr(), "{line}");
    if let Some(path) = std::env::var_os(SKIP_LOG_ENV) {
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| writeln!(f, "{line}"));
        if let Err(e) = appended {
            let _ = writeln!(std::io::stderr(), "could not log the skip: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skip_line_names_its_facility_first() {
        assert_eq!(
            skip_line(facility::ROOT, "needs root"),
            "skipped: root: needs root"
        );
    }

    #[test]
    fn ci_checks_every_facility_its_machine_has() {
        let run = include_str!("../../.ci/run");
        let line = run
            .lines()
            .find(|l| l.starts_with("ci_has="))
            .expect(".ci/run lists the facilities it has in ci_has=");
        let listed: Vec<&str> = line["ci_has=".len()..]
            .trim_matches('"')
            .split(' ')
            .collect();
        assert_eq!(listed, CI_HAS);
    }
}
