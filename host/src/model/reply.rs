//! A reply on its way to the platform (an outbox entry and what it carries), and the
//! window in which the platform accepts one.

use serde::{Deserialize, Serialize};

use crate::model::interaction::Visibility;
use crate::model::text_length::TextLimit;

/// A message template (WhatsApp), sent instead of free text.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Template {
    /// The template's name, as approved on the platform.
    pub name: String,
    /// Its language code (`en_US`).
    pub language: String,
    /// Body parameters, in order.
    #[serde(default)]
    pub parameters: Vec<String>,
}

/// One choice of an interactive list (Apple list picker).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ListItem {
    /// Returned when the customer picks it.
    pub id: String,
    /// What the customer sees.
    pub title: String,
}

/// What an outbound message carries besides its text.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Extras {
    /// Send this template instead of the text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<Template>,
    /// Which of the channel's accounts sends it (an X handle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_handle: Option<String>,
    /// Choices of an interactive list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub list_items: Vec<ListItem>,
    /// Files the agent attached, kept in the blob store until the platform has them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileRef>,
}

/// A file an agent attached to a reply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FileRef {
    /// `image`, `video`, `audio` or `file`, from its type.
    pub kind: String,
    /// The name it was sent with.
    pub file_name: String,
    /// Its type, from its bytes.
    pub content_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its name in the blob store (the SHA-256 of its bytes).
    pub hash: String,
}

/// One reply in the outbox.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct OutboundReply {
    /// Outbox id.
    pub id: i64,
    /// Sent with every attempt; the same key means the same reply.
    pub idempotency_key: String,
    /// The interaction it answers.
    pub interaction_id: i64,
    /// Channel to send on.
    pub channel: String,
    /// Thread on the platform.
    pub thread_id: String,
    /// The message it answers.
    pub reply_to: Option<String>,
    /// The customer, for private replies.
    pub recipient_id: Option<String>,
    /// Public or private.
    pub visibility: Visibility,
    /// Text to send.
    pub text: String,
    /// `pending`, `attempting`, `sent`, `failed`, `suppressed` or `unknown` (it may or
    /// may not have reached the platform; the agent can resend it).
    pub state: String,
    /// Attempts so far.
    pub attempts: i64,
    /// Platform id once sent.
    pub platform_message_id: Option<String>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// The agent who wrote it; `None`: the workflow sent it.
    #[serde(skip)]
    pub author_user_id: Option<i64>,
    /// Attempts before it is marked failed (the first plus the retries).
    pub max_attempts: i64,
    /// Wait before the first retry, ms; doubled for each further one.
    pub backoff_ms: i64,
    /// Template, sender handle, list choices.
    #[serde(flatten)]
    pub extras: Extras,
    /// What the platform last said about delivery: `sent`, `delivered`, `read`, `failed`.
    pub delivery: Option<String>,
    /// The platform's error for a failed delivery (code and title).
    pub delivery_error: Option<String>,
    /// When a `pending` reply is due, unix ms (after a retry's backoff or a rate limit's
    /// reset).
    pub next_attempt_at: i64,
    /// When it was last tried, unix ms.
    pub last_attempt_at: Option<i64>,
}

impl OutboundReply {
    /// A message the workflow sends (`send`) on interaction `id`.
    pub fn from_workflow(
        id: i64,
        channel: &str,
        thread: &str,
        reply_to: Option<String>,
        recipient: Option<String>,
        customer_visibility: Visibility,
        send: &crate::model::plan::Send,
    ) -> OutboundReply {
        let visibility = match send.visibility.as_deref() {
            Some(v) => Visibility::parse(v),
            None => customer_visibility,
        };
        OutboundReply {
            id: 0,
            idempotency_key: uuid::Uuid::new_v4().to_string(),
            interaction_id: id,
            channel: channel.to_owned(),
            thread_id: thread.to_owned(),
            reply_to,
            recipient_id: recipient,
            visibility,
            text: send.text.clone(),
            state: "pending".into(),
            attempts: 0,
            platform_message_id: None,
            last_error: None,
            author_user_id: None,
            max_attempts: send.retries + 1,
            backoff_ms: send.backoff_ms,
            extras: Extras::default(),
            delivery: None,
            delivery_error: None,
            next_attempt_at: 0,
            last_attempt_at: None,
        }
    }

    /// Who it goes to on the platform: the customer, the message it answers, or the thread
    /// (the RPC cache compares this).
    pub fn target(&self) -> &str {
        self.recipient_id
            .as_deref()
            .or(self.reply_to.as_deref())
            .unwrap_or(&self.thread_id)
    }
}

/// What the platform lets the business send now (see the WIT `reply-window`).
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReplyWindow {
    /// Free text may be sent.
    pub free_form: bool,
    /// Templates may be sent.
    pub templates: bool,
    /// When this changes, unix ms.
    pub until: Option<i64>,
    /// For the agent, in plain words, when something is restricted.
    pub note: Option<String>,
    /// The longest text the platform takes for this kind of reply, if it says.
    pub limit: Option<TextLimit>,
}
