//! Control endpoints under `/_emulator/x/`: customers tweet, send direct messages (with
//! photos, videos, GIFs, links, quoted or shared tweets, see [`super::media`]) and delete
//! tweets; tests subscribe the Account Activity webhook, set rate limits, list the API
//! calls made and look at a tweet.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use super::api::dm_conversation_id;
use super::media::{self, LinkSpec, MediaSpec};
use super::{Dm, Tweet, User, XEndpoint, iso_time, now_ms};
use crate::{Emulator, control_error, parse_control};

/// The `/_emulator/x/...` control routes.
pub(super) fn control_routes() -> Router<Emulator> {
    Router::new()
        .route("/_emulator/x/tweets", post(control_tweet))
        .route("/_emulator/x/tweets/{id}", get(control_get_tweet))
        .route("/_emulator/x/dms", post(control_dm))
        .route("/_emulator/x/delete", post(control_delete))
        .route("/_emulator/x/subscriptions", post(control_subscribe))
        .route("/_emulator/x/rate_limits", post(control_rate_limits))
        .route("/_emulator/x/requests", get(control_requests))
}

#[derive(Deserialize)]
struct TweetRequest {
    author_handle: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    in_reply_to: Option<String>,
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    retweet_of: Option<String>,
    #[serde(default)]
    author_name: Option<String>,
    #[serde(default)]
    followers: Option<u64>,
    #[serde(default)]
    quote_of: Option<String>,
    #[serde(default)]
    media: Vec<MediaSpec>,
    #[serde(default)]
    urls: Vec<LinkSpec>,
}

/// The user behind `handle`, created on first sight.
pub(super) fn user_for(
    em: &Emulator,
    handle: &str,
    name: Option<String>,
    followers: Option<u64>,
) -> String {
    let handle = handle.trim().trim_start_matches('@').to_string();
    let fresh_id = em.next_id().to_string();
    let mut state = em.state();
    let x = &mut state.x;
    if let Some(id) = x.user_by_handle(&handle).map(|u| u.id.clone()) {
        let user = x.users.get_mut(&id).expect("just found");
        if let Some(f) = followers {
            user.followers = f;
        }
        if let Some(n) = name {
            user.name = n;
        }
        return id;
    }
    x.users.insert(
        fresh_id.clone(),
        User {
            id: fresh_id.clone(),
            name: name.unwrap_or_else(|| handle.clone()),
            username: handle,
            followers: followers.unwrap_or(100),
            deleted: false,
        },
    );
    fresh_id
}

