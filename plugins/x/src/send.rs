//! Sending: replies as tweets from one of the channel's handles, direct messages, deleting
//! our own tweets. A retried send with the same idempotency key is not sent again.
//!
//! Files come as media ids from the uploads the host made (see `upload`): a direct
//! message carries one (the text goes with the first, each further file in a message of
//! its own), a tweet up to four images or one GIF (the text with the first group, further
//! groups in tweets answering the first). The reply's id is the first message's. Each part
//! on X is remembered (`sent_part/<key>/<n>`) until the whole reply is, so a retry after a
//! part failed does not post the earlier ones twice.

use serde::Deserialize;
use serde_json::json;
use switchboard_sdk::{ConnectorError, IdempotencyKey, Outbound, Sent, Visibility, http, kv, log};

use crate::Settings;
use crate::api::{self, Endpoint};
use crate::upload::{self, Uploaded};

#[derive(Deserialize)]
struct Created {
    data: Option<CreatedData>,
}

#[derive(Deserialize)]
struct CreatedData {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    dm_event_id: Option<String>,
}

#[derive(Deserialize)]
struct DeletedAnswer {
    data: Option<DeletedData>,
}

#[derive(Deserialize)]
struct DeletedData {
    #[serde(default)]
    deleted: Option<bool>,
}

fn owner_key(tweet_id: &str) -> String {
    format!("owner/{tweet_id}")
}

