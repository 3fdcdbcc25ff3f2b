//! LZW as Go's `compress/lzw` does it with `LSB` order and 8-bit literals:
//! codes start 9 bits wide and grow to 12, 256 is the clear code, 257 the end
//! code, and the writer opens with a clear code. memberlist compresses with it
//! (`compressPayload` in `util.go`).
//!
//! Decompression takes a limit on its output, because LZW expands input by up
//! to a few thousand times and a hostile peer would otherwise choose our
//! memory use.

use super::DecodeError;

const LIT_WIDTH: u32 = 8;
const CLEAR: u16 = 1 << LIT_WIDTH;
const EOF: u16 = CLEAR + 1;
const MAX_WIDTH: u32 = 12;
const MAX_CODE: u16 = (1 << MAX_WIDTH) - 1;

struct BitWriter {
    out: Vec<u8>,
    acc: u32,
    bits: u32,
}

impl BitWriter {
    fn put(&mut self, code: u16, width: u32) {
        self.acc |= (code as u32) << self.bits;
        self.bits += width;
        while self.bits >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.bits -= 8;
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.bits > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// The compressor's dictionary, (prefix code, next byte) -> code, as an
/// open-addressed table of `key << 12 | code` words (0 is empty: codes start
/// above 257). Every packet sent is compressed, so this is a hot path: a
/// std `HashMap` (SipHash, rehashing as it grew) was most of its cost. The
/// table is sized for the codes the input can create (at most one a byte,
/// and 4,096 before a clear), at most half full.
struct Dict {
    slots: Vec<u32>,
    shift: u32,
}

impl Dict {
    fn for_input(len: usize) -> Dict {
        let size = (len.min(MAX_CODE as usize) * 2).next_power_of_two().max(64);
        Dict { slots: vec![0; size], shift: 32 - size.trailing_zeros() }
    }

    fn start(&self, key: u32) -> usize {
        (key.wrapping_mul(0x9E37_79B1) >> self.shift) as usize
    }

    fn get(&self, prefix: u16, byte: u8) -> Option<u16> {
        let key = u32::from(prefix) << 8 | u32::from(byte);
        let mask = self.slots.len() - 1;
        let mut i = self.start(key);
        loop {
            match self.slots[i] {
                0 => return None,
                slot if slot >> 12 == key => return Some((slot & 0xFFF) as u16),
                _ => i = (i + 1) & mask,
            }
        }
    }

    fn insert(&mut self, prefix: u16, byte: u8, code: u16) {
        let key = u32::from(prefix) << 8 | u32::from(byte);
        let mask = self.slots.len() - 1;
        let mut i = self.start(key);
        while self.slots[i] != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = key << 12 | u32::from(code);
    }

    fn clear(&mut self) {
        self.slots.fill(0);
    }
}

/// Compresses `input` into a stream Go's `lzw.NewReader(r, lzw.LSB, 8)` reads.
pub fn compress(input: &[u8]) -> Vec<u8> {
    let mut w = BitWriter { out: Vec::with_capacity(input.len() / 2 + 4), acc: 0, bits: 0 };
    let mut width = LIT_WIDTH + 1;
    w.put(CLEAR, width);
    let Some((&first, rest)) = input.split_first() else {
        w.put(EOF, width);
        return w.finish();
    };
    let mut table = Dict::for_input(input.len());
    // `hi` is the last code assigned; `overflow` the first code needing a wider width.
    let mut hi = EOF;
    let mut overflow: u16 = 1 << (LIT_WIDTH + 1);
    let mut code = first as u16;
    for &b in rest {
        if let Some(next) = table.get(code, b) {
            code = next;
            continue;
        }
        w.put(code, width);
        let prev = code;
        code = b as u16;
        if next_code(&mut w, &mut hi, &mut width, &mut overflow) {
            table.clear();
        } else {
            table.insert(prev, b, hi);
        }
    }
    w.put(code, width);
    next_code(&mut w, &mut hi, &mut width, &mut overflow);
    w.put(EOF, width);
    w.finish()
}

/// Advances to the next code, widening codes when they need it; when the
/// codes run out, emits a clear code and starts over (returns true), as Go's
/// writer does.
fn next_code(w: &mut BitWriter, hi: &mut u16, width: &mut u32, overflow: &mut u16) -> bool {
    *hi += 1;
    if *hi == *overflow {
        *width += 1;
        *overflow <<= 1;
    }
    if *hi == MAX_CODE {
        w.put(CLEAR, *width);
        *width = LIT_WIDTH + 1;
        *hi = EOF;
        *overflow = 1 << (LIT_WIDTH + 1);
        return true;
    }
    false
}

/// Decompresses a Go LZW stream, refusing to produce more than `limit` bytes.
pub fn decompress(input: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    let mut prefix = vec![0u16; 1 << MAX_WIDTH];
    let mut suffix = vec![0u8; 1 << MAX_WIDTH];
    let mut out = Vec::with_capacity(input.len().saturating_mul(2).min(limit));
    let mut scratch = Vec::with_capacity(64);
    let mut width = LIT_WIDTH + 1;
    let mut hi = EOF;
    let mut overflow: u32 = 1 << width;
    let mut last: Option<u16> = None;
    let (mut acc, mut bits, mut pos) = (0u32, 0u32, 0usize);
    loop {
        while bits < width {
            let Some(&b) = input.get(pos) else {
                return Err(DecodeError::Decompress("lzw stream ends without an end code"));
            };
            pos += 1;
            acc |= (b as u32) << bits;
            bits += 8;
        }
        let code = (acc & ((1 << width) - 1)) as u16;
        acc >>= width;
        bits -= width;
        match code {
            c if c < CLEAR => {
                out.push(c as u8);
                if let Some(l) = last {
                    suffix[hi as usize] = c as u8;
                    prefix[hi as usize] = l;
                }
            }
            CLEAR => {
                width = LIT_WIDTH + 1;
                hi = EOF;
                overflow = 1 << width;
                last = None;
                continue;
            }
            EOF => return Ok(out),
            c if c <= hi => {
                // Walk the chain backwards into scratch. `c == hi` is the
                // KwKwK case: the string is last's string plus its first byte.
                scratch.clear();
                // With the table full (no `last`), Go reads `hi` as the
                // entry it already holds, so this decoder does too.
                let kwkwk = c == hi && last.is_some();
                let mut cur = c;
                if let (true, Some(l)) = (kwkwk, last) {
                    cur = l;
                }
                while cur >= CLEAR {
                    if cur <= EOF {
                        return Err(DecodeError::Decompress("lzw chain reaches a control code"));
                    }
                    scratch.push(suffix[cur as usize]);
                    cur = prefix[cur as usize];
                }
                scratch.push(cur as u8);
                let first = cur as u8;
                scratch.reverse();
                if kwkwk {
                    scratch.push(first);
                }
                out.extend_from_slice(&scratch);
                if let Some(l) = last {
                    suffix[hi as usize] = first;
                    prefix[hi as usize] = l;
                }
            }
            _ => return Err(DecodeError::Decompress("lzw code beyond the table")),
        }
        if out.len() > limit {
            return Err(DecodeError::TooLarge { what: "decompressed payload", len: out.len(), limit });
        }
        last = Some(code);
        hi += 1;
        if hi as u32 >= overflow {
            if width == MAX_WIDTH {
                // Table full: stop adding entries until the next clear code.
                last = None;
                hi -= 1;
            } else {
                width += 1;
                overflow = 1 << width;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_empty_small_and_repetitive_inputs() {
        let long: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8 ^ (i / 7) as u8).collect();
        for input in [&b""[..], b"a", b"abababababab", b"TOBEORNOTTOBEORTOBEORNOT", &long] {
            let c = compress(input);
            assert_eq!(decompress(&c, usize::MAX).unwrap(), input);
        }
    }

    #[test]
    fn known_go_output_for_a_short_string() {
        // Go 1.19: lzw.NewWriter(&b, lzw.LSB, 8) writing "aaa", then Close.
        // Codes: clear(256) 'a'(97) 258 eof(257), 9 bits each, LSB first.
        assert_eq!(compress(b"aaa"), vec![0x00, 0xc3, 0x08, 0x0c, 0x08]);
        assert_eq!(compress(b""), vec![0x00, 0x03, 0x02]);
    }

    /// Go's writer clears the table before it fills, so only a foreign
    /// writer reaches this state: the table full, then its last code. Go's
    /// reader expands that code from the table; so must this one.
    #[test]
    fn the_last_code_of_a_full_table_reads_as_go_reads_it() {
        let mut w = BitWriter { out: Vec::new(), acc: 0, bits: 0 };
        let (mut width, mut hi) = (LIT_WIDTH + 1, EOF);
        let literals = (MAX_CODE + 1 - EOF) as usize;
        for _ in 0..literals {
            w.put(b'a' as u16, width);
            hi += 1;
            if hi as u32 >= 1 << width && width < MAX_WIDTH {
                width += 1;
            }
        }
        // Each literal after the first defined an entry "aa"; the table is now full.
        w.put(MAX_CODE, MAX_WIDTH);
        w.put(EOF, MAX_WIDTH);
        let out = decompress(&w.finish(), 1 << 20).expect("Go reads this stream");
        assert_eq!(out.len(), literals + 2);
        assert!(out.iter().all(|&b| b == b'a'));
    }

    #[test]
    fn output_beyond_the_limit_is_refused() {
        let c = compress(&vec![0u8; 100_000]);
        assert!(matches!(decompress(&c, 1000), Err(DecodeError::TooLarge { .. })));
    }

    #[test]
    fn garbage_never_panics() {
        for seed in 0..2000u32 {
            let bytes: Vec<u8> = (0..(seed % 64)).map(|i| (seed.wrapping_mul(2654435761) >> (i % 24)) as u8).collect();
            let _ = decompress(&bytes, 1 << 16);
        }
    }
}
