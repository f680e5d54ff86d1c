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

/// The amount of `kind` that raises CPU/msg by `fraction`, given that the probe amount raised
/// it by `probe_effect` (a fraction); an effect too small to scale from is an error.
pub fn size(kind: PlantKind, fraction: f64, probe_effect: f64) -> anyhow::Result<String> {
    if probe_effect.is_nan() || probe_effect <= 0.002 {
        bail!(
            "the probe {} raised server CPU/msg by {:+.2}%: too little to size a plant from",
            kind.work(kind.probe_units()),
            100.0 * probe_effect
        );
    }
    Ok(kind.work(kind.probe_units() * fraction / probe_effect))
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
        // 200 ns gave +5%: +10% needs 400 ns.
        assert_eq!(size(PlantKind::Cpu, 0.10, 0.05).unwrap(), "cpu:400ns");
        // 8 KiB gave +4%: +10% needs 20 KiB.
        assert_eq!(size(PlantKind::Mem, 0.10, 0.04).unwrap(), "mem:20");
        // 2 calls gave +40%: the least that can be planted is one call.
        assert_eq!(size(PlantKind::Syscall, 0.10, 0.40).unwrap(), "syscall:1");
        assert!(size(PlantKind::Cpu, 0.10, 0.0).is_err());
    }
}
