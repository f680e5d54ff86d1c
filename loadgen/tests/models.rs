//! Real runs against every server model, started as a child by loadgen itself: every echo must
//! come back verified, with the server's counters and resource use in the result.

mod common;

use results_model::Model;

/// One short run; returns a description of what went wrong, if anything.
fn check(model: Model, protocol: &str, pipeline: &str) -> Option<String> {
    let server = common::echo_server_bin().to_str().unwrap();
    let name = format!("{}-{protocol}-{pipeline}.json", model.name());
    let args = [
        "--model",
        model.name(),
        "--server-bin",
        server,
        "--protocol",
        protocol,
        "--pipeline",
        pipeline,
        "--clients",
        "8",
        "--threads",
        "2",
        "--duration",
        "500ms",
        "--warmup",
        "0s",
        "--size",
        "100",
    ];
    let (outcome, result) = common::loadgen(&args, &name);
    let what = format!("{} {protocol} pipeline {pipeline}", model.name());
    let Some(r) = result else {
        return Some(format!(
            "{what}: no result (exit {:?}): {}",
            outcome.code, outcome.stderr
        ));
    };
    let server = r.server.as_ref()?;
    let problems = [
        (
            outcome.code != Some(0),
            format!("exit code {:?}", outcome.code),
        ),
        (!r.passed, format!("not passed: {:?}", r.warnings)),
        (r.totals.messages == 0, "no messages".to_string()),
        (
            r.totals.connections.established != 8,
            "not all connected".to_string(),
        ),
        (server.stats.is_none(), "no server counters".to_string()),
        (
            server
                .stats
                .as_ref()
                .is_some_and(|s| s.model != model.name() || s.accepted < 8),
            format!("server counters: {:?}", server.stats),
        ),
        (
            server.exit_code != Some(0),
            format!("server exit {:?}", server.exit_code),
        ),
        (
            server.resources.max_threads == 0,
            "no /proc sample".to_string(),
        ),
        (
            r.latency_us.count != r.totals.messages,
            "histogram count != messages".to_string(),
        ),
    ];
    let failed: Vec<_> = problems
        .into_iter()
        .filter(|(bad, _)| *bad)
        .map(|(_, m)| m)
        .collect();
    (!failed.is_empty()).then(|| format!("{what}: {}", failed.join("; ")))
}

#[test]
fn every_model_serves_verified_echoes() {
    let mut failures = Vec::new();
    for (i, model) in Model::ALL.into_iter().enumerate() {
        // Raw request/response for every model, plus a framed or line run with pipelining.
        let other = ["line", "framed"][i % 2];
        failures.extend(check(model, "raw", "1"));
        failures.extend(check(model, other, "4"));
    }
    assert!(failures.is_empty(), "failed runs:\n{}", failures.join("\n"));
}
