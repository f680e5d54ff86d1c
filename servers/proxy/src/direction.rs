//! One direction of a connection: read, timestamp, queue, and write each chunk at its release time.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, Semaphore};
use tokio::time::Instant;

use crate::delay::DelaySampler;
use crate::release_clock::ReleaseClock;
use crate::stats::ProxyStats;

/// Most chunks queued in one direction, whatever their size: bounds the per-chunk overhead when
/// a peer trickles single bytes.
const MAX_QUEUED_CHUNKS: usize = 4096;

/// Largest single read; a smaller byte budget shrinks it. The buffer lives as long as the
/// connection, twice (one per direction), so it is kept small: echo traffic is small messages.
const READ_CHUNK: usize = 16 * 1024;

/// What the reader saw, in the order it saw it.
#[derive(Debug)]
enum Segment {
    /// Bytes, forwarded unchanged.
    Data(Vec<u8>),
    /// The sender closed its side: shut down the writing side once everything before is out.
    Eof,
    /// The read failed (typically a reset): the connection is torn down at this point.
    Failed(io::Error),
}

/// A segment with the instant it may be written.
#[derive(Debug)]
struct Queued {
    release: Instant,
    segment: Segment,
}

/// Why a direction stopped before an orderly end.
#[derive(Debug)]
pub enum DirectionError {
    /// Reading the sending side failed; the failure was delayed like the data before it.
    Read(io::Error),
    /// Writing the receiving side failed (it reset or went away).
    Write(io::Error),
}

impl DirectionError {
    /// The underlying I/O error.
    pub fn io(&self) -> &io::Error {
        match self {
            DirectionError::Read(e) | DirectionError::Write(e) => e,
        }
    }
}

/// Forwards `from` to `to` until end of stream, each chunk `sampler`-delayed and in order.
/// At most `max_queued` bytes wait in between; past that, `from` is not read (backpressure).
pub async fn forward<R, W>(
    from: R,
    to: W,
    sampler: DelaySampler,
    max_queued: usize,
    clock: &ReleaseClock,
    stats: &ProxyStats,
) -> Result<(), DirectionError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let max_queued = max_queued.clamp(1, Semaphore::MAX_PERMITS);
    let budget = Semaphore::new(max_queued);
    let (tx, rx) = mpsc::channel(MAX_QUEUED_CHUNKS);
    let read = read_side(from, tx, sampler, &budget, max_queued);
    let write = write_side(to, rx, &budget, clock, stats);
    tokio::pin!(read, write);
    // The writer decides the outcome. It ends after the reader's last segment, or on a failed
    // write, and then a reader still blocked on an idle peer is dropped rather than awaited.
    let mut reading = true;
    loop {
        tokio::select! {
            result = &mut write => return result,
            () = &mut read, if reading => reading = false,
        }
    }
}

/// Reads chunks as the byte budget allows and queues each with its release time.
async fn read_side<R: AsyncRead + Unpin>(
    mut from: R,
    tx: mpsc::Sender<Queued>,
    mut sampler: DelaySampler,
    budget: &Semaphore,
    max_queued: usize,
) {
    let largest = max_queued.min(READ_CHUNK);
    // Wait for a quarter of the queue to drain before reading again once it is full, so that a
    // full queue is refilled in sizeable reads rather than byte by byte.
    let smallest = (max_queued / 4).clamp(1, largest);
    let mut buf = vec![0u8; largest];
    loop {
        // Reserve the read's budget before reading; what the read does not use is given back.
        // Only the writer adds permits meanwhile, so what is available can only grow.
        let reserve = budget.available_permits().clamp(smallest, largest);
        match budget
            .acquire_many(u32::try_from(reserve).unwrap_or(u32::MAX))
            .await
        {
            Ok(permit) => permit.forget(),
            Err(_) => return, // closed only by the writer on failure
        }
        let result = from.read(&mut buf[..reserve]).await;
        let arrival = Instant::now();
        let segment = match result {
            Ok(0) => {
                budget.add_permits(reserve);
                Segment::Eof
            }
            Ok(n) => {
                budget.add_permits(reserve - n);
                // Copy out only what arrived, so a queued chunk holds n bytes, not a read buffer.
                Segment::Data(buf[..n].to_vec())
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                budget.add_permits(reserve);
                continue;
            }
            Err(e) => {
                budget.add_permits(reserve);
                Segment::Failed(e)
            }
        };
        let last = !matches!(segment, Segment::Data(_));
        let queued = Queued {
            release: sampler.release(arrival),
            segment,
        };
        if tx.send(queued).await.is_err() || last {
            return;
        }
    }
}

