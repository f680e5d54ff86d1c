//! The gate's judgement on crafted pairs: a planted per-message cost fails it, no change passes.

use std::collections::BTreeSet;

use super::decide::{judge_model, render, GateSettings, Metric, ModelVerdict};
use super::outcome::{self, Outcome, EXIT_CORRECTNESS};
use super::record::{pair_up, GateRecord};

/// Deterministic noise in [−1, 1]: the per-pair deviations a noisy machine adds.
const NOISE: [f64; 7] = [0.9, -0.6, 0.3, -1.0, 0.5, -0.2, 0.1];

fn record(side: &str, model: &str, pair: u32, cpu: f64, rate: f64) -> GateRecord {
    GateRecord {
        side: side.to_string(),
        model: model.to_string(),
        config: String::new(),
        pair,
        order: pair % 2,
        cpu_ns_per_msg: Some(cpu),
        msgs_per_sec: Some(rate),
        passed: true,
        failure: None,
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

/// The settings `loadgen gate` ships with (3% on CPU/msg, 15% on msgs/s).
fn settings() -> GateSettings {
    GateSettings::shipped()
}

/// `model`'s verdict with the new side `planted` costlier (2% scatter).
fn verdict(model: &str, planted: f64) -> ModelVerdict {
    let (base, new) = sides(model, planted, 0.02);
    let by_model = pair_up(&base, &new).unwrap();
    judge_model(model, &by_model[model], &settings())
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
    // 2.5%: under the shipped 3%, so the bound (below the mean) cannot exceed it.
    let (base, new) = sides("tokio", 0.025, 0.02);
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
fn a_cost_just_over_the_shipped_threshold_fails() {
    // 6% with 2% scatter: its lower bound clears the shipped 3% (it would not clear 5%).
    let v = verdict("mio", 0.06);
    assert_eq!(
        v.failed_metrics(),
        vec![Metric::Cpu],
        "{}",
        render(std::slice::from_ref(&v))
    );
}

#[test]
fn a_failed_run_fails_at_once_even_in_a_confirming_run() {
    let (base, mut new) = sides("poll", 0.0, 0.02);
    new[2].passed = false;
    new[2].failure = Some("3 mismatch".into());
    let by_model = pair_up(&base, &new).unwrap();
    let v = judge_model("poll", &by_model["poll"], &settings());
    let confirm: BTreeSet<_> = [("mio".to_string(), Metric::Cpu)].into();
    for decided in [
        outcome::decide(std::slice::from_ref(&v), None),
        outcome::decide(&[v], Some(&confirm)),
    ] {
        let Outcome::Correctness(why) = &decided else {
            panic!("{decided:?}");
        };
        assert!(why[0].contains("pair 3 new: 3 mismatch"), "{why:?}");
        assert_eq!(decided.exit_code(), EXIT_CORRECTNESS);
    }
}

#[test]
fn a_performance_failure_counts_only_when_the_same_model_and_metric_repeat() {
    let verdicts = [verdict("mio", 0.10), verdict("threads", 0.0)];
    let first = outcome::decide(&verdicts, None);
    assert_eq!(
        first,
        Outcome::Performance {
            failed: vec![("mio".into(), Metric::Cpu)],
            confirmed: false
        }
    );
    assert_eq!(first.exit_code(), 1);
    let same: BTreeSet<_> = [("mio".to_string(), Metric::Cpu)].into();
    let second = outcome::decide(&verdicts, Some(&same));
    assert!(matches!(
        second,
        Outcome::Performance {
            confirmed: true,
            ..
        }
    ));
    // Another metric, or another model, failing the first time confirms nothing.
    let other_metric: BTreeSet<_> = [("mio".to_string(), Metric::Rate)].into();
    assert_eq!(
        outcome::decide(&verdicts, Some(&other_metric)),
        Outcome::Pass
    );
    let other_model: BTreeSet<_> = [("threads".to_string(), Metric::Cpu)].into();
    assert_eq!(
        outcome::decide(&verdicts, Some(&other_model)),
        Outcome::Pass
    );
}

#[test]
fn failures_round_trip_through_their_file() {
    let path = std::env::temp_dir().join(format!("gate-failures-{}.txt", std::process::id()));
    let failed = vec![
        ("mio".to_string(), Metric::Cpu),
        ("tokio".to_string(), Metric::Rate),
    ];
    outcome::write_failures(&path, &failed).unwrap();
    let read = outcome::read_failures(&path).unwrap();
    assert_eq!(read, failed.into_iter().collect::<BTreeSet<_>>());
    std::fs::write(&path, "latency mio\n").unwrap();
    assert!(outcome::read_failures(&path).is_err());
    std::fs::write(&path, "cpu\n").unwrap();
    assert!(outcome::read_failures(&path).is_err());
    std::fs::write(&path, "").unwrap();
    assert!(outcome::read_failures(&path).is_err());
    let _ = std::fs::remove_file(&path);
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
    // CI's rule: caught twice, and a false alarm only when the same metric fails twice.
    assert!((noisy.rule_detection() - noisy.detection.powi(2)).abs() < 1e-12);
    assert!(noisy.false_alarm > 0.0, "{noisy:?}");
    assert!(noisy.rule_false_alarm() < noisy.false_alarm, "{noisy:?}");
    let text = super::power::render(&[quiet], &p);
    assert!(text.contains("mio: power at 7 pairs"), "{text}");
    assert!(text.contains("power, CI's rule"), "{text}");
}

#[test]
fn a_pair_the_machine_stalled_on_both_sides_is_left_out_but_a_slow_new_side_is_not() {
    let (mut base, mut new) = sides("mio", 0.0, 0.02);
    // Pair 2: both sides at a twentieth of their rate, with a wild CPU/msg ratio.
    base[1].msgs_per_sec = Some(2_000.0);
    new[1].msgs_per_sec = Some(2_500.0);
    new[1].cpu_ns_per_msg = Some(9_000.0);
    let by_model = pair_up(&base, &new).unwrap();
    let v = judge_model("mio", &by_model["mio"], &settings());
    assert_eq!(v.stalled, vec![2]);
    assert!(!v.regressed(), "{}", render(std::slice::from_ref(&v)));
    assert_eq!(v.cpu.as_ref().unwrap().decision.n_pairs, 6);
    assert!(render(&[v]).contains("mio: pair(s) 2 left out"));
    // Only the new side slow: a regression, kept.
    let (base, mut new) = sides("mio", 0.0, 0.02);
    new[1].msgs_per_sec = Some(2_000.0);
    let by_model = pair_up(&base, &new).unwrap();
    assert!(judge_model("mio", &by_model["mio"], &settings())
        .stalled
        .is_empty());
}
