//! The result JSON: where it goes by default, and writing it (`-` means stdout).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context;

use results_model::result::RunResult;

/// `results/<model>-<clients>c-<size>B-<UTC timestamp>.json`, the timestamp taken from the
/// result's start time (`20260131T120000Z`), so a file name says what and when; a shard's
/// name ends in `-shard<I>of<N>`.
pub fn default_path(result: &RunResult) -> PathBuf {
    let stamp: String = result
        .started_at
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let stamp = if stamp.is_empty() {
        humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
    } else {
        stamp
    };
    // Shards of one run start in the same second: each needs a name of its own.
    let shard = match &result.config.shard {
        Some(results_model::Shard {
            index: Some(i),
            count,
            ..
        }) => format!("-shard{i}of{count}"),
        _ => String::new(),
    };
    PathBuf::from("results").join(format!(
        "{}-{}c-{}B-{}{shard}.json",
        result.config.target.label(),
        result.config.clients,
        result.config.size,
        stamp
    ))
}

/// Writes the flamegraph `result` drew beside the JSON at `path`; returns the result naming
/// the SVG (`None` when there is no flamegraph to write).
fn flamegraph_beside(result: &RunResult, path: &Path) -> anyhow::Result<Option<RunResult>> {
    let Some(svg) = result
        .kernel
        .as_ref()
        .and_then(|k| k.flamegraph.as_ref()?.rendered.as_ref())
    else {
        return Ok(None);
    };
    let json_path = if path == Path::new("-") || std::fs::metadata(path).is_ok_and(|m| !m.is_file())
    {
        default_path(result)
    } else {
        path.to_path_buf()
    };
    let svg_path = json_path.with_extension("svg");
    if let Some(dir) = svg_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(&svg_path, svg)
        .with_context(|| format!("cannot write {}", svg_path.display()))?;
    let mut named = result.clone();
    if let Some(f) = named.kernel.as_mut().and_then(|k| k.flamegraph.as_mut()) {
        f.svg = svg_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        f.rendered = None;
    }
    Ok(Some(named))
}

/// Writes `result` to `path` (`-`: stdout), creating parent directories, and its flamegraph,
/// if it drew one, beside it (`<name>.svg`; with stdout, beside the default path). Returns
/// where the JSON went, for the summary.
pub fn write(result: &RunResult, path: &Path) -> anyhow::Result<String> {
    let with_svg;
    let result = match flamegraph_beside(result, path)? {
        Some(r) => {
            with_svg = r;
            &with_svg
        }
        None => result,
    };
    let json = result.to_json();
    if path == Path::new("-") {
        let mut out = std::io::stdout().lock();
        out.write_all(json.as_bytes())
            .and_then(|()| out.flush())
            .context("cannot write the result to stdout")?;
        return Ok("stdout".to_string());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    // A device or a pipe (`--output /dev/null`, a FIFO) is written in place: renaming a
    // temporary file over it would replace the device node itself (as root, /dev/null).
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        std::fs::write(path, json).with_context(|| format!("cannot write {}", path.display()))?;
        return Ok(path.display().to_string());
    }
    // Write then rename, so a reader never sees half a file.
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, json).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path.display().to_string())
}