/// Writes each queued segment when its release time comes.
async fn write_side<W: AsyncWrite + Unpin>(
    mut to: W,
    mut rx: mpsc::Receiver<Queued>,
    budget: &Semaphore,
    clock: &ReleaseClock,
    stats: &ProxyStats,
) -> Result<(), DirectionError> {
    let result = write_queue(&mut to, &mut rx, budget, clock, stats).await;
    if result.is_err() {
        // Wake a reader waiting for budget so that the join ends.
        budget.close();
    }
    result
}

async fn write_queue<W: AsyncWrite + Unpin>(
    to: &mut W,
    rx: &mut mpsc::Receiver<Queued>,
    budget: &Semaphore,
    clock: &ReleaseClock,
    stats: &ProxyStats,
) -> Result<(), DirectionError> {
    while let Some(Queued { release, segment }) = rx.recv().await {
        clock.wait_until(release).await;
        match segment {
            Segment::Data(bytes) => {
                to.write_all(&bytes).await.map_err(DirectionError::Write)?;
                budget.add_permits(bytes.len());
                stats.add_forwarded(bytes.len());
            }
            Segment::Eof => {
                to.shutdown().await.map_err(DirectionError::Write)?;
                return Ok(());
            }
            Segment::Failed(e) => return Err(DirectionError::Read(e)),
        }
    }
    // The reader always queues an end; reaching here means it was dropped mid-way.
    Err(DirectionError::Read(io::Error::other(
        "reader stopped without an end of stream",
    )))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{duplex, AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// With time paused, release times are exact: the first byte appears after the delay, not
    /// before, and a sink that never reads stops the reading after the queue cap.
    #[tokio::test(start_paused = true)]
    async fn data_waits_for_its_release_time() {
        let (mut source, from) = duplex(1024);
        let (to, mut sink) = duplex(1024);
        let sampler = DelaySampler::new(Duration::from_millis(10), Duration::ZERO, 1, 0);
        let stats = ProxyStats::default();
        let started = Instant::now();
        let forwarding = async {
            forward(from, to, sampler, 4096, &ReleaseClock::Tokio, &stats)
                .await
                .unwrap();
        };
        let check = async {
            source.write_all(b"hello").await.unwrap();
            let mut buf = [0u8; 5];
            sink.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"hello");
            assert!(started.elapsed() >= Duration::from_millis(10));
            drop(source);
            assert_eq!(
                sink.read(&mut buf).await.unwrap(),
                0,
                "end of stream passed on"
            );
        };
        tokio::join!(forwarding, check);
    }

    #[tokio::test(start_paused = true)]
    async fn a_sink_that_never_reads_stops_the_reading() {
        const CAP: usize = 8 * 1024;
        const PIPE: usize = 1024;
        let (mut source, from) = duplex(PIPE);
        let (to, _sink) = duplex(PIPE);
        let sampler = DelaySampler::new(Duration::from_millis(1), Duration::ZERO, 1, 0);
        let stats = ProxyStats::default();
        let mut written = 0usize;
        let writing = async {
            let block = [7u8; 256];
            loop {
                source.write_all(&block).await.unwrap();
                written += block.len();
            }
        };
        tokio::select! {
            _ = forward(from, to, sampler, CAP, &ReleaseClock::Tokio, &stats) => panic!("forward ended"),
            () = writing => unreachable!(),
            // Paused time jumps ahead once every task is blocked: this fires only when the
            // writer has been stuck for a (virtual) minute.
            () = tokio::time::sleep(Duration::from_secs(60)) => {}
        }
        // At most: the sink pipe, the queue, one chunk being written and the source pipe.
        let most = PIPE + CAP + PIPE + 256;
        assert!(
            written <= most,
            "{written} bytes accepted, more than {most}"
        );
        assert!(
            written >= CAP,
            "only {written} bytes accepted: the queue was not used"
        );
    }
}
