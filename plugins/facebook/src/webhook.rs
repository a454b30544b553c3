//! The page webhook: verification handshake, signature check, `feed` changes and
//! Messenger `messaging` events (see [`crate::messenger`]).
//!
//! An authentic POST (its `X-Hub-Signature-256` checked first; a forged one gets 401) is
//! always answered 200 `EVENT_RECEIVED`. Meta delivers again whatever is not answered
//! 2xx, for hours, and a webhook that keeps failing gets the app alerted and its
//! subscription disabled, which would cost every other event of the page; an authentic
//! body that cannot be read now cannot be read on any later delivery. So a body that is
//! not a JSON object is dropped with an ERROR log line (the host tags it with the
//! channel), and an entry, change or messaging event of a shape we cannot read is left
//! out with a warning while the rest of the batch is kept.

use serde::Deserialize;
use switchboard_sdk::lenient::{self, Items};
use switchboard_sdk::{
    Deleted, Edited, Event, HttpRequest, Message, Visibility, WebhookOutcome, clock, log, meta,
};

use crate::Settings;
use crate::model::{self, From, Id, Timestamp};

/// The handshake, the signature check and the envelope are [`meta`]'s
/// ([`meta::Settings::read_webhook`]); the entries are this connector's.
pub(crate) fn handle(settings: &Settings, req: &HttpRequest) -> WebhookOutcome {
    match settings.meta.read_webhook::<Entry>(req) {
        Ok(entries) => receive(settings, entries),
        Err(answer) => WebhookOutcome::respond(answer),
    }
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default, deserialize_with = "lenient::opt")]
    time: Option<Timestamp>,
    #[serde(default)]
    changes: Items<Change>,
    /// Messenger events (`messages`, echoes, referrals, deliveries).
    #[serde(default)]
    messaging: Items<serde_json::Value>,
}

#[derive(Deserialize)]
struct Change {
    #[serde(default, deserialize_with = "lenient::opt")]
    field: Option<String>,
    #[serde(default)]
    value: serde_json::Value,
}

/// `value` of a `feed` change.
#[derive(Deserialize, Default)]
struct FeedValue {
    #[serde(default)]
    item: Option<String>,
    #[serde(default)]
    verb: Option<String>,
    #[serde(default)]
    post_id: Option<Id>,
    #[serde(default)]
    comment_id: Option<Id>,
    #[serde(default)]
    parent_id: Option<Id>,
    #[serde(default)]
    from: Option<From>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    created_time: Option<Timestamp>,
    #[serde(default)]
    photo: Option<String>,
    #[serde(default)]
    photos: Vec<String>,
    #[serde(default)]
    video: Option<String>,
}

/// An authentic batch of changes of the page.
fn receive(settings: &Settings, entries: Items<Entry>) -> WebhookOutcome {
    let mut events = Vec::new();
    if let Some(summary) = entries.summary("entry") {
        log::warn(format!("facebook: webhook: {summary}"));
    }
    for entry in entries.items {
        let entry_time = model::millis(&entry.time);
        let unreadable = [
            entry.changes.summary("change"),
            entry.messaging.summary("messaging event"),
        ];
        for summary in unreadable.into_iter().flatten() {
            log::warn(format!("facebook: webhook: {summary}"));
        }
        for change in entry.changes.items {
            if change.field.as_deref() != Some("feed") {
                continue;
            }
            match serde_json::from_value::<FeedValue>(change.value) {
                Ok(value) => events.extend(feed_event(settings, value, entry_time)),
                Err(e) => log::warn(format!("facebook: skipping unreadable feed change: {e}")),
            }
        }
        for raw in entry.messaging.items {
            events.extend(crate::messenger::events(settings, raw, entry_time));
        }
    }
    WebhookOutcome::new(meta::accepted(), events)
}

enum Item {
    Post,
    Comment,
}

/// The event one `feed` change describes, if it is one we report.
fn feed_event(settings: &Settings, value: FeedValue, entry_time: Option<i64>) -> Option<Event> {
    let raw_item = value.item.clone().unwrap_or_default();
    let item = match value.item.as_deref() {
        Some("comment") => Item::Comment,
        Some("post" | "status" | "photo" | "video" | "share" | "question") => Item::Post,
        _ => return None, // reactions, likes, events, ...
    };
    let Some(post_id) = model::id(value.post_id) else {
        log::warn("facebook: skipping feed change without post_id");
        return None;
    };
    let message_id = match item {
        Item::Post => post_id.clone(),
        Item::Comment => match model::id(value.comment_id) {
            Some(id) => id,
            None => {
                log::warn("facebook: skipping comment change without comment_id");
                return None;
            }
        },
    };
    let created = model::millis(&value.created_time);

    match value.verb.as_deref() {
        Some("add") => {
            let (author, from_business) = model::author(value.from, &settings.page_id);
            let parent_id = match item {
                Item::Post => None,
                Item::Comment => {
                    Some(model::id(value.parent_id).unwrap_or_else(|| post_id.clone()))
                }
            };
            let mut attachments = Vec::new();
            if let Some(url) = value.photo.filter(|u| !u.is_empty()) {
                attachments.push(model::attachment("image", url));
            }
            for url in value.photos.into_iter().filter(|u| !u.is_empty()) {
                attachments.push(model::attachment("image", url));
            }
            if let Some(url) = value.video.filter(|u| !u.is_empty()) {
                attachments.push(model::attachment("video", url));
            }
            Some(Event::Message(Message {
                platform_message_id: message_id,
                thread_id: post_id,
                parent_id,
                visibility: Visibility::Public,
                author,
                text: value.message.unwrap_or_default(),
                attachments,
                created_at: created.or(entry_time).unwrap_or_else(clock::now_millis),
                language: None,
                from_business,
                // Workflows filter on the kind of post (Facebook BP drops questions).
                metadata: match item {
                    Item::Post => vec![("post_type".into(), raw_item)],
                    Item::Comment => Vec::new(),
                },
            }))
        }
        Some("edited" | "edit") => Some(Event::Edited(Edited {
            platform_message_id: message_id,
            thread_id: Some(post_id),
            text: value.message.unwrap_or_default(),
            edited_at: entry_time.or(created).unwrap_or_else(clock::now_millis),
        })),
        Some("remove" | "delete") => Some(Event::Deleted(Deleted {
            platform_message_id: message_id,
            thread_id: Some(post_id),
            deleted_at: entry_time.or(created).unwrap_or_else(clock::now_millis),
        })),
        _ => None, // hide, unhide, block, ...
    }
}
