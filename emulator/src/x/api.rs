//! The X API v2 endpoints: recent search, mentions, user lookup (by name and `me`), direct messages,
//! posting and deleting tweets (with uploaded media, see [`super::media`]).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::limits::{Caller, gate, with_rate};
use super::media::DmBody;
use super::{Dm, Tweet, XEndpoint, invalid_request, iso_time, now_ms, problem, query};
use crate::Emulator;

type Params = Query<HashMap<String, String>>;

#[allow(clippy::result_large_err)]
fn max_results(
    params: &HashMap<String, String>,
    min: u32,
    default: u32,
) -> Result<usize, Response> {
    match params.get("max_results") {
        None => Ok(default as usize),
        Some(raw) => match raw.parse::<u32>() {
            Ok(n) if (min..=100).contains(&n) => Ok(n as usize),
            _ => Err(invalid_request(&format!(
                "The `max_results` query parameter value [{raw}] is not between {min} and 100"
            ))),
        },
    }
}

fn newer(a: &str, b: &str) -> bool {
    (a.len(), a) > (b.len(), b)
}

/// Newest first, after `since_id`, before the pagination token; at most `max`.
fn select<'a>(
    mut found: Vec<&'a Tweet>,
    params: &HashMap<String, String>,
    token_names: &[&str],
    max: usize,
) -> (Vec<&'a Tweet>, Option<String>) {
    found.sort_by(|a, b| (b.id.len(), &b.id).cmp(&(a.id.len(), &a.id)));
    if let Some(since) = params.get("since_id") {
        found.retain(|t| newer(&t.id, since));
    }
    let until = token_names
        .iter()
        .find_map(|n| params.get(*n))
        .and_then(|t| t.strip_prefix('n'));
    if let Some(until) = until {
        found.retain(|t| newer(until, &t.id));
    }
    let more = found.len() > max;
    found.truncate(max);
    let next = more.then(|| format!("n{}", found.last().map(|t| t.id.as_str()).unwrap_or("")));
    (found, next)
}

