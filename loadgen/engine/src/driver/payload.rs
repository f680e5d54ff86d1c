//! The bytes each message carries, regenerated on demand instead of stored.
//!
//! Message `i` of client `c` is a pure function of `(seed, c, i)`: the sender writes it in
//! chunks straight into the worker's scratch buffer, and the receiver regenerates the same chunk
//! to compare with what came back. Nothing per message is allocated or kept, so a 1 MiB message
//! costs no more memory than a 64 B one, and any byte the server drops, duplicates, reorders or
//! flips is caught.
//!
//! On the wire: `raw` sends the payload as is; `line` replaces any `\n` inside it and ends it
//! with `\n`; `framed` prefixes the 4-byte big-endian payload length.

use proto::{Protocol, FRAME_HEADER_LEN};
use results_model::prng::splitmix64;

/// The message generator for one run.
#[derive(Clone, Copy, Debug)]
pub struct Payload {
    seed: u64,
    protocol: Protocol,
    size: usize,
}

impl Payload {
    /// Messages of `size` payload bytes in `protocol`, seeded by `seed`.
    pub fn new(seed: u64, protocol: Protocol, size: usize) -> Self {
        Payload {
            seed,
            protocol,
            size,
        }
    }

    /// Bytes one message occupies on the wire.
    pub fn wire_len(&self) -> usize {
        match self.protocol {
            Protocol::Framed => self.size + FRAME_HEADER_LEN,
            Protocol::Raw | Protocol::Line => self.size,
        }
    }

    fn key(&self, client: u64, index: u64) -> u64 {
        splitmix64(self.seed ^ splitmix64(client ^ splitmix64(index)))
    }

    /// Writes wire bytes `offset .. offset + out.len()` of message `index` of `client` into `out`.
    pub fn fill(&self, client: u64, index: u64, offset: usize, out: &mut [u8]) {
        debug_assert!(offset + out.len() <= self.wire_len());
        let key = self.key(client, index);
        let header = match self.protocol {
            Protocol::Framed => FRAME_HEADER_LEN,
            Protocol::Raw | Protocol::Line => 0,
        };
        let mut pos = offset;
        let mut out = out;
        // Framed: the length header first.
        while pos < header && !out.is_empty() {
            let len = (self.size as u32).to_be_bytes();
            out[0] = len[pos];
            out = &mut out[1..];
            pos += 1;
        }
        if out.is_empty() {
            return;
        }
        // Then payload bytes, 8 per splitmix64 call.
        let mut p = pos - header;
        while !out.is_empty() {
            let word = splitmix64(key.wrapping_add((p / 8) as u64)).to_le_bytes();
            let start = p % 8;
            let n = (8 - start).min(out.len());
            out[..n].copy_from_slice(&word[start..start + n]);
            if self.protocol == Protocol::Line {
                for (i, b) in out[..n].iter_mut().enumerate() {
                    if p + i + 1 == self.size {
                        *b = b'\n';
                    } else if *b == b'\n' {
                        // Any other byte value will do; this one keeps the line intact.
                        *b = b' ';
                    }
                }
            }
            out = &mut out[n..];
            p += n;
        }
    }

    /// Whether `data` equals wire bytes `offset .. offset + data.len()` of message `index` of
    /// `client`. Compares in 64-byte chunks regenerated on the stack.
    pub fn verify(&self, client: u64, index: u64, offset: usize, data: &[u8]) -> bool {
        let mut expected = [0u8; 64];
        let mut off = offset;
        for chunk in data.chunks(expected.len()) {
            let exp = &mut expected[..chunk.len()];
            self.fill(client, index, off, exp);
            if exp != chunk {
                return false;
            }
            off += chunk.len();
        }
        true
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

    #[test]
    fn any_split_fills_the_same_bytes() {
        for protocol in Protocol::ALL {
            let p = Payload::new(7, protocol, 100);
            let full = whole(&p, 3, 9);
            for split in [1, 3, 8, 13, 50, 99] {
                let mut v = vec![0; p.wire_len()];
                let (a, b) = v.split_at_mut(split);
                p.fill(3, 9, 0, a);
                p.fill(3, 9, split, b);
                assert_eq!(v, full, "{protocol} split at {split}");
                assert!(p.verify(3, 9, split, &full[split..]));
            }
        }
    }

    #[test]
    fn messages_differ_and_corruption_is_caught() {
        let p = Payload::new(1, Protocol::Raw, 64);
        assert_ne!(whole(&p, 0, 0), whole(&p, 0, 1));
        assert_ne!(whole(&p, 0, 0), whole(&p, 1, 0));
        assert_ne!(
            whole(&p, 0, 0),
            whole(&Payload::new(2, Protocol::Raw, 64), 0, 0)
        );
        let mut m = whole(&p, 5, 5);
        assert!(p.verify(5, 5, 0, &m));
        m[40] ^= 1;
        assert!(!p.verify(5, 5, 0, &m));
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
