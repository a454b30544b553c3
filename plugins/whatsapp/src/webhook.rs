//! The Cloud API webhook: verification handshake, signature check, `messages` changes
//! (customer messages of every type and the delivery statuses of our sends).
//!
//! An authentic POST (its `X-Hub-Signature-256` checked first; a forged one gets 401) is
//! always answered 200 `EVENT_RECEIVED`: Meta delivers again whatever is not answered
//! 2xx, for days, and a webhook that keeps failing gets the app alerted and its
//! subscription disabled, which would cost every other message of the number; an
//! authentic body that cannot be read now cannot be read on any later delivery. So a
//! body that is not a JSON object is dropped with an ERROR log line (the host tags it
//! with the channel), and an entry, change, message or status of a shape we cannot read
//! is left out with a warning while the rest of the batch is kept.

use serde::Deserialize;
use serde_json::Value;
use switchboard_sdk::lenient::{self, Items};
use switchboard_sdk::{
    Attachment, Author, DeliveryState, DeliveryStatus, Event, HttpRequest, Message, Visibility,
    WebhookOutcome, clock, log, meta, time,
};

use crate::{MEDIA_URL_PREFIX, Settings};

/// The handshake, the signature check and the envelope are [`meta`]'s
/// ([`meta::Settings::read_webhook`]); the changes are this connector's.
pub(crate) fn handle(settings: &Settings, req: &HttpRequest) -> WebhookOutcome {
    match settings.meta.read_webhook::<Entry>(req) {
        Ok(entries) => receive(settings, entries),
        Err(answer) => WebhookOutcome::respond(answer),
    }
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Items<Change>,
}

#[derive(Deserialize)]
struct Change {
    #[serde(default, deserialize_with = "lenient::opt")]
    field: Option<String>,
    #[serde(default)]
    value: Value,
}

/// `value` of a `messages` change.
#[derive(Deserialize, Default)]
struct MessagesValue {
    #[serde(default, deserialize_with = "lenient::opt")]
    metadata: Option<Metadata>,
    #[serde(default)]
    contacts: Items<Contact>,
    #[serde(default)]
    messages: Items<Value>,
    #[serde(default)]
    statuses: Items<Value>,
}

#[derive(Deserialize, Default)]
struct Metadata {
    #[serde(default, deserialize_with = "lenient::opt")]
    phone_number_id: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
struct Contact {
    #[serde(default)]
    profile: Option<Profile>,
    #[serde(default)]
    wa_id: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    username: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
struct Profile {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    username: Option<String>,
}

/// An authentic batch of changes of the business account.
fn receive(settings: &Settings, entries: Items<Entry>) -> WebhookOutcome {
    let mut events = Vec::new();
    let mut unreadable: Vec<String> = entries.summary("entry").into_iter().collect();
    for entry in entries.items {
        unreadable.extend(entry.changes.summary("change"));
        for change in entry.changes.items {
            if change.field.as_deref() != Some("messages") {
                continue;
            }
            let value = match serde_json::from_value::<MessagesValue>(change.value) {
                Ok(v) => v,
                Err(e) => {
                    log::warn(format!(
                        "whatsapp: skipping unreadable messages change: {e}"
                    ));
                    continue;
                }
            };
            let number = value
                .metadata
                .as_ref()
                .and_then(|m| m.phone_number_id.as_deref())
                .unwrap_or_default();
            if number != settings.phone_number_id {
                log::debug(format!(
                    "whatsapp: skipping a change for phone number id {number:?} (not this channel's)"
                ));
                continue;
            }
            unreadable.extend(value.contacts.summary("contact"));
            unreadable.extend(value.messages.summary("message"));
            unreadable.extend(value.statuses.summary("status"));
            for raw in &value.messages.items {
                match message_event(raw, &value.contacts.items) {
                    Some(event) => events.push(event),
                    None => log::warn("whatsapp: skipping a message without id or sender"),
                }
            }
            for raw in &value.statuses.items {
                match status_event(raw) {
                    Some(event) => events.push(event),
                    None => log::warn("whatsapp: skipping an unreadable status"),
                }
            }
        }
    }
    for summary in unreadable {
        log::warn(format!("whatsapp: webhook: {summary}"));
    }
    WebhookOutcome::new(meta::accepted(), events)
}

fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut v = value;
    for key in path {
        v = v.get(key)?;
    }
    v.as_str().filter(|s| !s.is_empty())
}

/// A number or a string of digits, as text.
fn scalar(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `timestamp` as unix ms (Cloud API sends a string of unix seconds).
fn millis(value: &Value) -> Option<i64> {
    match value.get("timestamp")? {
        Value::String(s) => s.trim().parse::<i64>().ok().map(time::unix_to_millis),
        Value::Number(n) => n.as_i64().map(time::unix_to_millis),
        _ => None,
    }
}

/// The error of a message or status as `code: title`, with details when they add something.
fn error_text(errors: Option<&Value>) -> Option<String> {
    let first = errors?.as_array()?.first()?;
    let code = scalar(first.get("code"));
    let title = str_at(first, &["title"]).or_else(|| str_at(first, &["message"]));
    let details = str_at(first, &["error_data", "details"]).or_else(|| str_at(first, &["details"]));
    let mut text = match (code, title) {
        (Some(c), Some(t)) => format!("{c}: {t}"),
        (Some(c), None) => c,
        (None, Some(t)) => t.to_string(),
        (None, None) => return details.map(str::to_string),
    };
    if let Some(d) = details.filter(|d| !text.contains(d)) {
        text.push_str(&format!(" ({d})"));
    }
    Some(text)
}

fn find_contact<'a>(contacts: &'a [Contact], from: Option<&str>) -> Option<&'a Contact> {
    let by_id = from.and_then(|f| {
        contacts
            .iter()
            .find(|c| c.wa_id.as_deref() == Some(f) || c.user_id.as_deref() == Some(f))
    });
    by_id.or(if contacts.len() == 1 {
        contacts.first()
    } else {
        None
    })
}

