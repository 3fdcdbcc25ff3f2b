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

/// Writes codes LSB first into `out`, which is sized up front for the
/// worst case (12 bits a byte, plus the clear codes) and 8 bytes more: each
/// code is then one unconditional 8-byte store, as a flush branch would be
/// as hard to predict as the codes are.
struct CodeWriter {
    out: Vec<u8>,
    /// Bytes of `out` written.
    len: usize,
    acc: u64,
    bits: u32,
}

impl CodeWriter {
    fn for_input(len: usize) -> Self {
        let codes = len + len / 2048 + 4;
        CodeWriter { out: vec![0; codes.saturating_mul(3) / 2 + 8], len: 0, acc: 0, bits: 0 }
    }

    #[inline(always)]
    fn put(&mut self, code: u16, width: u32) {
        self.acc |= u64::from(code) << self.bits;
        self.bits += width;
        self.out[self.len..self.len + 8].copy_from_slice(&self.acc.to_le_bytes());
        let done = self.bits / 8;
        self.len += done as usize;
        self.acc >>= done * 8;
        self.bits %= 8;
    }

    fn finish(mut self) -> Vec<u8> {
        self.out.truncate(self.len + self.bits.div_ceil(8) as usize);
        self.out
    }
}

/// The writer's codes: their width, and the last one assigned.
struct Codes {
    w: CodeWriter,
    width: u32,
    hi: u16,
    /// The next `hi` that widens the codes or runs out of them.
    event: u16,
}

impl Codes {
    /// Writes `code`, then advances to the next code as Go's writer does:
    /// codes widen when they need it, and when they run out a clear code
    /// goes out and they start over (returns true).
    #[inline(always)]
    fn emit(&mut self, code: u16) -> bool {
        self.w.put(code, self.width);
        self.hi += 1;
        if self.hi < self.event {
            return false;
        }
        if self.hi == MAX_CODE {
            self.w.put(CLEAR, self.width);
            self.width = LIT_WIDTH + 1;
            self.hi = EOF;
            self.event = 1 << self.width;
            return true;
        }
        self.width += 1;
        self.event = (1 << self.width).min(MAX_CODE);
        false
    }
}

/// Random words, one a byte, for hashing strings.
const BYTE_HASH: [u32; 256] = {
    let mut table = [0; 256];
    let mut x: u64 = 0;
    let mut i = 0;
    while i < 256 {
        // splitmix64
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        table[i] = (z >> 32) as u32;
        i += 1;
    }
    table
};

/// The compressor's dictionary, (prefix code, next byte) -> code, as an
/// open-addressed table of `key << 12 | code` words (0 is empty: codes start
/// above 257). Every packet sent is compressed, so this is a hot path: a
/// std `HashMap` (SipHash, rehashing as it grew) was most of its cost. The
/// table is sized for the codes the input can create (at most one a byte,
/// and 4,096 before a clear), at most half full; the size is a constant, so
/// indexing needs no bounds checks.
///
/// An entry's slot comes from a hash of its whole string, which the
/// compressor rolls along the input, not from its prefix code: so a
/// lookup's address does not wait for the previous lookup's load, and the
/// processor runs ahead through a match.
struct Dict<const SIZE: usize> {
    slots: Box<[u32; SIZE]>,
}

impl<const SIZE: usize> Dict<SIZE> {
    const SHIFT: u32 = 32 - SIZE.trailing_zeros();

    fn new() -> Self {
        Dict { slots: vec![0; SIZE].into_boxed_slice().try_into().expect("SIZE slots") }
    }

    /// The slot holding `key`, whose string hashes to `hash`, or else the
    /// empty slot where it goes.
    #[inline(always)]
    fn find(&self, hash: u32, key: u32) -> (usize, u32) {
        let mut i = (hash >> Self::SHIFT) as usize;
        loop {
            let slot = self.slots[i];
            if slot == 0 || slot >> 12 == key {
                return (i, slot);
            }
            i = (i + 1) & (SIZE - 1);
        }
    }
}

/// Compresses `input` into a stream Go's `lzw.NewReader(r, lzw.LSB, 8)` reads.
pub fn compress(input: &[u8]) -> Vec<u8> {
    // Emptying the table is a cost per call: small inputs get small tables.
    match input.len() {
        0..=32 => compress_with::<64>(input),
        33..=128 => compress_with::<256>(input),
        129..=512 => compress_with::<1024>(input),
        513..=2048 => compress_with::<4096>(input),
        _ => compress_with::<8192>(input),
    }
}

