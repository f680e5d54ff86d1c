//! `loadgen gate --base-server B --new-server N`: the gate runs its own duets. Every case
//! ([`super::cases`]) × `--pairs`, the case order fixed and each pair's side order random, into
//! `OUT/BASE.jsonl` and `OUT/NEW.jsonl`; then the judgement. A performance failure is run
//! again, on the failed cases only, into `OUT/confirm/`, and counts only when the same case
//! fails the same metric there; a failed run fails at once ([`super::outcome`]).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::cases::{self, Case};
use super::duet::{run_pair, DuetRunner, PairSettings, Side};
use super::judge::{judge, JudgeArgs};
use super::outcome::{Failure, Outcome};
use super::plant::{calibrate, Plant};
use super::record::GateRecord;
use super::run_args::DuetArgs;

/// The new side's extra server arguments, per model.
#[derive(Debug, Clone, Default)]
struct Extras {
    plant: Option<(String, String)>,
    fault: Option<String>,
}

impl Extras {
    fn for_model(&self, model: &str) -> Vec<String> {
        let mut out = Vec::new();
        if let Some((m, work)) = &self.plant {
            if m == model {
                out.push(format!("--extra-work={work}"));
            }
        }
        if self.fault.as_deref() == Some(model) {
            out.push("--fault-corrupt-every=1000".into());
        }
        out
    }
}

/// Runs the gate and returns its outcome under CI's rule.
pub fn run_gate(
    args: &DuetArgs,
    judging: &JudgeArgs,
    runner: &dyn DuetRunner,
) -> anyhow::Result<Outcome> {
    let settings = args
        .pair_settings()
        .context("--base-server and --new-server are both needed")?;
    let all = select_cases(args)?;
    let seed = args.seed.unwrap_or_else(clock_seed);
    let mut rng = SmallRng::seed_from_u64(seed);
    let extras = Extras {
        plant: plant(args, &all, &settings, runner, &mut rng)?,
        fault: args.fault.clone(),
    };
    eprintln!(
        "gate: {} {} × {} pairs, {} clients, {:?} after {:?} warm-up, seed {seed}",
        all.len(),
        if settings.sequential {
            "cases in sequence"
        } else {
            "cases as duets"
        },
        args.pairs,
        settings.clients,
        settings.duration,
        settings.warmup,
    );
    for case in &all {
        println!("case {}", case.describe());
    }
    let first = run_all(&all, args.pairs, &extras, &settings, runner, &mut rng);
    write_sides(&args.out, &first)?;
    let outcome = judge(&first.0, &first.1, judging, None)?;
    let Outcome::Performance {
        failed,
        confirmed: false,
    } = &outcome
    else {
        return Ok(outcome);
    };
    if args.no_confirm {
        return Ok(outcome);
    }
    let again: Vec<Case> = all
        .iter()
        .filter(|c| failed.iter().any(|(label, _)| *label == c.label()))
        .cloned()
        .collect();
    let labels: Vec<String> = again.iter().map(Case::label).collect();
    println!(
        "gate: a second run of {} confirms the failure only if the same case and metric fail again",
        labels.join(", ")
    );
    let second = run_all(&again, args.pairs, &extras, &settings, runner, &mut rng);
    write_sides(&args.out.join("confirm"), &second)?;
    let confirm: BTreeSet<Failure> = failed.iter().cloned().collect();
    judge(&second.0, &second.1, judging, Some(&confirm))
}

/// The cases `args` asks for; a planted model must be among them.
fn select_cases(args: &DuetArgs) -> anyhow::Result<Vec<Case>> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut all = cases::cases(&args.models(), cpus, !args.no_pin, args.multi_worker);
    if !args.only.is_empty() {
        for label in &args.only {
            if cases::find(&all, label).is_none() {
                bail!("--only {label:?} is not a case of --models");
            }
        }
        all.retain(|c| args.only.contains(&c.label()));
    }
    for m in [
        args.plant
            .as_ref()
            .map(|p| Plant::parse(p))
            .transpose()?
            .map(|p| p.model().to_string()),
        args.fault.clone(),
    ]
    .into_iter()
    .flatten()
    {
        if !all.iter().any(|c| c.model == m) {
            bail!("the planted model {m} is not among the cases run");
        }
    }
    Ok(all)
}

