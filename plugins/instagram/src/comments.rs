//! Comments, live comments and mentions: `entry[].changes[]`.
//!
//! - `comments` / `live_comments`: a public [`Message`] in the media's thread (thread id =
//!   the media id), `parent_id` = the comment replied to, author `from{id,username}`
//!   (handle `@username`); the account's own comments are `from_business`. Metadata
//!   `media_product_type` (`FEED`, `REELS`, `AD`, ...) and, for live ones, `live=true`.
//! - `mentions` (`{media_id, comment_id?}`): the account was @mentioned on someone else's
//!   media. The comment (or, without one, the caption) is fetched through the account
//!   (`GET /{ig_user_id}?fields=mentioned_comment.comment_id(..){..}` or
//!   `mentioned_media.media_id(..){..}`) and becomes a public message with metadata
//!   `mention=true`; the media is remembered (`mention/<media id>`) so that a public reply
//!   goes through `POST /{ig_user_id}/mentions`.

use serde::Deserialize;
use switchboard_sdk::{Author, Event, Message, Visibility, clock, kv, log};

use crate::Settings;
use crate::webhook::{Id, Stamp, id, millis};

#[derive(Deserialize, Default)]
struct From {
    #[serde(default)]
    id: Option<Id>,
    #[serde(default)]
    username: Option<String>,
}

#[derive(Deserialize, Default)]
struct MediaRef {
    #[serde(default)]
    id: Option<Id>,
    #[serde(default)]
    media_product_type: Option<String>,
}

#[derive(Deserialize, Default)]
struct CommentValue {
    #[serde(default)]
    id: Option<Id>,
    #[serde(default)]
    parent_id: Option<Id>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    from: Option<From>,
    #[serde(default)]
    media: Option<MediaRef>,
    #[serde(default)]
    timestamp: Option<Stamp>,
    #[serde(default)]
    created_time: Option<Stamp>,
    /// Graph's comment objects carry the author's name here.
    #[serde(default)]
    username: Option<String>,
}

fn author(settings: &Settings, from: Option<From>, username: Option<String>) -> (Author, bool) {
    let from = from.unwrap_or_default();
    let username = from.username.or(username).filter(|u| !u.trim().is_empty());
    let id = id(from.id).unwrap_or_else(|| username.clone().unwrap_or_default());
    let from_business = !id.is_empty() && id == settings.ig_user_id;
    (
        Author {
            id,
            name: username.clone().unwrap_or_default(),
            handle: username.map(|u| format!("@{u}")),
            followers: None,
        },
        from_business,
    )
}

/// The message of a `comments` or `live_comments` change.
pub(crate) fn comment_event(
    settings: &Settings,
    field: &str,
    value: serde_json::Value,
    entry_time: Option<i64>,
) -> Option<Event> {
    let value: CommentValue = match serde_json::from_value(value) {
        Ok(v) => v,
        Err(e) => {
            log::warn(format!(
                "instagram: skipping unreadable {field} change: {e}"
            ));
            return None;
        }
    };
    let Some(comment_id) = id(value.id) else {
        log::warn(format!("instagram: skipping {field} change without id"));
        return None;
    };
    let media = value.media.unwrap_or_default();
    let Some(media_id) = id(media.id) else {
        log::warn(format!(
            "instagram: skipping comment {comment_id} without media"
        ));
        return None;
    };
    let (author, from_business) = author(settings, value.from, value.username);
    let mut metadata = Vec::new();
    if let Some(kind) = media.media_product_type.filter(|k| !k.is_empty()) {
        metadata.push(("media_product_type".to_string(), kind));
    }
    if field == "live_comments" {
        metadata.push(("live".into(), "true".into()));
    }
    Some(Event::Message(Message {
        platform_message_id: comment_id,
        thread_id: media_id,
        parent_id: id(value.parent_id),
        visibility: Visibility::Public,
        author,
        text: value.text.unwrap_or_default(),
        attachments: Vec::new(),
        created_at: millis(&value.timestamp)
            .or(millis(&value.created_time))
            .or(entry_time)
            .unwrap_or_else(clock::now_millis),
        language: None,
        from_business,
        metadata,
    }))
}

