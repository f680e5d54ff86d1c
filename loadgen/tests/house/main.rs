//! The workspace's house rules, checked on the source itself: no circle of module imports
//! inside any crate, no function over 80 lines, no source file over 500 lines, a README a
//! newcomer reads in five minutes, and one CI definition.

mod cycles;
mod lengths;
mod modules;

use std::path::{Path, PathBuf};

/// The workspace root: two levels above this package (`loadgen/`).
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("loadgen/ has a parent")
        .to_path_buf()
}

/// Every crate root of the workspace: libraries, binaries, tests, benches, examples, build scripts.
fn crate_roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    for manifest in lengths::files(&workspace(), "Cargo.toml") {
        let dir = manifest.parent().expect("a manifest has a directory");
        if dir == workspace() {
            continue;
        }
        roots.extend(modules::roots_of(dir));
    }
    assert!(
        roots.len() > 10,
        "found only {} crate roots: is the walk broken?",
        roots.len()
    );
    roots
}

#[test]
fn no_module_imports_another_that_imports_it_back() {
    let mut circles = Vec::new();
    for root in crate_roots() {
        let tree = modules::Tree::load(&root);
        for circle in cycles::strongly_connected(&tree.edges()) {
            let names: Vec<String> = circle.iter().map(|&m| tree.describe(m)).collect();
            circles.push(format!("{}: {}", root.display(), names.join(" → ")));
        }
    }
    assert!(
        circles.is_empty(),
        "module import circles:\n{}",
        circles.join("\n")
    );
}

#[test]
fn no_function_over_80_lines_and_no_file_over_500() {
    let mut long = Vec::new();
    for file in lengths::files(&workspace(), ".rs") {
        let text = std::fs::read_to_string(&file).expect("readable source");
        let lines = text.lines().count();
        if lines > 500 {
            long.push(format!("{}: {lines} lines", file.display()));
        }
        for (name, start, len) in lengths::functions(&text) {
            if len > 80 {
                long.push(format!(
                    "{}:{start}: fn {name} is {len} lines",
                    file.display()
                ));
            }
        }
    }
    assert!(long.is_empty(), "over the limits:\n{}", long.join("\n"));
}

#[test]
fn readme_is_a_five_minute_read_that_starts_with_the_two_commands() {
    let readme = std::fs::read_to_string(workspace().join("README.md")).expect("README.md");
    assert!(
        readme.len() <= 10_000,
        "README.md is {} bytes; the limit is 10,000",
        readme.len()
    );
    let head: String = readme.lines().take(10).collect::<Vec<_>>().join("\n");
    for command in [
        "cargo run --release -p loadgen -- --model threads --clients 1000",
        "cargo test --workspace",
    ] {
        assert!(
            head.contains(command),
            "the README's first lines lack `{command}`"
        );
    }
}

#[test]
fn the_github_workflow_runs_ci_run_and_nothing_else() {
    let workflow = std::fs::read_to_string(workspace().join(".github/workflows/ci.yml"))
        .expect(".github/workflows/ci.yml");
    let runs: Vec<&str> = workflow
        .lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix("run:").or_else(|| l.strip_prefix("- run:")))
        .map(str::trim)
        .collect();
    assert!(
        runs.iter().any(|r| r.contains(".ci/run")),
        "the workflow never runs .ci/run"
    );
    let own: Vec<&&str> = runs
        .iter()
        .filter(|r| r.contains("cargo ") || r.contains("scripts/"))
        .collect();
    assert!(
        own.is_empty(),
        "the workflow runs steps of its own beside .ci/run: {own:?}"
    );
}
