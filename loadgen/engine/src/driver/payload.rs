//! The bytes each message carries, regenerated on demand instead of stored.
//!
//! Message `i` of client `c` is a pure function of `(seed, c, i)`: the sender writes it in
//! chunks straight into the worker's scratch buffer, and the receiver regenerates the same chunk
//! to compare with what came back. Nothing per message is allocated or kept, so a 1 MiB message
//! costs no more memory than a 64 B one.
//!
//! Payload byte `p` of a message is `PATTERN[p % BLOCK]` XORed with byte `p % 8` of a 64-bit
//! mask, one mask per message and `BLOCK`-byte block: the message's key for block 0, and
//! `splitmix64(key ^ block)` after it. The key is `splitmix64(splitmix64(seed ^ client) +
//! index)`: two hashes per message, none per byte. Generating is one XOR per 8 bytes against
//! a fixed table, and checking the same XOR compared with the echo word by word (both loops
//! vectorised by the compiler, nothing stored), so a stream is verified at memory speed, yet:
//! - any flipped byte differs from what was regenerated for its place;
//! - two messages of one client never share a mask (the key is a bijection of the index for a
//!   given seed and client, and the mask one of the key for a given block), so any 8 bytes of
//!   another message, echoed in place of this one's, differ from them (in `line`, where a `\n`
//!   becomes a space, all but always);
//! - a dropped, duplicated or shifted byte moves the table's random bytes out of their places.
//!
//! On the wire: `raw` sends the payload as is; `line` replaces any `\n` inside it with a space
//! and ends it with `\n`; `framed` prefixes the 4-byte big-endian payload length.

use proto::{Protocol, FRAME_HEADER_LEN};
use results_model::prng::splitmix64;

/// Payload bytes per mask; a multiple of 8. Small enough for the table to stay in L1 cache.
const BLOCK: usize = 4096;

/// The fixed random bytes every payload is masked from: splitmix64 of each 8-byte word's index.
static PATTERN: [u8; BLOCK] = pattern();

const fn pattern() -> [u8; BLOCK] {
    let mut out = [0u8; BLOCK];
    let mut i = 0;
    while i < BLOCK {
        let word = splitmix64((i / 8) as u64).to_le_bytes();
        let mut j = 0;
        while j < 8 {
            out[i + j] = word[j];
            j += 1;
        }
        i += 8;
    }
    out
}

/// Every byte of a `u64` set to `b`.
const fn splat(b: u8) -> u64 {
    u64::from_ne_bytes([b; 8])
}

/// `word` with each `\n` byte turned into a space, without branches (so the loop vectorises):
/// the classic exact zero-byte test on `word ^ "\n\n\n\n\n\n\n\n"`.
fn no_newlines(word: u64) -> u64 {
    let t = word ^ splat(b'\n');
    let low = splat(0x7f);
    let zero_bytes = !(((t & low).wrapping_add(low)) | t | low);
    // 0x80 marks each `\n`; `\n` ^ 0x2a is a space.
    word ^ ((zero_bytes >> 7) * u64::from(b'\n' ^ b' '))
}

/// Writes `pattern[i] ^ mask byte (i % 8)` into each `out[i]` (and, for `LINE`, turns `\n` into
/// a space). `out` and `pattern` have the same length.
fn mask_into<const LINE: bool>(out: &mut [u8], pattern: &[u8], mask: u64) {
    debug_assert_eq!(out.len(), pattern.len());
    let mut dst = out.chunks_exact_mut(8);
    let mut src = pattern.chunks_exact(8);
    for (d, s) in (&mut dst).zip(&mut src) {
        let mut word = u64::from_le_bytes(s.try_into().expect("chunks of 8")) ^ mask;
        if LINE {
            word = no_newlines(word);
        }
        d.copy_from_slice(&word.to_le_bytes());
    }
    let lanes = mask.to_le_bytes();
    for (i, (d, s)) in dst
        .into_remainder()
        .iter_mut()
        .zip(src.remainder())
        .enumerate()
    {
        let b = s ^ lanes[i];
        *d = if LINE && b == b'\n' { b' ' } else { b };
    }
}

