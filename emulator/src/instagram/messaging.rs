//! Instagram DMs from the business's side: the Send API (`POST /me/messages`,
//! `/{ig-id}/messages` or a linked page's `/{page-id}/messages`: to an IGSID, or a private
//! reply to a comment), sender actions, and the User Profile API (`GET /{igsid}`).
//!
//! Windows as Messenger's: a free reply within 24 h of the customer's last message; from
//! 24 h to 7 days only with `messaging_type: MESSAGE_TAG` and `tag: HUMAN_AGENT`; after
//! that nothing (code 10, subcode 2018278). A private reply is allowed once per comment
//! (code 10900 after), within 7 days of the comment, never on the account's own comments
//! (10903); it does not open the window. Text is at most 1000 characters (code 100).
//!
//! A file goes by URL only (`{"attachment":{"type":"image|video|audio|file","payload":
//! {"url"}}}`): recorded in the outbound log under its type, echoed with the URL, and
//! fetched in the background as Instagram would (`fetched` in the account's view).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::{
    Customer, DAY_MS, DirectMessage, InstagramState, WEEK_MS, new_mid, now_ms, parse_fields, pick,
};
use crate::Emulator;
use crate::graph::{GraphRequest, graph_error, str_field};

/// Longest DM text Instagram accepts.
pub(super) const MAX_TEXT: usize = 1000;

fn window_error() -> Response {
    graph_error(
        StatusCode::BAD_REQUEST,
        "(#10) This message is sent outside of allowed window.",
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

fn no_such_user() -> Response {
    param_error("(#100) No matching user found", Some(2_018_001))
}

const SENDER_ACTIONS: &[&str] = &["typing_on", "typing_off", "mark_seen", "react", "unreact"];

/// `POST .../messages` as account `ig_id` (its token already checked).
pub(super) fn send(
    em: &Emulator,
    ig: &mut InstagramState,
    ig_id: &str,
    req: &GraphRequest,
) -> Response {
    let Some(recipient) = req.object_param("recipient") else {
        return param_error("(#100) param recipient must be non-empty.", None);
    };
    if let Some(action) = req.param("sender_action") {
        return sender_action(ig, ig_id, &recipient, &action);
    }
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
    // A file goes by URL: Instagram fetches it (see `fetch_link`).
    let attachment = match message.get("attachment") {
        None => None,
        Some(attachment) => match sent_attachment(attachment) {
            Ok(found) => Some(found),
            Err(response) => return response,
        },
    };
    if text.as_ref().is_some_and(|t| t.chars().count() > MAX_TEXT) {
        return param_error(
            &format!(
                "(#100) Length of param message[text] must be less than or equal to {MAX_TEXT}"
            ),
            None,
        );
    }
    let messaging_type = req.param("messaging_type");
    let tag = req.param("tag");
    let now = now_ms();

    let (igsid, kind, target) = if let Some(comment_id) = str_field(&recipient, "comment_id") {
        let Some((comment, media)) = ig.live_comment(&comment_id) else {
            return param_error(
                &format!("(#100) Object with ID '{comment_id}' does not exist"),
                Some(33),
            );
        };
        if media.account != ig_id {
            return param_error(
                &format!("(#100) Object with ID '{comment_id}' does not exist"),
                Some(33),
            );
        }
        if ig.private_replies.contains_key(&comment_id) {
            return graph_error(
                StatusCode::BAD_REQUEST,
                "(#10900) Activity already replied to",
                "OAuthException",
                10900,
                None,
            );
        }
        if comment.from.id == ig_id {
            return graph_error(
                StatusCode::BAD_REQUEST,
                "(#10903) This user cannot reply to this activity",
                "OAuthException",
                10903,
                None,
            );
        }
        if now - comment.timestamp * 1000 > WEEK_MS {
            return window_error();
        }
        let from = comment.from.clone();
        ig.customers
            .entry((ig_id.to_string(), from.id.clone()))
            .or_insert(Customer {
                username: from.username.clone(),
                name: String::new(),
                last_user_ms: None,
            });
        ig.private_replies
            .insert(comment_id.clone(), from.id.clone());
        (from.id, "private_reply", comment_id)
    } else if let Some(igsid) = str_field(&recipient, "id") {
        let Some(customer) = ig.customers.get(&(ig_id.to_string(), igsid.clone())) else {
            return no_such_user();
        };
        let tagged = messaging_type.as_deref() == Some("MESSAGE_TAG");
        if tagged && tag.is_none() {
            return param_error("(#100) Param tag must be set for MESSAGE_TAG", None);
        }
        let human_agent = tagged && tag.as_deref() == Some("HUMAN_AGENT");
        // Only a private reply so far: the customer has not opened the window.
        let Some(last) = customer.last_user_ms else {
            return window_error();
        };
        let age = now - last;
        if age > WEEK_MS || (age > DAY_MS && !human_agent) {
            return window_error();
        }
        (igsid.clone(), "message", igsid)
    } else {
        return param_error("(#100) param recipient[id] must be non-empty.", None);
    };

    let mid = new_mid(em, ig_id);
    // A message with a file is recorded under the file's type (`image`, `file`, ...).
    let kind = match (&attachment, kind) {
        (Some((file_kind, Some(_))), "message") => file_kind.as_str(),
        _ => kind,
    };
    em.record("instagram", kind, Some(&target), &mid, text.as_deref());
    if let Some((_, Some(url))) = &attachment {
        fetch_link(em, ig_id, &mid, url);
    }
    ig.sent.push(json!({
        "account_id": ig_id,
        "recipient": Value::Object(recipient),
        "messaging_type": messaging_type,
        "tag": tag,
        "message": Value::Object(message.clone()),
        "recipient_id": igsid,
        "message_id": mid,
    }));
    ig.messages.insert(
        mid.clone(),
        DirectMessage {
            account: ig_id.to_string(),
            igsid: igsid.clone(),
            from_customer: false,
            deleted: false,
        },
    );
    // Meta echoes the account's own sends to its subscribers.
    let mut echo = json!({ "mid": mid, "is_echo": true });
    if let Some(text) = &text {
        echo["text"] = json!(text);
    }
    if let Some((kind, url)) = &attachment {
        echo["attachments"] = json!([{ "type": kind, "payload": { "url": url } }]);
    }
    ig.notify_messaging(
        ig_id,
        json!({
            "sender": { "id": ig_id },
            "recipient": { "id": igsid },
            "timestamp": now,
            "message": echo,
        }),
        1,
    );
    axum::Json(json!({ "recipient_id": igsid, "message_id": mid })).into_response()
}

/// Attachment types Instagram sends by URL.
const FILE_TYPES: &[&str] = &["image", "video", "audio", "file"];

/// The type and URL of a sent `message.attachment`: a file by `payload.url`, or a share of
/// the account's own post (`MEDIA_SHARE`, `payload.id`) or a like (`like_heart`) without one.
#[allow(clippy::result_large_err)] // the error is the Graph answer itself
fn sent_attachment(attachment: &Value) -> Result<(String, Option<String>), Response> {
    let kind = attachment.get("type").and_then(Value::as_str).unwrap_or("");
    if kind == "MEDIA_SHARE" || kind == "like_heart" {
        return Ok((kind.to_string(), None));
    }
    if !FILE_TYPES.contains(&kind) {
        return Err(param_error(
            "(#100) param message[attachment][type] must be one of image, video, audio, file, MEDIA_SHARE, like_heart",
            None,
        ));
    }
    let url = attachment
        .pointer("/payload/url")
        .and_then(Value::as_str)
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"));
    match url {
        Some(url) => Ok((kind.to_string(), Some(url.to_string()))),
        None => Err(param_error(
            "(#100) param message[attachment][payload][url] must be an http(s) URL Instagram can fetch",
            None,
        )),
    }
}

/// Instagram fetches a file sent by URL: the emulator does too, in the background, and
/// lists what it got with the account (`GET /_emulator/instagram/accounts/{id}`,
/// `fetched`): the URL, the HTTP status (or the error), the content type, the size and the
/// SHA-256 of the bytes, so a test can check that the link it gave works.
fn fetch_link(em: &Emulator, ig_id: &str, mid: &str, url: &str) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let (em, ig_id, mid, url) = (
        em.clone(),
        ig_id.to_string(),
        mid.to_string(),
        url.to_string(),
    );
    runtime.spawn(async move {
        let result = em.inner.http.get(&url).send().await;
        let mut record = json!({ "account_id": ig_id, "message_id": mid, "url": url });
        match result {
            Ok(response) => {
                record["status"] = json!(response.status().as_u16());
                let content_type = response
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                record["content_type"] = json!(content_type);
                let bytes = response.bytes().await.unwrap_or_default();
                record["size"] = json!(bytes.len());
                record["sha256"] =
                    json!(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)));
            }
            Err(err) => record["error"] = json!(err.to_string()),
        }
        em.state().instagram.fetched.push(record);
    });
}

