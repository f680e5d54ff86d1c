//! The provided-buffer ring of the `uring` model: receive buffers the kernel picks from, handed
//! back as soon as their bytes are copied out.

use std::alloc::{self, Layout};
use std::io;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU16, Ordering};

use io_uring::types::BufRingEntry;

/// Number of buffers (a power of two, as the kernel requires). Buffers go back to the ring as soon
/// as their bytes are copied, so the pool only has to cover what arrives between two reaps:
/// 256 × 16 KiB = 4 MiB, resident only as the kernel writes into it.
pub const BUF_COUNT: u16 = 256;
/// Bytes per buffer.
pub const BUF_LEN: usize = 16 * 1024;

/// The provided-buffer ring: `BUF_COUNT` entries the kernel picks receive buffers from, and the
/// buffers themselves, both in fixed allocations that never move.
pub struct BufRing {
    entries: NonNull<BufRingEntry>,
    entries_layout: Layout,
    memory: NonNull<u8>,
    memory_layout: Layout,
    /// Our copy of the ring's tail: entries published so far (wrapping).
    tail: u16,
    leaked: bool,
}

impl BufRing {
    /// Allocates the (empty) ring and the buffers; [`BufRing::fill`] publishes them once
    /// registered.
    pub fn new() -> io::Result<Self> {
        let page = 4096;
        let too_big = |_| io::Error::from(io::ErrorKind::InvalidInput);
        let entries_layout = Layout::from_size_align(
            usize::from(BUF_COUNT) * std::mem::size_of::<BufRingEntry>(),
            page,
        )
        .map_err(too_big)?;
        // No page alignment for the buffers: a plain zeroed allocation this size is fresh mmap'd
        // memory (calloc), resident only once the kernel writes into it.
        let memory_layout =
            Layout::from_size_align(usize::from(BUF_COUNT) * BUF_LEN, 16).map_err(too_big)?;
        // SAFETY: both layouts have a non-zero size. Zeroed memory is a valid empty ring (tail 0).
        let (entries, memory) = unsafe {
            (
                alloc::alloc_zeroed(entries_layout),
                alloc::alloc_zeroed(memory_layout),
            )
        };
        match (NonNull::new(entries.cast()), NonNull::new(memory)) {
            (Some(entries), Some(memory)) => Ok(BufRing {
                entries,
                entries_layout,
                memory,
                memory_layout,
                tail: 0,
                leaked: false,
            }),
            _ => Err(io::ErrorKind::OutOfMemory.into()),
        }
    }

    /// The address to register with the kernel.
    pub fn ring_addr(&self) -> u64 {
        self.entries.as_ptr() as u64
    }

    /// Publishes every buffer (once, after registration).
    pub fn fill(&mut self) {
        for bid in 0..BUF_COUNT {
            self.recycle(bid);
        }
    }

    /// The `len` bytes the kernel wrote into buffer `bid`, or `None` if the completion does not
    /// describe a buffer of ours.
    pub fn data(&self, bid: u16, len: usize) -> Option<&[u8]> {
        if bid >= BUF_COUNT || len > BUF_LEN {
            return None;
        }
        // SAFETY: the range lies inside `memory`. The kernel wrote these bytes before posting the
        // completion that named `bid`, and it cannot write to the buffer again until `recycle`
        // puts it back in the ring, which happens only after the caller is done with the slice.
        Some(unsafe {
            std::slice::from_raw_parts(self.memory.as_ptr().add(usize::from(bid) * BUF_LEN), len)
        })
    }

    /// Hands buffer `bid` back to the kernel.
    pub fn recycle(&mut self, bid: u16) {
        let index = usize::from(self.tail & (BUF_COUNT - 1));
        // SAFETY: `index < BUF_COUNT`, inside the entries allocation. The slot at the tail is not
        // visible to the kernel until the tail moves past it below; the kernel reads only the
        // `resv` field of entry 0 (the tail), which the setters do not touch.
        let entry = unsafe { &mut *self.entries.as_ptr().add(index) };
        entry.set_addr(self.memory.as_ptr() as u64 + u64::from(bid) * BUF_LEN as u64);
        entry.set_len(BUF_LEN as u32);
        entry.set_bid(bid);
        self.tail = self.tail.wrapping_add(1);
        // SAFETY: `tail` points at the u16 tail field of the ring's first entry, which is valid,
        // 2-byte aligned and shared with the kernel only through atomic accesses. The release
        // store makes the entry written above visible before the kernel can see the new tail.
        unsafe {
            let tail = BufRingEntry::tail(self.entries.as_ptr()).cast_mut();
            AtomicU16::from_ptr(tail).store(self.tail, Ordering::Release);
        }
    }

    /// Gives up the memory rather than free it while the kernel may still use it.
    pub fn leak(&mut self) {
        self.leaked = true;
    }
}

impl Drop for BufRing {
    fn drop(&mut self) {
        if self.leaked {
            return;
        }
        // SAFETY: allocated in `new` with these layouts, freed once. The io_uring (dropped
        // before this, see `Server`) has no operation in flight and the ring was unregistered.
        unsafe {
            alloc::dealloc(self.entries.as_ptr().cast(), self.entries_layout);
            alloc::dealloc(self.memory.as_ptr(), self.memory_layout);
        }
    }
}
