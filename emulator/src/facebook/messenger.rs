//! Messenger on the emulated pages: the Send API (`POST /{page-id}/messages`, to a PSID or
//! as a private reply to a comment), the User Profile API (`GET /{psid}`), `messaging`
//! webhooks (customers' messages and echoes of the page's own sends), and the control
//! endpoint `GET /_emulator/messenger/sent`; the customers' side (messages with every kind
//! of attachment, reactions, postbacks, edits) is in [`inbox`].
//!
//! A send may carry a file (`message.attachment`): an upload of the same page by its
//! `attachment_id` (see [`super::upload`]) or a URL; it is recorded in the outbound log
//! under the file's type (`image`, `video`, `audio`, `file`) and echoed with the file's
//! CDN URL.
//!
//! Windows are enforced like Meta: a free reply within 24 h of the customer's last
//! message; from 24 h to 7 days only with `messaging_type: MESSAGE_TAG` and
//! `tag: HUMAN_AGENT`; after 7 days nothing (code 10, subcode 2018278). A private reply
//! is allowed once per comment (code 10900 after) and within 7 days of the comment; it
//! does not open the 24-hour window.

use std::collections::HashMap;

use axum::Router;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::upload::Upload;
use super::{FacebookState, author_id_for};
use crate::Emulator;
use crate::graph::{GraphRequest, graph_error, str_field};

/// 24 hours in milliseconds.
const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// 7 days in milliseconds.
const WEEK_MS: i64 = 7 * DAY_MS;
/// Longest text the Send API accepts.
const MAX_TEXT: usize = 2000;
/// The app id echoes carry (our app is the only one sending).
const APP_ID: i64 = 1_517_776_481_860_111;

/// Messenger conversations of every page.
#[derive(Default)]
pub(super) struct MessengerState {
    /// (page id, PSID) -> conversation.
    conversations: HashMap<(String, String), Conversation>,
    /// Comment id -> PSID it was privately replied to.
    private_replies: HashMap<String, String>,
    /// Every accepted Send API call, in order (`GET /_emulator/messenger/sent`).
    sent: Vec<Value>,
    /// Files uploaded through the Attachment Upload API, by attachment id.
    pub(super) uploads: HashMap<String, Upload>,
}

impl MessengerState {
    /// An uploaded file, by its attachment id.
    pub(super) fn upload(&self, attachment_id: &str) -> Option<&Upload> {
        self.uploads.get(attachment_id)
    }
}

struct Conversation {
    name: String,
    /// When the customer last wrote, unix ms (none: only a private reply so far).
    last_user_ms: Option<i64>,
}

/// Current time in unix milliseconds.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The page-scoped id of a Facebook user: stable, and different from the user id (as on
/// the real platform).
fn psid_for(user_id: &str) -> String {
    author_id_for(&format!("psid/{user_id}"))
}

fn window_error() -> Response {
    graph_error(
        StatusCode::BAD_REQUEST,
        "(#10) This message is sent outside of allowed window. Learn more about the new policy here: https://developers.facebook.com/docs/messenger-platform/policy-overview",
        "OAuthException",
        10,
        Some(2_018_278),
    )
}

fn param_error(message: &str, subcode: Option<i64>) -> Response {
    graph_error(
        StatusCode::BAD_REQUEST,
        message,
        "OAuthException",
        100,
        subcode,
    )
}

/// The Graph calls Messenger adds to a page; `None` leaves the call to the page feed.
pub(super) fn graph(
    em: &Emulator,
    fb: &mut FacebookState,
    req: &GraphRequest,
    segments: &[&str],
) -> Option<Response> {
    match (&req.method, segments) {
        (&axum::http::Method::POST, [page_id, "messages"]) if fb.pages.contains_key(*page_id) => {
            let token = fb.pages[*page_id].config.access_token.clone();
            if let Err(response) = req.check_token(token.as_deref()) {
                return Some(response);
            }
            Some(send(em, fb, page_id, req))
        }
        (&axum::http::Method::GET, [psid]) => {
            let (page_id, conversation) = fb
                .messenger
                .conversations
                .iter()
                .find(|((_, p), _)| p == psid)
                .map(|((page, _), c)| (page.clone(), c))?;
            let token = fb.pages.get(&page_id)?.config.access_token.clone();
            if let Err(response) = req.check_token(token.as_deref()) {
                return Some(response);
            }
            let (first, last) = conversation
                .name
                .split_once(' ')
                .unwrap_or((conversation.name.as_str(), ""));
            let mut profile = json!({
                "id": psid,
                "name": conversation.name,
                "first_name": first,
                "last_name": last,
            });
            if let (Some(fields), Value::Object(map)) = (req.param("fields"), &mut profile) {
                let wanted: Vec<&str> = fields.split(',').map(str::trim).collect();
                map.retain(|k, _| k == "id" || wanted.contains(&k.as_str()));
            }
            Some(axum::Json(profile).into_response())
        }
        _ => None,
    }
}

