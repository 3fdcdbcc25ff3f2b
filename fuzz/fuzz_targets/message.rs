//! Feeds arbitrary bytes to `Message::decode` as one plain packet message
//! (type byte, then MessagePack body; no compound, compress or CRC layer).
//! A decoded message re-encodes to bytes that decode to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rumour::wire::Message;

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = Message::decode(data) {
        assert_eq!(Message::decode(&msg.encode()), Ok(msg));
    }
});
