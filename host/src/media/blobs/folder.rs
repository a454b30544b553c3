//! Files in a folder (`[media] dir`): `dir/ab/abcdef…`.
//!
//! A file is written to a temporary name in the same folder, synced, then renamed to its
//! hash: a reader never sees half a file, and a crash leaves only a temporary file, which
//! the collector removes.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use tokio::io::AsyncWriteExt;

use super::{ByteStream, STALE_TMP, Tally, WriteError, Written, YOUNG, is_hash};

/// The files under one folder.
#[derive(Clone, Debug)]
pub(crate) struct Folder {
    dir: PathBuf,
}

impl Folder {
    pub(crate) fn new(dir: impl Into<PathBuf>) -> Folder {
        Folder { dir: dir.into() }
    }

    /// Where the file named `hash` lives; none when `hash` is not a hash (so a name can
    /// never climb out of the folder).
    pub(crate) fn path(&self, hash: &str) -> Option<PathBuf> {
        is_hash(hash).then(|| self.dir.join(&hash[..2]).join(hash))
    }

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
        let mut tally = Tally::new(max);
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| WriteError::Source(e.to_string()))?;
            tally.add(&chunk)?;
            file.write_all(&chunk).await.context("writing a file")?;
        }
        file.sync_all().await.context("syncing a file")?;
        drop(file);
        let written = tally.finish();
        let path = self
            .path(&written.hash)
            .expect("a SHA-256 in hex is a valid name");
        let parent = path.parent().expect("a blob has a folder");
        tokio::fs::create_dir_all(parent)
            .await
            .with_context(|| format!("creating {}", parent.display()))?;
        tokio::fs::rename(tmp, &path)
            .await
            .with_context(|| format!("moving a file to {}", path.display()))?;
        Ok(written)
    }

    pub(crate) async fn read(&self, hash: &str) -> Result<ByteStream> {
        let path = self
            .path(hash)
            .with_context(|| format!("`{hash}` is not a file name"))?;
        let file = tokio::fs::File::open(&path)
            .await
            .with_context(|| format!("opening {}", path.display()))?;
        Ok(Box::pin(tokio_util::io::ReaderStream::new(file)))
    }

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
                    age > YOUNG && is_hash(&name) && !in_use(name.clone()).await
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
    use crate::media::blobs::chunks;

    #[tokio::test]
    async fn files_are_named_by_their_hash_and_kept_once() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Folder::new(dir.path());
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
        let read: Vec<Bytes> = blobs
            .read(&a.hash)
            .await
            .unwrap()
            .map(|c| c.unwrap())
            .collect()
            .await;
        assert_eq!(read.concat(), b"hello world");
        // Nothing is left behind in the temporary folder.
        let left = std::fs::read_dir(dir.path().join("tmp")).unwrap().count();
        assert_eq!(left, 0);
    }

    #[tokio::test]
    async fn a_file_over_the_limit_is_refused_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Folder::new(dir.path());
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
        let blobs = Folder::new("/data/media");
        assert!(blobs.path("../../etc/passwd").is_none());
        assert!(blobs.path(&"a".repeat(63)).is_none());
        assert!(blobs.path(&format!("{}/", "a".repeat(63))).is_none());
        let p = blobs.path(&"ab".repeat(32)).unwrap();
        assert_eq!(p, Path::new("/data/media/ab").join("ab".repeat(32)));
    }

    #[tokio::test]
    async fn the_collector_keeps_what_rows_name() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Folder::new(dir.path());
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
