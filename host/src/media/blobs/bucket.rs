//! Files in an S3-compatible bucket (`[media.s3]`): `prefix/ab/abcdef…`, through the
//! `object_store` crate.
//!
//! A file streams to `prefix/tmp/<uuid>` (one request, or a multipart upload when it is
//! large) while it is hashed, then is copied to its hash and the temporary object
//! deleted: a reader never finds half a file, and the collector removes what a crash
//! leaves in `tmp/`. The bucket's requests go through `[server] proxy` when one is set;
//! they are the operator's own, so the plugins' allowlist does not apply to them.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt};
use tokio::io::AsyncWriteExt;

use super::{ByteStream, STALE_TMP, Tally, WriteError, Written, YOUNG, is_hash};
use crate::config::S3Config;

/// The bucket and the folder in it.
pub(crate) struct Bucket {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    /// Files younger than this are never collected ([`YOUNG`]; tests shorten it, as
    /// objects cannot be aged).
    young: Duration,
}

impl Bucket {
    pub(crate) fn new(config: &S3Config, proxy: Option<&str>) -> Result<Bucket> {
        crate::connectors::install_crypto();
        // A large file served to a slow browser may take a while: only a stall ends it
        // (the connection's own timeouts), not the whole transfer's length.
        let mut options = ClientOptions::new()
            .with_timeout_disabled()
            .with_connect_timeout(Duration::from_secs(10));
        if let Some(proxy) = proxy {
            options = options.with_proxy_url(proxy);
        }
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(config.bucket.trim())
            .with_region(&config.region)
            .with_client_options(options);
        if let Some(endpoint) = &config.endpoint {
            builder = builder
                .with_endpoint(endpoint.trim_end_matches('/'))
                .with_allow_http(endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        if let (Some(id), Some(secret)) = (&config.access_key_id, &config.secret_access_key) {
            builder = builder
                .with_access_key_id(id)
                .with_secret_access_key(secret);
        }
        let store = builder
            .build()
            .with_context(|| format!("[media.s3] bucket `{}`", config.bucket))?;
        Ok(Bucket {
            store: Arc::new(store),
            prefix: config.prefix.trim_matches('/').to_owned(),
            young: YOUNG,
        })
    }

    fn key(&self, rest: &str) -> Path {
        if self.prefix.is_empty() {
            Path::from(rest)
        } else {
            Path::from(format!("{}/{rest}", self.prefix))
        }
    }

    fn file_key(&self, hash: &str) -> Path {
        self.key(&format!("{}/{hash}", &hash[..2]))
    }

    pub(crate) async fn write<E: std::fmt::Display>(
        &self,
        mut body: impl Stream<Item = Result<Bytes, E>> + Unpin,
        max: u64,
    ) -> Result<Written, WriteError> {
        let tmp = self.key(&format!("tmp/{}", uuid::Uuid::new_v4()));
        let mut out = BufWriter::new(self.store.clone(), tmp.clone());
        let mut tally = Tally::new(max);
        let streamed: Result<(), WriteError> = async {
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| WriteError::Source(e.to_string()))?;
                tally.add(&chunk)?;
                out.write_all(&chunk)
                    .await
                    .context("writing a file to the bucket")?;
            }
            out.shutdown()
                .await
                .context("finishing a file in the bucket")?;
            Ok(())
        }
        .await;
        if let Err(e) = streamed {
            let _ = out.abort().await;
            let _ = self.store.delete(&tmp).await;
            return Err(e);
        }
        let written = tally.finish();
        let moved = self
            .store
            .rename(&tmp, &self.file_key(&written.hash))
            .await
            .context("moving a file to its name in the bucket");
        if let Err(e) = moved {
            let _ = self.store.delete(&tmp).await;
            return Err(e.into());
        }
        Ok(written)
    }

    pub(crate) async fn read(&self, hash: &str) -> Result<ByteStream> {
        let got = self
            .store
            .get(&self.file_key(hash))
            .await
            .with_context(|| format!("reading {hash} from the bucket"))?;
        Ok(Box::pin(got.into_stream().map_err(std::io::Error::other)))
    }

