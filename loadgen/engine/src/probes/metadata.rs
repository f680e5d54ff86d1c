//! What makes a run reproducible (the result's `meta`): the command line, the build (commit,
//! dirty flag, rustc, profile), the CPU's model, SMT and governor, the run's start and end
//! times, and the load average before it. The CPU and the load average come from /proc
//! ([`super::proc`]); SMT and the governor from /sys.
//!
//! Build facts come from compile-time environment variables the engine's build script sets:
//! vergen's `VERGEN_GIT_SHA` and `VERGEN_GIT_DIRTY`, and `LOADGEN_RUSTC_VERSION` and
//! `LOADGEN_BUILD_PROFILE` (`rustc --version` and cargo's profile).

use std::time::SystemTime;

use results_model::meta::RunMeta;

use super::proc;

/// The machine and build facts known before a run starts; `ended_at` is set by [`finish`].
///
/// [`finish`]: finish()
pub(crate) fn before_run(started_at: SystemTime) -> RunMeta {
    RunMeta {
        argv: std::env::args_os()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
        git_commit: git_commit().to_string(),
        git_dirty: git_dirty(),
        rustc_version: option_env!("LOADGEN_RUSTC_VERSION").map(str::to_string),
        build_profile: option_env!("LOADGEN_BUILD_PROFILE")
            .unwrap_or(if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            })
            .to_string(),
        cpu_model: proc::cpu_model(),
        smt_active: read_trimmed("/sys/devices/system/cpu/smt/active").map(|s| s == "1"),
        governor: read_trimmed("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
        started_at: rfc3339_nanos(started_at),
        ended_at: String::new(),
        loadavg_before: proc::loadavg(),
    }
}

/// Stamps the end of the run on `meta`.
pub(crate) fn finish(mut meta: RunMeta, ended_at: SystemTime) -> RunMeta {
    meta.ended_at = rfc3339_nanos(ended_at);
    meta
}

/// The short hash of the commit this was built from, or `unknown` outside a git checkout.
pub(crate) fn git_commit() -> &'static str {
    vergen_value(option_env!("VERGEN_GIT_SHA")).unwrap_or("unknown")
}

fn git_dirty() -> Option<bool> {
    match vergen_value(option_env!("VERGEN_GIT_DIRTY")) {
        Some("true") => Some(true),
        Some("false") => Some(false),
        _ => None,
    }
}

/// A vergen variable's value; `None` when unset or vergen's placeholder (no git, no rustc).
fn vergen_value(v: Option<&'static str>) -> Option<&'static str> {
    v.filter(|v| !v.is_empty() && *v != "VERGEN_IDEMPOTENT_OUTPUT")
}

/// `2026-01-31T12:00:00.123456789Z`.
fn rfc3339_nanos(t: SystemTime) -> String {
    humantime::format_rfc3339_nanos(t).to_string()
}

fn read_trimmed(path: &str) -> Option<String> {
    let s = std::fs::read_to_string(path).ok()?;
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_the_command_line_and_times() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::new(1_700_000_000, 123_456_789);
        let m = finish(before_run(t), t + std::time::Duration::from_nanos(1));
        assert_eq!(m.argv.len(), std::env::args_os().count());
        assert_eq!(m.started_at, "2023-11-14T22:13:20.123456789Z");
        assert_eq!(m.ended_at, "2023-11-14T22:13:20.123456790Z");
        assert!(!m.build_profile.is_empty());
        assert_eq!(m.loadavg_before.is_some(), proc::loadavg().is_some());
    }
}
