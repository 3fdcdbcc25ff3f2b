//! Feeds arbitrary bytes to `label::strip` (the `[244][len][label]` header)
//! and `label::check` against `lbl`. When the label found is UTF-8, `check`
//! with that label gives the same rest, and `label::add` rebuilds the input
//! byte for byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rumour::wire::label;

fuzz_target!(|data: &[u8]| {
    let _ = label::check("lbl", data);
    let Ok((found, rest)) = label::strip(data) else { return };
    if let Ok(text) = std::str::from_utf8(found) {
        assert_eq!(label::check(text, data), Ok(rest));
        assert_eq!(label::add(text, rest), data);
    }
});
