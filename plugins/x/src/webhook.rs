//! Account Activity webhooks: the CRC challenge, signed POSTs carrying
//! `tweet_create_events` and `direct_message_events` (with their media, links, quoted
//! tweets and locations, see `media`) and `tweet_delete_events` (compliance). A
//! `user_event` `revoke` means one of the channel's own accounts took the app's access
//! away: logged as an error, as nothing can be read for it any more (it is not a customer
//! deleting their account; X sends no webhook for that, see `compliance`).
//!
//! An authentic POST (its signature checked first) is always answered 200: X delivers
//! again what is not, and a body that cannot be read now cannot be read on a later
//! delivery either, so a refusal would only repeat the failure. A body that is not a JSON
//! object is dropped with an ERROR log line (the host tags it with the channel); an event
//! of a shape we cannot read is left out with a warning, and the batch's others are kept.

use std::collections::HashMap;

use serde::Deserialize;
use switchboard_sdk::lenient::{self, Items};
use switchboard_sdk::{
    Attachment, Author, Deleted, Event, HttpRequest, HttpResponse, Message, Visibility,
    WebhookOutcome, clock, config, kv, log, webhook,
};

use crate::Settings;
use crate::api::x_signature;
use crate::media::{self, Entities, V1Media};
use crate::poll::dm_conversation_id;

pub(crate) fn handle(settings: &Settings, req: &HttpRequest) -> WebhookOutcome {
    let Some(secret) = config::secret("consumer_secret").filter(|s| !s.trim().is_empty()) else {
        log::error("x: webhook refused: no `consumer_secret` secret configured");
        return WebhookOutcome::respond(HttpResponse::text(403, "webhook not configured"));
    };
    match req.method.to_ascii_uppercase().as_str() {
        "GET" => crc(&secret, req),
        "POST" => receive(settings, &secret, req),
        other => WebhookOutcome::respond(HttpResponse::text(
            405,
            format!("method {other} not allowed"),
        )),
    }
}

/// `GET ?crc_token=T` -> `{"response_token":"sha256=<base64 HMAC-SHA256(secret, T)>"}`.
fn crc(secret: &str, req: &HttpRequest) -> WebhookOutcome {
    match webhook::query_param(req, "crc_token").filter(|t| !t.is_empty()) {
        Some(token) => WebhookOutcome::respond(HttpResponse::json(
            200,
            &serde_json::json!({ "response_token": x_signature(secret, token.as_bytes()) }),
        )),
        None => WebhookOutcome::respond(HttpResponse::text(400, "missing crc_token")),
    }
}

#[derive(Deserialize, Default)]
struct Payload {
    #[serde(default, deserialize_with = "lenient::opt")]
    for_user_id: Option<String>,
    #[serde(default)]
    tweet_create_events: Items<V1Tweet>,
    #[serde(default)]
    direct_message_events: Items<DmEvent>,
    #[serde(default)]
    tweet_delete_events: Items<DeleteEvent>,
    #[serde(default, deserialize_with = "lenient::opt")]
    user_event: Option<serde_json::Value>,
    /// User id -> user; read one by one (see [`users`]).
    #[serde(default, deserialize_with = "lenient::opt")]
    users: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The users of a payload that can be read (the others only lose their names).
fn users(raw: Option<serde_json::Map<String, serde_json::Value>>) -> HashMap<String, V1User> {
    raw.unwrap_or_default()
        .into_iter()
        .filter_map(|(id, user)| Some((id, serde_json::from_value(user).ok()?)))
        .collect()
}

#[derive(Deserialize)]
struct V1Tweet {
    #[serde(default)]
    id_str: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    full_text: Option<String>,
    #[serde(default)]
    extended_tweet: Option<Extended>,
    #[serde(default)]
    user: Option<V1User>,
    #[serde(default)]
    in_reply_to_status_id_str: Option<String>,
    #[serde(default)]
    in_reply_to_user_id_str: Option<String>,
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    timestamp_ms: Option<Stamp>,
    #[serde(default)]
    retweeted_status: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "lenient::opt")]
    entities: Option<Entities>,
    /// Every photo or the video (`entities.media` holds only the first).
    #[serde(default, deserialize_with = "lenient::opt")]
    extended_entities: Option<Entities>,
    #[serde(default, deserialize_with = "lenient::opt")]
    quoted_status: Option<QuotedStatus>,
    #[serde(default, deserialize_with = "lenient::opt")]
    quoted_status_id_str: Option<String>,
}

