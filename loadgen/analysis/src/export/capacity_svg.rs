//! The capacity "hockey stick": offered rate against corrected p50/p99/p99.9 (log scale), the
//! SLO as a horizontal line and the capacity found as a vertical one.

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use results_model::capacity::{Capacity, Probe};
use results_model::format;

/// Picks one latency of a point.
type Pick = fn(&Probe) -> u64;

/// Renders the curve of `c` (for `model`) as an SVG document.
pub fn chart(model: &str, c: &Capacity) -> anyhow::Result<String> {
    let mut points: Vec<_> = c.curve.iter().filter(|p| p.offered_rate > 0.0).collect();
    points.sort_by(|a, b| a.offered_rate.total_cmp(&b.offered_rate));
    let lg = |us: u64| (us.max(1) as f64).log10();
    let x_max = points.iter().map(|p| p.offered_rate).fold(1.0, f64::max) * 1.05;
    let y_hi = points
        .iter()
        .map(|p| lg(p.p99_9_us))
        .fold(lg(c.slo.limit_us), f64::max)
        .ceil()
        .max(1.0);
    let fail = |e: &dyn std::fmt::Debug| anyhow::anyhow!("cannot draw the capacity chart: {e:?}");
    let title = format!(
        "{model}: corrected latency vs offered rate (SLO {}, capacity {})",
        c.slo,
        c.rate.map_or("none".to_string(), |r| format!(
            "{} msgs/s",
            format::count(r)
        ))
    );
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (880, 520)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(&e))?;
        let mut chart = super::svg::framed(&root, (&title, 18), (0.0..x_max, 0.0..y_hi))
            .map_err(|e| fail(&e))?;
        let y_fmt = |v: &f64| format::duration_us(10f64.powf(*v).round());
        let x_fmt = |v: &f64| format::count(*v);
        chart
            .configure_mesh()
            .x_desc("offered rate (msgs/s)")
            .y_desc("corrected latency")
            .y_labels(y_hi as usize + 1)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .max_light_lines(0)
            .bold_line_style(BLACK.mix(0.12))
            .draw()
            .map_err(|e| fail(&e))?;
        draw_latencies(&mut chart, &points)?;
        let red = RGBColor(214, 39, 40);
        let slo = lg(c.slo.limit_us);
        chart
            .draw_series(LineSeries::new(
                [(0.0, slo), (x_max, slo)],
                red.stroke_width(1),
            ))
            .map_err(|e| fail(&e))?
            .label("SLO")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], red));
        if let Some(rate) = c.rate {
            chart
                .draw_series(LineSeries::new(
                    [(rate, 0.0), (rate, y_hi)],
                    BLACK.stroke_width(1),
                ))
                .map_err(|e| fail(&e))?
                .label("capacity")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| fail(&e))?;
        root.present().map_err(|e| fail(&e))?;
    }
    Ok(svg)
}

/// The chart's coordinates: offered rate against log10 of the latency in µs.
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Draws p50, p99 and p99.9 of every point as lines with markers.
fn draw_latencies(chart: &mut Chart, points: &[&Probe]) -> anyhow::Result<()> {
    let fail = |e: &dyn std::fmt::Debug| anyhow::anyhow!("cannot draw the capacity chart: {e:?}");
    let lg = |us: u64| (us.max(1) as f64).log10();
    let series: [(&str, RGBColor, Pick); 3] = [
        ("p50", RGBColor(44, 160, 44), |p| p.p50_us),
        ("p99", RGBColor(31, 119, 180), |p| p.p99_us),
        ("p99.9", RGBColor(255, 127, 14), |p| p.p99_9_us),
    ];
    for (name, color, pick) in series {
        let line: Vec<(f64, f64)> = points
            .iter()
            .map(|p| (p.offered_rate, lg(pick(p))))
            .collect();
        let stroke = color.stroke_width(2);
        chart
            .draw_series(LineSeries::new(line.iter().copied(), stroke))
            .map_err(|e| fail(&e))?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], stroke));
        chart
            .draw_series(line.iter().map(|&p| Circle::new(p, 3, color.filled())))
            .map_err(|e| fail(&e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use results_model::capacity::{Limit, Slo};

    #[test]
    fn draws_the_curve_the_slo_and_the_capacity() {
        let probe = |rate: f64, p99: u64| Probe {
            offered_rate: rate,
            p50_us: p99 / 4,
            p99_us: p99,
            p99_9_us: p99 * 2,
            ..Probe::default()
        };
        let c = Capacity {
            slo: Slo {
                percentile: 99.0,
                limit_us: 1000,
            },
            rate: Some(8000.0),
            limit: Limit::Slo,
            confirmed: true,
            found: Some(8000.0),
            rule: String::new(),
            curve: vec![
                probe(1000.0, 80),
                probe(8000.0, 400),
                probe(16000.0, 90_000),
            ],
        };
        let svg = chart("mio", &c).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("p99.9") && svg.contains("capacity"));
        assert!(svg.contains("8,000 msgs/s"));
    }
}
