//! What this box allows: the fd budget shared by the many-client cases, and whether io_uring
//! works. Each is worked out once per test process; a case that cannot run here says why and
//! returns instead of failing.

use std::sync::{Condvar, Mutex, OnceLock};

/// fds kept back from the budget for everything that is not a many-client case's clients: the
/// small cases running beside it (a few sockets and pipes each), stdio, the test harness.
const RESERVED: u64 = 200;

/// A counting semaphore over the fds this process may open, sized from its raised limit.
struct FdBudget {
    available: Mutex<u64>,
    freed: Condvar,
    total: u64,
    hard_limit: u64,
}

fn fd_budget() -> &'static FdBudget {
    static BUDGET: OnceLock<FdBudget> = OnceLock::new();
    BUDGET.get_or_init(|| {
        // Raise the soft limit as far as the hard limit allows; the server children inherit it.
        let soft = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
        let (_, hard_limit) = rlimit::Resource::NOFILE.get().unwrap_or((soft, soft));
        let total = soft.saturating_sub(RESERVED);
        FdBudget {
            available: Mutex::new(total),
            freed: Condvar::new(),
            total,
            hard_limit,
        }
    })
}

/// fds held by one case; given back when dropped.
pub struct FdPermit(u64);

impl Drop for FdPermit {
    fn drop(&mut self) {
        let budget = fd_budget();
        *budget.available.lock().unwrap_or_else(|e| e.into_inner()) += self.0;
        budget.freed.notify_all();
    }
}

/// Waits until `fds` fds are free in this process's budget and holds them, so parallel cases
/// never open more than the limit together. `None` (with a printed reason) when the hard limit
/// can never allow that many: the case is skipped.
pub fn reserve_fds(case: &str, fds: u64) -> Option<FdPermit> {
    let budget = fd_budget();
    if fds > budget.total {
        testkit::skip(
            testkit::facility::FDS,
            &format!(
                "{case} needs {} fds ({fds} for its clients, {RESERVED} for the tests beside \
                 it), hard limit is {}",
                fds + RESERVED,
                budget.hard_limit
            ),
        );
        return None;
    }
    let mut available = budget.available.lock().unwrap_or_else(|e| e.into_inner());
    while *available < fds {
        available = budget
            .freed
            .wait(available)
            .unwrap_or_else(|e| e.into_inner());
    }
    *available -= fds;
    Some(FdPermit(fds))
}

/// Whether `model` can run on this box; prints why not (once per case) when it cannot.
pub fn model_available(model: &str) -> bool {
    static URING: OnceLock<Result<(), String>> = OnceLock::new();
    // Every case raises the limit first, so small cases also run with the same soft limit.
    fd_budget();
    if model != "uring" {
        return true;
    }
    let probe = URING
        .get_or_init(|| servers::models::uring::check_available().map_err(|e| format!("{e:#}")));
    match probe {
        Ok(()) => true,
        Err(why) => {
            testkit::skip(
                testkit::facility::IO_URING,
                &format!("uring conformance case: io_uring is not available here: {why}"),
            );
            false
        }
    }
}
