//! Normalized platform events, as the host keeps them. Connectors return the WIT types;
//! `connectors` converts them into these so nothing past ingest depends on generated code.

use crate::model::interaction::Visibility;
use serde::{Deserialize, Serialize};

/// Something a message carries besides its text, as the connector reported it: a file
/// (whose bytes the host downloads, see `media`) or content without one (a location, a
/// contact card). Stored with the message without `url` and `media_id`, which only the
/// download needs (they live in its `media` row until it is done).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    /// `image`, `video`, `file`, `location`, ... or the platform's raw type.
    pub kind: String,
    /// Where the platform keeps the bytes (never shown to agents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// MIME type, when known.
    pub mime_type: Option<String>,
    /// Caption, when given.
    pub caption: Option<String>,
    /// The platform's media id (WhatsApp), for the download.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_id: Option<String>,
    /// The file's name, for documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// Size in bytes, when the platform says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// What a kind without a file says (`latitude`, `name`, `phone`, `title`, `url`...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<(String, String)>,
}

impl Attachment {
    /// Whether the host downloads bytes for it: the connector named where they are.
    pub fn has_file(&self) -> bool {
        self.url.is_some() || self.media_id.is_some()
    }

    /// As kept with the message: without where the platform keeps the bytes.
    pub fn without_source(&self) -> Attachment {
        Attachment {
            url: None,
            media_id: None,
            ..self.clone()
        }
    }
}

/// A new message from the platform.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InboundMessage {
    /// The platform's unique id; stored once per channel.
    pub platform_message_id: String,
    /// Post id or conversation id.
    pub thread_id: String,
    /// What it answers.
    pub parent_id: Option<String>,
    /// Public or private.
    pub visibility: Visibility,
    /// Author's platform id.
    pub author_id: String,
    /// Author's display name.
    pub author_name: String,
    /// Author's handle.
    pub author_handle: Option<String>,
    /// UTF-8 text.
    pub text: String,
    /// Attached media.
    pub attachments: Vec<Attachment>,
    /// Platform time, unix ms.
    pub created_at: i64,
    /// Language tag.
    pub language: Option<String>,
    /// Written by the business itself: stored, never routed.
    pub from_business: bool,
    /// The author's follower count, when the platform gives one.
    pub followers: Option<i64>,
    /// Platform facts for workflows (`post_type`, `referral`, ...).
    pub metadata: std::collections::BTreeMap<String, String>,
}

/// Everything a connector reports (as `plugin parse` prints it: `{"message": {..}}`).
/// Read back too: a paused channel keeps what arrives as this JSON until it resumes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// A new message.
    Message(InboundMessage),
    /// A message's text changed.
    Edited {
        /// Which message.
        platform_message_id: String,
        /// The new text.
        text: String,
    },
    /// A message was removed: its stored content is erased.
    Deleted {
        /// Which message.
        platform_message_id: String,
    },
    /// A user's account was deleted on the platform: what they wrote is erased.
    AuthorErased {
        /// The author's platform id.
        author_id: String,
    },
    /// Delivery progress of one of our sends.
    Delivery {
        /// The id `send` returned.
        platform_message_id: String,
        /// `sent`, `delivered`, `read`, `failed`.
        state: String,
        /// The platform's error for failures.
        error: Option<String>,
    },
}
