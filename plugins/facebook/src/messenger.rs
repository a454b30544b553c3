//! Messenger on the same page: `messaging` webhook events, replies through the Send API
//! inside Meta's windows, and private replies to public comments.
//!
//! | Event | Becomes |
//! |---|---|
//! | `message` (text and/or attachments) | a private [`Message`] in thread `psid:<PSID>`; every attachment kept ([`meta::messaging_attachment`]: image, video, audio, file, location, sticker, fallback, template, reel, ...; an unknown type with its raw type), so a location alone is still a message |
//! | `message.sticker_id` (the like button) | a `sticker` attachment, when no attachment carries it |
//! | `message.quick_reply.payload` | metadata `quick_reply_payload` |
//! | `message.is_echo` | the same, `from_business: true` |
//! | `postback` | a message whose text is the button's title; metadata `postback=true`, `postback_payload` |
//! | `reaction` | a message "reacted ❤️ to a message" with the reacted one as parent (metadata `reaction_action`, `reaction`, `reaction_emoji`, `reacted_mid`) |
//! | `message_edit` | [`Event::Edited`] of that mid |
//! | `delivery` | [`Event::Delivery`] `delivered` per mid |
//! | `referral` alone | kept for the customer's next message |
//!
//! Replies may carry files: see [`crate::media`] (uploaded first, then one Send API
//! message per file after the text).
//!
//! Threads: a Messenger conversation is the thread `psid:<PSID>` (the page-scoped id of
//! the customer), so it never collides with a post id (`<page>_<post>`).
//!
//! Reply windows (from the customer's last message): under 24 h a reply goes with
//! `messaging_type: RESPONSE`; from 24 h to 7 days with `MESSAGE_TAG` / `HUMAN_AGENT`;
//! after 7 days it is refused before anything is sent.
//!
//! Private replies: an agent answering a public comment privately sends one Messenger
//! message to the commenter (`recipient: {comment_id}`), once per comment and within 7
//! days of it. Meta answers with the customer's PSID; the connector remembers it
//! (`linked/<psid>` = `<comment id> <post id>`) and puts `linked_comment_id` and
//! `linked_post_id` in the metadata of that customer's next Messenger message, so the
//! direct-message interaction it starts is linked to the public one.
//!
//! Key-value store: `sent/<idempotency key>` (sends done), `private_reply/<comment id>`
//! (private replies done), `linked/<psid>` (see above), `referral/<psid>` (an ad referral
//! seen without a message, attached to the next message; `<key>#taken` names the message
//! that took either, so a redelivery of that message takes it again), `profile/<psid>`
//! (the customer's name from the User Profile API). Every write is harmless to repeat:
//! the host stores events in its own transaction, after the plugin call.

use serde::Deserialize;
use serde_json::json;
use switchboard_sdk::IdempotencyKey;
use switchboard_sdk::meta::{self, DAY_MS, GraphFailure, WEEK_MS};
use switchboard_sdk::{
    Attachment, Author, ConnectorError, DeliveryState, DeliveryStatus, Edited, Event, Message,
    Outbound, ReplyWindow, Sent, Visibility, clock, kv, log,
};

use crate::Settings;
use crate::model::{self, Id, Timestamp};

/// Prefix of a Messenger conversation's thread id.
pub(crate) const THREAD_PREFIX: &str = "psid:";
/// Longest text the Send API accepts.
pub(crate) const MAX_TEXT_CHARS: usize = 2000;

/// The thread id of the conversation with `psid`.
pub(crate) fn thread_for(psid: &str) -> String {
    format!("{THREAD_PREFIX}{psid}")
}

/// The PSID of a Messenger thread id, if it is one.
pub(crate) fn psid_of(thread_id: &str) -> Option<&str> {
    thread_id
        .strip_prefix(THREAD_PREFIX)
        .filter(|p| !p.is_empty())
}

// ---------------------------------------------------------------- inbound

