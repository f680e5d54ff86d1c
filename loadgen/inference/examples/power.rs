//! Prints the CI gate's power table: detection of a 10% regression in one model and the
//! family-wise false-alarm rate over the unchanged models, for per-pair SDs 1–10% and 3–10 pairs,
//! analytic (normal approximation) beside Monte Carlo (20,000 simulated gates per cell), followed by
//! the fewest pairs that reach ≥95% detection and ≤5% false alarms for each SD.
//!
//! Usage: `cargo run --release -p loadgen-inference --example power -- [MODELS] [THRESHOLD] [ALPHA]`
//! (defaults 9 models, threshold 0.03, alpha 0.05).

use loadgen_inference::{
    power, suggest_pairs, suggest_plan, BoundConfig, Error, PowerQuery, Scenario, Targets,
};

const EFFECT: f64 = 0.10;
const PAIRS: std::ops::RangeInclusive<usize> = 3..=10;

/// Reads positional argument `i` or falls back to `default`.
fn arg<T: std::str::FromStr>(i: usize, default: T) -> T {
    std::env::args()
        .nth(i)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

/// Prints one table: for each SD a row of "analytic / Monte Carlo" percentages.
fn table(
    title: &str,
    models: usize,
    gate: BoundConfig,
    pick: fn(&loadgen_inference::Rates) -> f64,
) -> Result<(), Error> {
    println!("\n{title} (analytic / Monte Carlo, %)\n");
    let header: Vec<String> = PAIRS.map(|n| format!("{n} pairs")).collect();
    println!("| SD | {} |", header.join(" | "));
    println!("|---|{}", "---|".repeat(header.len()));
    for sd_pct in 1..=10 {
        let mut cells = Vec::new();
        for n_pairs in PAIRS {
            let q = PowerQuery {
                sd_log_ratio: f64::from(sd_pct) / 100.0,
                n_pairs,
                true_effect: EFFECT,
                bound: gate,
                models,
            };
            let est = power(&q)?;
            cells.push(format!(
                "{:.1} / {:.1}",
                100.0 * pick(&est.analytic),
                100.0 * pick(&est.monte_carlo)
            ));
        }
        println!("| {sd_pct}% | {} |", cells.join(" | "));
    }
    Ok(())
}

/// Prints, per SD, the fewest pairs for the given gate and for the best threshold.
fn plans(models: usize, gate: BoundConfig) -> Result<(), Error> {
    println!("\nFewest pairs for \u{2265}95% detection and \u{2264}5% false alarms (analytic)\n");
    println!("| SD | pairs at this gate | pairs with threshold chosen | chosen threshold | detection | false alarm |");
    println!("|---|---|---|---|---|---|");
    for sd_pct in 1..=10 {
        let s = Scenario {
            sd_log_ratio: f64::from(sd_pct) / 100.0,
            true_effect: EFFECT,
            models,
            targets: Targets::default(),
        };
        let fixed =
            suggest_pairs(&s, gate, 100)?.map_or("> 100".to_owned(), |p| p.n_pairs.to_string());
        match suggest_plan(&s, gate.alpha, 100)? {
            Some(p) => println!(
                "| {sd_pct}% | {fixed} | {} | {:.1}% | {:.1}% | {:.2}% |",
                p.n_pairs,
                100.0 * p.bound.threshold,
                100.0 * p.rates.detection,
                100.0 * p.rates.false_alarm
            ),
            None => println!("| {sd_pct}% | {fixed} | > 100 | | | |"),
        }
    }
    Ok(())
}

fn main() -> Result<(), Error> {
    let models: usize = arg(1, 9);
    let gate = BoundConfig {
        threshold: arg(2, 0.03),
        alpha: arg(3, 0.05),
    };
    println!(
        "Gate: fail when the one-sided {:.0}% lower bound of the paired regression exceeds {:.1}%; \
         true regression {:.0}% in one model; false alarms over {models} unchanged models.",
        100.0 * (1.0 - gate.alpha),
        100.0 * gate.threshold,
        100.0 * EFFECT
    );
    table("Detection of the regressed model", models, gate, |r| {
        r.detection
    })?;
    table("Family-wise false alarm", models, gate, |r| r.false_alarm)?;
    plans(models, gate)
}
