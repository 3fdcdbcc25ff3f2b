//! AES-GCM encryption in memberlist's format (`security.go`, `keyring.go`).
//!
//! An encrypted payload is `[version][12-byte nonce][ciphertext + 16-byte tag]`.
//! Version 1 (protocol version 2 and later) has no padding; version 0 pads
//! the plaintext with PKCS#7 and is accepted on receipt only. The keyring's
//! first key encrypts; every key is tried to decrypt, which is what lets a
//! cluster rotate keys without downtime.

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::aes::Aes192;
use aes_gcm::{Aes128Gcm, Aes256Gcm, AesGcm};

use super::DecodeError;

/// Version byte + nonce + tag: the bytes encryption adds (`encryptOverhead`, v1).
pub const ENCRYPT_OVERHEAD: usize = VERSION_SIZE + NONCE_SIZE + TAG_SIZE;
/// Bytes of the random nonce.
pub const NONCE_SIZE: usize = 12;
const VERSION_SIZE: usize = 1;
const TAG_SIZE: usize = 16;
const BLOCK_SIZE: usize = 16;
/// The version written: 1, no padding.
pub const ENCRYPTION_VERSION: u8 = 1;

/// Why a keyring change was refused. The keyring is unchanged after any of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyringError {
    /// AES keys are 16, 24 or 32 bytes.
    #[error("key is {0} bytes; AES keys are 16, 24 or 32 bytes")]
    BadKeyLength(usize),
    /// The key to use or remove is not installed.
    #[error("key is not installed")]
    NotInstalled,
    /// The primary key cannot be removed; make another primary first.
    #[error("the primary key cannot be removed; use another key first")]
    RemovingPrimary,
    /// Encryption is off on this node (no `keys` in its config), so there
    /// is no keyring to change; start it with keys to turn encryption on.
    #[error("encryption is off: the node was started without keys")]
    NoKeyring,
}

/// The encryption keys of a node; the first is the primary, used to encrypt.
#[derive(Clone, PartialEq, Eq)]
pub struct Keyring {
    keys: Vec<Vec<u8>>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        write!(f, "Keyring({} keys)", self.keys.len())
    }
}

fn check_len(key: &[u8]) -> Result<(), KeyringError> {
    match key.len() {
        16 | 24 | 32 => Ok(()),
        n => Err(KeyringError::BadKeyLength(n)),
    }
}

impl Keyring {
    /// A keyring whose primary key is `primary`, with `others` also accepted.
    pub fn new(primary: &[u8], others: &[Vec<u8>]) -> Result<Self, KeyringError> {
        check_len(primary)?;
        let mut ring = Keyring { keys: vec![primary.to_vec()] };
        for k in others {
            ring.install(k)?;
        }
        Ok(ring)
    }

    /// Adds a key accepted for decryption (no effect if present).
    pub fn install(&mut self, key: &[u8]) -> Result<(), KeyringError> {
        check_len(key)?;
        if !self.keys.iter().any(|k| k == key) {
            self.keys.push(key.to_vec());
        }
        Ok(())
    }

    /// Makes an installed key the primary.
    pub fn use_key(&mut self, key: &[u8]) -> Result<(), KeyringError> {
        let idx = self.keys.iter().position(|k| k == key).ok_or(KeyringError::NotInstalled)?;
        let k = self.keys.remove(idx);
        self.keys.insert(0, k);
        Ok(())
    }

    /// Removes a key that is not the primary.
    pub fn remove(&mut self, key: &[u8]) -> Result<(), KeyringError> {
        let idx = self.keys.iter().position(|k| k == key).ok_or(KeyringError::NotInstalled)?;
        if idx == 0 {
            return Err(KeyringError::RemovingPrimary);
        }
        self.keys.remove(idx);
        Ok(())
    }

    /// The primary key.
    pub fn primary(&self) -> &[u8] {
        &self.keys[0]
    }

    /// All keys, primary first.
    pub fn keys(&self) -> &[Vec<u8>] {
        &self.keys
    }
}

fn seal_with(key: &[u8], nonce: &[u8; NONCE_SIZE], msg: &[u8], aad: &[u8]) -> Vec<u8> {
    let payload = Payload { msg, aad };
    let nonce = nonce.into();
    // Key lengths are checked when keys enter the keyring, and AES-GCM
    // encryption of an in-memory buffer cannot fail otherwise.
    let out = match key.len() {
        16 => Aes128Gcm::new_from_slice(key).map(|c| c.encrypt(nonce, payload)),
        24 => AesGcm::<Aes192, U12>::new_from_slice(key).map(|c| c.encrypt(nonce, payload)),
        _ => Aes256Gcm::new_from_slice(key).map(|c| c.encrypt(nonce, payload)),
    };
    out.expect("key length validated by Keyring").expect("AES-GCM seal of a memory buffer")
}

