//! The customers' side of Messenger, as control endpoints: a message with text and
//! attachments of every kind Meta sends (files at the emulator's own CDN, see
//! [`super::super::cdn`]), a reaction, a postback (a button tapped) and an edit; each is a
//! signed `messaging` webhook to the page's subscribers.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};

use super::super::{FacebookState, author_id_for, cdn};
use super::{Conversation, notify, now_ms, psid_for};
use crate::{Emulator, control_error, parse_control};

/// The thumbs-up sticker the like button sends.
const LIKE_STICKER: u64 = 369_239_263_222_822;

pub(super) fn routes() -> Router<Emulator> {
    Router::new()
        .route("/_emulator/messenger/messages", post(control_message))
        .route("/_emulator/messenger/reactions", post(control_reaction))
        .route("/_emulator/messenger/postbacks", post(control_postback))
        .route("/_emulator/messenger/edits", post(control_edit))
}

fn bad(message: impl Into<String>) -> Response {
    control_error(StatusCode::BAD_REQUEST, message)
}

#[derive(Deserialize)]
struct AttachmentRequest {
    /// `image`, `video`, `audio`, `file` (the default), `location`, `sticker`, `fallback`,
    /// `template`, `ig_reel`, `reel`, or any other type (sent as it is).
    #[serde(rename = "type", default = "default_attachment_type")]
    kind: String,
    /// The file's URL (default: a sample on the emulator's CDN); a fallback's or a
    /// location's link.
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    title: Option<String>,
    /// A location's coordinates.
    #[serde(default)]
    lat: Option<f64>,
    #[serde(default)]
    long: Option<f64>,
    #[serde(default)]
    sticker_id: Option<u64>,
    /// The whole payload, sent as it is.
    #[serde(default)]
    payload: Option<Value>,
}

fn default_attachment_type() -> String {
    "file".into()
}

/// The webhook's `attachments[]` item for a request, and the sticker id it carries.
fn attachment_json(
    em: &Emulator,
    headers: &HeaderMap,
    a: &AttachmentRequest,
) -> (Value, Option<u64>) {
    let kind = a.kind.as_str();
    let sample = |name: Option<&str>| name.map(|n| cdn::sample_url(headers, n));
    let file_url = a.url.clone().or_else(|| sample(cdn::sample_for(kind)));
    if let Some(payload) = &a.payload {
        let mut item = json!({ "type": kind, "payload": payload });
        if let Some(title) = &a.title {
            item["title"] = json!(title);
        }
        if let Some(url) = &a.url {
            item["url"] = json!(url);
        }
        return (item, None);
    }
    match kind {
        "location" => {
            let (lat, long) = (a.lat.unwrap_or(52.3676), a.long.unwrap_or(4.9041));
            let url = a.url.clone().unwrap_or_else(|| {
                format!("https://l.facebook.com/l.php?u=https%3A%2F%2Fwww.bing.com%2Fmaps%2Fdefault.aspx%3Fcp%3D{lat}~{long}")
            });
            let item = json!({
                "type": "location",
                "title": a.title.clone().unwrap_or_else(|| "Pinned Location".into()),
                "url": url,
                "payload": { "coordinates": { "lat": lat, "long": long } },
            });
            (item, None)
        }
        "fallback" => {
            let item = json!({
                "type": "fallback",
                "payload": null,
                "title": a.title.clone().unwrap_or_else(|| "A shared link".into()),
                "url": a.url.clone().unwrap_or_else(|| "https://www.example.com/".into()),
            });
            (item, None)
        }
        "sticker" => {
            let id = a.sticker_id.unwrap_or(LIKE_STICKER);
            let item = json!({ "type": "image", "payload": { "url": file_url, "sticker_id": id } });
            (item, Some(id))
        }
        "template" => {
            let element = json!({
                "id": em.next_id().to_string(),
                "retailer_id": "sku-4211",
                "image_url": file_url,
                "title": a.title.clone().unwrap_or_else(|| "Green parka".into()),
                "subtitle": "EUR 120",
            });
            let item =
                json!({ "type": "template", "payload": { "product": { "elements": [element] } } });
            (item, None)
        }
        "ig_reel" | "reel" => {
            let mut payload = json!({ "url": file_url, "reel_video_id": em.next_id().to_string() });
            if let Some(title) = &a.title {
                payload["title"] = json!(title);
            }
            (json!({ "type": kind, "payload": payload }), None)
        }
        _ => {
            let mut payload = json!({ "url": file_url });
            if let Some(title) = &a.title {
                payload["title"] = json!(title);
            }
            (json!({ "type": kind, "payload": payload }), None)
        }
    }
}