#[derive(Deserialize, Default)]
pub(crate) struct MessagingEvent {
    #[serde(default)]
    sender: Option<Party>,
    #[serde(default)]
    recipient: Option<Party>,
    #[serde(default)]
    timestamp: Option<Timestamp>,
    #[serde(default)]
    message: Option<MessageBody>,
    #[serde(default)]
    referral: Option<Referral>,
    #[serde(default)]
    postback: Option<Postback>,
    #[serde(default)]
    delivery: Option<Delivery>,
    #[serde(default)]
    reaction: Option<Reaction>,
    #[serde(default)]
    message_edit: Option<MessageEdit>,
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
struct MessageEdit {
    #[serde(default)]
    mid: Option<String>,
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize, Default)]
struct QuickReply {
    #[serde(default)]
    payload: Option<String>,
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
    /// Read item by item, whatever their type (see [`meta::messaging_attachment`]).
    #[serde(default)]
    attachments: Vec<serde_json::Value>,
    #[serde(default)]
    reply_to: Option<ReplyTo>,
    #[serde(default)]
    is_echo: bool,
    #[serde(default)]
    referral: Option<Referral>,
    #[serde(default)]
    sticker_id: Option<Id>,
    #[serde(default)]
    quick_reply: Option<QuickReply>,
}

#[derive(Deserialize, Default)]
struct ReplyTo {
    #[serde(default)]
    mid: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
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
    fn metadata(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut put = |k: &str, v: Option<String>| {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                out.push((k.to_string(), v));
            }
        };
        put("referral_ref", self.reference.clone());
        put("referral_ad_id", model::id(self.ad_id.clone()));
        put("referral_source", self.source.clone());
        put("referral_type", self.kind.clone());
        out
    }

    fn encode(&self) -> String {
        json!({
            "ref": self.reference,
            "ad_id": model::id(self.ad_id.clone()),
            "source": self.source,
            "type": self.kind,
        })
        .to_string()
    }
}

#[derive(Deserialize, Default)]
struct Postback {
    #[serde(default)]
    mid: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    payload: Option<String>,
    #[serde(default)]
    referral: Option<Referral>,
}

#[derive(Deserialize, Default)]
struct Delivery {
    #[serde(default)]
    mids: Vec<String>,
    #[serde(default)]
    watermark: Option<Timestamp>,
}

