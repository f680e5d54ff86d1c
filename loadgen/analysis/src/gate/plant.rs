//! Planted regressions, to prove the gate: the new side's server of one model gets an
//! `--extra-work` cost per message.
//!
//! `MODEL=WORK` plants `--extra-work WORK` as given (`mio=mem:16`). `MODEL:PCT[:KIND]` plants a
//! cost of KIND (`cpu`, the default; `mem`; `syscall`) sized to raise the model's server CPU
//! per message by PCT *as the duet measures it*: three probe duets of a known amount (200 ns,
//! 8 KiB, 2 system calls) against the base give its effect, and the amount is scaled to PCT.
//! Sizing from the duet, not from a solo run, is what keeps a nominal +10% at +10% in the
//! gate: a solo run's CPU per message differs from a duet's, where two servers share a CPU
//! and its caches.

use anyhow::{bail, Context};

/// The kind of cost a calibrated plant uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlantKind {
    /// Busy CPU by the thread's CPU clock.
    Cpu,
    /// KiB of memory touched.
    Mem,
    /// System calls.
    Syscall,
}

impl PlantKind {
    /// Every kind, in the order the proof draws from.
    pub const ALL: [PlantKind; 3] = [PlantKind::Cpu, PlantKind::Mem, PlantKind::Syscall];

    /// The probe amount (in the kind's unit: ns, KiB, calls) its effect is measured with.
    pub fn probe_units(self) -> f64 {
        match self {
            PlantKind::Cpu => 200.0,
            PlantKind::Mem => 8.0,
            PlantKind::Syscall => 2.0,
        }
    }

    /// The `--extra-work` value of `units` of this kind (memory and calls at least 1).
    pub fn work(self, units: f64) -> String {
        let whole = units.round().max(1.0) as u64;
        match self {
            PlantKind::Cpu => format!("cpu:{}ns", units.round().max(1.0) as u64),
            PlantKind::Mem => format!("mem:{whole}"),
            PlantKind::Syscall => format!("syscall:{whole}"),
        }
    }

    fn parse(s: &str) -> anyhow::Result<PlantKind> {
        Ok(match s {
            "cpu" => PlantKind::Cpu,
            "mem" | "memory" => PlantKind::Mem,
            "syscall" => PlantKind::Syscall,
            other => bail!("unknown plant kind {other:?} (cpu, mem, syscall)"),
        })
    }
}

/// What to plant.
#[derive(Debug, Clone, PartialEq)]
pub enum Plant {
    /// `--extra-work WORK` as given.
    Fixed {
        /// The planted model.
        model: String,
        /// The `--extra-work` value.
        work: String,
    },
    /// A cost of `kind` sized to raise server CPU/msg by `fraction` in the duet.
    Calibrated {
        /// The planted model.
        model: String,
        /// The rise to plant (0.10 = +10%).
        fraction: f64,
        /// The kind of cost.
        kind: PlantKind,
    },
}

impl Plant {
    /// Parses `MODEL=WORK` or `MODEL:PCT[:KIND]`.
    pub fn parse(s: &str) -> anyhow::Result<Plant> {
        if let Some((model, work)) = s.split_once('=') {
            return Ok(Plant::Fixed {
                model: model.to_string(),
                work: work.to_string(),
            });
        }
        let mut parts = s.split(':');
        let (Some(model), Some(pct)) = (parts.next(), parts.next()) else {
            bail!("--plant must be MODEL:PCT[:KIND] or MODEL=WORK, got {s:?}");
        };
        let kind = parts.next().map_or(Ok(PlantKind::Cpu), PlantKind::parse)?;
        let pct: f64 = pct
            .trim_end_matches('%')
            .parse()
            .with_context(|| format!("--plant {s:?}: {pct:?} is not a percentage"))?;
        if !(pct > 0.0 && pct.is_finite()) || parts.next().is_some() {
            bail!("--plant must be MODEL:PCT[:KIND] with PCT > 0, got {s:?}");
        }
        Ok(Plant::Calibrated {
            model: model.to_string(),
            fraction: pct / 100.0,
            kind,
        })
    }

    /// The planted model.
    pub fn model(&self) -> &str {
        match self {
            Plant::Fixed { model, .. } | Plant::Calibrated { model, .. } => model,
        }
    }
}

/// Probe amounts tried in turn, as multiples of the kind's probe amount. A model whose CPU per
/// message barely moves, or even falls, under a small probe gets a larger one: glommio reads
/// optimistically, and a slower server finds data already waiting more often, which saves an
/// io_uring poll round trip and offsets a little planted work.
pub const PROBE_STEPS: [f64; 3] = [1.0, 4.0, 16.0];
/// A probe effect below this is too close to a three-duet median's noise to scale from.
pub const MIN_PROBE_EFFECT: f64 = 0.02;

