//! The io_uring itself: how it is built, and how a completion names its connection and
//! operation.

use anyhow::anyhow;
use io_uring::IoUring;

/// Submission queue size; the completion queue is larger because multishot operations post many
/// completions per submission.
const SQ_ENTRIES: u32 = 1024;
const CQ_ENTRIES: u32 = 16 * 1024;
/// The group id of the one ring of provided buffers.
pub(super) const BUF_GROUP: u16 = 0;

/// `user_data` layout: the slab key above, the operation in the low bits.
pub(super) const OP_BITS: u32 = 3;
pub(super) const OP_ACCEPT: u64 = 0;
pub(super) const OP_RECV: u64 = 1;
pub(super) const OP_SEND: u64 = 2;
pub(super) const OP_CANCEL: u64 = 3;
pub(super) const OP_WAKE: u64 = 4;

/// The `user_data` of operation `op` on connection `key`.
pub(super) fn user_data(key: usize, op: u64) -> u64 {
    ((key as u64) << OP_BITS) | op
}

/// Fails with a clear message when this kernel cannot give the model an io_uring, so the server
/// refuses to start before it announces a listening address.
pub fn check_available() -> anyhow::Result<()> {
    build_ring().map(drop)
}

/// A ring with the flags that suit one thread that submits and reaps itself, or a plain ring on
/// kernels that reject them; a clear error when io_uring is missing or forbidden.
pub(super) fn build_ring() -> anyhow::Result<IoUring> {
    let tuned = IoUring::builder()
        .setup_cqsize(CQ_ENTRIES)
        .setup_coop_taskrun()
        .setup_single_issuer()
        .setup_defer_taskrun()
        .build(SQ_ENTRIES);
    let err = match tuned {
        Ok(ring) => return Ok(ring),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            match IoUring::builder()
                .setup_cqsize(CQ_ENTRIES)
                .build(SQ_ENTRIES)
            {
                Ok(ring) => return Ok(ring),
                Err(e) => e,
            }
        }
        Err(e) => e,
    };
    let why = match err.raw_os_error() {
        Some(libc::ENOSYS) => "this kernel has no io_uring",
        Some(libc::EPERM) => "io_uring is forbidden here (kernel.io_uring_disabled or seccomp)",
        Some(libc::ENOMEM) => "not enough locked memory for the rings (RLIMIT_MEMLOCK)",
        _ => "io_uring_setup failed",
    };
    Err(anyhow!("{why}: {err}; use another --model"))
}
