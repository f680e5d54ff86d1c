//! Call chains to folded stacks of function names: user addresses through the process's own
//! mappings and ELF symbols, kernel addresses through kallsyms (blazesym). Kernel frames end
//! in `_[k]`, as perf and inferno write them; an address no symbol covers reads `[unknown]`.
//! Needs the process alive: its mappings are read from /proc.

use std::collections::{BTreeMap, HashMap, HashSet};

use blazesym::symbolize::source::{Kernel, Process, Source};
use blazesym::symbolize::{Input, Symbolized, Symbolizer};
use blazesym::{MaybeDefault, Pid};

use super::sampler::Stacks;

/// The markers the kernel puts in a call chain before the addresses of each context.
const PERF_CONTEXT_KERNEL: u64 = -128i64 as u64;
/// Where a chain's user-space part starts.
const PERF_CONTEXT_USER: u64 = -512i64 as u64;
/// Every value from here up is a marker, not an address.
const PERF_CONTEXT_MAX: u64 = -4095i64 as u64;

/// One address of a chain, and whether it is the kernel's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Frame {
    addr: u64,
    kernel: bool,
}

/// The frames of `chain`, leaf first, markers dropped.
fn frames(chain: &[u64]) -> Vec<Frame> {
    let mut kernel = false;
    let mut out = Vec::with_capacity(chain.len());
    for &addr in chain {
        match addr {
            PERF_CONTEXT_KERNEL => kernel = true,
            PERF_CONTEXT_USER => kernel = false,
            a if a >= PERF_CONTEXT_MAX => {}
            a => out.push(Frame { addr: a, kernel }),
        }
    }
    out
}

/// `stacks` of process `pid` as folded lines (`root;...;leaf count`), sorted.
pub(crate) fn fold(pid: u32, stacks: &Stacks) -> Vec<String> {
    let chains: Vec<(Vec<Frame>, u64)> = stacks.iter().map(|(c, n)| (frames(c), *n)).collect();
    let names = names(pid, chains.iter().flat_map(|(f, _)| f.iter().copied()));
    let mut folded: BTreeMap<String, u64> = BTreeMap::new();
    for (frames, n) in chains {
        let line: Vec<&str> = frames
            .iter()
            .rev()
            .map(|f| names.get(f).map_or("[unknown]", String::as_str))
            .collect();
        let line = if line.is_empty() {
            "[no stack]".to_string()
        } else {
            line.join(";")
        };
        *folded.entry(line).or_default() += n;
    }
    folded
        .into_iter()
        .map(|(l, n)| format!("{l} {n}"))
        .collect()
}

/// The name of every frame of `all` that a symbol covers.
fn names(pid: u32, all: impl Iterator<Item = Frame>) -> HashMap<Frame, String> {
    let unique: HashSet<Frame> = all.collect();
    let symbolizer = Symbolizer::new();
    let mut names = HashMap::with_capacity(unique.len());
    for kernel in [false, true] {
        let addrs: Vec<u64> = unique
            .iter()
            .filter(|f| f.kernel == kernel)
            .map(|f| f.addr)
            .collect();
        if addrs.is_empty() {
            continue;
        }
        let source = if kernel {
            Source::Kernel(Kernel {
                vmlinux: MaybeDefault::None,
                debug_syms: false,
                ..Kernel::default()
            })
        } else {
            let mut process = Process::new(Pid::from(pid));
            process.debug_syms = false;
            Source::Process(process)
        };
        let Ok(symbolized) = symbolizer.symbolize(&source, Input::AbsAddr(&addrs)) else {
            continue;
        };
        for (addr, sym) in addrs.iter().zip(symbolized) {
            if let Symbolized::Sym(sym) = sym {
                let name = without_hash(&sym.name);
                let name = if kernel {
                    format!("{name}_[k]")
                } else {
                    name.to_string()
                };
                names.insert(
                    Frame {
                        addr: *addr,
                        kernel,
                    },
                    name,
                );
            }
        }
    }
    names
}

/// A Rust symbol without its `::h0123456789abcdef` hash suffix.
fn without_hash(name: &str) -> &str {
    match name.rsplit_once("::h") {
        Some((base, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            base
        }
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_split_kernel_from_user_frames() {
        let chain = [
            PERF_CONTEXT_KERNEL,
            0xffff_ffff_8100_0000,
            PERF_CONTEXT_USER,
            0x4000,
        ];
        let f = frames(&chain);
        assert_eq!(
            f,
            [
                Frame {
                    addr: 0xffff_ffff_8100_0000,
                    kernel: true
                },
                Frame {
                    addr: 0x4000,
                    kernel: false
                },
            ]
        );
        assert_eq!(without_hash("a::b::h0123456789abcdef"), "a::b");
        assert_eq!(without_hash("a::hello"), "a::hello");
    }

    #[inline(never)]
    fn planted() -> u64 {
        std::hint::black_box(7)
    }

    #[test]
    fn this_process_symbolizes_its_own_function() {
        let addr = planted as *const () as u64;
        let stacks: Stacks = [(vec![PERF_CONTEXT_USER, addr], 3)].into_iter().collect();
        let folded = fold(std::process::id(), &stacks);
        assert_eq!(folded.len(), 1);
        assert!(
            folded[0].contains("planted") && folded[0].ends_with(" 3"),
            "{folded:?}"
        );
    }
}