/// Whether each `data[i]` is `pattern[i] ^ mask byte (i % 8)` (for `LINE`, with `\n` turned into
/// a space): [`mask_into`] fused with the comparison, so nothing is stored. `data` and
/// `pattern` have the same length.
fn masked_eq<const LINE: bool>(data: &[u8], pattern: &[u8], mask: u64) -> bool {
    debug_assert_eq!(data.len(), pattern.len());
    let mut got = data.chunks_exact(8);
    let mut src = pattern.chunks_exact(8);
    let mut diff = 0u64;
    for (g, s) in (&mut got).zip(&mut src) {
        let mut word = u64::from_le_bytes(s.try_into().expect("chunks of 8")) ^ mask;
        if LINE {
            word = no_newlines(word);
        }
        diff |= word ^ u64::from_le_bytes(g.try_into().expect("chunks of 8"));
    }
    let lanes = mask.to_le_bytes();
    let tail = got.remainder().iter().zip(src.remainder()).enumerate();
    diff == 0
        && tail.into_iter().all(|(i, (g, s))| {
            let b = s ^ lanes[i];
            *g == if LINE && b == b'\n' { b' ' } else { b }
        })
}

/// The mask of block `block` of the message whose key is `key`: for a given block, a bijection
/// of the key.
fn block_mask(key: u64, block: usize) -> u64 {
    match block {
        0 => key,
        b => splitmix64(key ^ b as u64),
    }
}

/// One run of payload bytes under one mask.
struct Stretch {
    /// The table's bytes for it.
    pattern: &'static [u8],
    /// The mask, rotated so that its byte 0 falls on the stretch's first byte.
    mask: u64,
    /// `line`: where in it the message's final `\n` goes, if there.
    newline: Option<usize>,
}

/// The stretches of payload bytes `at .. end` of one message: split where blocks begin.
struct Stretches {
    key: u64,
    at: usize,
    end: usize,
    /// `line`: the payload position of the final `\n`.
    newline: Option<usize>,
}

impl Iterator for Stretches {
    type Item = Stretch;

    fn next(&mut self) -> Option<Stretch> {
        if self.at >= self.end {
            return None;
        }
        let (block, at) = (self.at / BLOCK, self.at % BLOCK);
        let n = (BLOCK - at).min(self.end - self.at);
        // The mask's byte `p % 8` belongs to payload byte `p`, and the stretch starts at `at`:
        // rotate so that its first byte gets byte `at % 8`.
        let mask = block_mask(self.key, block).rotate_right(8 * (at % 8) as u32);
        let newline = self
            .newline
            .and_then(|last| last.checked_sub(self.at))
            .filter(|&i| i < n);
        self.at += n;
        Some(Stretch {
            pattern: &PATTERN[at..at + n],
            mask,
            newline,
        })
    }
}

/// The message generator for one run.
#[derive(Clone, Copy, Debug)]
pub struct Payload {
    seed: u64,
    protocol: Protocol,
    size: usize,
    /// `framed`: the payload length, big-endian (the first `header_len` bytes are sent).
    header: [u8; FRAME_HEADER_LEN],
}

impl Payload {
    /// Messages of `size` payload bytes in `protocol`, seeded by `seed`.
    pub fn new(seed: u64, protocol: Protocol, size: usize) -> Self {
        Payload {
            seed,
            protocol,
            size,
            header: (size as u32).to_be_bytes(),
        }
    }

    /// Bytes one message occupies on the wire.
    pub fn wire_len(&self) -> usize {
        self.header_len() + self.size
    }

    fn header_len(&self) -> usize {
        match self.protocol {
            Protocol::Framed => FRAME_HEADER_LEN,
            Protocol::Raw | Protocol::Line => 0,
        }
    }

    fn key(&self, client: u64, index: u64) -> u64 {
        splitmix64(splitmix64(self.seed ^ client).wrapping_add(index))
    }

    /// Writes wire bytes `offset .. offset + out.len()` of message `index` of `client` into `out`.
    pub fn fill(&self, client: u64, index: u64, offset: usize, out: &mut [u8]) {
        self.fill_keyed(self.key(client, index), offset, out);
    }

