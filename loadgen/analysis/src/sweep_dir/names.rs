//! The files of a sweep directory: one result file per repeat of a cell
//! (`<model>-<clients>c-<size>B-r<k>.json`, `<model>.aa-…` for an A/A twin), the record
//! `sweep.json`, and the report made from them.

/// File name of the sweep record ([`super::SweepRecord`]).
pub const SWEEP_FILE: &str = "sweep.json";
/// The table and everything behind it, as JSON.
pub const SUMMARY_JSON: &str = "summary.json";
/// The table, as markdown.
pub const SUMMARY_MD: &str = "summary.md";
/// Table and charts in one page that opens from disk.
pub const INDEX_HTML: &str = "index.html";
/// JSON files in a sweep directory that are not run results.
pub const NOT_RUNS: [&str; 3] = [SUMMARY_JSON, SWEEP_FILE, "schema.json"];
/// What the A/A twin's result files add to the model's name (`mio.aa-100c-64B-r1.json`).
pub const AA_FILE_TAG: &str = ".aa";
/// What the report adds to the model's name for the A/A twin's cell (`mio (A/A)`).
pub const AA_LABEL: &str = " (A/A)";

/// The result file of repeat `run` (1-based) of a cell.
pub fn run_file_name(model: &str, clients: usize, size: usize, run: usize) -> String {
    format!("{model}-{clients}c-{size}B-r{run}.json")
}

/// The model of a run as the report names its cell: `mio (A/A)` for the twin's files.
pub fn cell_model(file_name: &str, model: &str) -> String {
    if file_name.starts_with(&format!("{model}{AA_FILE_TAG}-")) {
        format!("{model}{AA_LABEL}")
    } else {
        model.to_string()
    }
}

/// The report's name for a cell named `name` in `sweep.json` (`mio.aa` is `mio (A/A)`).
pub fn record_model(name: &str) -> String {
    match name.strip_suffix(AA_FILE_TAG) {
        Some(model) => format!("{model}{AA_LABEL}"),
        None => name.to_string(),
    }
}

/// The repeat index `k` of a `...-r<k>.json` file.
pub fn run_index(file_name: &str) -> Option<usize> {
    let stem = file_name.strip_suffix(".json")?;
    let (_, k) = stem.rsplit_once("-r")?;
    k.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_indices_of_twin_files() {
        assert_eq!(cell_model("mio.aa-100c-64B-r3.json", "mio"), "mio (A/A)");
        assert_eq!(cell_model("mio-100c-64B-r3.json", "mio"), "mio");
        assert_eq!(cell_model("mio-aa.json", "mio"), "mio");
        assert_eq!(record_model("mio.aa"), "mio (A/A)");
        assert_eq!(record_model("tokio"), "tokio");
        assert_eq!(run_index("mio.aa-100c-64B-r12.json"), Some(12));
        assert_eq!(run_index("result.json"), None);
    }
}
