//! The blob store: attachment files on disk, named by the SHA-256 of their bytes.
//!
//! A file is written to a temporary name in the same folder, synced, then renamed to its
//! hash: a reader never sees half a file, and a crash leaves only a temporary file, which
//! the collector removes. The same bytes sent twice are kept once. Nothing here knows who
//! may see a file; `store::media` rows say that, and the collector deletes files that no
//! row names any more.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

/// How much of a file's start is kept to recognise its type.
const HEAD: usize = 8192;
/// A temporary file older than this is a crashed write's leftover.
const STALE_TMP: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// Files kept by content hash under one folder.
#[derive(Clone, Debug)]
pub(crate) struct Blobs {
    dir: PathBuf,
}

/// A file just written.
#[derive(Clone, Debug)]
pub(crate) struct Written {
    /// SHA-256 of the bytes, lower-case hex: the file's name.
    pub hash: String,
    pub size: u64,
    /// The first bytes, to recognise the type.
    pub head: Vec<u8>,
}

/// Why a file was not written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WriteError {
    #[error("the file is larger than the {limit_mib} MiB limit")]
    TooLarge { limit_mib: u64 },
    #[error("the transfer broke off: {0}")]
    Source(String),
    #[error(transparent)]
    Io(#[from] anyhow::Error),
}

impl Blobs {
    /// The blob store in `dir` (created on first write).
    pub(crate) fn new(dir: impl Into<PathBuf>) -> Blobs {
        Blobs { dir: dir.into() }
    }