    /// [`Payload::fill`] for the message whose key is `key`.
    fn fill_keyed(&self, key: u64, offset: usize, out: &mut [u8]) {
        debug_assert!(offset + out.len() <= self.wire_len());
        let (head, mut out) = out.split_at_mut(self.header_part(offset, out.len()).len());
        head.copy_from_slice(self.header_part(offset, head.len()));
        let line = self.protocol == Protocol::Line;
        for s in self.stretches(key, offset + head.len(), out.len()) {
            let (chunk, rest) = std::mem::take(&mut out).split_at_mut(s.pattern.len());
            if line {
                mask_into::<true>(chunk, s.pattern, s.mask);
                if let Some(i) = s.newline {
                    chunk[i] = b'\n';
                }
            } else {
                mask_into::<false>(chunk, s.pattern, s.mask);
            }
            out = rest;
        }
    }

    /// Whether `data` equals wire bytes `offset .. offset + data.len()` of message `index` of
    /// `client`: compares it word by word with the bytes regenerated in registers.
    pub fn verify(&self, client: u64, index: u64, offset: usize, data: &[u8]) -> bool {
        debug_assert!(offset + data.len() <= self.wire_len());
        let key = self.key(client, index);
        let header = self.header_part(offset, data.len());
        let (head, mut data) = data.split_at(header.len());
        if head != header {
            return false;
        }
        let line = self.protocol == Protocol::Line;
        for s in self.stretches(key, offset + head.len(), data.len()) {
            let (chunk, rest) = data.split_at(s.pattern.len());
            let same = match (line, s.newline) {
                // The `\n` ends the message, so it is the stretch's last byte.
                (_, Some(i)) => {
                    masked_eq::<true>(&chunk[..i], &s.pattern[..i], s.mask) && chunk[i] == b'\n'
                }
                (true, None) => masked_eq::<true>(chunk, s.pattern, s.mask),
                (false, None) => masked_eq::<false>(chunk, s.pattern, s.mask),
            };
            if !same {
                return false;
            }
            data = rest;
        }
        true
    }

    /// The framed header's bytes among wire bytes `offset .. offset + len` (empty if none).
    fn header_part(&self, offset: usize, len: usize) -> &[u8] {
        let header = &self.header[..self.header_len()];
        &header[offset.min(header.len())..(offset + len).min(header.len())]
    }

