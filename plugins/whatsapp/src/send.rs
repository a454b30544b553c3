//! Sending a reply: `POST /{phone-number-id}/messages`, once per WhatsApp message the
//! reply needs, after the checks made before anything is sent (blocked regions, the
//! 24-hour window, the text's length).
//!
//! A reply becomes:
//! - a template: one `template` message; the reply's first file fills a media header (a
//!   template takes at most that one file);
//! - text only: one `text` message;
//! - files: one message per file, sent by the media id the host's upload got
//!   (`{"type":"image","image":{"id","caption"}}`; a document also has `filename`). The
//!   text rides as the first file's caption when that file is an image, video or document
//!   and the text fits a caption (1,024 characters); otherwise it goes first as a `text`
//!   message of its own.
//!
//! The id returned is the first message's. Each message sent is remembered under the
//! reply's idempotency key and its position, so sending the same reply again after a
//! failure part-way skips what already reached the customer.

use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_sdk::IdempotencyKey;
use switchboard_sdk::meta::GraphFailure;
use switchboard_sdk::{ConnectorError, Outbound, Sent, clock, kv, log};

use crate::Settings;
use crate::graph::{blocked_region, explain};
use crate::media::{message_type, uploaded_id, window_closed};
use crate::templates::{self, HeaderMedia};

/// Longest text body the Cloud API accepts.
pub(crate) const MAX_TEXT_CHARS: usize = 4096;
/// Longest caption of an image, video or document.
pub(crate) const MAX_CAPTION_CHARS: usize = 1024;

#[derive(Deserialize)]
struct SendAnswer {
    #[serde(default)]
    messages: Vec<SentMessage>,
}

#[derive(Deserialize)]
struct SentMessage {
    #[serde(default)]
    id: Option<String>,
}

/// The fields every message to `to` has.
fn envelope(to: &str) -> Value {
    json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
    })
}

fn text_part(to: &str, text: &str) -> Result<Value, ConnectorError> {
    let n = text.chars().count();
    if n > MAX_TEXT_CHARS {
        return Err(ConnectorError::Rejected(format!(
            "the text is {n} characters long; WhatsApp accepts at most {MAX_TEXT_CHARS}"
        )));
    }
    let mut body = envelope(to);
    body["type"] = json!("text");
    body["text"] = json!({ "preview_url": false, "body": text });
    Ok(body)
}

/// The bodies of every WhatsApp message the reply needs, in order.
pub(crate) fn bodies(
    settings: &Settings,
    msg: &Outbound,
    to: &str,
    now: i64,
) -> Result<Vec<Value>, ConnectorError> {
    let mut parts = Vec::new();
    if let Some(template) = &msg.template {
        if msg.files.len() > 1 {
            return Err(ConnectorError::Rejected(format!(
                "a WhatsApp template carries at most one file (its header); this reply has {}",
                msg.files.len()
            )));
        }
        let header = match msg.files.first() {
            Some(file) => {
                let kind = match message_type(&file.kind) {
                    Some(kind @ ("image" | "video" | "document")) => kind,
                    _ => {
                        return Err(ConnectorError::Rejected(format!(
                            "a template header can be an image, a video or a document, not {} ({})",
                            file.file_name, file.kind
                        )));
                    }
                };
                Some(HeaderMedia {
                    kind,
                    id: uploaded_id(settings, file)?,
                    file_name: file.file_name.clone(),
                })
            }
            None => None,
        };
        let mut body = envelope(to);
        body["type"] = json!("template");
        body["template"] = templates::object(template, header)?;
        parts.push(body);
    } else {
        if let Some(closed) = window_closed(msg, now) {
            return Err(closed);
        }
        let text = msg.text.trim();
        if text.is_empty() && msg.files.is_empty() {
            return Err(ConnectorError::Rejected(
                "a WhatsApp text message cannot be empty".into(),
            ));
        }
        let first_takes_caption = msg.files.first().is_some_and(|f| f.kind != "audio")
            && msg.text.chars().count() <= MAX_CAPTION_CHARS;
        if !text.is_empty() && !first_takes_caption {
            parts.push(text_part(to, &msg.text)?);
        }
        for (i, file) in msg.files.iter().enumerate() {
            let Some(kind) = message_type(&file.kind) else {
                return Err(ConnectorError::Rejected(format!(
                    "WhatsApp cannot send {} as a file of kind `{}`",
                    file.file_name, file.kind
                )));
            };
            let mut media = json!({ "id": uploaded_id(settings, file)? });
            if i == 0 && first_takes_caption && !text.is_empty() {
                media["caption"] = json!(msg.text);
            }
            if kind == "document" && !file.file_name.is_empty() {
                media["filename"] = json!(file.file_name);
            }
            let mut body = envelope(to);
            body["type"] = json!(kind);
            body[kind] = media;
            parts.push(body);
        }
    }
    // The reply quotes the customer's message; only the first part carries the quote.
    if let (Some(reply_to), Some(first)) = (
        msg.reply_to.as_deref().filter(|r| !r.is_empty()),
        parts.first_mut(),
    ) {
        first["context"] = json!({ "message_id": reply_to });
    }
    Ok(parts)
}