#[derive(Deserialize, Default)]
struct MentionValue {
    #[serde(default)]
    media_id: Option<Id>,
    #[serde(default)]
    comment_id: Option<Id>,
}

#[derive(Deserialize, Default)]
struct Mentioned {
    #[serde(default)]
    mentioned_comment: Option<CommentValue>,
    #[serde(default)]
    mentioned_media: Option<MentionedMedia>,
}

#[derive(Deserialize, Default)]
struct MentionedMedia {
    #[serde(default)]
    caption: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    timestamp: Option<Stamp>,
    #[serde(default)]
    media_product_type: Option<String>,
    #[serde(default)]
    permalink: Option<String>,
    #[serde(default)]
    owner: Option<From>,
}

/// The message of a `mentions` change: the mentioning comment, or the caption.
pub(crate) fn mention_event(
    settings: &Settings,
    value: serde_json::Value,
    entry_time: Option<i64>,
) -> Option<Event> {
    let value: MentionValue = serde_json::from_value(value)
        .map_err(|e| log::warn(format!("instagram: skipping unreadable mention: {e}")))
        .ok()?;
    let Some(media_id) = id(value.media_id) else {
        log::warn("instagram: skipping mention without media_id");
        return None;
    };
    let comment_id = id(value.comment_id);
    kv::set(&format!("mention/{media_id}"), "1");
    let graph = settings.graph();
    let fields = match &comment_id {
        Some(c) => format!(
            "mentioned_comment.comment_id({c}){{id,text,username,timestamp,from,media{{id,media_product_type}}}}"
        ),
        None => format!(
            "mentioned_media.media_id({media_id}){{id,caption,username,timestamp,media_product_type,permalink,owner}}"
        ),
    };
    let url = switchboard_sdk::http::url_with_query(
        &graph.object_url(&settings.ig_user_id),
        &[("fields", fields.as_str())],
    );
    let fetched = graph
        .get(&url)
        .map_err(|f| f.error.message())
        .and_then(|r| r.json_body::<Mentioned>().map_err(|e| e.to_string()));
    let mut metadata = vec![("mention".to_string(), "true".to_string())];
    let at = entry_time.unwrap_or_else(clock::now_millis);
    let (text, author, created, from_business) = match fetched {
        Ok(Mentioned {
            mentioned_comment: Some(c),
            ..
        }) if comment_id.is_some() => {
            if let Some(kind) = c.media.as_ref().and_then(|m| m.media_product_type.clone()) {
                metadata.push(("media_product_type".into(), kind));
            }
            let created = millis(&c.timestamp);
            let (author, biz) = author(settings, c.from, c.username);
            (c.text.unwrap_or_default(), author, created, biz)
        }
        Ok(Mentioned {
            mentioned_media: Some(m),
            ..
        }) if comment_id.is_none() => {
            metadata.push(("mention_in".into(), "caption".into()));
            if let Some(kind) = m.media_product_type.clone() {
                metadata.push(("media_product_type".into(), kind));
            }
            if let Some(link) = m.permalink.clone() {
                metadata.push(("permalink".into(), link));
            }
            let created = millis(&m.timestamp);
            let (author, biz) = author(settings, m.owner, m.username);
            (m.caption.unwrap_or_default(), author, created, biz)
        }
        Ok(_) => {
            log::warn(format!(
                "instagram: the mention on media {media_id} could not be read: Instagram answered without it"
            ));
            metadata.push(("mention_unreadable".into(), "true".into()));
            (
                "(mentioned the account; Instagram did not give the text)".to_string(),
                Author::new("", ""),
                None,
                false,
            )
        }
        Err(why) => {
            log::warn(format!(
                "instagram: the mention on media {media_id} could not be read: {why}"
            ));
            metadata.push(("mention_unreadable".into(), "true".into()));
            (
                format!("(mentioned the account; the mention could not be read: {why})"),
                Author::new("", ""),
                None,
                false,
            )
        }
    };
    Some(Event::Message(Message {
        platform_message_id: comment_id.unwrap_or_else(|| media_id.clone()),
        thread_id: media_id,
        parent_id: None,
        visibility: Visibility::Public,
        author,
        text,
        attachments: Vec::new(),
        created_at: created.unwrap_or(at),
        language: None,
        from_business,
        metadata,
    }))
}