/// `POST /{page-id}/messages`.
fn send(em: &Emulator, fb: &mut FacebookState, page_id: &str, req: &GraphRequest) -> Response {
    let Some(recipient) = req.object_param("recipient") else {
        return param_error("(#100) param recipient must be non-empty.", None);
    };
    let Some(message) = req.object_param("message") else {
        return param_error("(#100) param message must be non-empty.", None);
    };
    let text = str_field(&message, "text");
    if text.is_none() && !message.contains_key("attachment") {
        return param_error(
            "(#100) Must send either message text or an attachment",
            None,
        );
    }
    // An attachment: its type, and where its file is (an upload of this page, or a URL).
    let attachment = match message.get("attachment") {
        None => None,
        Some(attachment) => match sent_attachment(fb, page_id, attachment) {
            Ok(found) => Some(found),
            Err(response) => return response,
        },
    };
    if text.as_ref().is_some_and(|t| t.chars().count() > MAX_TEXT) {
        return param_error(
            "(#100) Length of param message[text] must be less than or equal to 2000",
            None,
        );
    }
    let messaging_type = req.param("messaging_type");
    let tag = req.param("tag");
    let now = now_ms();

    let (psid, kind, target) = if let Some(comment_id) = str_field(&recipient, "comment_id") {
        // A private reply to a comment of this page.
        let located = fb
            .locate(&comment_id)
            .filter(|(page, post)| page == page_id && *post != comment_id);
        let Some(_) = located else {
            return param_error(
                &format!("(#100) Object with ID '{comment_id}' does not exist"),
                Some(33),
            );
        };
        if fb.messenger.private_replies.contains_key(&comment_id) {
            return graph_error(
                StatusCode::BAD_REQUEST,
                "(#10900) Activity already replied to",
                "OAuthException",
                10900,
                None,
            );
        }
        let Some((comment, _, _)) = fb.comment_mut(&comment_id) else {
            return param_error("(#100) Invalid comment", None);
        };
        if comment.from.id == page_id {
            return graph_error(
                StatusCode::BAD_REQUEST,
                "(#10903) This user cannot reply to this activity",
                "OAuthException",
                10903,
                None,
            );
        }
        if now - comment.created_time * 1000 > WEEK_MS {
            return window_error();
        }
        let (user_id, name) = (comment.from.id.clone(), comment.from.name.clone());
        let psid = psid_for(&user_id);
        fb.messenger
            .conversations
            .entry((page_id.to_string(), psid.clone()))
            .or_insert(Conversation {
                name,
                last_user_ms: None,
            });
        fb.messenger
            .private_replies
            .insert(comment_id.clone(), psid.clone());
        (psid, "private_reply", comment_id)
    } else if let Some(psid) = str_field(&recipient, "id") {
        let Some(conversation) = fb
            .messenger
            .conversations
            .get(&(page_id.to_string(), psid.clone()))
        else {
            return param_error("(#100) No matching user found", Some(2_018_001));
        };
        let tagged = messaging_type.as_deref() == Some("MESSAGE_TAG");
        if tagged && tag.is_none() {
            return param_error("(#100) Param tag must be set for MESSAGE_TAG", None);
        }
        let human_agent = tagged && tag.as_deref() == Some("HUMAN_AGENT");
        let Some(last) = conversation.last_user_ms else {
            // Only a private reply so far: the customer has not opened the window.
            return window_error();
        };
        let age = now - last;
        if age > WEEK_MS || (age > DAY_MS && !human_agent) {
            return window_error();
        }
        (psid.clone(), "message", psid)
    } else {
        return param_error("(#100) param recipient[id] must be non-empty.", None);
    };

    let mid = format!("m_{}", em.next_id());
    // A message with a file is recorded under the file's type (`image`, `file`, ...).
    let kind = match (&attachment, kind) {
        (Some((file_kind, _)), "message") => file_kind.as_str(),
        _ => kind,
    };
    em.record("messenger", kind, Some(&target), &mid, text.as_deref());
    fb.messenger.sent.push(json!({
        "page_id": page_id,
        "recipient": Value::Object(recipient),
        "messaging_type": messaging_type,
        "tag": tag,
        "message": Value::Object(message.clone()),
        "recipient_id": psid,
        "message_id": mid,
    }));
    // Meta echoes the page's own sends to the page's subscribers.
    let mut echo = json!({ "mid": mid, "is_echo": true, "app_id": APP_ID });
    if let Some(text) = &text {
        echo["text"] = json!(text);
    }
    if let Some((kind, url)) = &attachment {
        // Meta echoes a file as its CDN URL, whichever way it was sent.
        echo["attachments"] = json!([{ "type": kind, "payload": { "url": url } }]);
    }
    notify(
        fb,
        page_id,
        json!({
            "sender": { "id": page_id },
            "recipient": { "id": psid },
            "timestamp": now,
            "message": echo,
        }),
    );
    axum::Json(json!({ "recipient_id": psid, "message_id": mid })).into_response()
}

