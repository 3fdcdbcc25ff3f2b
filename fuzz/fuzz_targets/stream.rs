//! Feeds arbitrary bytes to `stream::open` (label, `[10][len]` AES-GCM
//! framing with the golden keyring, LZW compression, push-pull, ping, ack,
//! user and error messages) under each of `rumour_fuzz::layer_configs()`.
//! A decoded message is sealed again with the same layers and must open to
//! the same message, using exactly the sealed bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rumour::wire::{stream, MAX_PUSH_STATE_BYTES};

fuzz_target!(|data: &[u8]| {
    for layers in rumour_fuzz::layer_configs() {
        let Ok((msg, used)) = stream::open(&layers, data) else { continue };
        assert!(used <= data.len(), "used {used} of {} bytes", data.len());
        // Leave room for LZW expanding incompressible bytes on re-sealing.
        if msg.encode_plain().len() > MAX_PUSH_STATE_BYTES / 2 {
            continue;
        }
        let wire = stream::seal(&layers, &msg, [7; 12]);
        assert_eq!(stream::open(&layers, &wire), Ok((msg, wire.len())));
    }
});