    pub(crate) async fn collect<F, Fut>(&self, in_use: F) -> Result<usize>
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = bool> + Send,
    {
        let root = (!self.prefix.is_empty()).then(|| Path::from(self.prefix.as_str()));
        let mut listing = self.store.list(root.as_ref());
        let tmp = self.key("tmp");
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis() as i64;
        let mut removed = 0;
        while let Some(meta) = listing.next().await {
            let meta = meta.context("listing the bucket")?;
            let age = Duration::from_millis(
                (now_ms - meta.last_modified.timestamp_millis()).max(0) as u64,
            );
            let name = meta.location.filename().unwrap_or_default().to_owned();
            let remove = if meta.location.prefix_matches(&tmp) {
                age > STALE_TMP
            } else {
                age >= self.young
                    && is_hash(&name)
                    && meta.location == self.file_key(&name)
                    && !in_use(name.clone()).await
            };
            if remove {
                self.store
                    .delete(&meta.location)
                    .await
                    .context("deleting a file from the bucket")?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::blobs::chunks;
    use crate::media::scratch::ScratchBucket;

    async fn read(bucket: &Bucket, hash: &str) -> Vec<u8> {
        let parts: Vec<Bytes> = bucket
            .read(hash)
            .await
            .unwrap()
            .map(|c| c.unwrap())
            .collect()
            .await;
        parts.concat()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn files_go_to_their_hash_in_the_bucket_and_nothing_half_written_stays() {
        let scratch = tokio::task::spawn_blocking(ScratchBucket::create)
            .await
            .unwrap()
            .unwrap();
        let mut bucket = Bucket::new(&scratch.config(), None).unwrap();
        let a = bucket
            .write(chunks(&[b"hello ", b"world"]), 100)
            .await
            .unwrap();
        assert_eq!(
            a.hash,
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
        assert_eq!((a.size, a.head.as_slice()), (11, &b"hello world"[..]));
        let again = bucket.write(chunks(&[b"hello world"]), 100).await.unwrap();
        assert_eq!(again.hash, a.hash);
        assert_eq!(read(&bucket, &a.hash).await, b"hello world");

        // Too large, or broken off: refused, and nothing is left behind.
        let err = bucket
            .write(chunks(&[b"12345", b"67890"]), 8)
            .await
            .unwrap_err();
        assert!(matches!(err, WriteError::TooLarge { .. }), "{err}");
        let broken = futures::stream::iter(vec![
            Ok(Bytes::from_static(b"abc")),
            Err("connection reset".to_string()),
        ]);
        let err = bucket.write(broken, 100).await.unwrap_err();
        assert!(err.to_string().contains("connection reset"), "{err}");
        let keys = scratch.keys().unwrap();
        assert_eq!(
            keys,
            [format!("switchboard/b9/{}", a.hash)],
            "one object under its hash, no temporary one"
        );

        // A large file goes up in parts and comes back whole.
        let big: Vec<u8> = (0..12 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
        let big_written = bucket
            .write(
                futures::stream::iter(
                    big.chunks(64 * 1024)
                        .map(|c| Ok::<_, String>(Bytes::copy_from_slice(c)))
                        .collect::<Vec<_>>(),
                ),
                64 * 1024 * 1024,
            )
            .await
            .unwrap();
        assert_eq!(big_written.size, big.len() as u64);
        assert!(read(&bucket, &big_written.hash).await == big);

        // The collector deletes what no row names, and keeps the rest.
        bucket.young = Duration::ZERO;
        let keep = a.hash.clone();
        let removed = bucket
            .collect(|h: String| {
                let keep = keep.clone();
                async move { h == keep }
            })
            .await
            .unwrap();
        assert_eq!(removed, 1);
        assert_eq!(scratch.keys().unwrap().len(), 1);
        assert!(bucket.read(&big_written.hash).await.is_err());
    }
}