pub(super) async fn search_recent(
    AxState(em): AxState<Emulator>,
    headers: HeaderMap,
    Query(params): Params,
) -> Response {
    let (_, rate) = match gate(&em, XEndpoint::Search, &headers, false) {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    let max = match max_results(&params, 10, 10) {
        Ok(m) => m,
        Err(r) => return with_rate(r, rate),
    };
    let Some(raw) = params.get("query").filter(|q| !q.trim().is_empty()) else {
        return with_rate(
            invalid_request("The `query` query parameter can not be empty"),
            rate,
        );
    };
    if raw.chars().count() > 512 {
        return with_rate(
            invalid_request("The `query` query parameter is longer than 512 characters"),
            rate,
        );
    }
    let query = match query::parse(raw) {
        Ok(q) => q,
        Err(e) => {
            return with_rate(
                problem(
                    StatusCode::BAD_REQUEST,
                    "Invalid Request",
                    &format!("There were errors processing your request: {e}"),
                    Some("invalid-request"),
                ),
                rate,
            );
        }
    };
    let state = em.state();
    let x = &state.x;
    let found: Vec<&Tweet> = x
        .tweets
        .iter()
        .filter(|t| !t.deleted && query::matches(&query, t, &x.users))
        .collect();
    let (found, next) = select(found, &params, &["next_token", "pagination_token"], max);
    let mut body = x.page(&found, next);
    drop(state);
    super::faults::add_partial(&em, XEndpoint::Search, &mut body);
    with_rate(axum::Json(body).into_response(), rate)
}

pub(super) async fn mentions(
    AxState(em): AxState<Emulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(params): Params,
) -> Response {
    let (_, rate) = match gate(&em, XEndpoint::Mentions, &headers, false) {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    let max = match max_results(&params, 5, 10) {
        Ok(m) => m,
        Err(r) => return with_rate(r, rate),
    };
    let state = em.state();
    let x = &state.x;
    let Some(user) = x.users.get(&id) else {
        return with_rate(
            problem(
                StatusCode::NOT_FOUND,
                "Not Found Error",
                &format!("Could not find user with id: [{id}]."),
                Some("resource-not-found"),
            ),
            rate,
        );
    };
    let handle = format!("@{}", user.username.to_lowercase());
    let found: Vec<&Tweet> = x
        .tweets
        .iter()
        .filter(|t| {
            !t.deleted
                && t.author_id != id
                && (t.text.to_lowercase().contains(&handle)
                    || t.in_reply_to_user_id.as_deref() == Some(id.as_str()))
        })
        .collect();
    let (found, next) = select(found, &params, &["pagination_token"], max);
    let mut body = x.page(&found, next);
    drop(state);
    super::faults::add_partial(&em, XEndpoint::Mentions, &mut body);
    with_rate(axum::Json(body).into_response(), rate)
}

pub(super) async fn user_by_name(
    AxState(em): AxState<Emulator>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let (_, rate) = match gate(&em, XEndpoint::Users, &headers, false) {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    let state = em.state();
    let body = match state.x.user_by_handle(&name) {
        Some(u) => json!({ "data": { "id": u.id, "name": u.name, "username": u.username } }),
        None => json!({ "errors": [{
            "value": name, "detail": format!("Could not find user with username: [{name}]."),
            "title": "Not Found Error", "resource_type": "user", "parameter": "username",
            "resource_id": name, "type": "https://api.twitter.com/2/problems/resource-not-found",
        }]}),
    };
    with_rate(axum::Json(body).into_response(), rate)
}

/// `GET /2/users/me`: the account whose user token signed the call (`{"data":{"id","name",
/// "username"}}`). The app-only token → 403 `Unsupported Authentication` (as for the other
/// user-context endpoints); when no token is configured at all, the only account.
pub(super) async fn users_me(AxState(em): AxState<Emulator>, headers: HeaderMap) -> Response {
    let (caller, rate) = match gate(&em, XEndpoint::UsersMe, &headers, true) {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    let state = em.state();
    let x = &state.x;
    let id = match caller {
        Caller::User(id) => Some(id),
        Caller::App => match x.config.accounts.as_slice() {
            [only] => Some(only.user_id.clone()),
            _ => None,
        },
    };
    let Some(user) = id.as_deref().and_then(|id| x.users.get(id)) else {
        return with_rate(
            problem(
                StatusCode::FORBIDDEN,
                "Unsupported Authentication",
                "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context].",
                Some("unsupported-authentication"),
            ),
            rate,
        );
    };
    let body = json!({ "data": { "id": user.id, "name": user.name, "username": user.username } });
    with_rate(axum::Json(body).into_response(), rate)
}

pub(super) async fn dm_events(
    AxState(em): AxState<Emulator>,
    headers: HeaderMap,
    Query(params): Params,
) -> Response {
    let (caller, rate) = match gate(&em, XEndpoint::DmRead, &headers, true) {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    let max = match max_results(&params, 1, 100) {
        Ok(m) => m,
        Err(r) => return with_rate(r, rate),
    };
    let state = em.state();
    let x = &state.x;
    let me = match caller {
        Caller::User(id) => Some(id),
        Caller::App => None,
    };
    let mut found: Vec<&Dm> = x
        .dms
        .iter()
        .filter(|d| {
            me.as_ref().is_none_or(|me| {
                d.sender_id == *me
                    || d.recipient_id == *me
                    || x.faults.in_group(&d.conversation_id, me)
            })
        })
        .collect();
    found.sort_by(|a, b| (b.id.len(), &b.id).cmp(&(a.id.len(), &a.id)));
    // Pages as on the platform: `pagination_token` from `meta.next_token` continues
    // below the last event of the previous page.
    if let Some(until) = params
        .get("pagination_token")
        .and_then(|t| t.strip_prefix('n'))
    {
        found.retain(|d| newer(until, &d.id));
    }
    let more = found.len() > max;
    found.truncate(max);
    let mut meta = json!({ "result_count": found.len() });
    if let (Some(first), Some(last)) = (found.first(), found.last()) {
        meta["newest_id"] = json!(first.id);
        meta["oldest_id"] = json!(last.id);
        if more {
            meta["next_token"] = json!(format!("n{}", last.id));
        }
    }
    if found.is_empty() {
        return with_rate(axum::Json(json!({ "meta": meta })).into_response(), rate);
    }
    let mut senders: Vec<&str> = found.iter().map(|d| d.sender_id.as_str()).collect();
    senders.sort();
    senders.dedup();
    let mut includes =
        json!({ "users": senders.iter().filter_map(|id| x.user_json(id)).collect::<Vec<_>>() });
    let media: Vec<serde_json::Value> = found
        .iter()
        .flat_map(|d| d.media.iter().filter_map(|k| x.media_v2(k)))
        .collect();
    if !media.is_empty() {
        includes["media"] = serde_json::Value::Array(media);
    }
    let shared: Vec<serde_json::Value> = found
        .iter()
        .filter_map(|d| d.shared_tweet.as_deref().and_then(|t| x.tweet(t)))
        .filter(|t| !t.deleted)
        .map(|t| x.tweet_json(t))
        .collect();
    if !shared.is_empty() {
        includes["tweets"] = serde_json::Value::Array(shared);
    }
    let body = json!({
        "data": found.iter().map(|d| {
            let mut v = json!({
                "id": d.id, "event_type": "MessageCreate", "text": d.text, "sender_id": d.sender_id,
                "dm_conversation_id": d.conversation_id, "created_at": iso_time(d.created_ms),
            });
            if !d.media.is_empty() {
                v["attachments"] = json!({ "media_keys": d.media });
            }
            if let Some(t) = &d.shared_tweet {
                v["referenced_tweets"] = json!([{ "id": t }]);
            }
            if !d.links.is_empty() {
                v["entities"] = json!({ "urls": d.links.iter().map(super::media::Link::v2).collect::<Vec<_>>() });
            }
            v
        }).collect::<Vec<_>>(),
        "includes": includes,
        "meta": meta,
    });
    let mut body = body;
    drop(state);
    super::faults::add_partial(&em, XEndpoint::DmRead, &mut body);
    with_rate(axum::Json(body).into_response(), rate)
}

#[derive(Deserialize)]
struct CreateTweet {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    reply: Option<ReplyTo>,
    #[serde(default)]
    media: Option<MediaIds>,
}

#[derive(Deserialize)]
struct MediaIds {
    #[serde(default)]
    media_ids: Vec<String>,
}

#[derive(Deserialize)]
struct ReplyTo {
    in_reply_to_tweet_id: String,
}

/// The id X gives a one-to-one conversation: both user ids, smaller first.
pub(super) fn dm_conversation_id(a: &str, b: &str) -> String {
    if newer(a, b) {
        format!("{b}-{a}")
    } else {
        format!("{a}-{b}")
    }
}

pub(super) async fn create_tweet(
    AxState(em): AxState<Emulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (caller, rate) = match gate(&em, XEndpoint::Post, &headers, true) {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    let Ok(req) = serde_json::from_slice::<CreateTweet>(&body) else {
        return with_rate(
            invalid_request("The request body is not valid JSON for this endpoint."),
            rate,
        );
    };
    let text = req.text.unwrap_or_default();
    let media_ids = req.media.map(|m| m.media_ids).unwrap_or_default();
    if text.trim().is_empty() && media_ids.is_empty() {
        return with_rate(invalid_request("Tweet text or media is required."), rate);
    }
    if text.chars().count() > 280 {
        return with_rate(
            invalid_request("The Tweet text exceeds the maximum of 280 characters."),
            rate,
        );
    }
    let Caller::User(author_id) = caller else {
        return with_rate(invalid_request("A user context is required to post."), rate);
    };
    let id = em.next_id().to_string();
    let mut state = em.state();
    let x = &mut state.x;
    let mut parent = None;
    if let Some(reply) = &req.reply {
        match x.tweet(&reply.in_reply_to_tweet_id) {
            Some(t) if !t.deleted => parent = Some(t.clone()),
            _ => {
                return with_rate(
                    problem(
                        StatusCode::FORBIDDEN,
                        "Forbidden",
                        "You attempted to reply to a Tweet that is deleted or not visible to you.",
                        None,
                    ),
                    rate,
                );
            }
        }
    }
    if !text.trim().is_empty()
        && x.tweets
            .iter()
            .any(|t| !t.deleted && t.author_id == author_id && t.text == text)
    {
        return with_rate(
            problem(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "You are not allowed to create a Tweet with duplicate content.",
                None,
            ),
            rate,
        );
    }
    let media = match x.take_uploads(&author_id, &media_ids, None) {
        Ok(keys) => keys,
        Err(why) => return with_rate(invalid_request(&why), rate),
    };
    let tweet = Tweet {
        id: id.clone(),
        author_id,
        text: text.clone(),
        media: media.clone(),
        conversation_id: parent
            .as_ref()
            .map(|p| p.conversation_id.clone())
            .unwrap_or_else(|| id.clone()),
        in_reply_to_tweet_id: parent.as_ref().map(|p| p.id.clone()),
        in_reply_to_user_id: parent.as_ref().map(|p| p.author_id.clone()),
        retweet_of: None,
        lang: "en".into(),
        created_ms: now_ms(),
        deleted: false,
        ..Tweet::default()
    };
    x.tweets.push(tweet);
    drop(state);
    em.record(
        "x",
        "tweet",
        req.reply.as_ref().map(|r| r.in_reply_to_tweet_id.as_str()),
        &id,
        Some(&text),
    );
    super::media::record_media(&em, "tweet_media", &id, &media);
    with_rate(
        (
            StatusCode::CREATED,
            axum::Json(
                json!({ "data": { "id": id, "text": text, "edit_history_tweet_ids": [id] } }),
            ),
        )
            .into_response(),
        rate,
    )
}

pub(super) async fn delete_tweet(
    AxState(em): AxState<Emulator>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let (caller, rate) = match gate(&em, XEndpoint::Delete, &headers, true) {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    let mut state = em.state();
    let x = &mut state.x;
    let Some(index) = x.tweets.iter().position(|t| t.id == id && !t.deleted) else {
        return with_rate(
            problem(
                StatusCode::NOT_FOUND,
                "Not Found Error",
                &format!("Could not find tweet with id: [{id}]."),
                Some("resource-not-found"),
            ),
            rate,
        );
    };
    if let Caller::User(me) = &caller
        && x.tweets[index].author_id != *me
    {
        return with_rate(
            problem(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "You are not allowed to delete this Tweet.",
                None,
            ),
            rate,
        );
    }
    x.tweets[index].deleted = true;
    let tweet = x.tweets[index].clone();
    x.notify_delete(&tweet, now_ms());
    drop(state);
    em.record("x", "delete", None, &id, None);
    with_rate(
        axum::Json(json!({ "data": { "deleted": true } })).into_response(),
        rate,
    )
}

pub(super) async fn send_dm(
    AxState(em): AxState<Emulator>,
    headers: HeaderMap,
    Path(participant): Path<String>,
    body: Bytes,
) -> Response {
    let (caller, rate) = match gate(&em, XEndpoint::DmSend, &headers, true) {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    let body = serde_json::from_slice::<DmBody>(&body).unwrap_or_default();
    let media_ids = body.media_ids();
    let text = body.text.unwrap_or_default();
    if text.trim().is_empty() && media_ids.is_empty() {
        return with_rate(
            invalid_request("A message needs `text` or attachments."),
            rate,
        );
    }
    let Caller::User(me) = caller else {
        return with_rate(invalid_request("A user context is required."), rate);
    };
    let id = em.next_id().to_string();
    let mut state = em.state();
    let x = &mut state.x;
    if !x.users.contains_key(&participant) || participant == me {
        return with_rate(
            problem(
                StatusCode::BAD_REQUEST,
                "Invalid Request",
                &format!("Could not find a conversation participant with id: [{participant}]."),
                Some("invalid-request"),
            ),
            rate,
        );
    }
    let media = match x.take_uploads(&me, &media_ids, Some(&id)) {
        Ok(keys) => keys,
        Err(why) => return with_rate(invalid_request(&why), rate),
    };
    let dm = Dm {
        id: id.clone(),
        conversation_id: dm_conversation_id(&me, &participant),
        sender_id: me,
        recipient_id: participant.clone(),
        text: text.clone(),
        created_ms: now_ms(),
        media: media.clone(),
        ..Dm::default()
    };
    let conversation = dm.conversation_id.clone();
    x.dms.push(dm);
    drop(state);
    em.record("x", "dm", Some(&participant), &id, Some(&text));
    super::media::record_media(&em, "dm_media", &id, &media);
    with_rate(
        (
            StatusCode::CREATED,
            axum::Json(
                json!({ "data": { "dm_conversation_id": conversation, "dm_event_id": id } }),
            ),
        )
            .into_response(),
        rate,
    )
}
