//! From a finished sampling to the flamegraph the result records: the stacks folded with
//! names while the server is still alive, drawn, and described ([`FlamegraphInfo`]).

use results_model::kernel::FlamegraphInfo;

use super::render;
use super::sampler::{Profiler, FREQUENCY_HZ};
use super::symbols;

/// Samples below this make a flamegraph a reader should not trust on its own.
const FEW_SAMPLES: u64 = 200;

/// Finishes `profiler` (sampling process `pid`) and draws its flamegraph titled `title`.
pub(crate) fn finish(profiler: Profiler, pid: u32, title: &str) -> FlamegraphInfo {
    let profile = profiler.finish();
    let folded = symbols::fold(pid, &profile.stacks);
    let mut info = FlamegraphInfo {
        svg: None,
        samples: profile.samples,
        frequency_hz: FREQUENCY_HZ,
        kernel_frames: profile.kernel_frames,
        lost: profile.lost,
        notes: profile.notes,
        rendered: None,
    };
    if profile.samples < FEW_SAMPLES {
        info.notes.push(format!(
            "only {} samples: too few to rank functions",
            profile.samples
        ));
    }
    if profile.lost > 0 {
        info.notes
            .push(format!("{} samples lost (ring buffer full)", profile.lost));
    }
    match render::svg(&folded, title) {
        Ok(svg) => info.rendered = Some(svg),
        Err(why) => info.notes.push(why),
    }
    info
}

/// The record of a flamegraph that could not be made, and why.
pub(crate) fn refused(why: String) -> FlamegraphInfo {
    FlamegraphInfo {
        svg: None,
        samples: 0,
        frequency_hz: FREQUENCY_HZ,
        kernel_frames: false,
        lost: 0,
        notes: vec![why],
        rendered: None,
    }
}
