//! When an echo arrived, as the kernel saw it: software receive timestamps (`SO_TIMESTAMPING`).
//!
//! An open-loop worker reads its sockets on its own timer ticks instead of waking for every
//! echo (one wake-up per tick instead of one per message). The moment it reads is then up to
//! a tick after the echo arrived, so the arrival time is taken from the kernel instead: the
//! stamp the network stack put on the packet when it received it. A `recvmsg` returns the stamp
//! of the last packet it copied from, so when one read completes several messages each gets
//! that latest stamp: their latency is over- rather than understated.
//!
//! The stamps are `CLOCK_REALTIME`; [`Clocks`] converts them to the `Instant`
//! (`CLOCK_MONOTONIC`) the rest of the engine uses. A worker re-reads the offset on every turn
//! of its loop, so a clock adjustment moves at most one turn's stamps, and a stamp is never
//! put after the read that returned it.

use std::io::{self, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd};
use std::time::{Duration, Instant};

use nix::sys::socket::{
    recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, TimestampingFlag, Timestamps,
};
use nix::time::{clock_gettime, ClockId};

/// Asks the kernel to stamp what `socket` receives.
pub fn enable(socket: &impl AsFd) -> io::Result<()> {
    let flags = TimestampingFlag::SOF_TIMESTAMPING_SOFTWARE
        | TimestampingFlag::SOF_TIMESTAMPING_RX_SOFTWARE;
    setsockopt(socket, sockopt::Timestamping, &flags).map_err(io::Error::from)
}

/// Space for one timestamping control message, reused by every read of a worker.
pub fn control_buffer() -> Vec<u8> {
    nix::cmsg_space!(Timestamps)
}

/// Reads into `buf` like `read`, and returns the kernel's receive stamp (realtime, since the
/// epoch) of the last packet read, when there was one.
pub fn read(
    socket: &impl AsRawFd,
    buf: &mut [u8],
    control: &mut [u8],
) -> io::Result<(usize, Option<Duration>)> {
    let mut iov = [IoSliceMut::new(buf)];
    let msg = recvmsg::<()>(
        socket.as_raw_fd(),
        &mut iov,
        Some(control),
        MsgFlags::empty(),
    )
    .map_err(io::Error::from)?;
    let mut stamp = None;
    if let Ok(cmsgs) = msg.cmsgs() {
        for cmsg in cmsgs {
            if let ControlMessageOwned::ScmTimestampsns(ts) = cmsg {
                let system = Duration::from(ts.system);
                // A zero stamp means the packet was not stamped.
                stamp = (!system.is_zero()).then_some(system);
            }
        }
    }
    Ok((msg.bytes, stamp))
}

/// Converts realtime stamps to `Instant`s: the offset between the two clocks, read together.
#[derive(Clone, Copy, Debug)]
pub struct Clocks {
    /// The `Instant` read next to `real`.
    mono: Instant,
    /// `CLOCK_REALTIME` at `mono` (zero when unreadable).
    real: Duration,
}

impl Clocks {
    /// Reads both clocks now.
    pub fn now() -> Clocks {
        let mono = Instant::now();
        let real = clock_gettime(ClockId::CLOCK_REALTIME).map_or(Duration::ZERO, Duration::from);
        Clocks { mono, real }
    }

    /// The `Instant` of a realtime `stamp` taken before `read_at` (when the data was read):
    /// never later than that, and `None` when the realtime clock was unreadable.
    pub fn instant(&self, stamp: Duration, read_at: Instant) -> Option<Instant> {
        if self.real.is_zero() {
            return None;
        }
        let at = match stamp.checked_sub(self.real) {
            Some(after) => self.mono.checked_add(after)?,
            None => self.mono.checked_sub(self.real - stamp)?,
        };
        Some(at.min(read_at))
    }

    /// Whether the realtime clock stepped between this reading and `later` by more than
    /// [`STEP`]: stamps read with the older offset near the step are misplaced by its size.
    pub fn stepped(&self, later: &Clocks) -> bool {
        if self.real.is_zero() || later.real.is_zero() {
            return false;
        }
        let mono = later.mono.saturating_duration_since(self.mono);
        let real = later.real.as_nanos() as i128 - self.real.as_nanos() as i128;
        (real - mono.as_nanos() as i128).unsigned_abs() > STEP.as_nanos()
    }
}

/// A realtime clock moving this much more or less than the monotonic one between two turns has
/// stepped: NTP slews at most 0.05%, which over a turn stays far below it.
pub const STEP: Duration = Duration::from_millis(1);

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn a_stamp_converts_to_the_instant_it_was_taken() {
        let clocks = Clocks::now();
        let later = clocks.mono + Duration::from_secs(5);
        let ten_ago = clocks.real - Duration::from_millis(10);
        assert_eq!(
            clocks.instant(ten_ago, later),
            Some(clocks.mono - Duration::from_millis(10))
        );
        let soon = clocks.real + Duration::from_millis(10);
        assert_eq!(
            clocks.instant(soon, later),
            Some(clocks.mono + Duration::from_millis(10))
        );
        let future = clocks.real + Duration::from_secs(10);
        assert_eq!(
            clocks.instant(future, later),
            Some(later),
            "not after the read"
        );
    }

    #[test]
    fn a_step_of_the_realtime_clock_is_told_from_a_slew() {
        let a = Clocks::now();
        let mut b = a;
        b.mono += Duration::from_millis(100);
        b.real += Duration::from_millis(100) + Duration::from_micros(50);
        assert!(!a.stepped(&b), "a 0.05% slew over 100 ms");
        b.real += Duration::from_millis(2);
        assert!(a.stepped(&b), "2 ms forward");
        let mut c = a;
        c.mono += Duration::from_millis(10);
        c.real = c.real.saturating_sub(Duration::from_millis(5));
        assert!(a.stepped(&c), "backwards");
    }

    #[test]
    fn a_read_returns_the_kernel_stamp_of_its_data() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut tx = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (rx, _) = listener.accept().unwrap();
        enable(&rx).unwrap();
        // The kernel turns its receive stamping on asynchronously (a static key flipped from a
        // work queue), so the first packets after the first `enable` may go unstamped.
        std::thread::sleep(Duration::from_millis(50));
        let before = Instant::now();
        tx.write_all(b"hello").unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let (mut buf, mut control) = ([0u8; 16], control_buffer());
        let (n, stamp) = read(&rx, &mut buf, &mut control).unwrap();
        let clocks = Clocks::now();
        let read_at = Instant::now();
        assert_eq!(&buf[..n], b"hello");
        let Some(stamp) = stamp else {
            testkit::skip(
                testkit::facility::RX_TIMESTAMPS,
                "a_read_returns_the_kernel_stamp_of_its_data: this kernel does not stamp received TCP data",
            );
            return;
        };
        let at = clocks.instant(stamp, read_at).unwrap();
        // Stamped on arrival, not on the read 50 ms later (realtime and monotonic may
        // disagree by a little; 25 ms is far from both ends).
        assert!(
            at + Duration::from_millis(25) < clocks.mono,
            "stamp is the read time"
        );
        assert!(
            at + Duration::from_millis(25) > before,
            "stamp before the write"
        );
    }
}