/// The events of one `entry[].messaging[]` item (none for reads, typing, ...).
pub(crate) fn events(
    settings: &Settings,
    raw: serde_json::Value,
    entry_time: Option<i64>,
) -> Vec<Event> {
    let event: MessagingEvent = match serde_json::from_value(raw) {
        Ok(e) => e,
        Err(e) => {
            log::warn(format!(
                "facebook: skipping unreadable messaging event: {e}"
            ));
            return Vec::new();
        }
    };
    let sender = event
        .sender
        .and_then(|p| model::id(p.id))
        .unwrap_or_default();
    let recipient = event
        .recipient
        .and_then(|p| model::id(p.id))
        .unwrap_or_default();
    let at = model::millis(&event.timestamp)
        .or(entry_time)
        .unwrap_or_else(clock::now_millis);

    if let Some(delivery) = event.delivery {
        let at = model::millis(&delivery.watermark).unwrap_or(at);
        return delivery
            .mids
            .into_iter()
            .filter(|m| !m.is_empty())
            .map(|mid| {
                Event::Delivery(DeliveryStatus {
                    platform_message_id: mid,
                    state: DeliveryState::Delivered,
                    error: None,
                    at,
                })
            })
            .collect();
    }

    if let Some(edit) = event.message_edit {
        let Some(mid) = edit.mid.filter(|m| !m.is_empty()) else {
            return Vec::new();
        };
        let thread_id =
            (!sender.is_empty() && sender != settings.page_id).then(|| thread_for(&sender));
        return vec![Event::Edited(Edited {
            platform_message_id: mid,
            thread_id,
            text: edit.text.unwrap_or_default(),
            edited_at: at,
        })];
    }
    if let Some(reaction) = event.reaction {
        return reaction_event(settings, &sender, &recipient, reaction, at)
            .into_iter()
            .collect();
    }

    let mut metadata = Vec::new();
    let (mid, text, attachments, parent_id, is_echo, referral) =
        match (event.message, event.postback) {
            (Some(m), _) => {
                let mut attachments: Vec<Attachment> = m
                    .attachments
                    .iter()
                    .map(|raw| meta::messaging_attachment("Messenger", raw))
                    .collect();
                // The like button sends `sticker_id` with (usually) the sticker as an image.
                if let Some(sticker) = model::id(m.sticker_id)
                    && !attachments
                        .iter()
                        .any(|a| a.detail("sticker-id") == Some(&sticker))
                {
                    attachments.push(meta::sticker_attachment(&sticker));
                }
                if let Some(payload) = m
                    .quick_reply
                    .and_then(|q| q.payload)
                    .filter(|p| !p.is_empty())
                {
                    metadata.push(("quick_reply_payload".to_string(), payload));
                }
                (
                    m.mid,
                    m.text.unwrap_or_default(),
                    attachments,
                    m.reply_to.and_then(|r| r.mid).filter(|r| !r.is_empty()),
                    m.is_echo,
                    m.referral.or(event.referral),
                )
            }
            (None, Some(p)) => {
                metadata.push(("postback".to_string(), "true".to_string()));
                if let Some(payload) = p.payload.clone().filter(|p| !p.is_empty()) {
                    metadata.push(("postback_payload".to_string(), payload));
                }
                (
                    p.mid,
                    p.title
                        .filter(|t| !t.is_empty())
                        .or(p.payload)
                        .unwrap_or_default(),
                    Vec::new(),
                    None,
                    false,
                    p.referral.or(event.referral),
                )
            }
            (None, None) => {
                // A referral on its own (the customer came back through an ad): keep it for
                // the customer's next message.
                if let Some(referral) = event.referral
                    && !sender.is_empty()
                {
                    keep_for_next(&format!("referral/{sender}"), &referral.encode());
                }
                return Vec::new();
            }
        };
    let Some(mid) = mid.filter(|m| !m.is_empty()) else {
        log::warn("facebook: skipping Messenger message without mid");
        return Vec::new();
    };

    // An echo is the page's own send: the sender is the page, the customer the recipient.
    let from_business = is_echo || (!sender.is_empty() && sender == settings.page_id);
    let psid = if from_business { &recipient } else { &sender };
    if psid.is_empty() {
        log::warn(format!(
            "facebook: skipping Messenger message {mid} without sender"
        ));
        return Vec::new();
    }

    let author = if from_business {
        Author::new(settings.page_id.clone(), "")
    } else {
        let referral = referral.or_else(|| {
            let stored = take_for(&format!("referral/{psid}"), &mid)?;
            serde_json::from_str(&stored).ok()
        });
        if let Some(referral) = referral {
            metadata.extend(referral.metadata());
        }
        if let Some(link) = take_for(&format!("linked/{psid}"), &mid) {
            let mut parts = link.split(' ');
            if let Some(comment) = parts.next().filter(|c| !c.is_empty()) {
                metadata.push(("linked_comment_id".into(), comment.to_string()));
            }
            if let Some(post) = parts.next().filter(|p| !p.is_empty()) {
                metadata.push(("linked_post_id".into(), post.to_string()));
            }
        }
        Author::new(psid.clone(), profile_name(settings, psid))
    };

    vec![Event::Message(Message {
        platform_message_id: mid,
        thread_id: thread_for(psid),
        parent_id,
        visibility: Visibility::Private,
        author,
        text,
        attachments,
        created_at: at,
        language: None,
        from_business,
        metadata,
    })]
}

