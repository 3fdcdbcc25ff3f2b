//! Every decoder takes arbitrary bytes without panicking, and without
//! allocating more than the input justifies (the run stays small and fast).

use proptest::prelude::*;
use rumour::wire::packet::{self, Layers};
use rumour::wire::{lzw, stream, Keyring, Message};

fn keyed() -> Layers {
    Layers {
        label: "lbl".into(),
        keyring: Some(Keyring::new(&[3; 16], &[]).unwrap()),
        compress: true,
        verify_incoming: true,
        verify_outgoing: true,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn packet_decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        for layers in [Layers::default(), keyed()] {
            if let Ok(body) = packet::open(&layers, &bytes) {
                let _ = packet::split(&body);
            }
        }
        let _ = packet::split(&bytes);
        let _ = Message::decode(&bytes);
    }

    #[test]
    fn stream_decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = stream::open(&Layers::default(), &bytes);
        let _ = stream::open(&keyed(), &bytes);
    }

    #[test]
    fn lzw_decoding_never_panics_and_respects_its_limit(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(out) = lzw::decompress(&bytes, 4096) {
            prop_assert!(out.len() <= 4096);
        }
    }

    /// Valid messages with a few bytes flipped: the decoder must cope with
    /// input that is almost right, where random bytes rarely get.
    #[test]
    fn mutated_valid_messages_never_panic(seq in any::<u32>(), flips in proptest::collection::vec((0usize..200, any::<u8>()), 1..6)) {
        let msg = Message::Alive(rumour::wire::Alive {
            incarnation: seq,
            node: "node".into(),
            addr: "127.0.0.1:7946".parse().unwrap(),
            meta: b"meta".to_vec(),
            vsn: [1, 5, 2, 0, 0, 0],
        });
        let mut bytes = rumour::wire::compound::encode(&[msg.encode(), msg.encode()]);
        for (at, b) in flips {
            let i = at % bytes.len();
            bytes[i] = b;
        }
        let _ = packet::split(&bytes);
    }
}
