//! SVG charts of a sweep, drawn with plotters: one line per model, the model's name in the
//! legend.
//!
//! Log axes are drawn as linear axes over log10 of the value, labelled with the value itself:
//! one code path for every chart, and tick labels we control (`1k clients`, `99.9%`, `2ms`).
//! The latency spectrum's x axis is the "nines" scale of HdrHistogram plots: x = −log10(1 − q),
//! so 90%, 99%, 99.9% sit one unit apart and the tail gets the room it deserves.

use std::ops::Range;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::report::Cell;
use results_model::format;

/// Line colours (the "tab10" set): distinct from each other and readable on white.
const COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
/// Largest number of nines drawn on the spectrum (99.999%).
const MAX_NINES: f64 = 5.0;
/// Spectrum resolution on the nines axis.
const NINES_STEP: f64 = 0.05;

/// File name of the server CPU per message chart.
pub const SERVER_CPU_CHART: &str = "server-cpu-per-msg.svg";
/// The file of the server-system-calls-per-message chart.
pub const SERVER_SYSCALLS_CHART: &str = "server-syscalls-per-msg.svg";

/// One chart, rendered.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    /// File name in the sweep directory.
    pub file: &'static str,
    /// What it shows, for the page.
    pub title: String,
    /// The SVG document.
    pub svg: String,
}

/// A model's line.
struct Series {
    name: String,
    points: Vec<(f64, f64)>,
    /// Intervals drawn as vertical whiskers: (x, low, high).
    whiskers: Vec<(f64, f64, f64)>,
}

/// How an axis maps and labels values.
#[derive(Clone, Copy)]
enum Axis {
    /// Linear from zero, labels from `fmt`.
    Linear(fn(f64) -> String),
    /// log10 of the value, labels from `fmt` applied to the value.
    Log(fn(f64) -> String),
    /// The nines scale; values are already −log10(1 − q).
    Nines,
}

impl Axis {
    fn map(self, v: f64) -> Option<f64> {
        match self {
            Axis::Linear(_) | Axis::Nines => v.is_finite().then_some(v),
            Axis::Log(_) => (v > 0.0 && v.is_finite()).then(|| v.log10()),
        }
    }

    fn label(self, v: f64) -> String {
        match self {
            Axis::Linear(fmt) => fmt(v),
            Axis::Log(fmt) => fmt(10f64.powf(v)),
            Axis::Nines => nines_label(v),
        }
    }

    /// The drawn range for mapped values in `lo..hi`, with a margin.
    fn range(self, lo: f64, hi: f64) -> (f64, f64) {
        match self {
            Axis::Linear(_) => (0.0, if hi > 0.0 { hi * 1.1 } else { 1.0 }),
            Axis::Nines => (0.0, hi.max(1.0)),
            Axis::Log(_) if hi - lo < 0.5 => (lo - 0.5, hi + 0.5),
            Axis::Log(_) => (lo - 0.1, hi + 0.1),
        }
    }
}