#[derive(Deserialize)]
struct MessageRequest {
    page_id: String,
    #[serde(default)]
    psid: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    attachments: Vec<AttachmentRequest>,
    /// The payload of the quick reply the customer tapped.
    #[serde(default)]
    quick_reply: Option<String>,
    /// Unix ms (seconds are accepted too); default now.
    #[serde(default)]
    timestamp: Option<i64>,
    #[serde(default)]
    referral: Option<Value>,
    #[serde(default)]
    reply_to: Option<String>,
    #[serde(default)]
    deliveries: Option<u32>,
}

/// Unix ms from a request (seconds are accepted too); default now.
fn millis(timestamp: Option<i64>) -> i64 {
    match timestamp {
        Some(t) if t < 100_000_000_000 => t * 1000,
        Some(t) => t,
        None => now_ms(),
    }
}

/// The PSID a control call names: `psid`, else the one of `name`.
#[allow(clippy::result_large_err)] // the error is the ready-made HTTP answer
fn customer(psid: Option<String>, name: &str) -> Result<String, Response> {
    match psid.filter(|p| !p.is_empty()) {
        Some(psid) => Ok(psid),
        None if !name.is_empty() => Ok(psid_for(&author_id_for(name))),
        None => Err(bad("psid or name is required")),
    }
}

/// Remembers the customer and, when they wrote, when (the window).
fn touch(fb: &mut FacebookState, page_id: &str, psid: &str, name: &str, wrote_ms: Option<i64>) {
    let conversation = fb
        .messenger
        .conversations
        .entry((page_id.to_string(), psid.to_string()))
        .or_insert(Conversation {
            name: name.to_string(),
            last_user_ms: None,
        });
    if !name.is_empty() {
        conversation.name = name.to_string();
    }
    if let Some(ms) = wrote_ms {
        conversation.last_user_ms = Some(conversation.last_user_ms.unwrap_or(i64::MIN).max(ms));
    }
}

/// A customer writes to the page in Messenger: a signed `messaging` webhook.
async fn control_message(
    AxState(em): AxState<Emulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req: MessageRequest = match parse_control(&body) {
        Ok(req) => req,
        Err(response) => return response,
    };
    let text = req.text.filter(|t| !t.is_empty());
    if text.is_none() && req.attachments.is_empty() {
        return bad("text or attachments are required");
    }
    let name = req.name.unwrap_or_default();
    let psid = match customer(req.psid, &name) {
        Ok(psid) => psid,
        Err(response) => return response,
    };
    let timestamp = millis(req.timestamp);
    let mid = format!("m_{}", em.next_id());
    let mut message = json!({ "mid": mid });
    if let Some(text) = &text {
        message["text"] = json!(text);
    }
    if !req.attachments.is_empty() {
        let mut items = Vec::new();
        for a in &req.attachments {
            let (item, sticker) = attachment_json(&em, &headers, a);
            if let Some(sticker) = sticker {
                message["sticker_id"] = json!(sticker);
            }
            items.push(item);
        }
        message["attachments"] = json!(items);
    }
    if let Some(payload) = req.quick_reply.filter(|p| !p.is_empty()) {
        message["quick_reply"] = json!({ "payload": payload });
    }
    if let Some(reply_to) = req.reply_to.filter(|r| !r.is_empty()) {
        message["reply_to"] = json!({ "mid": reply_to });
    }
    if let Some(referral) = req.referral {
        message["referral"] = referral;
    }
    let mut state = em.state();
    let fb = &mut state.facebook;
    if !fb.pages.contains_key(&req.page_id) {
        return control_error(
            StatusCode::NOT_FOUND,
            format!("unknown page {}", req.page_id),
        );
    }
    touch(fb, &req.page_id, &psid, &name, Some(timestamp));
    let event = json!({
        "sender": { "id": psid },
        "recipient": { "id": req.page_id },
        "timestamp": timestamp,
        "message": message,
    });
    for _ in 0..req.deliveries.unwrap_or(1) {
        notify(fb, &req.page_id, event.clone());
    }
    axum::Json(json!({ "mid": mid, "psid": psid })).into_response()
}

