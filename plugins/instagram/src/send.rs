//! Replies, moderation and the credentials check.
//!
//! | Reply | Call |
//! |---|---|
//! | private, in a DM thread `igsid:<IGSID>` | `POST /{ig_user_id}/messages` `{"recipient":{"id"},"messaging_type":"RESPONSE","message":{"text"}}`; 24 h to 7 days after the customer's last message with `MESSAGE_TAG` / `HUMAN_AGENT`; refused after 7 days. Each file after the text, as `{"attachment":{"type","payload":{"url"}}}` with the host's public link (Instagram takes media by URL only; refused clearly without one) |
//! | private, in a media thread, answering a comment | a private reply: the same call with `"recipient":{"comment_id"}`, once per comment, within 7 days |
//! | public, answering a comment | `POST /{comment-id}/replies` `message=..` |
//! | public, with only the media | `POST /{media-id}/comments` `message=..` |
//! | public, on a media that mentions the account | `POST /{ig_user_id}/mentions` `media_id, comment_id?, message` |
//!
//! `/{ig_user_id}/messages` (rather than Instagram Login's `/me/messages`) is taken on both
//! flavours: it names the account, so it works with an Instagram user token and with the
//! linked page's token alike.

use serde::Deserialize;
use serde_json::json;
use switchboard_sdk::IdempotencyKey;
use switchboard_sdk::meta::{self, DAY_MS, GraphFailure, WEEK_MS};
use switchboard_sdk::{
    Account, ConnectorError, HttpResponse, Outbound, OutboundFile, ReplyWindow, Sent, Visibility,
    clock, kv, log,
};

use crate::dm::igsid_of;
use crate::webhook::{Id, id};
use crate::{COMMENT_MAX_CHARS, DM_MAX_CHARS, Settings};

/// What may be sent in a private conversation: Meta's messaging window.
pub(crate) fn reply_window(
    visibility: Visibility,
    last_customer_at: Option<i64>,
    now: i64,
) -> ReplyWindow {
    meta::messaging_window("Instagram", visibility, last_customer_at, now)
}

pub(crate) fn send(
    settings: &Settings,
    msg: &Outbound,
    idempotency_key: &IdempotencyKey,
) -> Result<Sent, ConnectorError> {
    if let Some(id) = kv::sent_before(idempotency_key) {
        log::info(format!(
            "instagram: reply {idempotency_key} was already sent as {id}"
        ));
        return Ok(Sent {
            platform_message_id: id,
        });
    }
    let dm = igsid_of(&msg.thread_id).filter(|_| msg.visibility == Visibility::Private);
    if !msg.files.is_empty() && dm.is_none() {
        return Err(no_files_here(msg));
    }
    if msg.text.trim().is_empty() && msg.files.is_empty() {
        return Err(ConnectorError::Rejected(
            "an Instagram reply needs some text".into(),
        ));
    }
    let sent = match (msg.visibility, igsid_of(&msg.thread_id)) {
        (Visibility::Private, Some(igsid)) => send_dm(settings, igsid, msg, idempotency_key)?,
        (Visibility::Public, Some(_)) => {
            return Err(ConnectorError::Rejected(
                "an Instagram direct message conversation is private: reply with private visibility"
                    .into(),
            ));
        }
        (Visibility::Private, None) => private_reply(settings, msg)?,
        (Visibility::Public, None) => public_reply(settings, msg)?,
    };
    kv::remember_sent(idempotency_key, &sent);
    Ok(Sent {
        platform_message_id: sent,
    })
}

fn check_length(text: &str, max: u32, what: &str) -> Result<(), ConnectorError> {
    let n = text.chars().count();
    if n > max as usize {
        return Err(ConnectorError::Rejected(format!(
            "Instagram accepts at most {max} characters in {what}; this reply has {n}"
        )));
    }
    Ok(())
}

#[derive(Deserialize)]
struct SendResponse {
    #[serde(default)]
    message_id: Option<String>,
}

#[derive(Deserialize)]
struct Created {
    #[serde(default)]
    id: Option<Id>,
}

/// `POST /{ig_user_id}/messages`, keeping the Graph failure (a private reply reads 10900).
fn post_message(settings: &Settings, body: &serde_json::Value) -> Result<String, GraphFailure> {
    let graph = settings.graph();
    let url = format!("{}/messages", graph.object_url(&settings.ig_user_id));
    let resp = graph.post_json(&url, body)?;
    resp.json_body::<SendResponse>()
        .ok()
        .and_then(|r| r.message_id)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| {
            ConnectorError::Rejected(format!(
                "Instagram accepted the message but returned no message_id: {}",
                resp.body_text()
            ))
            .into()
        })
}

/// Why a reply other than a direct message cannot carry files.
pub(crate) fn no_files_here(msg: &Outbound) -> ConnectorError {
    ConnectorError::Rejected(match msg.visibility {
        Visibility::Public => {
            "an Instagram comment cannot carry a file: send it in a direct message".into()
        }
        Visibility::Private => "a private reply to a comment is one text message (Instagram allows one per comment): send the file in the conversation once the customer answers".into(),
    })
}