/// `{"recipient":{"id"},"sender_action":"typing_on"|...}`: accepted for a known customer,
/// answered `{"recipient_id"}`, not recorded.
fn sender_action(
    ig: &InstagramState,
    ig_id: &str,
    recipient: &Map<String, Value>,
    action: &str,
) -> Response {
    if !SENDER_ACTIONS.contains(&action) {
        return param_error(
            &format!("(#100) param sender_action must be one of {SENDER_ACTIONS:?}"),
            None,
        );
    }
    let Some(igsid) = str_field(recipient, "id") else {
        return param_error("(#100) param recipient[id] must be non-empty.", None);
    };
    if !ig
        .customers
        .contains_key(&(ig_id.to_string(), igsid.clone()))
    {
        return no_such_user();
    }
    axum::Json(json!({ "recipient_id": igsid })).into_response()
}

/// `GET /{igsid}`: the User Profile API, `name`, `username` and the follow flags.
pub(super) fn profile(
    ig: &InstagramState,
    ig_id: &str,
    igsid: &str,
    req: &GraphRequest,
) -> Response {
    let customer = &ig.customers[&(ig_id.to_string(), igsid.to_string())];
    let mut full = Map::new();
    full.insert("id".into(), json!(igsid));
    full.insert("name".into(), json!(customer.name));
    full.insert("username".into(), json!(customer.username));
    full.insert("follower_count".into(), json!(0));
    full.insert("is_verified_user".into(), json!(false));
    full.insert("is_user_follow_business".into(), json!(false));
    full.insert("is_business_follow_user".into(), json!(false));
    let fields = req.param("fields").map(|f| parse_fields(&f));
    let default = [
        "name",
        "username",
        "follower_count",
        "is_verified_user",
        "is_user_follow_business",
        "is_business_follow_user",
    ];
    axum::Json(pick(full, fields.as_deref(), &default)).into_response()
}