    /// Where the file named `hash` lives; none for a name that is not a hash (never a
    /// path outside the folder).
    pub(crate) fn path(&self, hash: &str) -> Option<PathBuf> {
        let valid = hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit());
        valid.then(|| self.dir.join(&hash[..2]).join(hash))
    }

    /// Writes what `body` yields, at most `max` bytes, and names it by its hash.
    pub(crate) async fn write<E: std::fmt::Display>(
        &self,
        mut body: impl Stream<Item = Result<Bytes, E>> + Unpin,
        max: u64,
    ) -> Result<Written, WriteError> {
        let tmp_dir = self.dir.join("tmp");
        tokio::fs::create_dir_all(&tmp_dir)
            .await
            .with_context(|| format!("creating {}", tmp_dir.display()))?;
        let tmp = tmp_dir.join(uuid::Uuid::new_v4().to_string());
        let result = self.write_to(&tmp, &mut body, max).await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        result
    }

    async fn write_to<E: std::fmt::Display>(
        &self,
        tmp: &Path,
        body: &mut (impl Stream<Item = Result<Bytes, E>> + Unpin),
        max: u64,
    ) -> Result<Written, WriteError> {
        let mut file = tokio::fs::File::create(tmp)
            .await
            .with_context(|| format!("creating {}", tmp.display()))?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut head = Vec::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| WriteError::Source(e.to_string()))?;
            size += chunk.len() as u64;
            if size > max {
                return Err(WriteError::TooLarge {
                    limit_mib: max / (1024 * 1024),
                });
            }
            if head.len() < HEAD {
                let take = (HEAD - head.len()).min(chunk.len());
                head.extend_from_slice(&chunk[..take]);
            }
            hasher.update(&chunk);
            file.write_all(&chunk).await.context("writing a file")?;
        }
        file.sync_all().await.context("syncing a file")?;
        drop(file);
        let hash = hex::encode(hasher.finalize());
        let path = self.path(&hash).expect("a SHA-256 in hex is a valid name");
        let parent = path.parent().expect("a blob has a folder");
        tokio::fs::create_dir_all(parent)
            .await
            .with_context(|| format!("creating {}", parent.display()))?;
        // The same bytes may be there already: renaming over them is harmless.
        tokio::fs::rename(tmp, &path)
            .await
            .with_context(|| format!("moving a file to {}", path.display()))?;
        Ok(Written { hash, size, head })
    }

    /// Opens the file named `hash`.
    pub(crate) async fn open(&self, hash: &str) -> Result<tokio::fs::File> {
        let path = self
            .path(hash)
            .with_context(|| format!("`{hash}` is not a file name"))?;
        tokio::fs::File::open(&path)
            .await
            .with_context(|| format!("opening {}", path.display()))
    }

    /// Deletes every file `in_use` says no row names, and crashed writes' leftovers;
    /// answers how many files went. A file younger than an hour is left alone: its row
    /// may be being written now.
    pub(crate) async fn collect<F, Fut>(&self, in_use: F) -> Result<usize>
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = bool> + Send,
    {
        let mut removed = 0;
        let Ok(mut dirs) = tokio::fs::read_dir(&self.dir).await else {
            return Ok(0);
        };
        while let Some(dir) = dirs.next_entry().await? {
            let name = dir.file_name().to_string_lossy().into_owned();
            let is_tmp = name == "tmp";
            if !(is_tmp || (name.len() == 2 && dir.file_type().await?.is_dir())) {
                continue;
            }
            let mut files = tokio::fs::read_dir(dir.path()).await?;
            while let Some(file) = files.next_entry().await? {
                let age = file
                    .metadata()
                    .await?
                    .modified()
                    .ok()
                    .and_then(|m| m.elapsed().ok())
                    .unwrap_or_default();
                let name = file.file_name().to_string_lossy().into_owned();
                let remove = if is_tmp {
                    age > STALE_TMP
                } else {
                    age > std::time::Duration::from_secs(3600)
                        && self.path(&name).is_some()
                        && !in_use(name.clone()).await
                };
                if remove {
                    tokio::fs::remove_file(file.path()).await?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(parts: &[&'static [u8]]) -> impl Stream<Item = Result<Bytes, String>> + Unpin {
        futures::stream::iter(
            parts
                .iter()
                .map(|p| Ok(Bytes::from_static(p)))
                .collect::<Vec<_>>(),
        )
    }

    #[tokio::test]
    async fn files_are_named_by_their_hash_and_kept_once() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::new(dir.path());
        let a = blobs
            .write(chunks(&[b"hello ", b"world"]), 100)
            .await
            .unwrap();
        assert_eq!(
            a.hash,
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
        assert_eq!(a.size, 11);
        assert_eq!(a.head, b"hello world");
        let b = blobs.write(chunks(&[b"hello world"]), 100).await.unwrap();
        assert_eq!(a.hash, b.hash);
        let mut read = String::new();
        use tokio::io::AsyncReadExt;
        blobs
            .open(&a.hash)
            .await
            .unwrap()
            .read_to_string(&mut read)
            .await
            .unwrap();
        assert_eq!(read, "hello world");
        // Nothing is left behind in the temporary folder.
        let left = std::fs::read_dir(dir.path().join("tmp")).unwrap().count();
        assert_eq!(left, 0);
    }

    #[tokio::test]
    async fn a_file_over_the_limit_is_refused_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::new(dir.path());
        let err = blobs
            .write(chunks(&[b"12345", b"67890"]), 8)
            .await
            .unwrap_err();
        assert!(matches!(err, WriteError::TooLarge { .. }), "{err}");
        let left = std::fs::read_dir(dir.path().join("tmp")).unwrap().count();
        assert_eq!(left, 0);
        let broken = futures::stream::iter(vec![
            Ok(Bytes::from_static(b"abc")),
            Err("connection reset".to_string()),
        ]);
        let err = blobs.write(broken, 100).await.unwrap_err();
        assert!(err.to_string().contains("connection reset"), "{err}");
    }

    #[test]
    fn only_hashes_name_files() {
        let blobs = Blobs::new("/data/media");
        assert!(blobs.path("../../etc/passwd").is_none());
        assert!(blobs.path(&"a".repeat(63)).is_none());
        assert!(blobs.path(&format!("{}/", "a".repeat(63))).is_none());
        let p = blobs.path(&"ab".repeat(32)).unwrap();
        assert_eq!(p, Path::new("/data/media/ab").join("ab".repeat(32)));
    }

    #[tokio::test]
    async fn the_collector_keeps_what_rows_name() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::new(dir.path());
        let kept = blobs.write(chunks(&[b"kept"]), 100).await.unwrap();
        let gone = blobs.write(chunks(&[b"gone"]), 100).await.unwrap();
        // Both are young: nothing is collected yet.
        let n = blobs.collect(|_: String| async { false }).await.unwrap();
        assert_eq!(n, 0);
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
        for h in [&kept.hash, &gone.hash] {
            let f = std::fs::File::options()
                .write(true)
                .open(blobs.path(h).unwrap())
                .unwrap();
            f.set_modified(old).unwrap();
        }
        let keep = kept.hash.clone();
        let n = blobs
            .collect(|h: String| {
                let keep = keep.clone();
                async move { h == keep }
            })
            .await
            .unwrap();
        assert_eq!(n, 1);
        assert!(blobs.path(&kept.hash).unwrap().exists());
        assert!(!blobs.path(&gone.hash).unwrap().exists());
    }
}
