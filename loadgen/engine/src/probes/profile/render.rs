//! Folded stacks drawn as an on-CPU flamegraph SVG (inferno).

/// The SVG of `folded` lines (`root;...;leaf count`) titled `title`; `Err` with the reason when
/// there is nothing to draw.
pub(crate) fn svg(folded: &[String], title: &str) -> Result<String, String> {
    if folded.is_empty() {
        return Err("no samples: the server did not run on a CPU during the window".into());
    }
    let mut options = inferno::flamegraph::Options::default();
    options.title = title.to_string();
    options.count_name = "samples".to_string();
    let mut out = Vec::new();
    inferno::flamegraph::from_lines(&mut options, folded.iter().map(String::as_str), &mut out)
        .map_err(|e| format!("cannot draw the flamegraph: {e}"))?;
    String::from_utf8(out).map_err(|e| format!("the flamegraph is not UTF-8: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_the_named_frames() {
        let svg = svg(
            &["main;serve;spin_for 5".into(), "main;serve 1".into()],
            "t",
        )
        .unwrap();
        assert!(
            svg.contains("spin_for") && svg.starts_with("<?xml"),
            "{}",
            &svg[..200]
        );
        assert!(super::svg(&[], "t").is_err());
    }
}
