//! Fixtures shared by the fuzz targets in `fuzz_targets/`.

use rumour::wire::packet::Layers;
use rumour::wire::Keyring;

/// The golden vectors' keys, `000102…0f` (AES-128, primary) and `000102…1f`
/// (AES-256), plus `000102…17` (AES-192), so the encrypted seeds decrypt and
/// every key size is tried.
pub fn keyring() -> Keyring {
    let key = |n: u8| (0..n).collect::<Vec<u8>>();
    Keyring::new(&key(16), &[key(24), key(32)]).expect("16, 24 and 32 are AES key sizes")
}

/// The receivers every packet and stream input is opened as: plaintext;
/// keyed and strict (compressing when it re-seals); keyed, lenient
/// (`verify_incoming = false`, so plaintext falls through to the inner
/// layers) and labelled `lbl`.
pub fn layer_configs() -> [Layers; 3] {
    [
        Layers::default(),
        Layers {
            keyring: Some(keyring()),
            compress: true,
            verify_incoming: true,
            verify_outgoing: true,
            ..Layers::default()
        },
        Layers {
            label: "lbl".into(),
            keyring: Some(keyring()),
            compress: false,
            verify_incoming: false,
            verify_outgoing: true,
        },
    ]
}
