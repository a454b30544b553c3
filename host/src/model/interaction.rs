//! The interaction: one unit of routed work, and its transcript.

use serde::{Deserialize, Serialize};

/// Where an interaction is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Held by the workflow (`buffer`, `group`) before it is queued.
    Buffered,
    /// Waiting in its workgroup's queue.
    Queued,
    /// Offered to an agent who has not picked it up yet.
    Alerting,
    /// Being worked by its agent.
    Connected,
    /// Put aside by its agent; still counts against utilization.
    Held,
    /// Finished.
    Disconnected,
}

impl State {
    /// The name stored in the database and shown in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Buffered => "buffered",
            State::Queued => "queued",
            State::Alerting => "alerting",
            State::Connected => "connected",
            State::Held => "held",
            State::Disconnected => "disconnected",
        }
    }

    /// How a person says where the conversation is ("on hold", "ended").
    pub fn in_words(self) -> &'static str {
        match self {
            State::Buffered => "waiting for the workflow",
            State::Queued => "waiting in the queue",
            State::Alerting => "offered, not picked up yet",
            State::Connected => "connected",
            State::Held => "on hold",
            State::Disconnected => "ended",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<State> {
        Some(match s {
            "buffered" => State::Buffered,
            "queued" => State::Queued,
            "alerting" => State::Alerting,
            "connected" => State::Connected,
            "held" => State::Held,
            "disconnected" => State::Disconnected,
            _ => return None,
        })
    }
}

/// The kind of routed work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MediaType {
    /// Public: posts, comments, tweets, replies.
    SocialConversation,
    /// Private: Messenger, X direct messages, WhatsApp, Apple Messages.
    SocialDirectMessage,
}

impl MediaType {
    /// The name stored in the database, used in scripts and in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaType::SocialConversation => "social_conversation",
            MediaType::SocialDirectMessage => "social_direct_message",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<MediaType> {
        match s {
            "social_conversation" => Some(MediaType::SocialConversation),
            "social_direct_message" => Some(MediaType::SocialDirectMessage),
            _ => None,
        }
    }
}

/// Public (everyone sees it) or private (business and customer only).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// A comment, a tweet.
    Public,
    /// A direct message, a private reply.
    Private,
}

impl Visibility {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Private => "private",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Visibility {
        if s == "private" {
            Visibility::Private
        } else {
            Visibility::Public
        }
    }
}

/// An interaction as the API shows it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Interaction {
    /// Interaction id.
    pub id: i64,
    /// Current state.
    pub state: State,
    /// Social conversation or social direct message.
    pub media_type: MediaType,
    /// The channel it came in on.
    pub channel: String,
    /// The thread (post id, conversation id) on the platform.
    pub thread_id: String,
    /// The workgroup whose queue it is in.
    pub workgroup: String,
    /// Queue priority: higher is served first.
    pub priority: i64,
    /// Username of the agent it is offered or assigned to.
    pub assigned_to: Option<String>,
    /// The customer's platform id.
    pub customer_id: String,
    /// The customer's display name.
    pub customer_name: String,
    /// Workflow version the interaction started on.
    pub workflow_version: i64,
    /// Skill expression it needs (`english >= 3 and billing`), if any.
    pub skills: Option<String>,
    /// Agent the workflow asked for, waited for until `preferred_until`.
    #[serde(skip)]
    pub preferred_agent: Option<i64>,
    /// End of the wait for the preferred agent, unix ms.
    #[serde(skip)]
    pub preferred_until: Option<i64>,
    /// Agent it was transferred to personally.
    #[serde(skip)]
    pub transfer_to: Option<i64>,
    /// When an agent first picked it up, unix ms (service level).
    pub answered_at: Option<i64>,
    /// Ended before anyone picked it up (the customer removed it).
    pub abandoned: bool,
    /// The wrap-up code the agent set.
    pub wrapup_code: Option<String>,
    /// A required wrap-up is still owed by the agent.
    pub wrapup_pending: bool,
    /// Creation time, unix ms.
    pub created_at: i64,
    /// Time it (last) entered the queue, unix ms.
    pub queued_at: i64,
    /// Last change, unix ms.
    pub updated_at: i64,
    /// Internal id of the assigned agent.
    #[serde(skip)]
    pub assigned_user_id: Option<i64>,
    /// What the workflow attached (`set_attr`, desktop flags), shown to the agent.
    pub attributes: std::collections::BTreeMap<String, String>,
    /// The last transfer: who sent it here, from where, with what note.
    pub transferred_from: Option<TransferredFrom>,
}

/// Who transferred an interaction, for the agent who receives it.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TransferredFrom {
    /// Username of the agent who transferred it.
    pub user: String,
    /// Their display name.
    pub display_name: String,
    /// The workgroup it was in.
    pub workgroup: String,
    /// Their note to the receiver, if they wrote one.
    pub note: Option<String>,
    /// When, unix ms.
    pub at: i64,
}

