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

use crate::Settings;
use crate::kinds::{content, error_text, str_at};

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

/// `timestamp` as unix ms (Cloud API sends a string of unix seconds).
fn millis(value: &Value) -> Option<i64> {
    match value.get("timestamp")? {
        Value::String(s) => s.trim().parse::<i64>().ok().map(time::unix_to_millis),
        Value::Number(n) => n.as_i64().map(time::unix_to_millis),
        _ => None,
    }
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
    if raw
        .pointer("/context/frequently_forwarded")
        .and_then(Value::as_bool)
        == Some(true)
    {
        metadata.push(("frequently_forwarded".into(), "true".into()));
    }
    // The customer asked about a catalog product ("Message business" on a product).
    if let Some(product) = raw.pointer("/context/referred_product") {
        let catalog = str_at(product, &["catalog_id"]).unwrap_or_default();
        let item = str_at(product, &["product_retailer_id"]).unwrap_or_default();
        metadata.push(("referred_product".into(), item.to_string()));
        c.attachments.push(
            Attachment::of_kind("product")
                .with_detail("catalog-id", catalog)
                .with_detail("product-id", item),
        );
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
        // The ad or post the customer came from, shown as a share (no file: its image
        // is the advertiser's, not something the customer sent).
        let field = |k: &str| referral.get(k).and_then(Value::as_str).unwrap_or_default();
        c.attachments.push(
            Attachment::of_kind("share")
                .with_detail("title", field("headline"))
                .with_detail("url", field("source_url"))
                .with_detail("source", field("source_type"))
                .with_detail("body", field("body")),
        );
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
