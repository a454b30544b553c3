//! Channel secrets at rest: the secrets of channels administrators create are stored
//! encrypted (ChaCha20-Poly1305) with the operator's key (`[server] secret_key`), so a
//! copy of the database (a backup) holds no plain credential. A sealed value reads
//! `sealed:v1:<key id>:<base64 nonce and ciphertext>`; the key id (the first bytes of the
//! key's SHA-256) says which key sealed it, so rotation can read with an earlier key
//! (`previous_secret_keys`) and seal again with the current one.
//!
//! Without a key, values are kept as given (a fresh demo needs no setup); the host warns
//! at start. A value sealed with a key that is no longer configured cannot be read: its
//! channel does not start, and the error says which key id it needs.

use std::collections::BTreeMap;

use anyhow::{Context, Result, anyhow};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use sha2::Digest;

const PREFIX: &str = "sealed:v1:";

/// One operator key.
#[derive(Clone)]
pub struct Key {
    id: String,
    cipher: ChaCha20Poly1305,
}

impl Key {
    /// Reads a key: 32 bytes in base64.
    pub fn parse(text: &str) -> Result<Key> {
        let bytes = B64
            .decode(text.trim())
            .ok()
            .filter(|b| b.len() == 32)
            .ok_or_else(|| {
                anyhow!(
                    "[server] secret_key: expected 32 random bytes in base64 \
                     (`switchboard secrets new-key` makes one)"
                )
            })?;
        let id = hex::encode(&sha2::Sha256::digest(&bytes)[..4]);
        let cipher = ChaCha20Poly1305::new_from_slice(&bytes).expect("32 bytes");
        Ok(Key { id, cipher })
    }

    /// A fresh random key, as `[server] secret_key` takes it.
    pub fn generate() -> String {
        B64.encode(rand::random::<[u8; 32]>())
    }
}

/// Seals and opens channel secrets with the configured keys.
#[derive(Clone, Default)]
pub struct Sealer {
    current: Option<Key>,
    previous: Vec<Key>,
}

impl Sealer {
    /// The sealer of `[server]`'s keys (checked by `Config::validate`).
    pub fn new(current: Option<&str>, previous: &[String]) -> Result<Sealer> {
        Ok(Sealer {
            current: current.map(Key::parse).transpose()?,
            previous: previous
                .iter()
                .map(|k| Key::parse(k))
                .collect::<Result<_>>()?,
        })
    }

    /// Whether secrets are sealed at all.
    pub fn enabled(&self) -> bool {
        self.current.is_some()
    }