/// Something a message carries besides its text, as agents see it: files are served by
/// this host (`url`), never from the platform.
#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct AttachmentView {
    /// The file's id on this host; none for content without a file (a location).
    pub id: Option<i64>,
    /// `image`, `video`, `audio`, `file`, `sticker`, `location`, `contact`, `share`,
    /// `story-mention`, `story-reply`, `fallback`, or the platform's own type.
    pub kind: String,
    /// What it is, in words ("Photo", "Location", or for a type Switchboard does not know
    /// "Content Switchboard cannot show yet (ig_reel)").
    pub label: String,
    /// Where this host serves the file (`/api/v1/attachments/{id}`), for a file.
    pub url: Option<String>,
    /// For a file: `stored`, `pending` (not yet available), `failed` or `erased`.
    pub state: Option<crate::model::attachment::MediaState>,
    /// Why the file is not available (pending: the last try's reason; failed: why it was
    /// given up).
    pub error: Option<String>,
    /// The file's type, from its bytes once stored.
    pub mime_type: Option<String>,
    /// Whether the desktop may show it inline (an image, a player); other files are
    /// downloads.
    pub inline: bool,
    /// Caption or title.
    pub caption: Option<String>,
    /// The file's name, for documents.
    pub file_name: Option<String>,
    /// Size in bytes, once known.
    pub size: Option<i64>,
    /// What content without a file says (`latitude`, `longitude`, `name`, `address`,
    /// `phone`, `title`, `url`, ...).
    pub details: std::collections::BTreeMap<String, String>,
}

/// One message of a transcript.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct TranscriptMessage {
    /// `inbound` (from the customer) or `outbound` (from the business).
    pub direction: String,
    /// The text, exactly as sent.
    pub text: String,
    /// Display name of the writer.
    pub author: String,
    /// The writer's platform id (the interaction's `customer_id` for the customer).
    pub author_id: String,
    /// The writer's handle on the platform (`@name`), when it has one.
    pub author_handle: Option<String>,
    /// The writer's follower count, when the platform gives it.
    pub followers: Option<i64>,
    /// Photos, files, locations and everything else sent with the message, in order.
    pub attachments: Vec<AttachmentView>,
    /// Platform time of the message, unix ms.
    pub created_at: i64,
    /// The platform's id of the message.
    pub platform_message_id: String,
    /// What it answers, when the platform threads messages.
    pub parent_id: Option<String>,
    /// Public or private.
    pub visibility: Visibility,
    /// True when the platform reported it removed; its content is erased.
    pub deleted: bool,
    /// True once an agent hid it from the public (the customer and their friends still
    /// see it).
    pub hidden: bool,
    /// For our own messages: what the platform said about delivery.
    pub delivery: Option<String>,
    /// For our own messages: the platform's delivery error.
    pub delivery_error: Option<String>,
}

/// An interaction with its transcript, the detail view.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct InteractionDetail {
    /// The interaction.
    #[serde(flatten)]
    pub interaction: Interaction,
    /// Its messages, oldest first.
    pub messages: Vec<TranscriptMessage>,
    /// What the business sent or tries to send, with delivery and errors.
    pub outbound: Vec<crate::model::reply::OutboundReply>,
    /// What the platform allows to send now, for public and for private replies.
    pub reply_window: Option<ReplyWindows>,
    /// The platform of its channel (`facebook`, `x`, `whatsapp`, `apple`; `messenger` for
    /// a Facebook page's direct messages).
    pub platform: String,
    /// The customer, as the desktop shows them.
    pub customer: Customer,
    /// The workgroup's wrap-up codes and whether one is required.
    pub wrapup: Wrapup,
    /// Approved templates the channel may send (its `templates` setting), for when only
    /// a template is allowed.
    pub templates: Vec<crate::model::reply::Template>,
    /// The person behind it (`GET /api/v1/contacts/{id}` has their history); null for an
    /// interaction older than contacts.
    pub contact: Option<ContactRef>,
    /// The thread's conversation before this interaction, oldest first (at most 50): the
    /// post and earlier comments with the business's replies, or a direct conversation's
    /// earlier messages.
    pub earlier: Vec<TranscriptMessage>,
}

/// Which contact an interaction is with.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema, PartialEq, Eq)]
pub struct ContactRef {
    pub id: i64,
    /// The contact's name (empty where the channel keeps no personal data).
    pub name: String,
}

/// The customer of an interaction: who wrote, and how much they are heard.
#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct Customer {
    /// Display name.
    pub name: String,
    /// Handle (`@name`), when the platform has one.
    pub handle: Option<String>,
    /// Follower count, when the platform gives one.
    pub followers: Option<i64>,
    /// Influence score 0-100 from the follower count.
    pub influence_score: i64,
    /// `low`, `medium`, `high`, or `unknown` without a follower count.
    pub influence_level: String,
}

/// Wrap-up codes an agent chooses from when the interaction ends.
#[derive(Clone, Debug, Default, Serialize, utoipa::ToSchema)]
pub struct Wrapup {
    /// The workgroup's codes.
    pub codes: Vec<String>,
    /// Whether a code must be set.
    pub required: bool,
}

/// What may be sent now, per visibility.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ReplyWindows {
    /// For a public reply (a comment, a tweet).
    pub public: crate::model::reply::ReplyWindow,
    /// For a private reply (a direct message, a private reply to a comment).
    pub private: crate::model::reply::ReplyWindow,
}

/// The platform an interaction is shown under: its channel's, except that direct
/// messages on a Facebook channel are Messenger.
pub fn platform_label(channel_platform: &str, media: MediaType) -> String {
    match (channel_platform, media) {
        ("facebook", MediaType::SocialDirectMessage) => "messenger".into(),
        (p, _) => p.to_owned(),
    }
}