/// Every chart of a sweep: throughput, p99, server RSS per connection and server CPU per message
/// against clients, and the latency spectrum at `spectrum_clients`.
pub fn charts(cells: &[Cell], spectrum_clients: Option<usize>) -> anyhow::Result<Vec<Chart>> {
    let per_model = |f: &dyn Fn(&Cell) -> Option<f64>| -> Vec<Series> {
        models(cells)
            .into_iter()
            .map(|name| Series {
                points: cells
                    .iter()
                    .filter(|c| c.summary.key.model == name)
                    .filter_map(|c| Some((c.summary.key.clients as f64, f(c)?)))
                    .collect(),
                name,
                whiskers: Vec::new(),
            })
            .collect()
    };
    let clients = ("clients", Axis::Log(clients_label));
    let spectrum_title = match spectrum_clients {
        Some(n) => format!("Latency by percentile at {n} clients"),
        None => "Latency by percentile (no cell ran)".to_string(),
    };
    Ok(vec![
        chart(
            "throughput.svg",
            "Throughput vs clients (median msgs/s)".to_string(),
            (clients, ("msgs/s", Axis::Linear(rate_label))),
            &per_model(&|c| c.summary.msgs_per_sec.map(|s| s.median)),
            (Legend::LowerRight, MARKERS),
        )?,
        chart(
            "p99.svg",
            "p99 latency vs clients".to_string(),
            (clients, ("p99 latency", Axis::Log(us_label))),
            &per_model(&|c| c.summary.p99_us.map(|s| s.median)),
            (Legend::UpperLeft, MARKERS),
        )?,
        chart(
            "spectrum.svg",
            spectrum_title,
            (
                ("percentile", Axis::Nines),
                ("latency", Axis::Log(us_label)),
            ),
            &spectrum_series(cells, spectrum_clients),
            (Legend::UpperLeft, !MARKERS),
        )?,
        chart(
            "rss.svg",
            "Server RSS per connection vs clients (peak RSS / clients)".to_string(),
            (clients, ("RSS per connection", Axis::Log(format::bytes))),
            &per_model(&|c| c.summary.server_rss_per_conn_bytes),
            (Legend::UpperRight, MARKERS),
        )?,
        chart(
            SERVER_CPU_CHART,
            "Server CPU per message by model and clients (median, 95% interval)".to_string(),
            (
                clients,
                ("server CPU per message", Axis::Linear(cpu_us_label)),
            ),
            &with_cpu_whiskers(
                per_model(&|c| c.summary.server_cpu_ns_per_msg.map(|s| s.median / 1000.0)),
                cells,
            ),
            (Legend::UpperRight, MARKERS),
        )?,
        chart(
            SERVER_SYSCALLS_CHART,
            "Server system calls per message by model and clients (median)".to_string(),
            (
                clients,
                ("system calls per message", Axis::Linear(count_label)),
            ),
            &per_model(&|c| c.summary.server_syscalls_per_msg.map(|s| s.median)),
            (Legend::UpperRight, MARKERS),
        )?,
    ])
}

/// `series` with each cell's server CPU per message interval (µs) as whiskers.
fn with_cpu_whiskers(mut series: Vec<Series>, cells: &[Cell]) -> Vec<Series> {
    for s in &mut series {
        s.whiskers = cells
            .iter()
            .filter(|c| c.summary.key.model == s.name)
            .filter_map(|c| {
                let i = c.summary.server_cpu_ns_per_msg_ci?;
                let x = c.summary.key.clients as f64;
                Some((x, i.low / 1000.0, i.high / 1000.0))
            })
            .collect();
    }
    series
}

/// One chart, drawn.
fn chart(
    file: &'static str,
    title: String,
    (x, y): ((&str, Axis), (&str, Axis)),
    series: &[Series],
    style: (Legend, bool),
) -> anyhow::Result<Chart> {
    let svg = line_chart(&title, x, y, series, style)?;
    Ok(Chart { file, title, svg })
}

/// Each model's latency spectrum at `clients`.
fn spectrum_series(cells: &[Cell], clients: Option<usize>) -> Vec<Series> {
    models(cells)
        .into_iter()
        .map(|name| {
            let points = cells
                .iter()
                .find(|c| c.summary.key.model == name && Some(c.summary.key.clients) == clients)
                .and_then(|c| c.latency.as_ref())
                .map(spectrum)
                .unwrap_or_default();
            Series {
                name,
                points,
                whiskers: Vec::new(),
            }
        })
        .collect()
}

/// Model names in table order, each once.
fn models(cells: &[Cell]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for c in cells {
        if !names.contains(&c.summary.key.model) {
            names.push(c.summary.key.model.clone());
        }
    }
    names
}

