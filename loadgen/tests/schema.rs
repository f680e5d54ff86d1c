//! results/schema.json is the schema of the result struct, and real output validates against it.

mod common;

use std::path::Path;

fn committed_schema() -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../results/schema.json");
    let text = std::fs::read_to_string(&path).expect("results/schema.json exists");
    serde_json::from_str(&text).expect("results/schema.json is JSON")
}

#[test]
fn committed_schema_matches_the_result_struct() {
    assert_eq!(
        committed_schema(),
        loadgen::RunResult::json_schema(),
        "results/schema.json is stale: regenerate it with \
         `cargo run -p loadgen -- schema > results/schema.json`"
    );
}

fn assert_valid(path: &Path) {
    let schema = committed_schema();
    let validator = jsonschema::validator_for(&schema).expect("the schema is a valid schema");
    let text = std::fs::read_to_string(path).unwrap();
    let instance: serde_json::Value = serde_json::from_str(&text).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "{} does not match the schema: {errors:#?}",
        path.display()
    );
    // And a broken file does not.
    let mut broken = instance.clone();
    broken["totals"]["messages"] = serde_json::json!("many");
    assert!(!validator.is_valid(&broken));
}

#[test]
fn real_output_validates_closed_and_open_loop() {
    let server = common::echo_server_bin().to_str().unwrap();
    let base = [
        "--model",
        "mio",
        "--server-bin",
        server,
        "--clients",
        "4",
        "--duration",
        "500ms",
        "--warmup",
        "200ms",
    ];
    for (name, extra) in [
        ("closed.json", &[][..]),
        ("open.json", &["--rate", "400"][..]),
    ] {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        let (outcome, result) = common::loadgen(&args, name);
        let result = result.expect("a result was written");
        // A busy machine may make the open loop's loadgen late: that is a verdict (exit 1),
        // and the file must validate all the same.
        let late = result
            .verdict
            .as_ref()
            .is_some_and(|v| v.late_side == Some(loadgen::verdict::LateSide::Loadgen));
        assert!(
            outcome.code == Some(0) || (late && outcome.code == Some(1)),
            "{}",
            outcome.stderr
        );
        assert_eq!(result.service_time_us.is_some(), !extra.is_empty());
        assert!(!result.timeline.is_empty());
        assert_valid(&common::temp_path(name));
    }
}
