//! The gate's judgement on crafted pairs: a planted per-message cost fails it, no change passes.

use loadgen_inference::BoundConfig;

use super::decide::{judge_model, render, GateSettings};
use super::record::{pair_up, GateRecord};

/// Deterministic noise in [−1, 1]: the per-pair deviations a noisy machine adds.
const NOISE: [f64; 7] = [0.9, -0.6, 0.3, -1.0, 0.5, -0.2, 0.1];

fn record(side: &str, model: &str, pair: u32, cpu: f64, rate: f64) -> GateRecord {
    GateRecord {
        side: side.to_string(),
        model: model.to_string(),
        pair,
        order: pair % 2,
        cpu_ns_per_msg: Some(cpu),
        msgs_per_sec: Some(rate),
        passed: true,
    }
}

/// Seven pairs of `model` whose new side costs `1 + planted` times the base, with ±`noise`
/// relative scatter per pair and a machine drift that hits both sides of a pair alike.
fn sides(model: &str, planted: f64, noise: f64) -> (Vec<GateRecord>, Vec<GateRecord>) {
    let (mut base, mut new) = (Vec::new(), Vec::new());
    for (i, e) in NOISE.iter().enumerate() {
        let drift = 1.0 + 0.3 * (i as f64 / 6.0);
        let cpu = 2_000.0 * drift;
        let rate = 50_000.0 / drift;
        let pair = i as u32 + 1;
        base.push(record("base", model, pair, cpu, rate));
        let scatter = 1.0 + noise * e;
        new.push(record(
            "new",
            model,
            pair,
            cpu * (1.0 + planted) * scatter,
            rate / (1.0 + planted / 2.0) / scatter,
        ));
    }
    (base, new)
}

fn settings() -> GateSettings {
    GateSettings {
        cpu: BoundConfig {
            threshold: 0.05,
            alpha: 0.05,
        },
        rate: BoundConfig {
            threshold: 0.15,
            alpha: 0.05,
        },
    }
}

#[test]
fn a_planted_ten_percent_cost_fails_and_no_change_passes() {
    let (mut base, mut new) = sides("mio", 0.10, 0.02);
    let (b2, n2) = sides("threads", 0.0, 0.02);
    base.extend(b2);
    new.extend(n2);
    let by_model = pair_up(&base, &new).unwrap();
    let mio = judge_model("mio", &by_model["mio"], &settings());
    let threads = judge_model("threads", &by_model["threads"], &settings());
    assert!(mio.regressed(), "{}", render(std::slice::from_ref(&mio)));
    assert!(
        !threads.regressed(),
        "{}",
        render(std::slice::from_ref(&threads))
    );
    let cpu = mio.cpu.as_ref().unwrap();
    assert!((cpu.decision.regression - 0.10).abs() < 0.02);
    assert!(cpu.sd_log_ratio > 0.005 && cpu.sd_log_ratio < 0.03);
    let text = render(&[mio, threads]);
    assert!(text.contains("mio: server CPU/msg +"), "{text}");
    assert!(text.contains("REGRESSION"), "{text}");
    assert!(text.contains("threads: server CPU/msg"), "{text}");
}

#[test]
fn a_cost_within_the_threshold_passes() {
    let (base, new) = sides("tokio", 0.03, 0.02);
    let by_model = pair_up(&base, &new).unwrap();
    assert!(!judge_model("tokio", &by_model["tokio"], &settings()).regressed());
}

#[test]
fn a_lost_echo_fails_the_model() {
    let (base, mut new) = sides("poll", 0.0, 0.02);
    new[3].passed = false;
    let by_model = pair_up(&base, &new).unwrap();
    let v = judge_model("poll", &by_model["poll"], &settings());
    assert_eq!(v.failed_runs, 1);
    assert!(v.regressed());
}

#[test]
fn too_few_complete_pairs_cannot_be_judged() {
    let (mut base, new) = sides("select", 0.0, 0.02);
    for r in base.iter_mut().skip(1) {
        r.cpu_ns_per_msg = None;
    }
    let by_model = pair_up(&base, &new).unwrap();
    let v = judge_model("select", &by_model["select"], &settings());
    assert!(v.cpu.is_err() && v.unjudged());
    assert!(!v.regressed());
}

#[test]
fn unpaired_or_duplicated_runs_are_refused() {
    let (base, mut new) = sides("uring", 0.0, 0.02);
    let dropped = new.pop().unwrap();
    assert!(pair_up(&base, &new).is_err());
    new.push(dropped.clone());
    new.push(dropped);
    assert!(pair_up(&base, &new).is_err());
}

#[test]
fn power_follows_the_measured_spread() {
    let p = super::power::PowerSettings {
        effect: 0.10,
        pairs: 7,
    };
    let estimate = |noise: f64| {
        let (base, new) = sides("mio", 0.0, noise);
        let by_model = pair_up(&base, &new).unwrap();
        let v = judge_model("mio", &by_model["mio"], &settings());
        super::power::estimate(&[v], &settings(), &p)[0].clone()
    };
    let (quiet, noisy) = (estimate(0.01), estimate(0.08));
    assert!(quiet.detection > 0.95, "{quiet:?}");
    assert!(noisy.detection < quiet.detection, "{noisy:?}");
    assert!(quiet.false_alarm < 0.05, "{quiet:?}");
    let text = super::power::render(&[quiet], &p);
    assert!(text.contains("mio: power at 7 pairs"), "{text}");
}