fn attachment(
    kind: &str,
    url: Option<String>,
    mime: Option<&str>,
    caption: Option<&str>,
) -> Attachment {
    Attachment {
        kind: kind.into(),
        url,
        mime_type: mime.map(Into::into),
        caption: caption.map(Into::into),
    }
}

/// Text, attachments and metadata of one message, by type.
struct Content {
    text: String,
    attachments: Vec<Attachment>,
    metadata: Vec<(String, String)>,
    parent_override: Option<String>,
}

fn content(raw: &Value, kind: &str) -> Content {
    let mut c = Content {
        text: String::new(),
        attachments: Vec::new(),
        metadata: Vec::new(),
        parent_override: None,
    };
    let body = raw.get(kind).cloned().unwrap_or(Value::Null);
    match kind {
        "text" => c.text = str_at(&body, &["body"]).unwrap_or_default().to_string(),
        "image" | "video" | "audio" | "document" | "sticker" => {
            let id = str_at(&body, &["id"]);
            let caption = str_at(&body, &["caption"]);
            let filename = str_at(&body, &["filename"]);
            c.text = caption.unwrap_or_default().to_string();
            let att_kind = if kind == "document" { "file" } else { kind };
            c.attachments.push(attachment(
                att_kind,
                id.map(|id| format!("{MEDIA_URL_PREFIX}{id}")),
                str_at(&body, &["mime_type"]),
                caption.or(filename),
            ));
            if let Some(id) = id {
                c.metadata.push(("media_id".into(), id.into()));
            }
            if let Some(f) = filename {
                c.metadata.push(("filename".into(), f.into()));
            }
            if body.get("voice").and_then(Value::as_bool) == Some(true) {
                c.metadata.push(("voice".into(), "true".into()));
            }
        }
        "location" => {
            let lat = scalar(body.get("latitude")).unwrap_or_default();
            let long = scalar(body.get("longitude")).unwrap_or_default();
            let name = str_at(&body, &["name"]);
            let address = str_at(&body, &["address"]);
            let mut text = format!("📍 {lat},{long}");
            for part in [name, address].into_iter().flatten() {
                text.push(' ');
                text.push_str(part);
            }
            c.text = text;
            c.attachments.push(attachment(
                "location",
                Some(format!("geo:{lat},{long}")),
                None,
                name.or(address),
            ));
            c.metadata.push(("latitude".into(), lat));
            c.metadata.push(("longitude".into(), long));
            if let Some(u) = str_at(&body, &["url"]) {
                c.metadata.push(("location_url".into(), u.into()));
            }
        }
        "contacts" => {
            let cards: Vec<String> = raw
                .get("contacts")
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .map(|card| {
                            let name = str_at(card, &["name", "formatted_name"])
                                .or_else(|| str_at(card, &["name", "first_name"]))
                                .unwrap_or("(no name)");
                            let phones: Vec<&str> = card
                                .get("phones")
                                .and_then(Value::as_array)
                                .map(|p| p.iter().filter_map(|p| str_at(p, &["phone"])).collect())
                                .unwrap_or_default();
                            if phones.is_empty() {
                                format!("👤 {name}")
                            } else {
                                format!("👤 {name} {}", phones.join(", "))
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            c.metadata.push((
                "contacts".into(),
                raw.get("contacts")
                    .map(Value::to_string)
                    .unwrap_or_default(),
            ));
            c.text = cards.join("\n");
        }
        "reaction" => {
            let target = str_at(&body, &["message_id"]);
            let emoji = str_at(&body, &["emoji"]).unwrap_or_default();
            c.text = emoji.to_string();
            if let Some(t) = target {
                c.metadata.push(("reaction_to".into(), t.into()));
                c.parent_override = Some(t.into());
            }
            // An empty emoji removes an earlier reaction.
            c.metadata.push(("reaction".into(), emoji.into()));
        }
        "button" => {
            c.text = str_at(&body, &["text"]).unwrap_or_default().to_string();
            if let Some(p) = str_at(&body, &["payload"]) {
                c.metadata.push(("button_payload".into(), p.into()));
            }
        }
        "interactive" => {
            let sub = str_at(&body, &["type"]).unwrap_or_default().to_string();
            let reply = body.get(&sub).cloned().unwrap_or(Value::Null);
            c.text = str_at(&reply, &["title"]).unwrap_or_default().to_string();
            c.metadata.push(("interactive_type".into(), sub.clone()));
            if let Some(id) = str_at(&reply, &["id"]) {
                c.metadata.push(("interactive_id".into(), id.into()));
            }
            if let Some(d) = str_at(&reply, &["description"]) {
                c.metadata
                    .push(("interactive_description".into(), d.into()));
            }
            if c.text.is_empty() && sub == "nfm_reply" {
                c.text = str_at(&reply, &["body"]).unwrap_or_default().to_string();
            }
        }
        other => {
            let why = error_text(raw.get("errors"));
            let label = if other == "unsupported" || other.is_empty() {
                "unsupported message".to_string()
            } else {
                format!("unsupported message of type {other}")
            };
            c.text = match &why {
                Some(w) => format!("[{label}: {w}]"),
                None => format!("[{label}]"),
            };
            if let Some(w) = why {
                c.metadata.push(("error".into(), w));
            }
        }
    }
    c
}

/// A customer message.
fn message_event(raw: &Value, contacts: &[Contact]) -> Option<Event> {
    let id = str_at(raw, &["id"])?.to_string();
    let from = str_at(raw, &["from"]).or_else(|| str_at(raw, &["from_user_id"]));
    let contact = find_contact(contacts, from).cloned().unwrap_or_default();
    // An empty id is none (found by fuzzing: `"user_id": ""` made a thread without id).
    let non_empty = |id: &Option<String>| id.clone().filter(|i| !i.trim().is_empty());
    let author_id = from
        .map(str::to_string)
        .or(non_empty(&contact.wa_id))
        .or(non_empty(&contact.user_id))?;
    let profile = contact.profile.clone().unwrap_or_default();
    let name = profile.name.clone().unwrap_or_default();
    let username = contact.username.clone().or(profile.username.clone());
    let kind = str_at(raw, &["type"]).unwrap_or("unsupported").to_string();
    let mut c = content(raw, &kind);

    let mut metadata = vec![("message_type".to_string(), kind.clone())];
    if let Some(u) = &contact.user_id {
        metadata.push(("user_id".into(), u.clone()));
    }
    metadata.append(&mut c.metadata);
    if raw.pointer("/context/forwarded").and_then(Value::as_bool) == Some(true) {
        metadata.push(("forwarded".into(), "true".into()));
    }
    if let Some(referral) = raw.get("referral").and_then(Value::as_object) {
        metadata.push((
            "referral".into(),
            Value::Object(referral.clone()).to_string(),
        ));
        for (k, v) in referral {
            if let Some(s) = v.as_str() {
                metadata.push((format!("referral_{k}"), s.to_string()));
            }
        }
    }
    let parent_id = str_at(raw, &["context", "id"])
        .map(str::to_string)
        .or(c.parent_override.take());

    Some(Event::Message(Message {
        platform_message_id: id,
        thread_id: author_id.clone(),
        parent_id,
        visibility: Visibility::Private,
        author: Author {
            id: author_id,
            name,
            handle: username,
            followers: None,
        },
        text: c.text,
        attachments: c.attachments,
        created_at: millis(raw).unwrap_or_else(clock::now_millis),
        language: None,
        from_business: false,
        metadata,
    }))
}

/// A delivery status of one of our sends.
fn status_event(raw: &Value) -> Option<Event> {
    let id = str_at(raw, &["id"])?.to_string();
    let state = match str_at(raw, &["status"])? {
        "sent" => DeliveryState::Sent,
        "delivered" => DeliveryState::Delivered,
        "read" | "played" => DeliveryState::Read,
        "failed" => DeliveryState::Failed,
        other => {
            log::debug(format!("whatsapp: ignoring status {other:?}"));
            return None;
        }
    };
    let error = match state {
        DeliveryState::Failed => {
            Some(error_text(raw.get("errors")).unwrap_or_else(|| "delivery failed".into()))
        }
        _ => None,
    };
    Some(Event::Delivery(DeliveryStatus {
        platform_message_id: id,
        state,
        error,
        at: millis(raw).unwrap_or_else(clock::now_millis),
    }))
}