/// The `--extra-work` value of `kind` that raises server CPU/msg by `fraction`. `measure` runs
/// probe duets with an amount (in the kind's unit) and returns its effect (a fraction). The
/// first amount of [`PROBE_STEPS`] with an effect of at least [`MIN_PROBE_EFFECT`] is scaled
/// to `fraction`; the scaled amount is measured once more, and when it missed `fraction` by
/// more than a third (the effect is not proportional to the amount) it is re-sized once from
/// the two measurements ([`resize`]). No effect at any probe is an error.
pub fn calibrate(
    kind: PlantKind,
    fraction: f64,
    mut measure: impl FnMut(f64) -> anyhow::Result<f64>,
) -> anyhow::Result<String> {
    let mut tried = Vec::new();
    let mut probe = None;
    for step in PROBE_STEPS {
        let units = kind.probe_units() * step;
        let effect = measure(units)?;
        tried.push(format!("{} {:+.2}%", kind.work(units), 100.0 * effect));
        if effect >= MIN_PROBE_EFFECT {
            probe = Some((units, effect));
            break;
        }
    }
    let Some((units, effect)) = probe else {
        bail!(
            "the probes raised server CPU/msg too little to size a plant from (at least {:+.0}% \
             needed): {}",
            100.0 * MIN_PROBE_EFFECT,
            tried.join(", ")
        );
    };
    // Whole units, as `--extra-work` applies them.
    let sized = (units * fraction / effect).round().max(1.0);
    let check = measure(sized)?;
    if (check - fraction).abs() > fraction / 3.0 {
        return Ok(kind.work(resize(fraction, (units, effect), (sized, check))));
    }
    Ok(kind.work(sized))
}

/// The amount for `fraction` from two measured (amount, effect) points: on the line through
/// both where it rises (a cache-sized working set makes memory's effect grow faster than its
/// amount, so scaling from either point alone overshoots or falls short); otherwise scaled
/// through zero from the point whose effect came nearer `fraction`.
fn resize(fraction: f64, a: (f64, f64), b: (f64, f64)) -> f64 {
    let slope = (b.1 - a.1) / (b.0 - a.0);
    let on_line = a.0 + (fraction - a.1) / slope;
    if slope.is_finite() && slope > 0.0 && on_line >= 1.0 {
        return on_line;
    }
    let near = if (a.1 - fraction).abs() <= (b.1 - fraction).abs() {
        a
    } else {
        b
    };
    if near.1 >= MIN_PROBE_EFFECT {
        near.0 * fraction / near.1
    } else {
        b.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plants_parse() {
        assert_eq!(
            Plant::parse("mio=mem:16").unwrap(),
            Plant::Fixed {
                model: "mio".into(),
                work: "mem:16".into()
            }
        );
        assert_eq!(
            Plant::parse("tokio:10%:syscall").unwrap(),
            Plant::Calibrated {
                model: "tokio".into(),
                fraction: 0.10,
                kind: PlantKind::Syscall
            }
        );
        assert!(matches!(
            Plant::parse("mio:10").unwrap(),
            Plant::Calibrated {
                kind: PlantKind::Cpu,
                ..
            }
        ));
        assert!(Plant::parse("mio").is_err());
        assert!(Plant::parse("mio:-3%").is_err());
        assert!(Plant::parse("mio:10%:disk").is_err());
    }

    #[test]
    fn a_plant_is_scaled_from_its_probe() {
        // 200 ns gives +5% (proportional): +10% needs 400 ns, which the check confirms.
        let mut asked = Vec::new();
        let work = calibrate(PlantKind::Cpu, 0.10, |ns| {
            asked.push(ns);
            Ok(ns / 4000.0)
        });
        assert_eq!(work.unwrap(), "cpu:400ns");
        assert_eq!(asked, [200.0, 400.0], "one probe, one check");
        // 8 KiB gives +4%: +10% needs 20 KiB.
        let work = calibrate(PlantKind::Mem, 0.10, |kib| Ok(kib * 0.005));
        assert_eq!(work.unwrap(), "mem:20");
        // 2 calls give +40%: the least that can be planted is one call.
        let work = calibrate(PlantKind::Syscall, 0.10, |calls| Ok(calls * 0.2));
        assert_eq!(work.unwrap(), "syscall:1");
    }

    #[test]
    fn a_probe_that_barely_moves_cpu_escalates_and_a_missed_size_is_rescaled() {
        // Like glommio: a little work lowers CPU/msg (-5%), more raises it, and not
        // proportionally: effect = (ns - 600) / 8000 above 600 ns.
        let effect = |ns: f64| {
            if ns < 600.0 {
                -0.05
            } else {
                (ns - 600.0) / 8000.0
            }
        };
        let mut asked = Vec::new();
        let work = calibrate(PlantKind::Cpu, 0.10, |ns| {
            asked.push(ns);
            Ok(effect(ns))
        });
        // 200 ns: -5%; 800 ns: +2.5%, scaled to 3200 ns, which measures +32.5%: on the line
        // through (800, 2.5%) and (3200, 32.5%), +10% is at 1400 ns.
        assert_eq!(asked, [200.0, 800.0, 3200.0]);
        assert_eq!(work.unwrap(), "cpu:1400ns");
    }

    #[test]
    fn a_size_that_missed_is_resized_from_both_measurements() {
        // Memory whose effect grows faster than its amount: 8 KiB +3.3%, 24 KiB +44.5%.
        assert_eq!(resize(0.10, (8.0, 0.033), (24.0, 0.445)).round(), 11.0);
        // A line that does not rise (noise, or a fixed cost of any plant): scale from the
        // point nearer the target, 107 ns at +14.7%, through zero.
        assert_eq!(resize(0.10, (200.0, 0.186), (107.0, 0.147)).round(), 73.0);
        assert_eq!(resize(0.10, (200.0, 0.05), (400.0, 0.02)).round(), 400.0);
    }

    #[test]
    fn no_effect_at_any_probe_is_an_error_that_lists_them() {
        let err = calibrate(PlantKind::Syscall, 0.10, |_| Ok(0.001)).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("syscall:2 +0.10%"), "{text}");
        assert!(text.contains("syscall:32"), "{text}");
        let failing = calibrate(PlantKind::Cpu, 0.10, |_| anyhow::bail!("no server"));
        assert!(failing.is_err(), "a failed probe fails the sizing");
    }
}