/// A reaction becomes a message of its own, "reacted ❤️ to a message", with the reacted
/// message as its parent: an edit would replace the reacted message's stored text (often
/// the page's own reply). Its id is the reacted mid, the action and the time, so a
/// redelivery is stored once and a new reaction is new.
fn reaction_event(
    settings: &Settings,
    sender: &str,
    recipient: &str,
    reaction: Reaction,
    at: i64,
) -> Option<Event> {
    let reacted = reaction.mid.filter(|m| !m.is_empty())?;
    let from_business = !sender.is_empty() && sender == settings.page_id;
    let psid = if from_business { recipient } else { sender };
    if psid.is_empty() {
        return None;
    }
    let action = reaction
        .action
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| "react".into());
    let text = meta::reaction_text(
        &action,
        reaction.emoji.as_deref(),
        reaction.reaction.as_deref(),
    );
    let mut metadata = vec![
        ("reaction_action".to_string(), action.clone()),
        ("reacted_mid".to_string(), reacted.clone()),
    ];
    for (key, value) in [
        ("reaction", reaction.reaction),
        ("reaction_emoji", reaction.emoji),
    ] {
        if let Some(value) = value.filter(|v| !v.trim().is_empty()) {
            metadata.push((key.to_string(), value));
        }
    }
    let author = if from_business {
        Author::new(settings.page_id.clone(), "")
    } else {
        Author::new(psid, profile_name(settings, psid))
    };
    Some(Event::Message(Message {
        platform_message_id: format!("{reacted}#{action}@{at}"),
        thread_id: thread_for(psid),
        parent_id: Some(reacted),
        visibility: Visibility::Private,
        author,
        text,
        attachments: Vec::new(),
        created_at: at,
        language: None,
        from_business,
        metadata,
    }))
}

#[derive(Deserialize)]
struct Profile {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
}

/// The customer's name from the User Profile API (`GET /{psid}`), cached in kv; empty
/// when Meta does not say.
fn profile_name(settings: &Settings, psid: &str) -> String {
    let key = format!("profile/{psid}");
    if let Some(name) = kv::get_string(&key) {
        return name;
    }
    let graph = settings.graph();
    let url = format!(
        "{}?fields=first_name,last_name,name",
        graph.object_url(psid)
    );
    let profile = graph.get(&url).map_err(ConnectorError::from).and_then(|r| {
        r.json_body::<Profile>()
            .map_err(|e| ConnectorError::Transient(e.to_string()))
    });
    match profile {
        Ok(p) => {
            let name = p.name.filter(|n| !n.trim().is_empty()).unwrap_or_else(|| {
                [p.first_name, p.last_name]
                    .into_iter()
                    .flatten()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ")
            });
            if !name.is_empty() {
                kv::set(&key, &name);
            }
            name
        }
        Err(e) => {
            log::warn(format!(
                "facebook: no profile for Messenger user {psid}: {}",
                e.message()
            ));
            String::new()
        }
    }
}

// ---------------------------------------------------------------- windows

/// What may be sent in a private conversation: Meta's messaging window.
pub(crate) fn reply_window(
    visibility: Visibility,
    last_customer_at: Option<i64>,
    now: i64,
) -> ReplyWindow {
    meta::messaging_window("Messenger", visibility, last_customer_at, now)
}

// ---------------------------------------------------------------- sending

#[derive(Deserialize)]
struct SendResponse {
    #[serde(default)]
    recipient_id: Option<Id>,
    #[serde(default)]
    message_id: Option<String>,
}

fn check_text(text: &str) -> Result<(), ConnectorError> {
    let n = text.chars().count();
    if text.trim().is_empty() {
        return Err(ConnectorError::Rejected(
            "a Messenger message needs some text or a file".into(),
        ));
    }
    if n > MAX_TEXT_CHARS {
        return Err(ConnectorError::Rejected(format!(
            "Messenger accepts at most {MAX_TEXT_CHARS} characters; this reply has {n}"
        )));
    }
    Ok(())
}

/// `POST /{page-id}/messages` (the Send API). A [`GraphFailure`] keeps the Graph error
/// code, which a private reply reads (10900: already replied).
fn post(settings: &Settings, body: &serde_json::Value) -> Result<SendResponse, GraphFailure> {
    let graph = settings.graph();
    let url = format!("{}/messages", graph.object_url(&settings.page_id));
    let resp = graph.post_json(&url, body)?;
    resp.json_body::<SendResponse>()
        .ok()
        .filter(|r| r.message_id.as_deref().is_some_and(|m| !m.is_empty()))
        .ok_or_else(|| {
            ConnectorError::Rejected(format!(
                "Send API accepted the message but returned no message_id: {}",
                resp.body_text()
            ))
            .into()
        })
}

