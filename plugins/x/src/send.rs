//! Sending: replies as tweets from one of the channel's handles, direct messages, deleting
//! our own tweets. A retried send with the same idempotency key is not sent again.

use serde::Deserialize;
use serde_json::json;
use switchboard_sdk::{ConnectorError, Outbound, Sent, Visibility, http, kv, log};

use crate::Settings;
use crate::api::{self, Endpoint};

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
fn sender<'a>(settings: &'a Settings, msg: &Outbound) -> Result<&'a str, ConnectorError> {
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
    idempotency_key: &str,
) -> Result<Sent, ConnectorError> {
    if let Some(id) = kv::sent_before(idempotency_key) {
        log::info(format!(
            "x: reply {idempotency_key} was already sent as {id}"
        ));
        return Ok(Sent {
            platform_message_id: id,
        });
    }
    if msg.text.trim().is_empty() {
        return Err(ConnectorError::Rejected("an X message needs text".into()));
    }
    let handle = sender(settings, msg)?;
    let token = settings.require_user_token(handle)?;
    let id = match msg.visibility {
        Visibility::Public => {
            let mut body = json!({ "text": msg.text });
            let target = msg
                .reply_to
                .as_deref()
                .filter(|t| !t.is_empty())
                .or(Some(msg.thread_id.as_str()).filter(|t| !t.is_empty()));
            if let Some(target) = target {
                body["reply"] = json!({ "in_reply_to_tweet_id": target });
            }
            let url = format!("{}/2/tweets", settings.api_base_url);
            let resp = api::call(
                Endpoint::Post,
                api::json_request("POST", url, &token, &body),
            )?;
            let id = resp
                .json_body::<Created>()
                .ok()
                .and_then(|c| c.data)
                .and_then(|d| d.id)
                .filter(|id| !id.is_empty())
                .ok_or_else(|| {
                    ConnectorError::Rejected(format!(
                        "X API accepted the tweet but returned no id: {}",
                        resp.body_text()
                    ))
                })?;
            kv::set(&owner_key(&id), handle.as_bytes());
            id
        }
        // A group conversation is answered in the group, where every participant sees
        // it, not to one of them.
        Visibility::Private if crate::poll::is_group_conversation(&msg.thread_id) => {
            let url = format!(
                "{}/2/dm_conversations/{}/messages",
                settings.api_base_url,
                http::percent_encode(&msg.thread_id)
            );
            let body = json!({ "text": msg.text });
            let resp = api::call(
                Endpoint::DmSend,
                api::json_request("POST", url, &token, &body),
            )?;
            dm_event_id(&resp)?
        }
        Visibility::Private => {
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
                    ConnectorError::Rejected(
                        "a direct message needs the recipient's user id".into(),
                    )
                })?;
            let url = format!(
                "{}/2/dm_conversations/with/{}/messages",
                settings.api_base_url,
                http::percent_encode(&participant)
            );
            let body = json!({ "text": msg.text });
            let resp = api::call(
                Endpoint::DmSend,
                api::json_request("POST", url, &token, &body),
            )?;
            dm_event_id(&resp)?
        }
    };
    kv::remember_sent(idempotency_key, &id);
    Ok(Sent {
        platform_message_id: id,
    })
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