fn valid_handle(handle: &str) -> bool {
    let h = handle.trim().trim_start_matches('@');
    (1..=15).contains(&h.len()) && h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A customer tweets (optionally replying or retweeting); subscribers of the accounts it
/// mentions or answers get `tweet_create_events`.
async fn control_tweet(
    AxState(em): AxState<Emulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req: TweetRequest = match parse_control(&body) {
        Ok(req) => req,
        Err(response) => return response,
    };
    if !valid_handle(&req.author_handle) {
        return control_error(StatusCode::BAD_REQUEST, "author_handle is not an X handle");
    }
    let author_id = user_for(&em, &req.author_handle, req.author_name, req.followers);
    let id = em.next_id().to_string();
    media::remember_origin(&mut em.state().x, &headers);
    let quoted = match &req.quote_of {
        None => None,
        Some(q) => {
            let state = em.state();
            match state.x.tweet(q).filter(|t| !t.deleted) {
                Some(t) => Some((
                    t.id.clone(),
                    state
                        .x
                        .users
                        .get(&t.author_id)
                        .map(|u| u.username.clone())
                        .unwrap_or_default(),
                )),
                None => return control_error(StatusCode::NOT_FOUND, format!("unknown tweet {q}")),
            }
        }
    };
    let has_extras = !req.media.is_empty() || !req.urls.is_empty() || quoted.is_some();
    let handle = req.author_handle.trim().trim_start_matches('@').to_string();
    let extras = media::customer_extras(
        &em,
        req.text.as_deref().unwrap_or(""),
        &req.urls,
        quoted.as_ref().map(|(id, by)| (id.as_str(), by.as_str())),
        &req.media,
        &format!("https://x.com/{handle}/status/{id}"),
        None,
    );
    let mut state = em.state();
    let x = &mut state.x;
    let parent = match &req.in_reply_to {
        None => None,
        Some(p) => match x.tweet(p) {
            Some(t) if !t.deleted => Some(t.clone()),
            _ => return control_error(StatusCode::NOT_FOUND, format!("unknown tweet {p}")),
        },
    };
    let original = match &req.retweet_of {
        None => None,
        Some(r) => match x.tweet(r) {
            Some(t) if !t.deleted => Some(t.clone()),
            _ => return control_error(StatusCode::NOT_FOUND, format!("unknown tweet {r}")),
        },
    };
    let text = match (&original, req.text.filter(|t| !t.trim().is_empty())) {
        (_, Some(_)) => extras.text.clone(),
        (None, None) if has_extras => extras.text.clone(),
        (Some(o), None) => {
            let by = x
                .users
                .get(&o.author_id)
                .map(|u| u.username.clone())
                .unwrap_or_default();
            format!("RT @{by}: {}", o.text)
        }
        (None, None) => return control_error(StatusCode::BAD_REQUEST, "text is required"),
    };
    let tweet = Tweet {
        id: id.clone(),
        author_id: author_id.clone(),
        text,
        conversation_id: parent
            .as_ref()
            .map(|p| p.conversation_id.clone())
            .unwrap_or_else(|| id.clone()),
        in_reply_to_tweet_id: parent.as_ref().map(|p| p.id.clone()),
        in_reply_to_user_id: parent.as_ref().map(|p| p.author_id.clone()),
        retweet_of: original.map(|o| o.id),
        lang: req.lang.unwrap_or_else(|| "en".into()),
        created_ms: now_ms(),
        deleted: false,
        media: extras.media,
        links: extras.links,
        quote_of: quoted.map(|(id, _)| id),
    };
    x.notify_tweet(&tweet);
    x.stream_tweet(&tweet);
    let conversation_id = tweet.conversation_id.clone();
    x.tweets.push(tweet);
    let media_keys = x.tweets.last().map(|t| t.media.clone()).unwrap_or_default();
    axum::Json(json!({
        "tweet_id": id, "author_id": author_id, "conversation_id": conversation_id,
        "media_keys": media_keys,
    }))
    .into_response()
}

async fn control_get_tweet(AxState(em): AxState<Emulator>, Path(id): Path<String>) -> Response {
    let state = em.state();
    let Some(t) = state.x.tweet(&id) else {
        return control_error(StatusCode::NOT_FOUND, format!("unknown tweet {id}"));
    };
    let author = state.x.users.get(&t.author_id).map(|u| u.username.clone());
    let media_ids: Vec<String> = t
        .media
        .iter()
        .filter_map(|k| state.x.media.get(k).map(|m| m.id.clone()))
        .collect();
    axum::Json(json!({
        "id": t.id, "text": t.text, "author_id": t.author_id, "author_handle": author,
        "conversation_id": t.conversation_id, "in_reply_to": t.in_reply_to_tweet_id,
        "in_reply_to_user_id": t.in_reply_to_user_id, "retweet_of": t.retweet_of,
        "quote_of": t.quote_of, "media_ids": media_ids,
        "lang": t.lang, "created_at": iso_time(t.created_ms), "deleted": t.deleted,
    }))
    .into_response()
}

#[derive(Deserialize)]
struct DmRequest {
    from_handle: String,
    to_handle: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    media: Vec<MediaSpec>,
    #[serde(default)]
    urls: Vec<LinkSpec>,
    /// A tweet the customer shares.
    #[serde(default)]
    shared_tweet: Option<String>,
}

/// A customer sends a direct message to one of the accounts (or anyone).
async fn control_dm(AxState(em): AxState<Emulator>, headers: HeaderMap, body: Bytes) -> Response {
    let req: DmRequest = match parse_control(&body) {
        Ok(req) => req,
        Err(response) => return response,
    };
    if !valid_handle(&req.from_handle) || !valid_handle(&req.to_handle) {
        return control_error(
            StatusCode::BAD_REQUEST,
            "from_handle and to_handle must be X handles",
        );
    }
    if req.text.trim().is_empty()
        && req.media.is_empty()
        && req.urls.is_empty()
        && req.shared_tweet.is_none()
    {
        return control_error(
            StatusCode::BAD_REQUEST,
            "text, media, urls or shared_tweet is required",
        );
    }
    if req.media.len() > 1 {
        return control_error(
            StatusCode::BAD_REQUEST,
            "a direct message carries one media item",
        );
    }
    media::remember_origin(&mut em.state().x, &headers);
    let shared = match &req.shared_tweet {
        None => None,
        Some(t) => {
            let state = em.state();
            match state.x.tweet(t).filter(|t| !t.deleted) {
                Some(t) => Some((
                    t.id.clone(),
                    state
                        .x
                        .users
                        .get(&t.author_id)
                        .map(|u| u.username.clone())
                        .unwrap_or_default(),
                )),
                None => return control_error(StatusCode::NOT_FOUND, format!("unknown tweet {t}")),
            }
        }
    };
    let sender = user_for(&em, &req.from_handle, None, None);
    let recipient = user_for(&em, &req.to_handle, None, None);
    if sender == recipient {
        return control_error(StatusCode::BAD_REQUEST, "one cannot message oneself");
    }
    let id = em.next_id().to_string();
    let extras = media::customer_extras(
        &em,
        &req.text,
        &req.urls,
        shared.as_ref().map(|(id, by)| (id.as_str(), by.as_str())),
        &req.media,
        &format!("https://x.com/messages/media/{id}"),
        Some(&id),
    );
    let dm = Dm {
        id: id.clone(),
        conversation_id: dm_conversation_id(&sender, &recipient),
        sender_id: sender.clone(),
        recipient_id: recipient.clone(),
        text: extras.text,
        created_ms: now_ms(),
        media: extras.media,
        links: extras.links,
        shared_tweet: shared.map(|(id, _)| id),
    };
    let mut state = em.state();
    state.x.notify_dm(&dm);
    let conversation = dm.conversation_id.clone();
    state.x.dms.push(dm);
    let media_keys = state
        .x
        .dms
        .last()
        .map(|d| d.media.clone())
        .unwrap_or_default();
    axum::Json(json!({
        "dm_event_id": id, "dm_conversation_id": conversation,
        "sender_id": sender, "recipient_id": recipient, "media_keys": media_keys,
    }))
    .into_response()
}

#[derive(Deserialize)]
struct DeleteRequest {
    tweet_id: String,
}

/// The author deletes a tweet: it vanishes from the API and Account Activity subscribers
/// get a `tweet_delete_events` compliance event.
async fn control_delete(AxState(em): AxState<Emulator>, body: Bytes) -> Response {
    let req: DeleteRequest = match parse_control(&body) {
        Ok(req) => req,
        Err(response) => return response,
    };
    let mut state = em.state();
    let x = &mut state.x;
    let Some(tweet) = x
        .tweets
        .iter_mut()
        .find(|t| t.id == req.tweet_id && !t.deleted)
    else {
        return control_error(
            StatusCode::NOT_FOUND,
            format!("unknown tweet {}", req.tweet_id),
        );
    };
    tweet.deleted = true;
    let tweet = tweet.clone();
    x.notify_delete(&tweet, now_ms());
    axum::Json(json!({ "tweet_id": tweet.id, "deleted": true })).into_response()
}

#[derive(Deserialize)]
struct SubscribeRequest {
    url: String,
}

/// Registers an Account Activity webhook (after the CRC check).
async fn control_subscribe(AxState(em): AxState<Emulator>, body: Bytes) -> Response {
    let req: SubscribeRequest = match parse_control(&body) {
        Ok(req) => req,
        Err(response) => return response,
    };
    match em.subscribe_x(&req.url).await {
        Ok(()) => axum::Json(json!({ "subscribed": true })).into_response(),
        Err(e) => control_error(StatusCode::BAD_GATEWAY, format!("{e:#}")),
    }
}

#[derive(Deserialize)]
struct RateLimitRequest {
    endpoint: XEndpoint,
    limit: u32,
    #[serde(default = "default_window")]
    window_s: u64,
}

fn default_window() -> u64 {
    900
}

/// Sets one endpoint family's limit and window (and starts its windows afresh).
async fn control_rate_limits(AxState(em): AxState<Emulator>, body: Bytes) -> Response {
    let req: RateLimitRequest = match parse_control(&body) {
        Ok(req) => req,
        Err(response) => return response,
    };
    em.set_x_rate_limit(req.endpoint, req.limit, req.window_s);
    axum::Json(json!({ "endpoint": req.endpoint, "limit": req.limit, "window_s": req.window_s }))
        .into_response()
}

async fn control_requests(AxState(em): AxState<Emulator>) -> Response {
    axum::Json(em.x_requests()).into_response()
}