/// Keeps `value` under `key` for the customer's next message (see [`take_for`]).
fn keep_for_next(key: &str, value: &str) {
    kv::set(key, value);
    kv::delete(&format!("{key}#taken"));
}

/// The value kept for the customer's next message, taken by message `mid`. Key-value
/// writes are not part of the host's batch of events: should that batch not be stored, the
/// platform delivers the webhook again, and the same message must find the value again.
/// So taking it records who took it instead of deleting it: `mid` (again) gets it, a
/// later message does not.
fn take_for(key: &str, mid: &str) -> Option<String> {
    let value = kv::get_string(key)?;
    let taken = format!("{key}#taken");
    match kv::get_string(&taken) {
        Some(by) if by != mid => None,
        _ => {
            kv::set(&taken, mid);
            Some(value)
        }
    }
}

fn already_sent(idempotency_key: &IdempotencyKey) -> Option<Sent> {
    let id = (!idempotency_key.is_empty())
        .then(|| kv::get_string(&format!("sent/{idempotency_key}")))
        .flatten()?;
    log::info(format!(
        "facebook: message {idempotency_key} was already sent as {id}"
    ));
    Some(Sent {
        platform_message_id: id,
    })
}

fn remember_sent(idempotency_key: &IdempotencyKey, id: &str) {
    if !idempotency_key.is_empty() {
        kv::set(&format!("sent/{idempotency_key}"), id);
    }
}

/// Messenger's quick replies: at most 13, each title at most 20 characters.
const QUICK_REPLIES_MAX: usize = 13;
const QUICK_REPLY_TITLE_MAX: usize = 20;

/// The reply's choices as Messenger quick replies, or why Messenger would refuse them.
fn quick_replies(items: &[switchboard_sdk::ListItem]) -> Result<serde_json::Value, ConnectorError> {
    if items.len() > QUICK_REPLIES_MAX {
        return Err(ConnectorError::Rejected(format!(
            "Messenger shows at most {QUICK_REPLIES_MAX} quick replies; this reply has {}",
            items.len()
        )));
    }
    let mut chips = Vec::new();
    for item in items {
        let title = item.title.trim();
        let length = title.chars().count();
        if length == 0 || length > QUICK_REPLY_TITLE_MAX {
            return Err(ConnectorError::Rejected(format!(
                "a Messenger quick reply's title has 1 to {QUICK_REPLY_TITLE_MAX} characters; “{title}” has {length}"
            )));
        }
        chips.push(json!({ "content_type": "text", "title": title, "payload": item.id }));
    }
    Ok(json!(chips))
}

