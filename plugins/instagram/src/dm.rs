//! Direct messages: `entry[].messaging[]` events.
//!
//! | Event | Becomes |
//! |---|---|
//! | `message` (text and/or attachments) | a private [`Message`] in thread `igsid:<IGSID>` |
//! | `message.is_echo` | the same, `from_business: true` (stored, never routed) |
//! | `message.is_deleted` (an unsend) | [`Event::Deleted`] of that mid |
//! | `message.reply_to.mid` | `parent_id` |
//! | `message.attachments[]` | one attachment each, whatever the type ([`meta::messaging_attachment`]: image, video, audio, file; share, ig_reel and ig_post as `share`; story_mention as `story-mention`; unsupported_type labelled; an unknown type with its raw type) |
//! | `message.reply_to.story` | a `story-reply` attachment at the story's URL (`story-id`), and metadata `story_reply=true`, `story_id`, `story_url` |
//! | attachment `story_mention` | a `story-mention` attachment, and metadata `story_mention=true`, `story_url` |
//! | `reaction` | a message "reacted ❤️ to a message" (see [`reaction_event`]) |
//! | `postback` | a message whose text is the button's title (metadata `postback_payload`) |
//! | `read` | [`Event::Delivery`] `read` of the business's message |
//! | `referral` alone | nothing (logged); on a message, metadata `referral_*` |
//!
//! Authors: the customer's IGSID, with the name and username from the User Profile API
//! (`GET /{igsid}?fields=name,username`, cached in kv as `profile/<igsid>`).

use serde::Deserialize;
use switchboard_sdk::{
    Attachment, Author, ConnectorError, Deleted, DeliveryState, DeliveryStatus, Event, Message,
    Visibility, clock, kv, log, meta,
};

use crate::Settings;
use crate::webhook::{Id, Stamp, id, millis};

/// Prefix of a DM conversation's thread id.
pub(crate) const THREAD_PREFIX: &str = "igsid:";

/// The thread id of the conversation with `igsid`.
pub(crate) fn thread_for(igsid: &str) -> String {
    format!("{THREAD_PREFIX}{igsid}")
}

/// The IGSID of a DM thread id, if it is one.
pub(crate) fn igsid_of(thread_id: &str) -> Option<&str> {
    thread_id
        .strip_prefix(THREAD_PREFIX)
        .filter(|p| !p.is_empty())
}

#[derive(Deserialize, Default)]
struct MessagingEvent {
    #[serde(default)]
    sender: Option<Party>,
    #[serde(default)]
    recipient: Option<Party>,
    #[serde(default)]
    timestamp: Option<Stamp>,
    #[serde(default)]
    message: Option<MessageBody>,
    #[serde(default)]
    reaction: Option<Reaction>,
    #[serde(default)]
    postback: Option<Postback>,
    #[serde(default)]
    read: Option<Read>,
    #[serde(default)]
    referral: Option<Referral>,
}

#[derive(Deserialize, Default)]
struct Party {
    #[serde(default)]
    id: Option<Id>,
}

#[derive(Deserialize, Default)]
struct MessageBody {
    #[serde(default)]
    mid: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    attachments: Vec<serde_json::Value>,
    #[serde(default)]
    reply_to: Option<ReplyTo>,
    #[serde(default)]
    is_echo: bool,
    #[serde(default)]
    is_deleted: bool,
    #[serde(default)]
    is_unsupported: bool,
    #[serde(default)]
    referral: Option<Referral>,
}

#[derive(Deserialize, Default)]
struct ReplyTo {
    #[serde(default)]
    mid: Option<String>,
    #[serde(default)]
    story: Option<Story>,
}

#[derive(Deserialize, Default)]
struct Story {
    #[serde(default)]
    id: Option<Id>,
    #[serde(default)]
    url: Option<String>,
}

#[derive(Deserialize, Default)]
struct Reaction {
    #[serde(default)]
    mid: Option<String>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    reaction: Option<String>,
    #[serde(default)]
    emoji: Option<String>,
}

#[derive(Deserialize, Default)]
struct Postback {
    #[serde(default)]
    mid: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    payload: Option<String>,
}

#[derive(Deserialize, Default)]
struct Read {
    #[serde(default)]
    mid: Option<String>,
}

