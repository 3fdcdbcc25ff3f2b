//! Feeds arbitrary bytes to `security::decrypt` as an encrypted payload
//! (`[version][nonce][ciphertext+tag]`, empty additional data, the golden
//! keyring); what decrypts must encrypt and decrypt back to itself. Random
//! bytes never pass the GCM tag, so the bytes are also sealed as a version-0
//! payload with the primary key: that reaches the PKCS#7 padding check, which
//! may only remove 1 to 16 bytes from the end.
#![no_main]

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::Aes128Gcm;
use libfuzzer_sys::fuzz_target;
use rumour::wire::security;

fuzz_target!(|data: &[u8]| {
    let ring = rumour_fuzz::keyring();
    if let Ok(plain) = security::decrypt(&ring, data, b"") {
        let again = security::encrypt(&ring, [7; 12], &plain, b"");
        assert_eq!(security::decrypt(&ring, &again, b""), Ok(plain));
    }

    let nonce = [3u8; 12];
    let cipher = Aes128Gcm::new_from_slice(ring.primary()).unwrap();
    let mut v0 = vec![0u8];
    v0.extend_from_slice(&nonce);
    v0.extend_from_slice(&cipher.encrypt(&nonce.into(), data).unwrap());
    if let Ok(unpadded) = security::decrypt(&ring, &v0, b"") {
        let pad = data.len() - unpadded.len();
        assert!((1..=16).contains(&pad) && data.starts_with(&unpadded), "removed {pad} bytes");
    }
});