fn open_with(key: &[u8], nonce: &[u8], ct: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
    let payload = Payload { msg: ct, aad };
    let nonce = nonce.into();
    match key.len() {
        16 => Aes128Gcm::new_from_slice(key).ok()?.decrypt(nonce, payload).ok(),
        24 => AesGcm::<Aes192, U12>::new_from_slice(key).ok()?.decrypt(nonce, payload).ok(),
        32 => Aes256Gcm::new_from_slice(key).ok()?.decrypt(nonce, payload).ok(),
        _ => None,
    }
}

/// Encrypts `msg` with the primary key (version 1), binding `aad`.
///
/// The nonce comes from the caller: `proto` draws it from its RNG, which the
/// runtime seeds from the operating system, so nonces do not repeat.
pub fn encrypt(keyring: &Keyring, nonce: [u8; NONCE_SIZE], msg: &[u8], aad: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ENCRYPT_OVERHEAD + msg.len());
    out.push(ENCRYPTION_VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&seal_with(keyring.primary(), &nonce, msg, aad));
    out
}

/// Decrypts a payload with whichever installed key opens it.
pub fn decrypt(keyring: &Keyring, payload: &[u8], aad: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let (&version, rest) = payload.split_first().ok_or(DecodeError::Decrypt("empty payload"))?;
    if version > ENCRYPTION_VERSION {
        return Err(DecodeError::Decrypt("unsupported encryption version"));
    }
    let min = NONCE_SIZE + TAG_SIZE + if version == 0 { BLOCK_SIZE } else { 0 };
    if rest.len() < min {
        return Err(DecodeError::Decrypt("payload too small"));
    }
    let (nonce, ct) = rest.split_at(NONCE_SIZE);
    for key in keyring.keys() {
        if let Some(mut plain) = open_with(key, nonce, ct, aad) {
            if version == 0 {
                let pad = *plain.last().ok_or(DecodeError::Decrypt("empty padded payload"))? as usize;
                if pad == 0 || pad > BLOCK_SIZE || pad > plain.len() {
                    return Err(DecodeError::Decrypt("bad padding"));
                }
                plain.truncate(plain.len() - pad);
            }
            return Ok(plain);
        }
    }
    Err(DecodeError::Decrypt("no installed key opens the message"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: usize) -> Vec<u8> {
        (0..n as u8).collect()
    }

    #[test]
    fn every_key_size_round_trips() {
        for n in [16, 24, 32] {
            let ring = Keyring::new(&key(n), &[]).unwrap();
            let ct = encrypt(&ring, [7; 12], b"hello", b"label");
            assert_eq!(ct.len(), ENCRYPT_OVERHEAD + 5);
            assert_eq!(decrypt(&ring, &ct, b"label").unwrap(), b"hello");
            assert!(decrypt(&ring, &ct, b"other").is_err(), "aad must bind");
        }
    }

    #[test]
    fn a_secondary_key_decrypts_during_rotation() {
        let old = Keyring::new(&key(16), &[]).unwrap();
        let mut new = Keyring::new(&[9; 16], &[key(16)]).unwrap();
        let ct = encrypt(&old, [1; 12], b"x", b"");
        assert_eq!(decrypt(&new, &ct, b"").unwrap(), b"x");
        assert_eq!(new.remove(&[9; 16]), Err(KeyringError::RemovingPrimary));
        new.use_key(&key(16)).unwrap();
        new.remove(&[9; 16]).unwrap();
        assert_eq!(new.keys().len(), 1);
    }

    #[test]
    fn wrong_keys_and_bad_lengths_are_errors() {
        assert_eq!(Keyring::new(&[0; 5], &[]), Err(KeyringError::BadKeyLength(5)));
        let a = Keyring::new(&[1; 32], &[]).unwrap();
        let b = Keyring::new(&[2; 32], &[]).unwrap();
        let ct = encrypt(&a, [0; 12], b"secret", b"");
        assert!(decrypt(&b, &ct, b"").is_err());
        assert!(decrypt(&a, &ct[..10], b"").is_err());
        assert!(decrypt(&a, &[], b"").is_err());
    }

    #[test]
    fn version_zero_padding_is_removed() {
        let ring = Keyring::new(&key(16), &[]).unwrap();
        let mut padded = b"abc".to_vec();
        padded.extend_from_slice(&[13u8; 13]);
        let mut ct = vec![0u8];
        ct.extend_from_slice(&[3; 12]);
        ct.extend_from_slice(&seal_with(ring.primary(), &[3; 12], &padded, b""));
        assert_eq!(decrypt(&ring, &ct, b"").unwrap(), b"abc");
    }
}