/// A reply in a Messenger conversation, with the messaging type its window needs.
pub(crate) fn send_message(
    settings: &Settings,
    psid: &str,
    msg: &Outbound,
    idempotency_key: &IdempotencyKey,
) -> Result<Sent, ConnectorError> {
    if let Some(sent) = already_sent(idempotency_key) {
        return Ok(sent);
    }
    let has_text = !msg.text.trim().is_empty();
    if has_text || msg.files.is_empty() {
        check_text(&msg.text)?;
    }
    let now = clock::now_millis();
    let age = msg.last_customer_at.map(|last| now - last);
    let mut envelope = json!({
        "recipient": { "id": psid },
        "messaging_type": "RESPONSE",
    });
    match age {
        Some(age) if age >= WEEK_MS => {
            return Err(ConnectorError::Rejected(format!(
                "the customer last wrote {} days ago; Messenger allows no reply after 7 days until they write again",
                age / DAY_MS
            )));
        }
        Some(age) if age >= DAY_MS => {
            envelope["messaging_type"] = json!("MESSAGE_TAG");
            envelope["tag"] = json!("HUMAN_AGENT");
        }
        _ => {}
    }
    // The text, then one message per file, by the attachment id of the host's upload. Every
    // id is read before anything is sent: a refused upload sends nothing.
    let mut messages = Vec::new();
    if has_text {
        messages.push(json!({ "text": msg.text }));
    }
    let graph = settings.graph();
    for file in &msg.files {
        let Some(answer) = &file.upload else {
            return Err(ConnectorError::Rejected(format!(
                "{} was not uploaded to Messenger before sending",
                file.file_name
            )));
        };
        let id = graph.uploaded_attachment_id(answer)?;
        messages.push(json!({
            "attachment": { "type": file.kind, "payload": { "attachment_id": id } }
        }));
    }
    // Choices go out as quick replies on the last message: the customer taps one and its
    // id comes back as the payload (`quick_reply_payload`).
    if !msg.list_items.is_empty() {
        let chips = quick_replies(&msg.list_items)?;
        match messages.last_mut() {
            Some(last) => last["quick_replies"] = chips,
            None => {
                return Err(ConnectorError::Rejected(
                    "quick replies need a message: write the question they answer".into(),
                ));
            }
        }
    }
    let parts = messages.len();
    let mut ids = Vec::new();
    for (n, message) in messages.into_iter().enumerate() {
        if let Some(id) = crate::media::part_sent(idempotency_key, n) {
            ids.push(id);
            continue;
        }
        let mut body = envelope.clone();
        body["message"] = message;
        let id = post(settings, &body)?.message_id.unwrap_or_default();
        if parts > 1 {
            crate::media::remember_part(idempotency_key, n, &id);
        }
        ids.push(id);
    }
    let id = ids.swap_remove(0);
    remember_sent(idempotency_key, &id);
    Ok(Sent {
        platform_message_id: id,
    })
}

/// A private reply to a public comment: one per comment, within 7 days of it.
pub(crate) fn private_reply(
    settings: &Settings,
    msg: &Outbound,
    idempotency_key: &IdempotencyKey,
) -> Result<Sent, ConnectorError> {
    if let Some(sent) = already_sent(idempotency_key) {
        return Ok(sent);
    }
    let Some(comment_id) = msg
        .reply_to
        .as_deref()
        .filter(|c| !c.is_empty() && *c != msg.thread_id)
    else {
        return Err(ConnectorError::Rejected(
            "a private reply answers a comment: reply to a customer's comment, not to the post"
                .into(),
        ));
    };
    if !msg.files.is_empty() {
        return Err(crate::media::no_file_in_private_reply());
    }
    check_text(&msg.text)?;
    let slot = format!("private_reply/{comment_id}");
    if kv::get(&slot).is_some() {
        return Err(ConnectorError::Rejected(format!(
            "already replied privately to comment {comment_id}: Facebook allows one private reply per comment"
        )));
    }
    if let Some(last) = msg.last_customer_at
        && clock::now_millis() - last >= WEEK_MS
    {
        return Err(ConnectorError::Rejected(format!(
            "comment {comment_id} is more than 7 days old: Facebook allows a private reply only within 7 days"
        )));
    }
    let body = json!({
        "recipient": { "comment_id": comment_id },
        "message": { "text": msg.text },
    });
    let resp = match post(settings, &body) {
        Ok(resp) => resp,
        Err(failure) if failure.code() == Some(10900) => {
            kv::set(&slot, "");
            return Err(ConnectorError::Rejected(format!(
                "already replied privately to comment {comment_id}: {}",
                failure.error.message()
            )));
        }
        Err(failure) => return Err(failure.into()),
    };
    let id = resp.message_id.unwrap_or_default();
    let psid = model::id(resp.recipient_id);
    kv::set(&slot, psid.as_deref().unwrap_or(""));
    if let Some(psid) = psid {
        keep_for_next(
            &format!("linked/{psid}"),
            &format!("{comment_id} {}", msg.thread_id),
        );
    }
    remember_sent(idempotency_key, &id);
    Ok(Sent {
        platform_message_id: id,
    })
}

#[cfg(test)]
mod tests;