#[derive(Deserialize)]
struct Extended {
    #[serde(default)]
    full_text: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    entities: Option<Entities>,
    #[serde(default, deserialize_with = "lenient::opt")]
    extended_entities: Option<Entities>,
}

#[derive(Deserialize)]
struct QuotedStatus {
    #[serde(default, deserialize_with = "lenient::opt")]
    id_str: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    text: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    full_text: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    extended_tweet: Option<Extended>,
}

#[derive(Deserialize, Clone)]
struct V1User {
    #[serde(default)]
    id_str: Option<String>,
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    screen_name: Option<String>,
    #[serde(default)]
    followers_count: Option<u64>,
}

impl V1User {
    fn id(&self) -> String {
        self.id_str.clone().unwrap_or_else(|| match &self.id {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(v @ serde_json::Value::Number(_)) => v.to_string(),
            _ => String::new(),
        })
    }
}

/// Milliseconds as a string or a number.
#[derive(Deserialize)]
#[serde(untagged)]
enum Stamp {
    Text(String),
    Number(i64),
}

impl Stamp {
    fn millis(&self) -> Option<i64> {
        match self {
            Stamp::Text(s) => s.trim().parse().ok(),
            Stamp::Number(n) => Some(*n),
        }
    }
}

#[derive(Deserialize)]
struct DmEvent {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    created_timestamp: Option<Stamp>,
    #[serde(default)]
    message_create: Option<MessageCreate>,
}

#[derive(Deserialize)]
struct MessageCreate {
    #[serde(default)]
    target: Option<Target>,
    #[serde(default)]
    sender_id: Option<String>,
    #[serde(default)]
    message_data: Option<MessageData>,
}

#[derive(Deserialize)]
struct Target {
    #[serde(default)]
    recipient_id: Option<String>,
}

#[derive(Deserialize)]
struct MessageData {
    #[serde(default)]
    text: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    entities: Option<Entities>,
    #[serde(default, deserialize_with = "lenient::opt")]
    attachment: Option<DmAttachment>,
    /// The option a customer picked from a quick reply.
    #[serde(default, deserialize_with = "lenient::opt")]
    quick_reply_response: Option<QuickReply>,
}

