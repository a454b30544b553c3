//! The blob store: attachment files named by the SHA-256 of their bytes, in a folder
//! ([`folder`], the default) or an S3-compatible bucket ([`bucket`], `[media.s3]`).
//!
//! Both keep the same promises: a file is written under a temporary name and moved to its
//! hash only once whole, so a reader never sees half a file and a crash leaves only a
//! temporary leftover, which the collector removes; the same bytes sent twice are kept
//! once; a file over the limit is refused as it streams. Nothing here knows who may see
//! a file: `store::media` rows say that, and the collector deletes files no row names.

mod bucket;
mod folder;

use std::pin::Pin;

use anyhow::Result;
use bytes::Bytes;
use futures::Stream;
use sha2::{Digest, Sha256};

/// How much of a file's start is kept to recognise its type.
const HEAD: usize = 8192;
/// A temporary file older than this is a crashed write's leftover.
const STALE_TMP: std::time::Duration = std::time::Duration::from_secs(6 * 3600);
/// A stored file younger than this is never collected: its row may be on its way.
const YOUNG: std::time::Duration = std::time::Duration::from_secs(3600);

/// A file's bytes as they are read.
pub(crate) type ByteStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// Where the files are.
pub(crate) enum Blobs {
    Folder(folder::Folder),
    Bucket(bucket::Bucket),
}

/// A file written: its hash (its name), size and first bytes (to check its type).
#[derive(Clone, Debug)]
pub(crate) struct Written {
    pub hash: String,
    pub size: u64,
    pub head: Vec<u8>,
}

/// Why a file was not written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WriteError {
    #[error("the file is larger than the {limit_mib} MiB limit")]
    TooLarge { limit_mib: u64 },
    /// The bytes stopped coming (the platform or the agent's browser broke off).
    #[error("the transfer broke off: {0}")]
    Source(String),
    /// This server could not keep it.
    #[error(transparent)]
    Io(#[from] anyhow::Error),
}

impl Blobs {
    /// The store `[media]` configures.
    pub(crate) fn new(config: &crate::config::Config) -> Result<Blobs> {
        Ok(match &config.media.s3 {
            Some(s3) => Blobs::Bucket(bucket::Bucket::new(s3, config.server.proxy.as_deref())?),
            None => Blobs::Folder(folder::Folder::new(config.media_dir())),
        })
    }

    /// Streams `body` into the store, refusing it past `max` bytes.
    pub(crate) async fn write<E: std::fmt::Display>(
        &self,
        body: impl Stream<Item = Result<Bytes, E>> + Unpin,
        max: u64,
    ) -> Result<Written, WriteError> {
        match self {
            Blobs::Folder(f) => f.write(body, max).await,
            Blobs::Bucket(b) => b.write(body, max).await,
        }
    }

    /// The bytes of the file named `hash`.
    pub(crate) async fn read(&self, hash: &str) -> Result<ByteStream> {
        anyhow::ensure!(is_hash(hash), "`{hash}` is not a file name");
        match self {
            Blobs::Folder(f) => f.read(hash).await,
            Blobs::Bucket(b) => b.read(hash).await,
        }
    }

    /// Deletes the files `in_use` says no row names (and temporary leftovers); answers
    /// how many went.
    pub(crate) async fn collect<F, Fut>(&self, in_use: F) -> Result<usize>
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = bool> + Send,
    {
        match self {
            Blobs::Folder(f) => f.collect(in_use).await,
            Blobs::Bucket(b) => b.collect(in_use).await,
        }
    }
}

/// Whether `name` is a file's name: a SHA-256 in hex (never a path).
pub(crate) fn is_hash(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What is learnt of a file while it streams in: its hash, size and first bytes, and
/// whether it passed the limit.
struct Tally {
    hasher: Sha256,
    size: u64,
    head: Vec<u8>,
    max: u64,
}

impl Tally {
    fn new(max: u64) -> Tally {
        Tally {
            hasher: Sha256::new(),
            size: 0,
            head: Vec::new(),
            max,
        }
    }

    fn add(&mut self, chunk: &[u8]) -> Result<(), WriteError> {
        self.size += chunk.len() as u64;
        if self.size > self.max {
            return Err(WriteError::TooLarge {
                limit_mib: self.max / (1024 * 1024),
            });
        }
        if self.head.len() < HEAD {
            let take = (HEAD - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        self.hasher.update(chunk);
        Ok(())
    }

    fn finish(self) -> Written {
        Written {
            hash: hex::encode(self.hasher.finalize()),
            size: self.size,
            head: self.head,
        }
    }
}

/// A body in `parts`, as a test writes it.
#[cfg(test)]
fn chunks(parts: &[&'static [u8]]) -> impl Stream<Item = Result<Bytes, String>> + Unpin {
    futures::stream::iter(
        parts
            .iter()
            .map(|p| Ok(Bytes::from_static(p)))
            .collect::<Vec<_>>(),
    )
}
