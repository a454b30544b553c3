//! Files a platform keeps encrypted (Apple Messages encrypts every attachment): the host
//! decrypts a download and encrypts an upload while the bytes stream, so the connector
//! only names the key and never holds a file.
//!
//! Counter mode keeps lengths: the size limits, the `content-length` and the platform's
//! declared size all hold for the encrypted bytes as for the clear ones. A key is secret:
//! it is never logged (its `Debug` says only the cipher) and lives only as long as the
//! transfer.

use aes::Aes256;
use ctr::Ctr128BE;
use ctr::cipher::{KeyIvInit, StreamCipher};
use futures::{Stream, StreamExt};

use crate::connectors::bindings::types as wit;

/// A key to one file, checked: AES-256 in counter mode (the one cipher the contract has).
#[derive(Clone)]
pub struct FileKey {
    key: [u8; 32],
    iv: [u8; 16],
}

impl std::fmt::Debug for FileKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FileKey(aes256-ctr, key withheld)")
    }
}

impl FileKey {
    /// The key a connector named, or why it cannot be used.
    pub(crate) fn from_wit(k: wit::FileKey) -> Result<FileKey, &'static str> {
        let wit::Cipher::Aes256Ctr = k.cipher;
        let key: [u8; 32] = k
            .key
            .as_slice()
            .try_into()
            .map_err(|_| "an aes256-ctr key is 32 bytes")?;
        let iv: [u8; 16] = match k.iv.len() {
            0 => [0; 16],
            16 => k.iv.as_slice().try_into().expect("checked"),
            _ => return Err("an aes256-ctr IV is 16 bytes or none"),
        };
        Ok(FileKey { key, iv })
    }

    /// A fresh random key with a zero IV, for one upload (a key is never used twice, so
    /// the zero IV never repeats a keystream).
    pub(crate) fn random() -> FileKey {
        FileKey {
            key: rand::random(),
            iv: [0; 16],
        }
    }

    /// The key as the connector reads it.
    pub(crate) fn to_wit(&self) -> wit::FileKey {
        wit::FileKey {
            cipher: wit::Cipher::Aes256Ctr,
            key: self.key.to_vec(),
            iv: self.iv.to_vec(),
        }
    }

    fn cipher(&self) -> Ctr128BE<Aes256> {
        Ctr128BE::<Aes256>::new(&self.key.into(), &self.iv.into())
    }

    /// `stream` with the keystream applied to every chunk in order: decrypts what was
    /// encrypted with this key and encrypts what was not (counter mode is its own inverse).
    pub(crate) fn apply<S, E>(
        &self,
        stream: S,
    ) -> impl Stream<Item = Result<bytes::Bytes, E>> + Send + 'static
    where
        S: Stream<Item = Result<bytes::Bytes, E>> + Send + 'static,
        E: Send + 'static,
    {
        let mut cipher = self.cipher();
        stream.map(move |chunk| {
            chunk.map(|bytes| {
                let mut buf = bytes.to_vec();
                cipher.apply_keystream(&mut buf);
                bytes::Bytes::from(buf)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(key: &FileKey, chunks: Vec<&'static [u8]>) -> Vec<u8> {
        let stream = futures::stream::iter(
            chunks
                .into_iter()
                .map(|c| Ok::<_, std::io::Error>(bytes::Bytes::from_static(c))),
        );
        let out: Vec<_> = futures::executor::block_on(key.apply(stream).collect::<Vec<_>>());
        out.into_iter().flat_map(|c| c.unwrap().to_vec()).collect()
    }

    #[test]
    fn the_keystream_runs_on_across_chunks_of_any_size() {
        let key = FileKey::random();
        let whole = run(&key, vec![b"the parcel arrived broken, see the photo"]);
        let split = run(
            &key,
            vec![b"the parc", b"el arrived br", b"", b"oken, see the photo"],
        );
        assert_eq!(whole, split);
        assert_ne!(&whole[..], b"the parcel arrived broken, see the photo");
        let back: &'static [u8] = Box::leak(whole.into_boxed_slice());
        assert_eq!(
            run(&key, vec![back]),
            b"the parcel arrived broken, see the photo"
        );
    }

    #[test]
    fn a_known_vector_matches_aes_256_ctr() {
        // NIST SP 800-38A F.5.5 (CTR-AES256.Encrypt), first block.
        let key = FileKey::from_wit(wit::FileKey {
            cipher: wit::Cipher::Aes256Ctr,
            key: hex::decode("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
                .unwrap(),
            iv: hex::decode("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff").unwrap(),
        })
        .unwrap();
        let plain: &'static [u8] = Box::leak(
            hex::decode("6bc1bee22e409f96e93d7e117393172a")
                .unwrap()
                .into_boxed_slice(),
        );
        assert_eq!(
            hex::encode(run(&key, vec![plain])),
            "601ec313775789a5b7a7f504bbf3d228"
        );
    }

    #[test]
    fn a_wrong_key_or_iv_length_is_refused_and_debug_hides_the_key() {
        let bad = |key: usize, iv: usize| {
            FileKey::from_wit(wit::FileKey {
                cipher: wit::Cipher::Aes256Ctr,
                key: vec![1; key],
                iv: vec![2; iv],
            })
        };
        assert!(bad(16, 0).is_err());
        assert!(bad(32, 8).is_err());
        let good = bad(32, 16).unwrap();
        assert!(!format!("{good:?}").contains("1, 1"));
        assert!(bad(32, 0).is_ok());
    }
}