/// (nines, µs) points of a histogram, up to the deepest percentile its count supports.
fn spectrum(h: &results_model::histogram::LatencyHistogram) -> Vec<(f64, f64)> {
    if h.is_empty() {
        return Vec::new();
    }
    let deepest = (h.len() as f64).log10().min(MAX_NINES);
    let steps = (deepest / NINES_STEP).floor() as usize;
    (0..=steps)
        .map(|i| {
            let nines = i as f64 * NINES_STEP;
            let q = 1.0 - 10f64.powf(-nines);
            (nines, h.value_at_quantile(q) as f64)
        })
        .collect()
}

/// Where a chart's legend goes: where its lines usually are not.
#[derive(Clone, Copy)]
enum Legend {
    UpperLeft,
    UpperRight,
    LowerRight,
}

/// Whether each point gets a marker (not on dense curves such as the spectrum).
const MARKERS: bool = true;

/// The points of `series` on the two axes' scales, and the ranges to draw.
#[allow(clippy::type_complexity)]
fn map_series(
    series: &[Series],
    x_axis: Axis,
    y_axis: Axis,
) -> (Vec<Vec<(f64, f64)>>, (f64, f64), (f64, f64)) {
    let mapped: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|s| {
            s.points
                .iter()
                .filter_map(|&(px, py)| Some((x_axis.map(px)?, y_axis.map(py)?)))
                .collect()
        })
        .collect();
    let ends: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|s| &s.whiskers)
        .flat_map(|&(px, lo, hi)| [(px, lo), (px, hi)])
        .filter_map(|(px, py)| Some((x_axis.map(px)?, y_axis.map(py)?)))
        .collect();
    let bounds = |pick: fn(&(f64, f64)) -> f64| {
        let all = mapped.iter().flatten().chain(&ends).map(pick);
        let lo = all.clone().fold(f64::INFINITY, f64::min);
        let hi = all.fold(f64::NEG_INFINITY, f64::max);
        if lo.is_finite() {
            (lo, hi)
        } else {
            (0.0, 1.0)
        }
    };
    let (xl, xh) = bounds(|p| p.0);
    let (yl, yh) = bounds(|p| p.1);
    let x = x_axis.range(xl, xh);
    let y = y_axis.range(yl, yh);
    (mapped, x, y)
}

/// Draws `series` as lines (and markers) on one chart, as SVG text.
fn line_chart(
    title: &str,
    x: (&str, Axis),
    y: (&str, Axis),
    series: &[Series],
    (legend, markers): (Legend, bool),
) -> anyhow::Result<String> {
    let (x_desc, x_axis) = x;
    let (y_desc, y_axis) = y;
    let (mapped, (x0, x1), (y0, y1)) = map_series(series, x_axis, y_axis);
    let fail = |e: &dyn std::fmt::Debug| anyhow::anyhow!("cannot draw chart {title:?}: {e:?}");

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (880, 520)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(&e))?;
        let mut chart = framed(&root, (title, 22), (x0..x1, y0..y1)).map_err(|e| fail(&e))?;
        let x_fmt = |v: &f64| x_axis.label(*v);
        let y_fmt = |v: &f64| y_axis.label(*v);
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_labels(integer_ticks(x_axis, x0, x1))
            .y_labels(integer_ticks(y_axis, y0, y1))
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .max_light_lines(0)
            .bold_line_style(BLACK.mix(0.12))
            .draw()
            .map_err(|e| fail(&e))?;
        for (i, (s, points)) in series.iter().zip(&mapped).enumerate() {
            let color = COLORS[i % COLORS.len()].to_rgba();
            let stroke = color.stroke_width(2);
            chart
                .draw_series(LineSeries::new(points.iter().copied(), stroke))
                .map_err(|e| fail(&e))?
                .label(s.name.as_str())
                .legend(move |(lx, ly)| PathElement::new(vec![(lx, ly), (lx + 20, ly)], stroke));
            if markers {
                chart
                    .draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))
                    .map_err(|e| fail(&e))?;
            }
            let whiskers = s.whiskers.iter().filter_map(|&(px, lo, hi)| {
                let x = x_axis.map(px)?;
                Some(PathElement::new(
                    vec![(x, y_axis.map(lo)?), (x, y_axis.map(hi)?)],
                    color.stroke_width(1),
                ))
            });
            chart.draw_series(whiskers).map_err(|e| fail(&e))?;
        }
        chart
            .configure_series_labels()
            .position(match legend {
                Legend::UpperLeft => SeriesLabelPosition::UpperLeft,
                Legend::UpperRight => SeriesLabelPosition::UpperRight,
                Legend::LowerRight => SeriesLabelPosition::LowerRight,
            })
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| fail(&e))?;
        root.present().map_err(|e| fail(&e))?;
    }
    Ok(svg)
}

