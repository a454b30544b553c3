//! Normalized platform events, as the host keeps them. Connectors return the WIT types;
//! `connectors` converts them into these so nothing past ingest depends on generated code.

use crate::model::interaction::Visibility;
use serde::{Deserialize, Serialize};

/// A file or media item attached to a message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attachment {
    /// `image`, `video`, `file`, ... as the platform says.
    pub kind: String,
    /// Where it can be fetched.
    pub url: Option<String>,
    /// MIME type, when known.
    pub mime_type: Option<String>,
    /// Caption, when given.
    pub caption: Option<String>,
}

/// A new message from the platform.
#[derive(Clone, Debug, PartialEq, Serialize)]
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
#[derive(Clone, Debug, PartialEq, Serialize)]
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