    /// `secrets` as they are stored: each value sealed with the current key (already
    /// sealed values are opened first, so a rotation seals them again).
    pub fn seal(&self, secrets: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>> {
        let Some(key) = &self.current else {
            return Ok(secrets.clone());
        };
        secrets
            .iter()
            .map(|(name, value)| {
                let plain = self.open_one(name, value)?;
                let nonce: [u8; 12] = rand::random();
                let sealed = key
                    .cipher
                    .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
                    .map_err(|_| anyhow!("secret `{name}`: could not be encrypted"))?;
                let mut blob = nonce.to_vec();
                blob.extend(sealed);
                Ok((
                    name.clone(),
                    format!("{PREFIX}{}:{}", key.id, B64.encode(blob)),
                ))
            })
            .collect()
    }

    /// `secrets` as the plugin reads them.
    pub fn open(&self, secrets: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>> {
        secrets
            .iter()
            .map(|(name, value)| Ok((name.clone(), self.open_one(name, value)?)))
            .collect()
    }

    /// Whether `secrets` should be stored again: a plain value while a key is set, or one
    /// sealed with another key than the current.
    pub fn needs_resealing(&self, secrets: &BTreeMap<String, String>) -> bool {
        let Some(key) = &self.current else {
            return false;
        };
        secrets.values().any(|v| match v.strip_prefix(PREFIX) {
            None => true,
            Some(rest) => !rest.starts_with(&format!("{}:", key.id)),
        })
    }

    fn open_one(&self, name: &str, value: &str) -> Result<String> {
        let Some(rest) = value.strip_prefix(PREFIX) else {
            return Ok(value.to_owned());
        };
        let (id, blob) = rest
            .split_once(':')
            .with_context(|| format!("secret `{name}`: its sealed value is damaged"))?;
        let key = self
            .current
            .iter()
            .chain(&self.previous)
            .find(|k| k.id == id)
            .with_context(|| {
                format!(
                    "secret `{name}` was encrypted with key {id}, which is not configured: \
                     set it as [server] secret_key or in previous_secret_keys"
                )
            })?;
        let blob = B64
            .decode(blob)
            .ok()
            .filter(|b| b.len() > 12)
            .with_context(|| format!("secret `{name}`: its sealed value is damaged"))?;
        let plain = key
            .cipher
            .decrypt(Nonce::from_slice(&blob[..12]), &blob[12..])
            .map_err(|_| anyhow!("secret `{name}`: its sealed value is damaged or altered"))?;
        String::from_utf8(plain).with_context(|| format!("secret `{name}`: not text"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("page_token".to_owned(), "EAAB-very-secret".to_owned()),
            ("app_secret".to_owned(), "s3cr3t-value".to_owned()),
        ])
    }

    #[test]
    fn sealed_values_hold_no_plain_secret_and_open_again() {
        let key = Key::generate();
        let sealer = Sealer::new(Some(&key), &[]).unwrap();
        let sealed = sealer.seal(&secrets()).unwrap();
        for v in sealed.values() {
            assert!(v.starts_with(PREFIX), "{v}");
            assert!(!v.contains("secret") && !v.contains("EAAB"), "{v}");
        }
        assert_eq!(sealer.open(&sealed).unwrap(), secrets());
        assert!(!sealer.needs_resealing(&sealed));
        assert!(
            sealer.needs_resealing(&secrets()),
            "plain values are sealed at start"
        );
        // Each sealing uses a fresh nonce.
        assert_ne!(sealer.seal(&secrets()).unwrap(), sealed);
    }

    #[test]
    fn a_rotation_reads_with_the_old_key_and_seals_with_the_new() {
        let (old, new) = (Key::generate(), Key::generate());
        let before = Sealer::new(Some(&old), &[]).unwrap();
        let sealed = before.seal(&secrets()).unwrap();
        let after = Sealer::new(Some(&new), std::slice::from_ref(&old)).unwrap();
        assert!(after.needs_resealing(&sealed));
        let resealed = after.seal(&sealed).unwrap();
        assert_eq!(after.open(&resealed).unwrap(), secrets());
        // The old key is no longer needed.
        let only_new = Sealer::new(Some(&new), &[]).unwrap();
        assert_eq!(only_new.open(&resealed).unwrap(), secrets());
        let missing = only_new.open(&sealed).unwrap_err().to_string();
        assert!(missing.contains("not configured"), "{missing}");
    }

    #[test]
    fn an_altered_value_or_a_bad_key_is_refused_in_plain_words() {
        let key = Key::generate();
        let sealer = Sealer::new(Some(&key), &[]).unwrap();
        let mut sealed = sealer.seal(&secrets()).unwrap();
        let v = sealed.get_mut("page_token").unwrap();
        let last = v.pop().unwrap();
        v.push(if last == 'A' { 'B' } else { 'A' });
        let e = sealer.open(&sealed).unwrap_err().to_string();
        assert!(e.contains("damaged"), "{e}");
        let e = Key::parse("not-a-key").err().unwrap().to_string();
        assert!(e.contains("32 random bytes"), "{e}");
        // Without a key nothing changes.
        let plain = Sealer::default();
        assert_eq!(plain.seal(&secrets()).unwrap(), secrets());
    }
}