/// `1`, `100`, `10k` on a log axis; ticks between powers of ten get a short form too.
fn clients_label(v: f64) -> String {
    let n = v.round();
    if n >= 1000.0 {
        format!("{}k", format::count(n / 1000.0))
    } else {
        format!("{n:.0}")
    }
}

/// `4.5µs` (CPU time per message).
fn cpu_us_label(v: f64) -> String {
    format!("{v:.1}µs")
}

fn count_label(v: f64) -> String {
    format!("{v:.1}")
}

fn rate_label(v: f64) -> String {
    if v >= 1000.0 {
        format!("{}k", format::count(v / 1000.0))
    } else {
        format!("{v:.0}")
    }
}

/// Ticks one per unit on log and nines axes (powers of ten, 90/99/99.9%); plotters' choice on
/// linear ones.
fn integer_ticks(axis: Axis, lo: f64, hi: f64) -> usize {
    match axis {
        Axis::Linear(_) => 10,
        Axis::Log(_) | Axis::Nines => ((hi - lo).floor() as usize + 1).clamp(2, 12),
    }
}

/// A latency axis tick, µs.
fn us_label(v: f64) -> String {
    format::duration_us(v)
}

/// `90%`, `99.9%` for the nines axis.
fn nines_label(v: f64) -> String {
    let pct = 100.0 * (1.0 - 10f64.powf(-v));
    let decimals = (v.ceil() as i64 - 2).max(0) as usize;
    format!("{pct:.decimals$}%")
}

/// A chart over two linear f64 axes, drawn into an SVG string.
pub(crate) type Framed<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;
/// Why a chart could not be drawn.
pub(crate) type FrameError<'b> =
    DrawingAreaErrorKind<<SVGBackend<'b> as DrawingBackend>::ErrorType>;

/// The chart every SVG here draws on: `root` with `title` in `font_size`, the same margins and
/// label areas, over `x` × `y`.
pub(crate) fn framed<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    (title, font_size): (&str, u32),
    (x, y): (Range<f64>, Range<f64>),
) -> Result<Framed<'a, 'b>, FrameError<'b>> {
    ChartBuilder::on(root)
        .caption(title, ("sans-serif", font_size))
        .margin(14)
        .margin_right(30)
        .x_label_area_size(48)
        .y_label_area_size(90)
        .build_cartesian_2d(x, y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_labels() {
        assert_eq!(nines_label(0.0), "0%");
        assert_eq!(nines_label(1.0), "90%");
        assert_eq!(nines_label(3.0), "99.9%");
        assert_eq!(clients_label(10f64.powf(4.0)), "10k");
        assert_eq!(Axis::Log(clients_label).label(2.0), "100");
        assert_eq!(us_label(316.2), "316us");
        assert_eq!(us_label(3162.0), "3.16ms");
        assert_eq!(us_label(100_000.0), "100ms");
        assert_eq!(us_label(2_000_000.0), "2s");
    }

    #[test]
    fn spectrum_reaches_the_tail() {
        let mut h = results_model::histogram::LatencyHistogram::new();
        for us in 1..=1000 {
            h.record_us(us);
        }
        let points = spectrum(&h);
        assert_eq!(points.first().map(|p| p.0), Some(0.0));
        assert!(
            (points.last().unwrap().0 - 3.0).abs() < 1e-9,
            "1000 values: 3 nines"
        );
        assert!(points.windows(2).all(|w| w[0].1 <= w[1].1), "monotonic");
    }
}
