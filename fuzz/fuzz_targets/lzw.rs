//! Feeds arbitrary bytes to `lzw::decompress` as an LZW stream (limit 64 KiB,
//! the packet limit). Output never exceeds the limit, and compressing it
//! decompresses to it again. The same bytes are also compressed as plaintext
//! and must come back unchanged with the limit set to their exact length.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rumour::wire::lzw;

const LIMIT: usize = 64 * 1024;

fuzz_target!(|data: &[u8]| {
    if let Ok(out) = lzw::decompress(data, LIMIT) {
        assert!(out.len() <= LIMIT);
        assert_eq!(lzw::decompress(&lzw::compress(&out), LIMIT), Ok(out));
    }
    assert_eq!(lzw::decompress(&lzw::compress(data), data.len()).as_deref(), Ok(data));
});