#[derive(Deserialize)]
struct ReactionRequest {
    page_id: String,
    /// The reacted message: one of the page's sends, or one of the customer's.
    mid: String,
    /// Default: the recipient of the page's send `mid`.
    #[serde(default)]
    psid: Option<String>,
    #[serde(default)]
    name: Option<String>,
    /// `react` (default) or `unreact`.
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    reaction: Option<String>,
    #[serde(default)]
    emoji: Option<String>,
}

/// The customer reacts to (or unreacts from) a message:
/// `"reaction":{"mid","action","reaction","emoji"}`.
async fn control_reaction(AxState(em): AxState<Emulator>, body: Bytes) -> Response {
    let req: ReactionRequest = match parse_control(&body) {
        Ok(req) => req,
        Err(response) => return response,
    };
    let state = em.state();
    let fb = &state.facebook;
    if !fb.pages.contains_key(&req.page_id) {
        return control_error(
            StatusCode::NOT_FOUND,
            format!("unknown page {}", req.page_id),
        );
    }
    let sent_to = fb
        .messenger
        .sent
        .iter()
        .find(|s| s["message_id"] == req.mid.as_str() && s["page_id"] == req.page_id.as_str())
        .and_then(|s| s["recipient_id"].as_str().map(str::to_string));
    let psid = match customer(req.psid.or(sent_to), req.name.as_deref().unwrap_or("")) {
        Ok(psid) => psid,
        Err(_) => return bad("psid or name is required when mid is not one of the page's sends"),
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
        "sender": { "id": psid },
        "recipient": { "id": req.page_id },
        "timestamp": now_ms(),
        "reaction": reaction,
    });
    notify(fb, &req.page_id, event);
    axum::Json(json!({ "ok": true, "psid": psid })).into_response()
}

#[derive(Deserialize)]
struct PostbackRequest {
    page_id: String,
    #[serde(default)]
    psid: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    title: Option<String>,
    payload: String,
    #[serde(default)]
    timestamp: Option<i64>,
}

/// The customer taps a button: `"postback":{"mid","title","payload"}`; it opens the window
/// as a message does.
async fn control_postback(AxState(em): AxState<Emulator>, body: Bytes) -> Response {
    let req: PostbackRequest = match parse_control(&body) {
        Ok(req) => req,
        Err(response) => return response,
    };
    let name = req.name.unwrap_or_default();
    let psid = match customer(req.psid, &name) {
        Ok(psid) => psid,
        Err(response) => return response,
    };
    let timestamp = millis(req.timestamp);
    let mid = format!("m_{}", em.next_id());
    let mut state = em.state();
    let fb = &mut state.facebook;
    if !fb.pages.contains_key(&req.page_id) {
        return control_error(
            StatusCode::NOT_FOUND,
            format!("unknown page {}", req.page_id),
        );
    }
    touch(fb, &req.page_id, &psid, &name, Some(timestamp));
    let event = json!({
        "sender": { "id": psid },
        "recipient": { "id": req.page_id },
        "timestamp": timestamp,
        "postback": { "mid": mid, "title": req.title.unwrap_or_default(), "payload": req.payload },
    });
    notify(fb, &req.page_id, event);
    axum::Json(json!({ "mid": mid, "psid": psid })).into_response()
}

#[derive(Deserialize)]
struct EditRequest {
    page_id: String,
    mid: String,
    text: String,
    #[serde(default)]
    psid: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

/// The customer edits a message: `"message_edit":{"mid","text","num_edit"}`.
async fn control_edit(AxState(em): AxState<Emulator>, body: Bytes) -> Response {
    let req: EditRequest = match parse_control(&body) {
        Ok(req) => req,
        Err(response) => return response,
    };
    let psid = match customer(req.psid, req.name.as_deref().unwrap_or("")) {
        Ok(psid) => psid,
        Err(response) => return response,
    };
    let state = em.state();
    let fb = &state.facebook;
    if !fb.pages.contains_key(&req.page_id) {
        return control_error(
            StatusCode::NOT_FOUND,
            format!("unknown page {}", req.page_id),
        );
    }
    let event = json!({
        "sender": { "id": psid },
        "recipient": { "id": req.page_id },
        "timestamp": now_ms(),
        "message_edit": { "mid": req.mid, "text": req.text, "num_edit": 1 },
    });
    notify(fb, &req.page_id, event);
    axum::Json(json!({ "ok": true })).into_response()
}
