//! `--flamegraph` writes an on-CPU flamegraph beside the result that names the server's hot
//! function: here one planted with `--extra-work` (a busy spin in `spin_steps`).

mod common;

#[test]
fn the_flamegraph_names_a_planted_hot_function() {
    let server_bin = common::echo_server_bin().display().to_string();
    let (out, result) = common::loadgen(
        &[
            "--model",
            "mio",
            "--clients",
            "1",
            "--duration",
            "1s",
            "--warmup",
            "300ms",
            "--server-bin",
            &server_bin,
            "--server-arg=--extra-work",
            "--server-arg=20us",
            "--flamegraph",
        ],
        "flame.json",
    );
    out.assert_code(0);
    let result = result.expect("a result");
    let f = result
        .kernel
        .and_then(|k| k.flamegraph)
        .expect("a flamegraph record");
    let Some(svg) = f.svg else {
        eprintln!("skipped: no flamegraph could be drawn here: {:?}", f.notes);
        return;
    };
    assert_eq!(svg, "flame.svg");
    let text = std::fs::read_to_string(common::temp_path(&svg)).expect("the SVG beside the JSON");
    assert!(f.samples > 0);
    assert!(
        text.contains("servers::work_kind::spin_steps"),
        "the planted function is missing from the flamegraph ({} samples)",
        f.samples
    );
}