fn compress_with<const SIZE: usize>(input: &[u8]) -> Vec<u8> {
    let w = CodeWriter::for_input(input.len());
    let mut codes = Codes { w, width: LIT_WIDTH + 1, hi: EOF, event: 1 << (LIT_WIDTH + 1) };
    codes.w.put(CLEAR, codes.width);
    let Some((&first, rest)) = input.split_first() else {
        codes.w.put(EOF, codes.width);
        return codes.w.finish();
    };
    let mut table = Dict::<SIZE>::new();
    let mut code = u16::from(first);
    let mut hash = BYTE_HASH[usize::from(first)];
    for &b in rest {
        hash = hash.rotate_left(5) ^ BYTE_HASH[usize::from(b)];
        let key = u32::from(code) << 8 | u32::from(b);
        let (i, slot) = table.find(hash, key);
        if slot != 0 {
            code = (slot & 0xFFF) as u16;
            continue;
        }
        if codes.emit(code) {
            table.slots.fill(0);
        } else {
            table.slots[i] = key << 12 | u32::from(codes.hi);
        }
        code = u16::from(b);
        hash = BYTE_HASH[usize::from(b)];
    }
    codes.emit(code);
    codes.w.put(EOF, codes.width);
    codes.w.finish()
}

/// The bytes 0 to 255, which the decompressor's output starts with: a
/// literal code's string is then in the output as every other code's is.
const ALPHABET: [u8; 256] = {
    let mut bytes = [0; 256];
    let mut i = 0;
    while i < 256 {
        bytes[i] = i as u8;
        i += 1;
    }
    bytes
};

/// The decompressor's table as it stands after a clear: each literal's
/// string in the alphabet, then two unused entries for the clear and end
/// codes.
const LITERALS: [(usize, usize); EOF as usize + 1] = {
    let mut table = [(0, 0); EOF as usize + 1];
    let mut i = 0;
    while i < 256 {
        table[i] = (i, 1);
        i += 1;
    }
    table
};

/// Strings are copied in blocks of this many bytes; the output keeps this
/// much room past its end for the last block's overrun.
const BLOCK: usize = 16;

/// The longest string a code can stand for: a literal plus one byte for
/// each code defined since the last clear.
const MAX_STRING: usize = (MAX_CODE - EOF) as usize + 1;