/// The one attachment of a v1.1 direct message.
#[derive(Deserialize)]
struct DmAttachment {
    #[serde(default, rename = "type", deserialize_with = "lenient::opt")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    media: Option<V1Media>,
    #[serde(default, deserialize_with = "lenient::opt")]
    location: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct QuickReply {
    #[serde(default, deserialize_with = "lenient::opt")]
    metadata: Option<String>,
}

#[derive(Deserialize)]
struct DeleteEvent {
    #[serde(default)]
    status: Option<DeletedStatus>,
    #[serde(default)]
    timestamp_ms: Option<Stamp>,
}

#[derive(Deserialize)]
struct DeletedStatus {
    #[serde(default)]
    id: Option<serde_json::Value>,
}

fn receive(settings: &Settings, secret: &str, req: &HttpRequest) -> WebhookOutcome {
    let Some(signature) = webhook::header(req, "x-twitter-webhooks-signature") else {
        log::warn("x: webhook POST without x-twitter-webhooks-signature refused");
        return WebhookOutcome::respond(HttpResponse::text(
            401,
            "missing x-twitter-webhooks-signature",
        ));
    };
    let expected = x_signature(secret, &req.body);
    if !webhook::constant_time_eq(signature.trim().as_bytes(), expected.as_bytes()) {
        log::warn("x: webhook POST with a bad signature refused");
        return WebhookOutcome::respond(HttpResponse::text(
            401,
            "invalid x-twitter-webhooks-signature",
        ));
    }
    let payload: Payload = match lenient::object(&req.body) {
        Ok(p) => p,
        Err(why) => {
            log::error(format!(
                "x: an authentic webhook body could not be read and was dropped: {why}"
            ));
            return WebhookOutcome::respond(HttpResponse::empty(200));
        }
    };
    let unreadable = [
        payload.tweet_create_events.summary("tweet_create_event"),
        payload
            .direct_message_events
            .summary("direct_message_event"),
        payload.tweet_delete_events.summary("tweet_delete_event"),
    ];
    for summary in unreadable.into_iter().flatten() {
        log::warn(format!("x: webhook: {summary}"));
    }
    let now = clock::now_millis();
    let for_user = payload.for_user_id.clone().unwrap_or_default();
    let users = users(payload.users);
    if let Some(revoke) = payload.user_event.as_ref().and_then(|u| u.get("revoke")) {
        log::error(format!(
            "x: user {} took this app's access away on X (Account Activity `revoke`); authorize the app again as that handle",
            revoke["source"]["user_id"].as_str().unwrap_or(&for_user)
        ));
    }
    let mut events = Vec::new();
    let mut watched = Vec::new();
    let mut senders = Vec::new();
    if settings.public {
        for tweet in payload.tweet_create_events.items {
            if let Some(m) = tweet_message(settings, &for_user, tweet, now) {
                if !m.from_business {
                    watched.push((m.platform_message_id.clone(), m.author.id.clone()));
                }
                events.push(Event::Message(m));
            }
        }
    }
    if settings.private {
        // Whose direct messages these are: its token downloads their media.
        let handle = crate::api::handle_of(settings, &for_user)
            .unwrap_or_else(|| settings.default_handle().to_string());
        for dm in payload.direct_message_events.items {
            if let Some(m) = dm_message(&for_user, &users, dm, now) {
                media::remember_dm_handle(&m.attachments, &handle);
                if !m.from_business {
                    senders.push(m.author.id.clone());
                }
                events.push(Event::Message(m));
            }
        }
    }
    crate::compliance::watch(settings, &watched, &senders);
    if settings.compliance {
        for del in payload.tweet_delete_events.items {
            let id = match del.status.and_then(|s| s.id) {
                Some(serde_json::Value::String(s)) => s,
                Some(v @ serde_json::Value::Number(_)) => v.to_string(),
                _ => continue,
            };
            if id.is_empty() {
                continue;
            }
            events.push(Event::Deleted(Deleted {
                platform_message_id: id,
                thread_id: None,
                deleted_at: del.timestamp_ms.and_then(|t| t.millis()).unwrap_or(now),
            }));
        }
    }
    WebhookOutcome::new(HttpResponse::empty(200), events)
}

/// A v1.1 tweet's media, quoted tweet and links.
fn tweet_attachments(
    extended: Option<&Extended>,
    entities: Option<Entities>,
    extended_entities: Option<Entities>,
    quoted: Option<QuotedStatus>,
    quoted_id: Option<String>,
) -> Vec<Attachment> {
    let media_from = extended
        .and_then(|e| e.extended_entities.clone())
        .or(extended_entities)
        .or_else(|| extended.and_then(|e| e.entities.clone()))
        .or(entities.clone());
    let urls_from = extended
        .and_then(|e| e.entities.clone())
        .or(entities)
        .unwrap_or_default();
    let mut out: Vec<Attachment> = media_from
        .map(|e| e.media.items)
        .unwrap_or_default()
        .into_iter()
        .map(|m| m.into_media().attachment())
        .collect();
    let quoted_id = quoted
        .as_ref()
        .and_then(|q| q.id_str.clone())
        .or(quoted_id)
        .filter(|q| !q.is_empty());
    let skip: Vec<&str> = quoted_id.iter().map(String::as_str).collect();
    if let Some(id) = &quoted_id {
        let text = quoted.and_then(|q| {
            q.extended_tweet
                .and_then(|e| e.full_text)
                .or(q.full_text)
                .or(q.text)
        });
        out.push(media::tweet_share(
            id,
            text.as_deref(),
            &urls_from.urls.items,
        ));
    }
    out.extend(media::link_shares(&urls_from.urls.items, &skip));
    out
}

fn tweet_message(settings: &Settings, for_user: &str, t: V1Tweet, now: i64) -> Option<Message> {
    let id = t.id_str.filter(|i| !i.is_empty())?;
    let attachments = tweet_attachments(
        t.extended_tweet.as_ref(),
        t.entities,
        t.extended_entities,
        t.quoted_status,
        t.quoted_status_id_str,
    );
    let text = t
        .extended_tweet
        .and_then(|e| e.full_text)
        .or(t.full_text)
        .or(t.text)
        .unwrap_or_default();
    let lang = t.lang.filter(|l| !l.is_empty() && l != "und");
    if !settings.language_ok(lang.as_deref()) || settings.excluded(&text).is_some() {
        return None;
    }
    if settings.skip_retweets && t.retweeted_status.is_some() {
        return None;
    }
    let user = t.user;
    let author_id = user.as_ref().map(V1User::id).unwrap_or_default();
    let screen_name = user.as_ref().and_then(|u| u.screen_name.clone());
    let parent_id = t.in_reply_to_status_id_str.filter(|p| !p.is_empty());
    // The v1.1 shape has no conversation id: the parent's, as we saw it, else the parent.
    let thread_id = parent_id
        .as_deref()
        .map(|p| kv::get_string(&format!("conversation/{p}")).unwrap_or_else(|| p.to_string()))
        .unwrap_or_else(|| id.clone());
    kv::set(&format!("conversation/{id}"), thread_id.as_bytes());
    let mut metadata = vec![("source".to_string(), "webhook".to_string())];
    if let Some(to) = t.in_reply_to_user_id_str {
        metadata.push(("in_reply_to_user_id".into(), to));
    }
    Some(Message {
        platform_message_id: id,
        thread_id,
        parent_id,
        visibility: Visibility::Public,
        author: Author {
            id: author_id.clone(),
            name: user
                .as_ref()
                .and_then(|u| u.name.clone())
                .or_else(|| screen_name.clone())
                .unwrap_or_else(|| author_id.clone()),
            handle: screen_name.clone().map(|s| format!("@{s}")),
            followers: user.as_ref().and_then(|u| u.followers_count),
        },
        text,
        attachments,
        created_at: t.timestamp_ms.and_then(|s| s.millis()).unwrap_or(now),
        language: lang,
        from_business: (!for_user.is_empty() && author_id == for_user)
            || screen_name.is_some_and(|s| settings.is_own_handle(&s)),
        metadata,
    })
}

fn dm_message(
    for_user: &str,
    users: &HashMap<String, V1User>,
    dm: DmEvent,
    now: i64,
) -> Option<Message> {
    if dm.kind.as_deref().is_some_and(|k| k != "message_create") {
        return None;
    }
    let id = dm.id.filter(|i| !i.is_empty())?;
    let create = dm.message_create?;
    let sender = create.sender_id.unwrap_or_default();
    let recipient = create
        .target
        .and_then(|t| t.recipient_id)
        .unwrap_or_else(|| for_user.to_string());
    let user = users.get(&sender);
    let screen_name = user.and_then(|u| u.screen_name.clone());
    let data = create.message_data;
    let mut metadata = vec![("source".to_string(), "webhook".to_string())];
    if let Some(picked) = data
        .as_ref()
        .and_then(|d| d.quick_reply_response.as_ref())
        .and_then(|q| q.metadata.clone())
        .filter(|m| !m.is_empty())
    {
        metadata.push(("quick_reply".into(), picked));
    }
    let attachments = data.as_ref().map(dm_attachments).unwrap_or_default();
    Some(Message {
        platform_message_id: id,
        thread_id: dm_conversation_id(&sender, &recipient),
        parent_id: None,
        visibility: Visibility::Private,
        author: Author {
            id: sender.clone(),
            name: user
                .and_then(|u| u.name.clone())
                .or_else(|| screen_name.clone())
                .unwrap_or_else(|| sender.clone()),
            handle: screen_name.map(|s| format!("@{s}")),
            followers: user.and_then(|u| u.followers_count),
        },
        text: data.and_then(|d| d.text).unwrap_or_default(),
        attachments,
        created_at: dm.created_timestamp.and_then(|s| s.millis()).unwrap_or(now),
        language: None,
        from_business: !for_user.is_empty() && sender == for_user,
        metadata,
    })
}

/// A v1.1 direct message's attachment (media, a location, another kind) and its links.
fn dm_attachments(data: &MessageData) -> Vec<Attachment> {
    let mut out = Vec::new();
    if let Some(a) = &data.attachment {
        let kind = a.kind.clone().unwrap_or_default();
        out.push(match (kind.as_str(), &a.media, &a.location) {
            ("media", Some(m), _) => m.clone().into_media().attachment(),
            ("location", _, Some(loc)) => location(loc),
            _ => Attachment::of_kind(if kind.is_empty() { "attachment" } else { &kind }),
        });
    }
    let urls = data
        .entities
        .as_ref()
        .map(|e| e.urls.items.clone())
        .unwrap_or_default();
    out.extend(media::link_shares(&urls, &[]));
    out
}

/// A shared coordinate (`[longitude, latitude]`, GeoJSON order) or a shared place.
fn location(loc: &serde_json::Value) -> Attachment {
    let point = &loc["shared_coordinate"]["coordinates"]["coordinates"];
    if let (Some(lon), Some(lat)) = (point[0].as_f64(), point[1].as_f64()) {
        return Attachment::location(lat, lon);
    }
    let place = &loc["shared_place"]["place"];
    let name = place["full_name"]
        .as_str()
        .or(place["name"].as_str())
        .unwrap_or_default();
    let kind = loc["type"]
        .as_str()
        .filter(|k| !k.is_empty())
        .unwrap_or("location");
    Attachment::of_kind(kind)
        .with_detail("name", name)
        .with_detail("place-id", place["id"].as_str().unwrap_or_default())
}