/// The host's public link to a file: Instagram fetches files by URL only.
fn link_of(file: &OutboundFile) -> Result<&str, ConnectorError> {
    file.link.as_deref().filter(|l| !l.is_empty()).ok_or_else(|| {
        ConnectorError::Rejected(format!(
            "Instagram takes files only by a public link, and this Switchboard has none for {} (set [server] public_url)",
            file.file_name
        ))
    })
}

/// A direct message: the text, then one message per file (`{"attachment":{"type","payload":
/// {"url"}}}`, the host's link), each part remembered once sent (`sent/<key>#<n>`) so that a
/// retry after a failure in the middle sends only what is left.
fn send_dm(
    settings: &Settings,
    igsid: &str,
    msg: &Outbound,
    idempotency_key: &IdempotencyKey,
) -> Result<String, ConnectorError> {
    let has_text = !msg.text.trim().is_empty();
    if has_text {
        check_length(&msg.text, DM_MAX_CHARS, "a direct message")?;
    }
    // Every link before anything is sent: a reply that cannot go whole sends nothing.
    let mut messages = Vec::new();
    if has_text {
        messages.push(json!({ "text": msg.text }));
    }
    for file in &msg.files {
        let link = link_of(file)?;
        messages.push(json!({ "attachment": { "type": file.kind, "payload": { "url": link } } }));
    }
    let mut body = json!({
        "recipient": { "id": igsid },
        "messaging_type": "RESPONSE",
    });
    if let Some(last) = msg.last_customer_at {
        let age = clock::now_millis() - last;
        if age >= WEEK_MS {
            return Err(ConnectorError::Rejected(format!(
                "the customer last wrote {} days ago; Instagram allows no reply after 7 days until they write again",
                age / DAY_MS
            )));
        }
        if age >= DAY_MS {
            body["messaging_type"] = json!("MESSAGE_TAG");
            body["tag"] = json!("HUMAN_AGENT");
        }
    }
    let parts = messages.len();
    let mut ids = Vec::new();
    for (n, message) in messages.into_iter().enumerate() {
        let part_key = format!("sent/{idempotency_key}#{n}");
        if let Some(id) = kv::get_string(&part_key).filter(|_| !idempotency_key.is_empty()) {
            ids.push(id);
            continue;
        }
        let mut part = body.clone();
        part["message"] = message;
        let id = post_message(settings, &part)?;
        if parts > 1 && !idempotency_key.is_empty() {
            kv::set(&part_key, &id);
        }
        ids.push(id);
    }
    Ok(ids.swap_remove(0))
}

/// The comment a reply in a media thread answers: `reply_to` when it is not the media.
fn comment_of(msg: &Outbound) -> Option<&str> {
    msg.reply_to
        .as_deref()
        .filter(|c| !c.is_empty() && *c != msg.thread_id)
}

fn private_reply(settings: &Settings, msg: &Outbound) -> Result<String, ConnectorError> {
    let Some(comment_id) = comment_of(msg) else {
        return Err(ConnectorError::Rejected(
            "a private reply answers a comment: reply to a customer's comment, not to the post"
                .into(),
        ));
    };
    check_length(&msg.text, DM_MAX_CHARS, "a private reply")?;
    let slot = format!("private_reply/{comment_id}");
    if kv::get(&slot).is_some() {
        return Err(ConnectorError::Rejected(format!(
            "already replied privately to comment {comment_id}: Instagram allows one private reply per comment"
        )));
    }
    if let Some(last) = msg.last_customer_at
        && clock::now_millis() - last >= WEEK_MS
    {
        return Err(ConnectorError::Rejected(format!(
            "comment {comment_id} is more than 7 days old: Instagram allows a private reply only within 7 days"
        )));
    }
    let body = json!({
        "recipient": { "comment_id": comment_id },
        "message": { "text": msg.text },
    });
    match post_message(settings, &body) {
        Ok(id) => {
            kv::set(&slot, &id);
            Ok(id)
        }
        Err(failure) if failure.code() == Some(10900) => {
            kv::set(&slot, "");
            Err(ConnectorError::Rejected(format!(
                "already replied privately to comment {comment_id}: Instagram allows one private reply per comment ({})",
                failure.error.message()
            )))
        }
        Err(failure) => Err(failure.into()),
    }
}

fn created_id(resp: HttpResponse, what: &str) -> Result<String, ConnectorError> {
    resp.json_body::<Created>()
        .ok()
        .and_then(|c| id(c.id))
        .ok_or_else(|| {
            ConnectorError::Rejected(format!(
                "Instagram accepted the {what} but returned no id: {}",
                resp.body_text()
            ))
        })
}