/// The customer's number or id as WhatsApp takes it, after the checks.
fn recipient(msg: &Outbound) -> Result<String, ConnectorError> {
    let to = msg
        .recipient_id
        .as_deref()
        .filter(|r| !r.trim().is_empty())
        .unwrap_or(&msg.thread_id)
        .trim()
        .trim_start_matches('+')
        .to_string();
    if to.is_empty() {
        return Err(ConnectorError::Rejected(
            "a WhatsApp message needs a recipient (the customer's wa_id)".into(),
        ));
    }
    if let Some(region) = blocked_region(&to) {
        return Err(ConnectorError::Rejected(format!(
            "WhatsApp messages to numbers in {region} are not allowed; nothing was sent to +{to}"
        )));
    }
    Ok(to)
}

/// The key one part of a reply of several is remembered under (none without a reply key,
/// or for a reply of one message, which the reply's own key covers).
fn part_key(idempotency_key: &IdempotencyKey, index: usize, parts: usize) -> IdempotencyKey {
    if idempotency_key.is_empty() || parts < 2 {
        IdempotencyKey::default()
    } else {
        IdempotencyKey::new(format!("{idempotency_key}#{index}"))
    }
}

/// Sends the reply, one WhatsApp message per part; the first message's id.
pub(crate) fn send(
    settings: &Settings,
    msg: &Outbound,
    idempotency_key: &IdempotencyKey,
) -> Result<Sent, ConnectorError> {
    if let Some(id) = kv::sent_before(idempotency_key) {
        log::info(format!(
            "whatsapp: reply {idempotency_key} was already sent as {id}"
        ));
        return Ok(Sent {
            platform_message_id: id,
        });
    }
    let to = recipient(msg)?;
    let parts = bodies(settings, msg, &to, clock::now_millis())?;
    let graph = settings.graph();
    let url = format!("{}/messages", graph.object_url(&settings.phone_number_id));
    let mut first_id = None;
    for (i, body) in parts.iter().enumerate() {
        let key = part_key(idempotency_key, i, parts.len());
        let id = match kv::sent_before(&key) {
            Some(id) => id,
            None => {
                let resp = graph.post_json(&url, body).map_err(|f: GraphFailure| {
                    let error = explain(f);
                    if i == 0 {
                        error
                    } else {
                        part_failed(error, i, parts.len())
                    }
                })?;
                let id = resp
                    .json_body::<SendAnswer>()
                    .ok()
                    .and_then(|a| a.messages.into_iter().next())
                    .and_then(|m| m.id)
                    .filter(|id| !id.is_empty())
                    .ok_or_else(|| {
                        ConnectorError::Rejected(format!(
                            "the Cloud API accepted the message but returned no id: {}",
                            resp.body_text()
                        ))
                    })?;
                kv::remember_sent(&key, &id);
                id
            }
        };
        first_id.get_or_insert(id);
    }
    let id = first_id.unwrap_or_default();
    kv::remember_sent(idempotency_key, &id);
    // The whole reply is remembered now; its parts need not be (`kv::remember_sent`
    // stores under `sent/<key>`).
    for i in 0..parts.len() {
        let key = part_key(idempotency_key, i, parts.len());
        if !key.is_empty() {
            kv::delete(&format!("sent/{key}"));
        }
    }
    Ok(Sent {
        platform_message_id: id,
    })
}

/// An error after part of the reply reached the customer, saying so.
fn part_failed(error: ConnectorError, index: usize, total: usize) -> ConnectorError {
    let done = format!(
        "{index} of the reply's {total} WhatsApp messages reached the customer before this one failed (sending the reply again skips them)"
    );
    match error {
        ConnectorError::Rejected(m) => ConnectorError::Rejected(format!("{m}; {done}")),
        ConnectorError::Transient(m) => ConnectorError::Transient(format!("{m}; {done}")),
        ConnectorError::Unauthorized(m) => ConnectorError::Unauthorized(format!("{m}; {done}")),
        ConnectorError::InvalidConfig(m) => ConnectorError::InvalidConfig(format!("{m}; {done}")),
        ConnectorError::Unsupported(m) => ConnectorError::Unsupported(format!("{m}; {done}")),
        limited @ ConnectorError::RateLimited(_) => limited,
    }
}
