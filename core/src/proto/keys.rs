//! Keyring rotation at run time (memberlist's `KeyManager`, one node's
//! share of it): install a new key everywhere, make it the primary
//! everywhere, then remove the old one. Each node accepts every installed
//! key while it encrypts with the primary, so a rotation done in that order
//! never cuts the cluster in two.

use super::machine::Proto;
use crate::wire::KeyringError;

impl Proto {
    /// Adds `key` (16, 24 or 32 bytes) to the keys this node accepts.
    /// Installing a key already installed changes nothing.
    pub fn install_key(&mut self, key: &[u8]) -> Result<(), KeyringError> {
        self.keyring_mut()?.install(key)
    }

    /// Makes an installed `key` the primary: the one this node encrypts with.
    pub fn use_key(&mut self, key: &[u8]) -> Result<(), KeyringError> {
        self.keyring_mut()?.use_key(key)
    }

    /// Stops accepting `key`; the primary cannot be removed.
    pub fn remove_key(&mut self, key: &[u8]) -> Result<(), KeyringError> {
        self.keyring_mut()?.remove(key)
    }

    /// The installed keys, primary first; empty when encryption is off.
    pub fn keys(&self) -> Vec<Vec<u8>> {
        self.layers.keyring.as_ref().map_or_else(Vec::new, |k| k.keys().to_vec())
    }

    fn keyring_mut(&mut self) -> Result<&mut crate::wire::Keyring, KeyringError> {
        // Turning encryption on or off is a restart with new `keys`, as in
        // memberlist: a running cluster cannot switch without a split.
        self.layers.keyring.as_mut().ok_or(KeyringError::NoKeyring)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::proto::Config;

    fn node(keys: Vec<Vec<u8>>) -> Proto {
        let cfg = Config { name: "a".into(), keys, ..Config::local() };
        Proto::new(cfg, "127.0.0.1:7946".parse().unwrap(), 1, Instant::now()).unwrap()
    }

    #[test]
    fn a_rotation_installs_switches_and_removes_keys() {
        let (old, new) = (vec![1u8; 16], vec![2u8; 32]);
        let mut p = node(vec![old.clone()]);
        p.install_key(&new).unwrap();
        assert_eq!(p.keys(), vec![old.clone(), new.clone()]);
        assert_eq!(p.remove_key(&old), Err(KeyringError::RemovingPrimary));
        p.use_key(&new).unwrap();
        p.remove_key(&old).unwrap();
        assert_eq!(p.keys(), vec![new]);
    }

    #[test]
    fn key_commands_without_encryption_or_with_bad_keys_are_typed_errors() {
        let mut p = node(vec![]);
        assert_eq!(p.install_key(&[0; 16]), Err(KeyringError::NoKeyring));
        assert!(p.keys().is_empty());
        let mut p = node(vec![vec![1; 16]]);
        assert_eq!(p.install_key(&[0; 15]), Err(KeyringError::BadKeyLength(15)));
        assert_eq!(p.use_key(&[9; 16]), Err(KeyringError::NotInstalled));
        assert_eq!(p.keys().len(), 1, "unchanged after the errors");
    }
}
