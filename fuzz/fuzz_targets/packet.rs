//! Feeds arbitrary bytes to `packet::open` (label, AES-GCM with the golden
//! keyring, CRC) under each of `rumour_fuzz::layer_configs()`, then splits
//! what opens with `packet::split` (compound and LZW-compressed wrappers).
//! Whatever messages come out are sealed again (CRC on, compressed when the
//! layers say so) and must open and split to the same messages, with no errors.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rumour::wire::packet::{self, Layers};
use rumour::wire::{compound, Message};

fuzz_target!(|data: &[u8]| {
    for layers in rumour_fuzz::layer_configs() {
        let Ok(body) = packet::open(&layers, data) else { continue };
        let (msgs, _errors) = packet::split(&body);
        let parts: Vec<Vec<u8>> = msgs.iter().map(Message::encode).collect();
        if parts.is_empty() || parts.len() > compound::MAX_PARTS || parts.iter().any(|p| p.len() > u16::MAX as usize) {
            continue;
        }
        let plain = if parts.len() == 1 { parts[0].clone() } else { compound::encode(&parts) };
        // Split refuses to inflate past MAX_PACKET_DECOMPRESSED.
        let layers = Layers { compress: layers.compress && plain.len() <= packet::MAX_PACKET_DECOMPRESSED, ..layers };
        let wire = packet::seal(&layers, plain, true, [7; 12]);
        let reopened = packet::open(&layers, &wire).expect("a packet we sealed opens");
        assert_eq!(packet::split(&reopened), (msgs, vec![]));
    }
});