/// The type and the file URL of a Send API `message.attachment`: a file of an upload of
/// this page (`payload.attachment_id`) or at `payload.url`; a template has no file.
#[allow(clippy::result_large_err)] // the error is the Graph answer itself
fn sent_attachment(
    fb: &FacebookState,
    page_id: &str,
    attachment: &Value,
) -> Result<(String, Option<String>), Response> {
    let kind = attachment.get("type").and_then(Value::as_str).unwrap_or("");
    let payload = attachment.get("payload").and_then(Value::as_object);
    if kind == "template" {
        return Ok((kind.to_string(), None));
    }
    if !["image", "video", "audio", "file"].contains(&kind) {
        return Err(param_error(
            "(#100) param message[attachment][type] must be one of image, video, audio, file, template",
            None,
        ));
    }
    let id = payload.and_then(|p| str_field(p, "attachment_id"));
    let url = payload.and_then(|p| str_field(p, "url"));
    match (id, url) {
        (Some(id), _) => match fb.messenger.uploads.get(&id) {
            Some(upload) if upload.page_id == page_id => {
                Ok((kind.to_string(), Some(upload.url.clone())))
            }
            _ => Err(param_error(
                &format!("(#100) No attachment with id {id} was uploaded for this page"),
                None,
            )),
        },
        (None, Some(url)) if url.starts_with("http://") || url.starts_with("https://") => {
            Ok((kind.to_string(), Some(url)))
        }
        _ => Err(param_error(
            "(#100) param message[attachment][payload] needs an attachment_id or an http(s) url",
            None,
        )),
    }
}

/// Queues one `messaging` webhook to every subscriber of the page.
fn notify(fb: &FacebookState, page_id: &str, event: Value) {
    let Some(page) = fb.pages.get(page_id) else {
        return;
    };
    let payload = json!({
        "object": "page",
        "entry": [{ "id": page_id, "time": now_ms(), "messaging": [event] }],
    });
    for subscriber in &page.subscribers {
        subscriber.send(payload.clone());
    }
}

/// The `/_emulator/messenger/...` control routes (the customers' side is in [`inbox`]).
pub(crate) fn control_routes() -> Router<Emulator> {
    inbox::routes().route("/_emulator/messenger/sent", get(control_sent))
}

/// Every accepted Send API call (recipient, messaging type, tag, message), oldest first.
async fn control_sent(AxState(em): AxState<Emulator>) -> Response {
    axum::Json(em.state().facebook.messenger.sent.clone()).into_response()
}

mod inbox;
#[cfg(test)]
mod tests;