/// Every case's pairs: pair 1 of every case, then pair 2, ... (so a slow drift of the machine
/// spreads over all cases); returns (base, new) records.
fn run_all(
    all: &[Case],
    pairs: u32,
    extras: &Extras,
    settings: &PairSettings,
    runner: &dyn DuetRunner,
    rng: &mut SmallRng,
) -> (Vec<GateRecord>, Vec<GateRecord>) {
    let (mut base, mut new) = (Vec::new(), Vec::new());
    for pair in 1..=pairs {
        for case in all {
            let order = if rng.random::<bool>() {
                [Side::Base, Side::New]
            } else {
                [Side::New, Side::Base]
            };
            let extra = extras.for_model(&case.model);
            let (b, n) = run_pair(runner, case, pair, order, &extra, settings);
            for r in [&b, &n] {
                if let Some(why) = &r.failure {
                    eprintln!(
                        "gate: {} {} pair {pair}: FAILED: {why}",
                        case.label(),
                        r.side
                    );
                }
            }
            base.push(b);
            new.push(n);
        }
        eprintln!("gate: pair {pair} of {pairs} done");
    }
    (base, new)
}

/// The plant's model and `--extra-work` value, sized in probe duets when calibrated.
fn plant(
    args: &DuetArgs,
    all: &[Case],
    settings: &PairSettings,
    runner: &dyn DuetRunner,
    rng: &mut SmallRng,
) -> anyhow::Result<Option<(String, String)>> {
    let Some(spec) = &args.plant else {
        return Ok(None);
    };
    let (model, fraction, kind) = match Plant::parse(spec)? {
        Plant::Fixed { model, work } => {
            eprintln!("gate: plant: {model}'s new server gets --extra-work {work}");
            return Ok(Some((model, work)));
        }
        Plant::Calibrated {
            model,
            fraction,
            kind,
        } => (model, fraction, kind),
    };
    let case = all
        .iter()
        .find(|c| c.model == model)
        .context("the planted model is among the cases")?;
    let measure = |units: f64| probe(case, &kind.work(units), settings, runner, rng);
    let work = calibrate(kind, fraction, measure)?;
    eprintln!(
        "gate: plant: {model}'s new server gets --extra-work {work} for {:+.0}%",
        100.0 * fraction
    );
    Ok(Some((model, work)))
}

/// The effect (a fraction) of planting `work` in `case`'s new server on its server CPU per
/// message: the median over three probe duets.
fn probe(
    case: &Case,
    work: &str,
    settings: &PairSettings,
    runner: &dyn DuetRunner,
    rng: &mut SmallRng,
) -> anyhow::Result<f64> {
    let model = &case.model;
    let probe = Extras {
        plant: Some((model.clone(), work.to_string())),
        fault: None,
    };
    let (base, new) = run_all(std::slice::from_ref(case), 3, &probe, settings, runner, rng);
    let mut ratios: Vec<f64> = base
        .iter()
        .zip(&new)
        .filter_map(|(b, n)| Some(n.cpu_ns_per_msg? / b.cpu_ns_per_msg?))
        .filter(|r| r.is_finite())
        .collect();
    ratios.sort_by(f64::total_cmp);
    let Some(median) = ratios.get(ratios.len() / 2) else {
        bail!("the plant's probe duets of {model} measured no server CPU per message");
    };
    eprintln!(
        "gate: plant: probe {work} raised {model}'s server CPU/msg by {:+.1}% (median of {} duets)",
        100.0 * (median - 1.0),
        ratios.len()
    );
    Ok(median - 1.0)
}

/// Writes BASE.jsonl and NEW.jsonl into `dir`.
fn write_sides(dir: &Path, (base, new): &(Vec<GateRecord>, Vec<GateRecord>)) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, records) in [("BASE.jsonl", base), ("NEW.jsonl", new)] {
        let path = dir.join(name);
        let mut f =
            std::fs::File::create(&path).with_context(|| format!("writing {}", path.display()))?;
        for r in records {
            writeln!(f, "{}", serde_json::to_string(r)?)?;
        }
    }
    Ok(())
}

/// A seed from the clock, for when none is given.
fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}