/// The handle that sends: `from_handle` if it is one of the channel's, else the default.
pub(crate) fn sender<'a>(
    settings: &'a Settings,
    msg: &Outbound,
) -> Result<&'a str, ConnectorError> {
    match msg
        .from_handle
        .as_deref()
        .map(str::trim)
        .filter(|h| !h.is_empty())
    {
        None => Ok(settings.default_handle()),
        Some(h) => settings.find_handle(h).ok_or_else(|| {
            ConnectorError::Rejected(format!(
                "@{} is not one of this channel's handles ({})",
                h.trim_start_matches('@'),
                settings
                    .handles
                    .iter()
                    .map(|h| format!("@{h}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }),
    }
}

pub(crate) fn send(
    settings: &Settings,
    msg: &Outbound,
    idempotency_key: &IdempotencyKey,
) -> Result<Sent, ConnectorError> {
    if let Some(id) = kv::sent_before(idempotency_key) {
        log::info(format!(
            "x: reply {idempotency_key} was already sent as {id}"
        ));
        return Ok(Sent {
            platform_message_id: id,
        });
    }
    let media = upload::uploaded(&msg.files)?;
    if msg.text.trim().is_empty() && media.is_empty() {
        return Err(ConnectorError::Rejected(
            "an X message needs text or a file".into(),
        ));
    }
    let handle = sender(settings, msg)?;
    let token = settings.require_user_token(handle)?;
    let parts = match msg.visibility {
        Visibility::Public => tweet_parts(&msg.text, &media),
        Visibility::Private => dm_parts(&msg.text, &media),
    };
    let mut first: Option<String> = None;
    for (n, part) in parts.iter().enumerate() {
        // A retry after a later part failed sends only what X does not have yet.
        let slot = part_key(idempotency_key, n);
        if let Some(id) = slot.as_deref().and_then(kv::get_string) {
            first.get_or_insert(id);
            continue;
        }
        let id = match msg.visibility {
            Visibility::Public => post_tweet(settings, &token, msg, part, first.as_deref())?,
            Visibility::Private => send_dm(settings, handle, &token, msg, part)?,
        };
        if msg.visibility == Visibility::Public {
            kv::set(&owner_key(&id), handle.as_bytes());
        }
        if let Some(slot) = &slot {
            kv::set(slot, id.as_bytes());
        }
        first.get_or_insert(id);
    }
    let id = first.ok_or_else(|| ConnectorError::Rejected("nothing to send".into()))?;
    kv::remember_sent(idempotency_key, &id);
    for n in 0..parts.len() {
        if let Some(slot) = part_key(idempotency_key, n) {
            kv::delete(&slot);
        }
    }
    Ok(Sent {
        platform_message_id: id,
    })
}

/// kv: the id of part `n` of a reply already on X.
pub(crate) fn part_key(idempotency_key: &IdempotencyKey, n: usize) -> Option<String> {
    (!idempotency_key.is_empty()).then(|| format!("sent_part/{idempotency_key}/{n}"))
}

/// One platform message of a reply: its text and media ids.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Part {
    pub text: String,
    pub media: Vec<String>,
}

/// Tweets: the text with up to four images (a GIF goes alone), the rest in follow-up
/// tweets of the thread.
pub(crate) fn tweet_parts(text: &str, media: &[Uploaded]) -> Vec<Part> {
    let mut groups: Vec<Vec<String>> = Vec::new();
    let mut current: Vec<String> = Vec::new();
    for m in media {
        if m.gif {
            if !current.is_empty() {
                groups.push(std::mem::take(&mut current));
            }
            groups.push(vec![m.id.clone()]);
            continue;
        }
        current.push(m.id.clone());
        if current.len() == 4 {
            groups.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        groups.push(current);
    }
    with_text(text, groups)
}

/// Direct messages: one file each, the text with the first.
pub(crate) fn dm_parts(text: &str, media: &[Uploaded]) -> Vec<Part> {
    with_text(text, media.iter().map(|m| vec![m.id.clone()]).collect())
}

fn with_text(text: &str, groups: Vec<Vec<String>>) -> Vec<Part> {
    let mut parts: Vec<Part> = groups
        .into_iter()
        .map(|media| Part {
            text: String::new(),
            media,
        })
        .collect();
    match parts.first_mut() {
        Some(first) => first.text = text.to_string(),
        None => parts.push(Part {
            text: text.to_string(),
            media: Vec::new(),
        }),
    }
    parts
}

/// `POST /2/tweets`: the first part answers the customer's tweet, later ones the first.
fn post_tweet(
    settings: &Settings,
    token: &str,
    msg: &Outbound,
    part: &Part,
    first: Option<&str>,
) -> Result<String, ConnectorError> {
    let mut body = json!({});
    if !part.text.is_empty() {
        body["text"] = json!(part.text);
    }
    if !part.media.is_empty() {
        body["media"] = json!({ "media_ids": part.media });
    }
    let target = first.or(msg
        .reply_to
        .as_deref()
        .filter(|t| !t.is_empty())
        .or(Some(msg.thread_id.as_str()).filter(|t| !t.is_empty())));
    if let Some(target) = target {
        body["reply"] = json!({ "in_reply_to_tweet_id": target });
    }
    let url = format!("{}/2/tweets", settings.api_base_url);
    let resp = api::call(Endpoint::Post, api::json_request("POST", url, token, &body))?;
    resp.json_body::<Created>()
        .ok()
        .and_then(|c| c.data)
        .and_then(|d| d.id)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            ConnectorError::Rejected(format!(
                "X API accepted the tweet but returned no id: {}",
                resp.body_text()
            ))
        })
}

/// A direct message: in a group conversation, where every participant sees it; else to
/// the customer.
fn send_dm(
    settings: &Settings,
    handle: &str,
    token: &str,
    msg: &Outbound,
    part: &Part,
) -> Result<String, ConnectorError> {
    let url = if crate::poll::is_group_conversation(&msg.thread_id) {
        format!(
            "{}/2/dm_conversations/{}/messages",
            settings.api_base_url,
            http::percent_encode(&msg.thread_id)
        )
    } else {
        let own_id = api::user_id(settings, handle)?;
        let participant = msg
            .recipient_id
            .clone()
            .filter(|r| !r.is_empty())
            .or_else(|| {
                msg.thread_id
                    .split('-')
                    .find(|p| !p.is_empty() && *p != own_id)
                    .map(str::to_string)
            })
            .ok_or_else(|| {
                ConnectorError::Rejected("a direct message needs the recipient's user id".into())
            })?;
        format!(
            "{}/2/dm_conversations/with/{}/messages",
            settings.api_base_url,
            http::percent_encode(&participant)
        )
    };
    let mut body = json!({});
    if !part.text.is_empty() {
        body["text"] = json!(part.text);
    }
    if !part.media.is_empty() {
        body["attachments"] = serde_json::Value::Array(
            part.media
                .iter()
                .map(|id| json!({ "media_id": id }))
                .collect(),
        );
    }
    let resp = api::call(
        Endpoint::DmSend,
        api::json_request("POST", url, token, &body),
    )?;
    dm_event_id(&resp)
}

/// The id of the direct message X created.
fn dm_event_id(resp: &switchboard_sdk::HttpResponse) -> Result<String, ConnectorError> {
    resp.json_body::<Created>()
        .ok()
        .and_then(|c| c.data)
        .and_then(|d| d.dm_event_id.or(d.id))
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            ConnectorError::Rejected(format!(
                "X API accepted the direct message but returned no id: {}",
                resp.body_text()
            ))
        })
}

/// `DELETE /2/tweets/:id` with the token of the handle that sent it.
pub(crate) fn delete(settings: &Settings, id: &str) -> Result<(), ConnectorError> {
    let handle = kv::get_string(&owner_key(id))
        .and_then(|h| settings.find_handle(&h).map(str::to_string))
        .unwrap_or_else(|| settings.default_handle().to_string());
    let token = settings.require_user_token(&handle)?;
    let url = format!(
        "{}/2/tweets/{}",
        settings.api_base_url,
        http::percent_encode(id)
    );
    let resp = api::call(Endpoint::Delete, api::request("DELETE", url, &token))?;
    match resp
        .json_body::<DeletedAnswer>()
        .ok()
        .and_then(|d| d.data)
        .and_then(|d| d.deleted)
    {
        Some(false) => Err(ConnectorError::Rejected(format!(
            "X API did not delete tweet {id}: {}",
            resp.body_text()
        ))),
        _ => {
            kv::delete(&owner_key(id));
            Ok(())
        }
    }
}