/// Decompresses a Go LZW stream, refusing to produce more than `limit` bytes.
pub fn decompress(input: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
    // Every code's string is somewhere in `out` already: a literal's in the
    // alphabet at its start, any other's where the code that defined it
    // wrote it (the previous string, then its successor's first byte). So
    // `table[code]` is (start in `out`, length), and expanding a code is a
    // copy within `out`, the same few steps for every code: which kind of
    // code comes next is as hard to predict as the data.
    let codes = input.len().saturating_mul(8) / 9;
    let mut table = Vec::with_capacity((LITERALS.len() + codes).min(1 << MAX_WIDTH));
    table.extend_from_slice(&LITERALS);
    // `out[n..]` is room to copy into, whole blocks at a time: a block's
    // bytes past its string are overwritten by the next string or cut off.
    let room = input.len().saturating_mul(4).min(limit);
    let mut out = vec![0; ALPHABET.len() + room + BLOCK];
    out[..ALPHABET.len()].copy_from_slice(&ALPHABET);
    let mut n = ALPHABET.len();
    let mut width = LIT_WIDTH + 1;
    let mut hi = EOF;
    // The previous code's string, (start, length), while it will define
    // the entry `hi`: not after a clear, nor with the table full.
    let mut last: Option<(usize, usize)> = None;
    let (mut acc, mut bits, mut pos) = (0u64, 0u32, 0usize);
    loop {
        if bits < width {
            if let Some(word) = input.get(pos..pos + 8) {
                // Take whole bytes up to 63 bits. The bytes beyond the count
                // also land in `acc`, but a later refill ORs the same bytes
                // onto them, so they do no harm.
                acc |= u64::from_le_bytes(word.try_into().expect("8 bytes")) << bits;
                let took = (63 - bits) / 8;
                pos += took as usize;
                bits += took * 8;
            } else {
                while bits <= 56 && pos < input.len() {
                    acc |= u64::from(input[pos]) << bits;
                    pos += 1;
                    bits += 8;
                }
                if bits < width {
                    return Err(DecodeError::Decompress("lzw stream ends without an end code"));
                }
            }
        }
        let code = (acc & ((1 << width) - 1)) as usize;
        acc >>= width;
        bits -= width;
        if code & !1 == usize::from(CLEAR) {
            if code == usize::from(EOF) {
                out.truncate(n);
                out.drain(..ALPHABET.len());
                return Ok(out);
            }
            width = LIT_WIDTH + 1;
            hi = EOF;
            last = None;
            table.truncate(LITERALS.len());
            continue;
        }
        if let Some((start, len)) = last {
            table.push((start, len + 1));
        }
        // With the entry `hi` defined first, KwKwK (the code being defined)
        // is read like any other; with the table full, Go reads `hi` as the
        // entry it already holds, and so does this.
        let Some(&(src, len)) = table.get(code) else {
            return Err(DecodeError::Decompress("lzw code beyond the table"));
        };
        let end = n + len;
        let total = end - ALPHABET.len();
        if total > limit {
            return Err(DecodeError::TooLarge { what: "decompressed payload", len: total, limit });
        }
        if end + BLOCK > out.len() {
            // Double, but not far past the limit.
            let most = limit.saturating_add(ALPHABET.len() + MAX_STRING + BLOCK);
            out.resize((out.len() * 2).min(most).max(end + BLOCK), 0);
        }
        let mut k = 0;
        while k < len {
            out.copy_within(src + k..src + k + BLOCK, n + k);
            k += BLOCK;
        }
        if src + len > n {
            // KwKwK: the string ends with its own first byte, which its
            // first block read before writing it.
            out[end - 1] = out[src];
        }
        last = Some((n, len));
        n = end;
        hi += 1;
        if u32::from(hi) >= 1 << width {
            if width == MAX_WIDTH {
                // Table full: stop adding entries until the next clear code.
                last = None;
                hi -= 1;
            } else {
                width += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reference::BitWriter;

    /// The implementation this module had before its speed-up, kept as it
    /// was (but for visibility) so the new one can be checked against it
    /// byte for byte.
    mod reference {
        use super::super::{DecodeError, CLEAR, EOF, LIT_WIDTH, MAX_CODE, MAX_WIDTH};

        /// Also writes the streams tests build by hand.
        pub(super) struct BitWriter {
            pub(super) out: Vec<u8>,
            pub(super) acc: u32,
            pub(super) bits: u32,
        }

        impl BitWriter {
            pub(super) fn put(&mut self, code: u16, width: u32) {
                self.acc |= (code as u32) << self.bits;
                self.bits += width;
                while self.bits >= 8 {
                    self.out.push(self.acc as u8);
                    self.acc >>= 8;
                    self.bits -= 8;
                }
            }

            pub(super) fn finish(mut self) -> Vec<u8> {
                if self.bits > 0 {
                    self.out.push(self.acc as u8);
                }
                self.out
            }
        }

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

        pub(super) fn compress(input: &[u8]) -> Vec<u8> {
            let mut w = BitWriter { out: Vec::with_capacity(input.len() / 2 + 4), acc: 0, bits: 0 };
            let mut width = LIT_WIDTH + 1;
            w.put(CLEAR, width);
            let Some((&first, rest)) = input.split_first() else {
                w.put(EOF, width);
                return w.finish();
            };
            let mut table = Dict::for_input(input.len());
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

        pub(super) fn decompress(input: &[u8], limit: usize) -> Result<Vec<u8>, DecodeError> {
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
                        scratch.clear();
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
                        last = None;
                        hi -= 1;
                    } else {
                        width += 1;
                        overflow = 1 << width;
                    }
                }
            }
        }
    }

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

    /// The inputs the differential tests compress: empty, tiny, repetitive,
    /// random, gossip, and long enough for several clear codes.
    fn sample_inputs() -> Vec<Vec<u8>> {
        let mut rng = Rng(1);
        let mut inputs: Vec<Vec<u8>> = vec![Vec::new(), b"aaa".to_vec(), b"TOBEORNOTTOBEORTOBEORNOT".to_vec()];
        inputs.extend((0..=255u8).map(|b| vec![b]));
        inputs.extend((0..64).map(|i| vec![i as u8; i * 37]));
        inputs.push(vec![0; 200_000]);
        inputs.push(b"ab".repeat(100_000));
        inputs.push((0..200_000u32).map(|i| (i % 251) as u8 ^ (i / 7) as u8).collect());
        for len in [2, 3, 10, 100, 255, 256, 511, 512, 1_000, 4_000, 4_096, 5_000, 20_000, 200_000] {
            inputs.push((0..len).map(|_| rng.next() as u8).collect());
            // Few distinct bytes: long matches, many codes per clear.
            inputs.push((0..len).map(|_| b"abc"[rng.below(3) as usize]).collect());
        }
        for (i, len) in [1, 50, 300, 700, 1_400, 4_000, 9_000, 50_000, 60_000, 200_000].into_iter().enumerate() {
            inputs.push(gossip(len, i as u64 + 1));
        }
        inputs
    }

    #[test]
    fn compress_matches_the_old_code_byte_for_byte() {
        for input in sample_inputs() {
            assert_eq!(compress(&input), reference::compress(&input), "input of {} bytes", input.len());
        }
        let mut rng = Rng(2);
        for _ in 0..2_000 {
            let len = rng.below(3_000) as usize;
            let alphabet = 1 + rng.below(256);
            let input: Vec<u8> = (0..len).map(|_| rng.below(alphabet) as u8).collect();
            assert_eq!(compress(&input), reference::compress(&input), "{input:?}");
        }
    }

    fn same_decompress(stream: &[u8], limit: usize) {
        assert_eq!(
            decompress(stream, limit),
            reference::decompress(stream, limit),
            "stream {:?} limit {limit}",
            &stream[..stream.len().min(64)]
        );
    }

    #[test]
    fn decompress_matches_the_old_code_on_streams_and_their_prefixes() {
        for input in sample_inputs() {
            let c = compress(&input);
            for limit in
                [usize::MAX, 0, 1, input.len() / 2, input.len().saturating_sub(1), input.len(), input.len() + 1]
            {
                same_decompress(&c, limit);
            }
            // Truncated: every prefix of short streams, a spread of long ones.
            let step = (c.len() / 300).max(1);
            for end in (0..c.len()).step_by(step) {
                same_decompress(&c[..end], usize::MAX);
            }
        }
    }

    /// A stream of codes a decoder accepts (mostly): each code at its
    /// width, chosen among literals and the codes defined so far, with the
    /// odd clear code, and runs that fill the table, which Go's writer
    /// never does.
    fn random_codes(rng: &mut Rng) -> Vec<u8> {
        let mut w = BitWriter { out: Vec::new(), acc: 0, bits: 0 };
        let (mut width, mut hi, mut fresh) = (LIT_WIDTH + 1, EOF, true);
        let clears = [0, 300, 3_000][rng.below(3) as usize];
        for _ in 0..rng.below(9_000) {
            let code = match rng.below(10_000) {
                _ if clears > 0 && rng.below(clears) == 0 => CLEAR,
                0 => rng.below(1 << width) as u16,
                _ if fresh || rng.below(3) == 0 => rng.below(256) as u16,
                1..=400 => hi,
                _ => EOF + 1 + rng.below(u64::from(hi - EOF)) as u16,
            };
            w.put(code, width);
            if code == CLEAR {
                (width, hi, fresh) = (LIT_WIDTH + 1, EOF, true);
                continue;
            }
            fresh = false;
            if hi < MAX_CODE {
                hi += 1;
                if u32::from(hi) >= 1 << width && width < MAX_WIDTH {
                    width += 1;
                }
            }
        }
        if rng.below(4) != 0 {
            w.put(EOF, width);
        }
        w.finish()
    }

    #[test]
    fn decompress_matches_the_old_code_on_random_and_garbled_streams() {
        let mut rng = Rng(3);
        for _ in 0..3_000 {
            let max = if rng.below(10) == 0 { 5_000 } else { 100 };
            let len = rng.below(max) as usize;
            let garbage: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            same_decompress(&garbage, 1 << 16);
            same_decompress(&garbage, rng.below(1 << 12) as usize);
        }
        for _ in 0..1_500 {
            let stream = random_codes(&mut rng);
            same_decompress(&stream, usize::MAX);
            let full = reference::decompress(&stream, usize::MAX).map_or(0, |out| out.len());
            same_decompress(&stream, full.saturating_sub(rng.below(3) as usize));
            same_decompress(&stream, rng.below(full as u64 + 1) as usize);
        }
        let inputs = sample_inputs();
        for _ in 0..3_000 {
            let mut c = compress(&inputs[rng.below(inputs.len() as u64) as usize]);
            for _ in 0..1 + rng.below(3) {
                let bit = rng.below(c.len() as u64 * 8) as usize;
                c[bit / 8] ^= 1 << (bit % 8);
            }
            same_decompress(&c, usize::MAX);
            same_decompress(&c, 100_000);
        }
    }

    /// Gossip-like bytes: msgpack maps of member states and rumours, with
    /// the repeated field names, `n123` node names and addresses that
    /// memberlist's packets and push-pull states are made of.
    fn gossip(len: usize, seed: u64) -> Vec<u8> {
        let mut rng = Rng(seed);
        let mut out = Vec::with_capacity(len + 256);
        let raw = |out: &mut Vec<u8>, s: &[u8]| {
            out.push(0xa0 | s.len() as u8);
            out.extend_from_slice(s);
        };
        while out.len() < len {
            let node = format!("n{}", rng.below(1000));
            let inc = rng.below(40) as u8;
            let ip = [10, 0, (rng.below(4)) as u8, rng.below(250) as u8];
            match rng.below(3) {
                0 => {
                    out.push(0x87);
                    raw(&mut out, b"Addr");
                    raw(&mut out, &ip);
                    raw(&mut out, b"Incarnation");
                    out.push(inc);
                    raw(&mut out, b"Meta");
                    out.push(0xc0);
                    raw(&mut out, b"Name");
                    raw(&mut out, node.as_bytes());
                    raw(&mut out, b"Port");
                    out.extend_from_slice(&[0xcd, 0x1f, 0x0a]);
                    raw(&mut out, b"State");
                    out.push(rng.below(3) as u8);
                    raw(&mut out, b"Vsn");
                    raw(&mut out, &[1, 5, 2, 2, 5, 4]);
                }
                1 => {
                    out.push(3);
                    out.push(0x83);
                    raw(&mut out, b"Incarnation");
                    out.push(inc);
                    raw(&mut out, b"Node");
                    raw(&mut out, node.as_bytes());
                    raw(&mut out, b"From");
                    raw(&mut out, format!("n{}", rng.below(1000)).as_bytes());
                }
                _ => {
                    out.push(0);
                    out.push(0x85);
                    raw(&mut out, b"SeqNo");
                    out.extend_from_slice(&[0xce, 0, rng.below(256) as u8, rng.below(256) as u8, rng.below(256) as u8]);
                    raw(&mut out, b"Node");
                    raw(&mut out, node.as_bytes());
                    raw(&mut out, b"SourceAddr");
                    raw(&mut out, &ip);
                    raw(&mut out, b"SourcePort");
                    out.extend_from_slice(&[0xcd, 0x1f, 0x0a]);
                    raw(&mut out, b"SourceNode");
                    raw(&mut out, format!("n{}", rng.below(1000)).as_bytes());
                }
            }
        }
        out.truncate(len);
        out
    }

    /// xorshift64*: seeded, so every failure can be replayed.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// Throughput of the old and the new code on gossip of a packet's and a
    /// push-pull's size, in MB/s of uncompressed bytes, medians of 15 runs
    /// with old and new taking turns: on one buffer over and over, and on 64
    /// different ones in turn, as real traffic is, where the processor
    /// cannot learn one buffer's branches:
    /// `cargo test --release -p rumour --lib wire::lzw -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn throughput() {
        use std::hint::black_box;
        use std::time::Instant;
        fn run(bytes: usize, f: &mut dyn FnMut()) -> f64 {
            let iters = (10_000_000 / bytes).max(10);
            let t = Instant::now();
            for _ in 0..iters {
                f();
            }
            (bytes * iters) as f64 / t.elapsed().as_secs_f64() / 1e6
        }
        fn median(mut runs: Vec<f64>) -> f64 {
            runs.sort_by(f64::total_cmp);
            runs[runs.len() / 2]
        }
        fn compare(bytes: usize, old: &mut dyn FnMut(), new: &mut dyn FnMut()) -> String {
            let (mut o, mut n) = (Vec::new(), Vec::new());
            for _ in 0..15 {
                o.push(run(bytes, old));
                n.push(run(bytes, new));
            }
            let (o, n) = (median(o), median(n));
            format!("old {o:6.1} new {n:6.1} MB/s ({:.2}x)", n / o)
        }
        for len in [1_400, 50_000] {
            for buffers in [1, 64] {
                let inputs: Vec<Vec<u8>> = (0..buffers).map(|seed| gossip(len, 7 + seed)).collect();
                let streams: Vec<Vec<u8>> = inputs.iter().map(|input| compress(input)).collect();
                let ratio = inputs[0].len() as f64 / streams[0].len() as f64;
                let turn = std::cell::Cell::new(0);
                let next = || {
                    turn.set((turn.get() + 1) % inputs.len());
                    turn.get()
                };
                let c =
                    compare(len, &mut || drop(black_box(reference::compress(black_box(&inputs[next()])))), &mut || {
                        drop(black_box(compress(black_box(&inputs[next()]))))
                    });
                let d = compare(
                    len,
                    &mut || drop(black_box(reference::decompress(black_box(&streams[next()]), 1 << 20))),
                    &mut || drop(black_box(decompress(black_box(&streams[next()]), 1 << 20))),
                );
                println!("{len:>6} B x{buffers:<2} (ratio {ratio:.2}): compress {c}; decompress {d}");
            }
        }
    }
}
