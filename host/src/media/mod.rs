//! Attachment files: what customers send is downloaded by the host and served to agents
//! only through it; what agents send is kept until the platform has it.
//!
//! The contract:
//! - Every attachment a connector reports with a `url` or `media-id` gets a `media` row in
//!   the transaction that stores its message (`store::media`), so an accepted message never
//!   loses a file to a crash. Nothing waits for the download: the message is routed at once
//!   and the file shows "not yet available" until it is there.
//! - The download ([`fetch`]) asks the connector how (`media-request`: the platform's
//!   authentication, a fresh URL) and makes the request itself, within the channel's
//!   allowlist and redirect rules, streaming the bytes to the blob store ([`blobs`]) so a
//!   large document never passes through the plugin or the API's body limit. The bytes
//!   must be what the attachment claims ([`kind`]); a file over `[media] max_mib` is
//!   refused. A failure that may pass is retried with growing delays, as durable work (the
//!   row is the queue); one that will not ends `failed` with the reason in plain words.
//! - Files are served (`api::attachments`) to signed-in users allowed to see the
//!   interaction, from the blob store: the platform's URL never reaches a browser. Only
//!   images, audio and video are shown inline; every other type is a download.
//! - Retention and erasure mark rows erased; the collector then deletes the bytes no row
//!   names ([`fetch::run`] does it every hour).
//!
//! On PostgreSQL every host shares the rows, so the files must be where every host finds
//! them: a shared folder (`[media] dir` on a mounted network folder) or an S3-compatible
//! bucket (`[media.s3]`).

pub(crate) mod blobs;
pub(crate) mod crypt;
pub mod fetch;
pub(crate) mod kind;
pub mod scratch;
pub(crate) mod upload;

use std::sync::Arc;

use tokio::sync::Notify;

/// The attachment files' context: where the bytes are and how large they may be.
pub struct Media {
    pub(crate) blobs: blobs::Blobs,
    /// The largest file downloaded or accepted, in bytes.
    pub(crate) max_bytes: u64,
    /// Wakes the fetcher when a message with files was stored.
    kick: Notify,
    /// This host's address as platforms reach it, for files given by link.
    pub(crate) public_url: Option<String>,
}

impl Media {
    /// The files' context as `[media]` configures it.
    pub fn new(config: &crate::config::Config) -> anyhow::Result<Arc<Media>> {
        Ok(Arc::new(Media {
            blobs: blobs::Blobs::new(config)?,
            max_bytes: config.media.max_mib * 1024 * 1024,
            kick: Notify::new(),
            public_url: config
                .media
                .public_url
                .as_ref()
                .map(|u| u.trim_end_matches('/').to_owned()),
        }))
    }

    /// Asks the fetcher to look for new downloads now.
    pub fn kick(&self) {
        self.kick.notify_one();
    }
}