#[derive(Deserialize, Default)]
struct Referral {
    #[serde(default, rename = "ref")]
    reference: Option<String>,
    #[serde(default)]
    ad_id: Option<Id>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

impl Referral {
    fn metadata(self) -> Vec<(String, String)> {
        [
            ("referral_ref", self.reference),
            ("referral_ad_id", id(self.ad_id)),
            ("referral_source", self.source),
            ("referral_type", self.kind),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| (k.to_string(), v)))
        .collect()
    }
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

/// The events of one `messaging[]` item.
pub(crate) fn events(
    settings: &Settings,
    raw: serde_json::Value,
    entry_time: Option<i64>,
) -> Vec<Event> {
    let event: MessagingEvent = match serde_json::from_value(raw) {
        Ok(e) => e,
        Err(e) => {
            log::warn(format!(
                "instagram: skipping unreadable messaging event: {e}"
            ));
            return Vec::new();
        }
    };
    let sender = event.sender.and_then(|p| id(p.id)).unwrap_or_default();
    let recipient = event.recipient.and_then(|p| id(p.id)).unwrap_or_default();
    let at = millis(&event.timestamp)
        .or(entry_time)
        .unwrap_or_else(clock::now_millis);
    let sent_by_us = !sender.is_empty() && sender == settings.ig_user_id;
    let customer = if sent_by_us { &recipient } else { &sender };

    if let Some(read) = event.read {
        return match non_empty(read.mid) {
            Some(mid) => vec![Event::Delivery(DeliveryStatus {
                platform_message_id: mid,
                state: DeliveryState::Read,
                error: None,
                at,
            })],
            None => Vec::new(),
        };
    }
    if let Some(reaction) = event.reaction {
        return reaction_event(settings, customer, reaction, at)
            .into_iter()
            .collect();
    }
    if let Some(postback) = event.postback {
        let Some(mid) = non_empty(postback.mid) else {
            log::warn("instagram: skipping postback without mid");
            return Vec::new();
        };
        if customer.is_empty() {
            return Vec::new();
        }
        let title = non_empty(postback.title);
        let mut metadata = vec![("postback".to_string(), "true".to_string())];
        if let Some(payload) = postback.payload.clone().filter(|p| !p.is_empty()) {
            metadata.push(("postback_payload".into(), payload));
        }
        return vec![Event::Message(Message {
            platform_message_id: mid,
            thread_id: thread_for(customer),
            parent_id: None,
            visibility: Visibility::Private,
            author: customer_author(settings, customer),
            text: title.or(postback.payload).unwrap_or_default(),
            attachments: Vec::new(),
            created_at: at,
            language: None,
            from_business: false,
            metadata,
        })];
    }
    let Some(message) = event.message else {
        if event.referral.is_some() {
            log::info(format!(
                "instagram: referral from {customer} without a message (kept nowhere)"
            ));
        }
        return Vec::new(); // typing, seen without mid, ...
    };
    let Some(mid) = non_empty(message.mid.clone()) else {
        log::warn("instagram: skipping DM without mid");
        return Vec::new();
    };
    if customer.is_empty() {
        log::warn(format!("instagram: skipping DM {mid} without sender"));
        return Vec::new();
    }
    if message.is_deleted {
        return vec![Event::Deleted(Deleted {
            platform_message_id: mid,
            thread_id: Some(thread_for(customer)),
            deleted_at: at,
        })];
    }

    let from_business = message.is_echo || sent_by_us;
    let mut metadata = Vec::new();
    let mut parent_id = None;
    let mut attachments = Vec::new();
    if let Some(reply_to) = message.reply_to {
        parent_id = non_empty(reply_to.mid);
        if let Some(story) = reply_to.story {
            // The story answered, as an attachment the host downloads while it lasts (a
            // story expires after 24 hours), and as metadata for workflows.
            let story_id = id(story.id);
            let url = non_empty(story.url);
            metadata.push(("story_reply".into(), "true".into()));
            if let Some(story_id) = &story_id {
                metadata.push(("story_id".into(), story_id.clone()));
            }
            if let Some(url) = &url {
                metadata.push(("story_url".into(), url.clone()));
            }
            let reply = match url {
                Some(url) => Attachment::at_url("story-reply", url),
                None => Attachment::of_kind("story-reply"),
            };
            attachments.push(
                reply
                    .with_detail("story-id", story_id.unwrap_or_default())
                    .with_caption(Some(
                        "replied to the account's story (stories expire after 24 hours)".into(),
                    )),
            );
        }
    }
    for raw in &message.attachments {
        let attachment = meta::messaging_attachment("Instagram", raw);
        if attachment.kind == "story-mention" {
            metadata.push(("story_mention".into(), "true".into()));
            if let Some(url) = &attachment.url {
                metadata.push(("story_url".into(), url.clone()));
            }
        }
        attachments.push(attachment);
    }
    if message.is_unsupported && message.attachments.is_empty() {
        attachments.push(meta::messaging_attachment(
            "Instagram",
            &serde_json::json!({"type": "unsupported_type"}),
        ));
    }
    if let Some(referral) = message.referral.or(event.referral) {
        metadata.extend(referral.metadata());
    }
    let author = if from_business {
        Author::new(settings.ig_user_id.clone(), "")
    } else {
        customer_author(settings, customer)
    };
    vec![Event::Message(Message {
        platform_message_id: mid,
        thread_id: thread_for(customer),
        parent_id,
        visibility: Visibility::Private,
        author,
        text: message.text.unwrap_or_default(),
        attachments,
        created_at: at,
        language: None,
        from_business,
        metadata,
    })]
}

/// A reaction becomes a message of its own, "reacted ❤️ to a message", with the reacted
/// message as its parent and metadata `reaction_action`, `reaction`, `reaction_emoji`,
/// `reacted_mid`. Not an [`Event::Edited`]: an edit would replace the reacted message's
/// stored text (usually the business's own reply) with the reaction, losing what was
/// said; a message of its own keeps both readable, in order in the transcript, and a
/// workflow can tell reactions apart by their metadata. Its id is the reacted mid, the
/// action and the time, so a redelivery is stored once and a new reaction is new.
fn reaction_event(
    settings: &Settings,
    customer: &str,
    reaction: Reaction,
    at: i64,
) -> Option<Event> {
    let reacted = non_empty(reaction.mid)?;
    if customer.is_empty() {
        return None;
    }
    let action = reaction.action.unwrap_or_else(|| "react".into());
    let emoji = non_empty(reaction.emoji);
    let text = meta::reaction_text(&action, emoji.as_deref(), reaction.reaction.as_deref());
    let mut metadata = vec![
        ("reaction_action".to_string(), action.clone()),
        ("reacted_mid".to_string(), reacted.clone()),
    ];
    if let Some(name) = non_empty(reaction.reaction) {
        metadata.push(("reaction".into(), name));
    }
    if let Some(emoji) = emoji {
        metadata.push(("reaction_emoji".into(), emoji));
    }
    Some(Event::Message(Message {
        platform_message_id: format!("{reacted}#{action}@{at}"),
        thread_id: thread_for(customer),
        parent_id: Some(reacted),
        visibility: Visibility::Private,
        author: customer_author(settings, customer),
        text,
        attachments: Vec::new(),
        created_at: at,
        language: None,
        from_business: false,
        metadata,
    }))
}

#[derive(Deserialize, serde::Serialize, Default)]
struct Profile {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    username: Option<String>,
}

/// The customer as an author: IGSID, name (else username), `@username`.
fn customer_author(settings: &Settings, igsid: &str) -> Author {
    let profile = profile(settings, igsid);
    let username = non_empty(profile.username);
    let name = non_empty(profile.name)
        .or_else(|| username.clone())
        .unwrap_or_default();
    Author {
        id: igsid.to_string(),
        name,
        handle: username.map(|u| format!("@{u}")),
        followers: None,
    }
}

/// The User Profile API (`GET /{igsid}?fields=name,username`), cached in kv; empty when
/// Meta does not say (the message is kept all the same).
fn profile(settings: &Settings, igsid: &str) -> Profile {
    let key = format!("profile/{igsid}");
    if let Some(p) = kv::get_string(&key).and_then(|s| serde_json::from_str(&s).ok()) {
        return p;
    }
    let graph = settings.graph();
    let url = format!("{}?fields=name,username", graph.object_url(igsid));
    let fetched = graph.get(&url).map_err(ConnectorError::from).and_then(|r| {
        r.json_body::<Profile>()
            .map_err(|e| ConnectorError::Transient(e.to_string()))
    });
    match fetched {
        Ok(p) => {
            if non_empty(p.name.clone()).is_some() || non_empty(p.username.clone()).is_some() {
                kv::set(&key, serde_json::to_string(&p).unwrap_or_default());
            }
            p
        }
        Err(e) => {
            log::warn(format!(
                "instagram: no profile for Instagram user {igsid}: {}",
                e.message()
            ));
            Profile::default()
        }
    }
}