    /// Payload bytes of the message whose key is `key`, from wire byte `offset` on, `len` of
    /// them, as stretches of one mask each (the header, if any, is before `offset`).
    fn stretches(&self, key: u64, offset: usize, len: usize) -> Stretches {
        Stretches {
            key,
            at: offset.saturating_sub(self.header_len()),
            end: (offset + len).saturating_sub(self.header_len()),
            newline: (self.protocol == Protocol::Line).then(|| self.size - 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(p: &Payload, client: u64, index: u64) -> Vec<u8> {
        let mut v = vec![0; p.wire_len()];
        p.fill(client, index, 0, &mut v);
        v
    }

    /// The format as specified, one byte at a time: what the word-wise code must equal.
    fn reference(p: &Payload, client: u64, index: u64) -> Vec<u8> {
        let mut v = Vec::new();
        if p.protocol == Protocol::Framed {
            v.extend_from_slice(&(p.size as u32).to_be_bytes());
        }
        let key = p.key(client, index);
        for i in 0..p.size {
            let block = (i / BLOCK) as u64;
            let mask = if block == 0 {
                key
            } else {
                splitmix64(key ^ block)
            }
            .to_le_bytes();
            let pattern = splitmix64(((i % BLOCK) / 8) as u64).to_le_bytes();
            let b = pattern[i % 8] ^ mask[i % 8];
            v.push(match p.protocol {
                Protocol::Line if i + 1 == p.size => b'\n',
                Protocol::Line if b == b'\n' => b' ',
                _ => b,
            });
        }
        v
    }

    #[test]
    fn bytes_match_the_reference_for_every_size_and_split() {
        for protocol in Protocol::ALL {
            for size in [
                1,
                7,
                8,
                9,
                64,
                100,
                BLOCK - 1,
                BLOCK,
                BLOCK + 5,
                3 * BLOCK + 13,
            ] {
                let p = Payload::new(7, protocol, size);
                let full = reference(&p, 3, 9);
                assert_eq!(whole(&p, 3, 9), full, "{protocol} size {size}");
                for split in [1, 3, 8, 13, 50, 99, BLOCK - 3, BLOCK + 1, 2 * BLOCK + 7] {
                    if split >= p.wire_len() {
                        continue;
                    }
                    let mut v = vec![0; p.wire_len()];
                    let (a, b) = v.split_at_mut(split);
                    p.fill(3, 9, 0, a);
                    p.fill(3, 9, split, b);
                    assert_eq!(v, full, "{protocol} size {size} split at {split}");
                    assert!(p.verify(3, 9, split, &full[split..]));
                    assert!(p.verify(3, 9, 0, &full[..split]));
                }
            }
        }
    }

    #[test]
    fn newlines_become_spaces_in_every_lane() {
        for lane in 0..8 {
            for b in 0..=255u8 {
                let mut bytes = [b'a'; 8];
                bytes[lane] = b;
                let out = no_newlines(u64::from_le_bytes(bytes)).to_le_bytes();
                let want = if b == b'\n' { b' ' } else { b };
                assert_eq!(out[lane], want, "byte {b:#x} in lane {lane}");
                assert!(out.iter().enumerate().all(|(i, &o)| i == lane || o == b'a'));
            }
        }
    }

    #[test]
    fn every_flipped_byte_is_caught() {
        for protocol in Protocol::ALL {
            for size in [1, 8, 64, BLOCK + 100] {
                let p = Payload::new(1, protocol, size);
                let m = whole(&p, 5, 5);
                assert!(p.verify(5, 5, 0, &m));
                for i in 0..m.len() {
                    for bit in [0x01, 0x80] {
                        let mut bad = m.clone();
                        bad[i] ^= bit;
                        assert!(!p.verify(5, 5, 0, &bad), "{protocol} {size}: byte {i}");
                    }
                }
            }
        }
    }

    #[test]
    fn any_8_bytes_of_another_message_of_the_client_are_caught() {
        // Two messages of one client never share a mask, so no 8 bytes of one, in the same
        // place, pass for the other: a swapped, repeated or skipped echo cannot pass.
        for protocol in [Protocol::Raw, Protocol::Framed] {
            let p = Payload::new(11, protocol, 2 * BLOCK + 24);
            let header = p.header_len();
            let messages: Vec<Vec<u8>> = (0..40).map(|i| whole(&p, 2, i)).collect();
            for (i, mine) in messages.iter().enumerate() {
                for (j, other) in messages.iter().enumerate().filter(|&(j, _)| j != i) {
                    for at in (header..mine.len() - 8).step_by(509) {
                        let window = &other[at..at + 8];
                        assert!(!p.verify(2, i as u64, at, window), "{j} as {i} at {at}");
                    }
                    assert!(!p.verify(2, i as u64, 0, other));
                }
                assert_ne!(mine, &whole(&p, 3, i as u64), "another client");
                assert_ne!(
                    mine,
                    &whole(&Payload::new(12, protocol, p.size), 2, i as u64)
                );
            }
        }
    }

    #[test]
    fn shifted_bytes_are_caught() {
        // A dropped or repeated byte, or a block echoed in the place of another, moves the
        // table's bytes out of their places.
        let p = Payload::new(4, Protocol::Raw, 3 * BLOCK);
        let m = whole(&p, 0, 0);
        for shift in [1, 2, 7, 8, 9, 64, BLOCK - 8, BLOCK, 2 * BLOCK] {
            for at in [0, 100, BLOCK - 3] {
                if at + shift + 64 <= m.len() {
                    assert!(!p.verify(0, 0, at, &m[at + shift..at + shift + 64]));
                }
                if at >= shift {
                    assert!(!p.verify(0, 0, at, &m[at - shift..at - shift + 64]));
                }
            }
        }
    }

    #[test]
    fn line_and_framed_are_well_formed() {
        let line = Payload::new(3, Protocol::Line, 1000);
        for i in 0..50 {
            let m = whole(&line, 1, i);
            assert_eq!(m.iter().filter(|&&b| b == b'\n').count(), 1);
            assert_eq!(m.last(), Some(&b'\n'));
        }
        let framed = Payload::new(3, Protocol::Framed, 300);
        let m = whole(&framed, 1, 1);
        assert_eq!(m.len(), 304);
        assert_eq!(&m[..4], &300u32.to_be_bytes());
    }
}
