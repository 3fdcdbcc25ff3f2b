//! Feeds arbitrary bytes to `compound::decode` as a compound body (after the
//! `[7]` type byte: count, u16 lengths, parts). Decoded parts plus dropped
//! (truncated) parts add up to the count, and re-encoding the parts decodes
//! to the same parts with none dropped.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rumour::wire::compound;

fuzz_target!(|data: &[u8]| {
    if let Ok((parts, dropped)) = compound::decode(data) {
        assert_eq!(parts.len() + dropped, data[0] as usize);
        let owned: Vec<Vec<u8>> = parts.iter().map(|p| p.to_vec()).collect();
        let enc = compound::encode(&owned);
        assert_eq!(compound::decode(&enc[1..]), Ok((parts, 0)));
    }
});
