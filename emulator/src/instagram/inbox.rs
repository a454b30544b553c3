//! The customers' side of Instagram DMs, as control endpoints: a message (text,
//! attachments, replies to a message or a story, ad referrals), a reaction, an unsend, a
//! read receipt and a postback; each is a signed `messaging` webhook to the account's
//! subscribers. An attachment or a story without a URL points at a sample file of its
//! kind on the emulator's CDN (see `facebook::cdn`), which a connector downloads like the
//! real `lookaside.fbsbx.com` links.

use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::super::facebook::cdn;
use super::{Customer, DirectMessage, InstagramState, igsid_for, new_mid, now_ms};
use crate::{Emulator, control_error, parse_control};

/// Attachment types a customer's DM can carry.
const ATTACHMENT_TYPES: &[&str] = &[
    "image",
    "video",
    "audio",
    "file",
    "share",
    "story_mention",
    "ig_reel",
    "ig_post",
    "unsupported_type",
];

fn bad(message: impl Into<String>) -> Response {
    control_error(StatusCode::BAD_REQUEST, message)
}

fn not_found(message: impl Into<String>) -> Response {
    control_error(StatusCode::NOT_FOUND, message)
}

/// The customer a control call names: `from` (an IGSID), else the IGSID of `username`
/// (or of `name`).
#[allow(clippy::result_large_err)] // the error is the ready-made HTTP answer
pub(super) fn customer_id(
    from: Option<&str>,
    username: Option<&str>,
    name: Option<&str>,
) -> Result<String, Response> {
    if let Some(from) = non_empty(from) {
        return Ok(from.to_string());
    }
    match non_empty(username).or(non_empty(name)) {
        Some(handle) => Ok(igsid_for(handle)),
        None => Err(bad("from (an IGSID) or username is required")),
    }
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

/// A username for a customer nobody named: `user_` and the IGSID's last digits.
pub(super) fn default_username(igsid: &str) -> String {
    format!("user_{}", &igsid[igsid.len().saturating_sub(6)..])
}

/// Remembers the customer (and, for a message, when they last wrote: the window).
fn touch_customer(
    ig: &mut InstagramState,
    ig_id: &str,
    igsid: &str,
    username: Option<String>,
    name: Option<String>,
    wrote_ms: Option<i64>,
) {
    let customer = ig
        .customers
        .entry((ig_id.to_string(), igsid.to_string()))
        .or_insert_with(|| Customer {
            username: default_username(igsid),
            name: String::new(),
            last_user_ms: None,
        });
    if let Some(username) = username.filter(|u| !u.trim().is_empty()) {
        customer.username = username;
    }
    if let Some(name) = name.filter(|n| !n.trim().is_empty()) {
        customer.name = name;
    }
    if let Some(ms) = wrote_ms {
        customer.last_user_ms = Some(customer.last_user_ms.unwrap_or(i64::MIN).max(ms));
    }
}

/// Unix ms from a request (seconds are accepted too); default now.
fn millis(timestamp: Option<i64>) -> i64 {
    match timestamp {
        Some(t) if t < 100_000_000_000 => t * 1000,
        Some(t) => t,
        None => now_ms(),
    }
}

#[derive(Deserialize)]
struct AttachmentRequest {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    title: Option<String>,
    /// The whole payload, instead of `url` and `title`.
    #[serde(default)]
    payload: Option<Value>,
}

#[derive(Deserialize)]
struct MessageRequest {
    #[serde(default)]
    account_id: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    attachments: Vec<AttachmentRequest>,
    /// `{"mid"}`, `{"story":{"id","url"}}`, or a mid as a plain string.
    #[serde(default)]
    reply_to: Option<Value>,
    #[serde(default)]
    referral: Option<Value>,
    #[serde(default)]
    timestamp: Option<i64>,
    #[serde(default)]
    deliveries: Option<u32>,
}

/// A customer writes to the account: a `messaging` webhook with `message`.
pub(super) async fn control_message(
    AxState(em): AxState<Emulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req: MessageRequest = match parse_control(&body) {
        Ok(req) => req,
        Err(response) => return response,
    };
    let text = req.text.clone().filter(|t| !t.is_empty());
    if text.is_none() && req.attachments.is_empty() {
        return bad("text or attachments are required");
    }
    let igsid = match customer_id(
        req.from.as_deref(),
        req.username.as_deref(),
        req.name.as_deref(),
    ) {
        Ok(id) => id,
        Err(response) => return response,
    };
    let mut message = json!({});
    if let Some(text) = &text {
        message["text"] = json!(text);
    }
    if !req.attachments.is_empty() {
        let mut attachments = Vec::new();
        for a in &req.attachments {
            if !ATTACHMENT_TYPES.contains(&a.kind.as_str()) {
                return bad(format!(
                    "unknown attachment type {}; one of {ATTACHMENT_TYPES:?}",
                    a.kind
                ));
            }
            let payload = a.payload.clone().unwrap_or_else(|| {
                // A file of the kind on the emulator's CDN unless the request names one.
                let url = a.url.clone().or_else(|| {
                    cdn::sample_for(&a.kind).map(|name| cdn::sample_url(&headers, name))
                });
                let mut payload = json!({ "url": url });
                if let Some(title) = &a.title {
                    payload["title"] = json!(title);
                }
                match a.kind.as_str() {
                    "ig_reel" => payload["reel_video_id"] = json!(em.next_id().to_string()),
                    "ig_post" => payload["ig_post_media_id"] = json!(em.next_id().to_string()),
                    "unsupported_type" => payload = json!({}),
                    _ => {}
                }
                payload
            });
            attachments.push(json!({ "type": a.kind, "payload": payload }));
        }
        message["attachments"] = json!(attachments);
    }
    match &req.reply_to {
        None | Some(Value::Null) => {}
        Some(Value::String(mid)) if !mid.is_empty() => message["reply_to"] = json!({ "mid": mid }),
        Some(Value::Object(map))
            if map.get("mid").is_some_and(Value::is_string)
                || map.get("story").is_some_and(|s| s.get("id").is_some()) =>
        {
            let mut reply_to = map.clone();
            // A story answered is on the CDN, unless the request names its URL.
            if let Some(Value::Object(story)) = reply_to.get_mut("story")
                && story.get("url").is_none_or(Value::is_null)
            {
                story.insert("url".into(), json!(cdn::sample_url(&headers, "story.png")));
            }
            message["reply_to"] = Value::Object(reply_to);
        }
        Some(_) => return bad("reply_to is {\"mid\"} or {\"story\":{\"id\",\"url\"}}"),
    }
    if let Some(referral) = &req.referral {
        message["referral"] = referral.clone();
    }
    let timestamp = millis(req.timestamp);

    let mut state = em.state();
    let ig = &mut state.instagram;
    let ig_id = match ig.account_id(req.account_id.as_deref()) {
        Ok(id) => id,
        Err(reason) => return not_found(reason),
    };
    let mid = new_mid(&em, &ig_id);
    message["mid"] = json!(mid);
    touch_customer(ig, &ig_id, &igsid, req.username, req.name, Some(timestamp));
    ig.messages.insert(
        mid.clone(),
        DirectMessage {
            account: ig_id.clone(),
            igsid: igsid.clone(),
            from_customer: true,
            deleted: false,
        },
    );
    let event = json!({
        "sender": { "id": igsid },
        "recipient": { "id": ig_id },
        "timestamp": timestamp,
        "message": message,
    });
    ig.notify_messaging(&ig_id, event, req.deliveries.unwrap_or(1));
    axum::Json(json!({ "mid": mid, "igsid": igsid, "account_id": ig_id })).into_response()
}

/// A known message of the account: its conversation's IGSID and whether the customer sent it.
#[allow(clippy::result_large_err)] // the error is the ready-made HTTP answer
fn known_message(
    ig: &InstagramState,
    account_id: Option<&str>,
    mid: &str,
) -> Result<(String, String, bool, bool), Response> {
    let ig_id = ig.account_id(account_id).map_err(not_found)?;
    match ig.messages.get(mid) {
        Some(m) if m.account == ig_id => Ok((ig_id, m.igsid.clone(), m.from_customer, m.deleted)),
        _ => Err(not_found(format!(
            "unknown message {mid} of account {ig_id}"
        ))),
    }
}

#[derive(Deserialize)]
struct ReactionRequest {
    #[serde(default)]
    account_id: Option<String>,
    mid: String,
    /// `react` (default) or `unreact`.
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    reaction: Option<String>,
    #[serde(default)]
    emoji: Option<String>,
}

/// The customer reacts to (or unreacts from) a message of their conversation.
pub(super) async fn control_reaction(AxState(em): AxState<Emulator>, body: Bytes) -> Response {
    let req: ReactionRequest = match parse_control(&body) {
        Ok(req) => req,
        Err(response) => return response,
    };
    let state = em.state();
    let ig = &state.instagram;
    let (ig_id, igsid, _, _) = match known_message(ig, req.account_id.as_deref(), &req.mid) {
        Ok(found) => found,
        Err(response) => return response,
    };
    let reaction = match req.action.as_deref().unwrap_or("react") {
        "react" => json!({
            "mid": req.mid,
            "action": "react",
            "reaction": req.reaction.unwrap_or_else(|| "love".into()),
            "emoji": req.emoji.unwrap_or_else(|| "\u{2764}\u{fe0f}".into()),
        }),
        "unreact" => json!({ "mid": req.mid, "action": "unreact" }),
        other => return bad(format!("action is react or unreact, not {other}")),
    };
    let event = json!({
        "sender": { "id": igsid },
        "recipient": { "id": ig_id },
        "timestamp": now_ms(),
        "reaction": reaction,
    });
    ig.notify_messaging(&ig_id, event, 1);
    axum::Json(json!({ "ok": true })).into_response()
}

#[derive(Deserialize)]
struct MidRequest {
    #[serde(default)]
    account_id: Option<String>,
    mid: String,
}

/// The customer unsends one of their messages: `message:{mid, is_deleted:true}`.
pub(super) async fn control_unsend(AxState(em): AxState<Emulator>, body: Bytes) -> Response {
    let req: MidRequest = match parse_control(&body) {
        Ok(req) => req,
        Err(response) => return response,
    };
    let mut state = em.state();
    let ig = &mut state.instagram;
    let (ig_id, igsid, from_customer, deleted) =
        match known_message(ig, req.account_id.as_deref(), &req.mid) {
            Ok(found) => found,
            Err(response) => return response,
        };
    if !from_customer || deleted {
        return not_found(format!(
            "{} is not a message the customer can unsend",
            req.mid
        ));
    }
    if let Some(m) = ig.messages.get_mut(&req.mid) {
        m.deleted = true;
    }
    let event = json!({
        "sender": { "id": igsid },
        "recipient": { "id": ig_id },
        "timestamp": now_ms(),
        "message": { "mid": req.mid, "is_deleted": true },
    });
    ig.notify_messaging(&ig_id, event, 1);
    axum::Json(json!({ "ok": true })).into_response()
}

/// The customer reads the account's messages up to `mid`: `read:{mid}`.
pub(super) async fn control_read(AxState(em): AxState<Emulator>, body: Bytes) -> Response {
    let req: MidRequest = match parse_control(&body) {
        Ok(req) => req,
        Err(response) => return response,
    };
    let state = em.state();
    let ig = &state.instagram;
    let (ig_id, igsid, from_customer, _) =
        match known_message(ig, req.account_id.as_deref(), &req.mid) {
            Ok(found) => found,
            Err(response) => return response,
        };
    if from_customer {
        return bad(format!("{} is the customer's own message", req.mid));
    }
    let event = json!({
        "sender": { "id": igsid },
        "recipient": { "id": ig_id },
        "timestamp": now_ms(),
        "read": { "mid": req.mid },
    });
    ig.notify_messaging(&ig_id, event, 1);
    axum::Json(json!({ "ok": true })).into_response()
}

#[derive(Deserialize)]
struct PostbackRequest {
    #[serde(default)]
    account_id: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    title: Option<String>,
    payload: String,
    #[serde(default)]
    timestamp: Option<i64>,
}

/// The customer taps a button: `postback:{mid, title, payload}` (opens the window, as a
/// message does).
pub(super) async fn control_postback(AxState(em): AxState<Emulator>, body: Bytes) -> Response {
    let req: PostbackRequest = match parse_control(&body) {
        Ok(req) => req,
        Err(response) => return response,
    };
    let igsid = match customer_id(req.from.as_deref(), req.username.as_deref(), None) {
        Ok(id) => id,
        Err(response) => return response,
    };
    let timestamp = millis(req.timestamp);
    let mut state = em.state();
    let ig = &mut state.instagram;
    let ig_id = match ig.account_id(req.account_id.as_deref()) {
        Ok(id) => id,
        Err(reason) => return not_found(reason),
    };
    touch_customer(ig, &ig_id, &igsid, req.username, None, Some(timestamp));
    let mid = new_mid(&em, &ig_id);
    let event = json!({
        "sender": { "id": igsid },
        "recipient": { "id": ig_id },
        "timestamp": timestamp,
        "postback": { "mid": mid, "title": req.title.unwrap_or_default(), "payload": req.payload },
    });
    ig.notify_messaging(&ig_id, event, 1);
    axum::Json(json!({ "mid": mid, "igsid": igsid })).into_response()
}
