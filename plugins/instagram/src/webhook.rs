//! The webhook: handshake, signature and envelope are [`meta`]'s
//! ([`meta::Settings::read_webhook`]); the entries are Instagram's: `messaging[]` (DMs, see
//! [`crate::dm`]) and `changes[]` (comments, live comments and mentions, see
//! [`crate::comments`]). An authentic POST is always answered 200 `EVENT_RECEIVED`; an
//! item of a shape we cannot read is left out with a warning, the rest kept.

use serde::Deserialize;
use switchboard_sdk::lenient::{self, Items};
use switchboard_sdk::{HttpRequest, WebhookOutcome, log, meta, time};

use crate::Settings;

pub(crate) fn handle(settings: &Settings, req: &HttpRequest) -> WebhookOutcome {
    let entries = match settings.meta.read_webhook::<Entry>(req) {
        Ok(entries) => entries,
        Err(answer) => return WebhookOutcome::respond(answer),
    };
    if let Some(summary) = entries.summary("entry") {
        log::warn(format!("instagram: webhook: {summary}"));
    }
    let mut events = Vec::new();
    for entry in entries.items {
        let entry_time = entry.time.as_ref().and_then(Stamp::millis);
        for summary in [
            entry.changes.summary("change"),
            entry.messaging.summary("messaging event"),
        ]
        .into_iter()
        .flatten()
        {
            log::warn(format!("instagram: webhook: {summary}"));
        }
        if let Some(id) = entry.id.clone().and_then(Id::into_option)
            && id != settings.ig_user_id
        {
            log::warn(format!(
                "instagram: webhook entry for account {id}, this channel is account {}",
                settings.ig_user_id
            ));
        }
        for raw in entry.messaging.items {
            events.extend(crate::dm::events(settings, raw, entry_time));
        }
        for change in entry.changes.items {
            let field = change.field.unwrap_or_default();
            match field.as_str() {
                "comments" | "live_comments" => {
                    events.extend(crate::comments::comment_event(
                        settings,
                        &field,
                        change.value,
                        entry_time,
                    ));
                }
                "mentions" => {
                    events.extend(crate::comments::mention_event(
                        settings,
                        change.value,
                        entry_time,
                    ));
                }
                other => log::debug(format!("instagram: ignoring change field {other:?}")),
            }
        }
    }
    WebhookOutcome::new(meta::accepted(), events)
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default, deserialize_with = "lenient::opt")]
    id: Option<Id>,
    #[serde(default, deserialize_with = "lenient::opt")]
    time: Option<Stamp>,
    #[serde(default)]
    changes: Items<Change>,
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

/// An id that arrives as a JSON string or number.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub(crate) enum Id {
    Text(String),
    Number(serde_json::Number),
}

impl Id {
    /// The id as a string, `None` when empty.
    pub(crate) fn into_option(self) -> Option<String> {
        let s = match self {
            Id::Text(s) => s,
            Id::Number(n) => n.to_string(),
        };
        (!s.is_empty()).then_some(s)
    }
}

/// A non-empty id.
pub(crate) fn id(value: Option<Id>) -> Option<String> {
    value.and_then(Id::into_option)
}

/// A time as Meta sends it: unix seconds or milliseconds, or ISO-8601 (Graph objects).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub(crate) enum Stamp {
    Number(serde_json::Number),
    Text(String),
}

impl Stamp {
    /// Unix milliseconds, when the value makes sense.
    pub(crate) fn millis(&self) -> Option<i64> {
        match self {
            Stamp::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().map(|f| f as i64))
                .map(time::unix_to_millis),
            Stamp::Text(s) => match s.trim().parse::<i64>() {
                Ok(n) => Some(time::unix_to_millis(n)),
                Err(_) => time::parse_iso8601_millis(s.trim()),
            },
        }
    }
}

/// Unix milliseconds of an optional time.
pub(crate) fn millis(value: &Option<Stamp>) -> Option<i64> {
    value.as_ref().and_then(Stamp::millis)
}
