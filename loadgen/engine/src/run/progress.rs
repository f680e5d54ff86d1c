//! The per-second timeline, assembled from every worker's ticks, and the progress line on
//! stderr (an indicatif bar when stderr is a terminal, plain lines otherwise, nothing with
//! `--quiet`).

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use results_model::format;

use crate::driver::stats::Tick;
use results_model::histogram::LatencyHistogram;
use results_model::result::TimelinePoint;

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Nothing on stderr but errors.
    Quiet,
    /// A bar on a terminal, one line a second otherwise.
    Auto,
}

#[derive(Default)]
struct Partial {
    reported: usize,
    connected: u64,
    msgs: u64,
    errors: u64,
    hist: Option<LatencyHistogram>,
}

/// Timeline points, each completed once every worker reported its interval.
pub(crate) struct Timeline {
    ends: Vec<Duration>,
    warmup: Duration,
    workers: usize,
    pending: Vec<Partial>,
    next: usize,
    points: Vec<TimelinePoint>,
}

impl Timeline {
    /// A timeline over intervals ending at `ends`, fed by `workers` workers.
    pub fn new(ends: Vec<Duration>, warmup: Duration, workers: usize) -> Self {
        let pending = ends.iter().map(|_| Partial::default()).collect();
        Timeline {
            ends,
            warmup,
            workers,
            pending,
            next: 0,
            points: Vec::new(),
        }
    }

    /// Adds one worker's tick; returns how many points it completed (see [`Timeline::points`]).
    pub fn add(&mut self, tick: Tick) -> usize {
        let Some(p) = self.pending.get_mut(tick.interval) else {
            return 0;
        };
        p.reported += 1;
        p.connected += tick.connected;
        p.msgs += tick.msgs;
        p.errors += tick.errors;
        match &mut p.hist {
            Some(h) => h.add(&tick.hist),
            None => p.hist = Some(tick.hist),
        }
        let before = self.points.len();
        while self.next < self.ends.len() && self.pending[self.next].reported >= self.workers {
            let p = std::mem::take(&mut self.pending[self.next]);
            let end = self.ends[self.next];
            let start = self
                .next
                .checked_sub(1)
                .map_or(Duration::ZERO, |i| self.ends[i]);
            let secs = (end - start).as_secs_f64().max(1e-9);
            let hist = p.hist.unwrap_or_default();
            self.points.push(TimelinePoint {
                t_s: end.as_secs_f64(),
                warmup: end <= self.warmup,
                connected: p.connected,
                msgs: p.msgs,
                msgs_per_sec: p.msgs as f64 / secs,
                p50_us: hist.value_at_quantile(0.5),
                p99_us: hist.value_at_quantile(0.99),
                errors: p.errors,
            });
            self.next += 1;
        }
        self.points.len() - before
    }

    /// Points completed so far, in time order.
    pub fn points(&self) -> &[TimelinePoint] {
        &self.points
    }

    /// Every completed point.
    pub fn into_points(self) -> Vec<TimelinePoint> {
        self.points
    }
}

/// Prints progress to stderr.
pub(crate) struct Reporter {
    mode: Progress,
    bar: Option<ProgressBar>,
    clients: usize,
    errors: u64,
}

impl Reporter {
    /// A reporter for a run of `total` (warm-up + duration) with `clients` clients.
    pub fn new(mode: Progress, total: Duration, clients: usize) -> Self {
        let bar = (mode == Progress::Auto && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(total.as_millis() as u64);
            bar.set_style(
                ProgressStyle::with_template("{bar:30} {elapsed:>4}/{duration:4} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        Reporter {
            mode,
            bar,
            clients,
            errors: 0,
        }
    }

    /// Shows one completed timeline point.
    pub fn point(&mut self, p: &TimelinePoint) {
        self.errors += p.errors;
        let line = format!(
            "[{:>5.1}s]{} connected {}/{}  msgs/s {}  p99 {}  errors {}",
            p.t_s,
            if p.warmup { " warmup" } else { "" },
            p.connected,
            self.clients,
            format::count(p.msgs_per_sec),
            format::duration_us(p.p99_us as f64),
            self.errors
        );
        match (&self.bar, self.mode) {
            (Some(bar), _) => {
                bar.set_position((p.t_s * 1000.0) as u64);
                bar.set_message(line);
            }
            (None, Progress::Auto) => eprintln!("{line}"),
            (None, Progress::Quiet) => {}
        }
    }

    /// Removes the bar, if any.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_complete_when_every_worker_reported() {
        let ends = vec![Duration::from_secs(1), Duration::from_secs(2)];
        let mut t = Timeline::new(ends, Duration::from_secs(1), 2);
        let tick = |interval, msgs| Tick {
            interval,
            connected: 5,
            msgs,
            errors: 0,
            hist: LatencyHistogram::new(),
        };
        assert_eq!(t.add(tick(1, 10)), 0, "interval 0 still missing");
        assert_eq!(t.add(tick(0, 1)), 0, "one worker of two");
        assert_eq!(t.add(tick(0, 2)), 1);
        assert_eq!(t.add(tick(1, 20)), 1);
        let p = t.points();
        assert_eq!((p[0].msgs, p[0].connected, p[0].warmup), (3, 10, true));
        assert_eq!(
            (p[1].msgs, p[1].msgs_per_sec, p[1].warmup),
            (30, 30.0, false)
        );
    }
}