fn public_reply(settings: &Settings, msg: &Outbound) -> Result<String, ConnectorError> {
    check_length(&msg.text, COMMENT_MAX_CHARS, "a comment")?;
    let graph = settings.graph();
    let media_id = msg.thread_id.as_str();
    let comment = comment_of(msg);
    if kv::get(&format!("mention/{media_id}")).is_some() {
        // Someone else's media: the account answers a mention through its own node.
        let url = format!("{}/mentions", graph.object_url(&settings.ig_user_id));
        let mut form = vec![("media_id", media_id), ("message", msg.text.as_str())];
        if let Some(c) = comment.filter(|c| *c != media_id) {
            form.push(("comment_id", c));
        }
        let resp = graph.post_form(&url, &form)?;
        return created_id(resp, "reply to the mention");
    }
    let resp = match comment {
        Some(c) => graph.post_form(
            &format!("{}/replies", graph.object_url(c)),
            &[("message", msg.text.as_str())],
        )?,
        None => graph.post_form(
            &format!("{}/comments", graph.object_url(media_id)),
            &[("message", msg.text.as_str())],
        )?,
    };
    created_id(resp, "comment")
}

/// Comment ids are numeric; a DM's mid is not, and Instagram cannot moderate DMs.
fn comment_only(id: &str, what: &str) -> Result<(), ConnectorError> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ConnectorError::Unsupported(format!(
            "Instagram can {what} comments only, and {id} is not a comment"
        )));
    }
    Ok(())
}

fn expect_success(resp: HttpResponse, what: &str) -> Result<(), ConnectorError> {
    let ok = resp
        .json_body::<serde_json::Value>()
        .ok()
        .and_then(|v| v.get("success").and_then(|s| s.as_bool()));
    match ok {
        Some(false) => Err(ConnectorError::Rejected(format!(
            "Instagram did not {what}: {}",
            resp.body_text()
        ))),
        _ => Ok(()),
    }
}

/// `DELETE /{comment-id}`.
pub(crate) fn delete(settings: &Settings, id: &str) -> Result<(), ConnectorError> {
    comment_only(id, "delete")?;
    let graph = settings.graph();
    let resp = graph.delete(&graph.object_url(id))?;
    expect_success(resp, &format!("delete comment {id}"))
}

/// `POST /{comment-id}` `hide=true`.
pub(crate) fn hide(settings: &Settings, id: &str) -> Result<(), ConnectorError> {
    comment_only(id, "hide")?;
    let graph = settings.graph();
    let resp = graph.post_form(&graph.object_url(id), &[("hide", "true")])?;
    expect_success(resp, &format!("hide comment {id}"))
}

#[derive(Deserialize)]
struct Me {
    #[serde(default)]
    id: Option<Id>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

fn read_me(resp: HttpResponse) -> Result<(String, Me), ConnectorError> {
    let me: Me = resp.json_body().map_err(|e| {
        ConnectorError::Transient(format!(
            "unreadable Graph API answer to the credentials check: {e}"
        ))
    })?;
    let id = id(me.id.clone()).ok_or_else(|| {
        ConnectorError::Transient(
            "the Graph API answered the credentials check without an id".into(),
        )
    })?;
    Ok((id, me))
}

fn shown_name(me: &Me, id: &str) -> String {
    match (&me.username, &me.name) {
        (Some(u), _) if !u.trim().is_empty() => format!("@{u}"),
        (_, Some(n)) if !n.trim().is_empty() => n.clone(),
        _ => id.to_string(),
    }
}

/// `GET /me?fields=id,username,name`: the account the token belongs to, which must be
/// `ig_user_id`. With Facebook Login the token is the linked page's, whose `/me` is the
/// page: then the account itself is read (`GET /{ig_user_id}`), which the page's token
/// may do only when the account is linked to it.
pub(crate) fn check_credentials(settings: &Settings) -> Result<Account, ConnectorError> {
    if settings.meta.access_token.is_none() {
        return Err(ConnectorError::InvalidConfig(
            "secret `access_token` (the Instagram access token) is required to check the credentials"
                .into(),
        ));
    }
    let account = &settings.ig_user_id;
    let graph = settings.graph();
    let resp = graph
        .get(&graph.url("me?fields=id,username,name"))
        .map_err(|failure| match failure.error {
            ConnectorError::Unauthorized(why) => ConnectorError::Unauthorized(format!(
                "the access token in secret `access_token` does not work: {why}; generate a new one for Instagram account {account} and paste it there"
            )),
            other => other,
        })?;
    let (id, me) = read_me(resp)?;
    if id == *account {
        return Ok(Account::new(id, shown_name(&me, account)));
    }
    let other = shown_name(&me, &id);
    let url = format!("{}?fields=id,username,name", graph.object_url(account));
    match graph.get(&url).map_err(ConnectorError::from).and_then(read_me) {
        Ok((found, me)) if found == *account => Ok(Account::new(found, shown_name(&me, account))
            .with_warning(format!(
                "the token belongs to {other} (id {id}), which may act for Instagram account {account} (Facebook Login)"
            ))),
        _ => Err(ConnectorError::InvalidConfig(format!(
            "secret `access_token` holds the token of {other} (id {id}), not of Instagram account {account} (setting `ig_user_id`): paste the token of account {account}, or set `ig_user_id` to {id} if that is the account meant"
        ))),
    }
}
