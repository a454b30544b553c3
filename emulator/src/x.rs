//! X (API v2): recent search, mentions, user lookup, direct messages, posting and deleting
//! tweets, with per-endpoint rate limits (`x-rate-limit-*` headers, 429 until the reset),
//! RFC 7807 error bodies and bearer-token checks; Account Activity webhooks (CRC handshake,
//! `x-twitter-webhooks-signature`). The control endpoints that play the customers' side
//! are in [`control`]; photos, videos, GIFs, links and quoted tweets, downloads in [`media`],
//! the media upload in [`upload`]; tweet and user lookups and customers deleting tweets or their
//! account in [`compliance`].

mod api;
mod compliance;
mod control;
mod faults;
mod limits;
mod media;
pub(super) mod query;
mod stream;
#[cfg(test)]
mod tests;
mod timeline;
mod upload;
mod webhook;

use std::collections::{BTreeMap, HashMap};

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Emulator;
pub use webhook::x_signature;

/// One account of the business on the emulated X.
#[derive(Clone, Debug)]
pub struct XAccount {
    /// The handle, without `@`.
    pub handle: String,
    /// Its numeric user id.
    pub user_id: String,
    /// The user access token calls made as this account carry.
    pub token: String,
}

/// The emulated X app and the business's accounts.
#[derive(Clone, Debug, Default)]
pub struct XConfig {
    /// The business's accounts.
    pub accounts: Vec<XAccount>,
    /// The app's consumer secret: signs Account Activity webhooks and the CRC answer.
    pub consumer_secret: String,
    /// The app-only bearer token, when calls may use one.
    pub bearer_token: Option<String>,
}

/// An endpoint family with its own rate-limit window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum XEndpoint {
    /// `GET /2/tweets/search/recent`
    Search,
    /// `GET /2/users/:id/mentions`
    Mentions,
    /// `GET /2/users/:id/tweets`
    UserTweets,
    /// `GET /2/users/by/username/:name`
    Users,
    /// `GET /2/users/me`
    UsersMe,
    /// `GET /2/dm_events`
    DmRead,
    /// `POST /2/dm_conversations/with/:id/messages`
    DmSend,
    /// `POST /2/tweets`
    Post,
    /// `DELETE /2/tweets/:id`
    Delete,
    /// `GET|POST /2/tweets/search/stream/rules`
    StreamRules,
    /// `GET /2/tweets/search/stream` (connections)
    Stream,
    /// `GET /2/tweets?ids=`
    TweetLookup,
    /// `GET /2/users?ids=`
    UserLookup,
    /// `POST /2/media/upload`
    MediaUpload,
    /// `GET /2/dm_conversations/media/:dm_id/:media_id/:resource_id`
    DmMedia,
}

/// One API call, as listed by `GET /_emulator/x/requests`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct XRequestLog {
    /// The endpoint family.
    pub endpoint: XEndpoint,
    /// Unix milliseconds.
    pub at_ms: i64,
    /// HTTP status of the answer when decided at the gate (401, 403, 429), else 200.
    pub status: u16,
    /// Unix seconds when the rate-limit window of this call resets (past the token check).
    pub reset: Option<i64>,
    /// Calls left in that window after this one (past the token check).
    pub remaining: Option<u32>,
}

#[derive(Clone, Debug, Default)]
pub(super) struct User {
    pub(super) id: String,
    pub(super) username: String,
    pub(super) name: String,
    pub(super) followers: u64,
    /// The account was deleted: it and everything it wrote are gone from the API.
    pub(super) deleted: bool,
}

#[derive(Clone, Debug, Default)]
pub(super) struct Tweet {
    pub(super) id: String,
    pub(super) author_id: String,
    pub(super) text: String,
    pub(super) conversation_id: String,
    pub(super) in_reply_to_tweet_id: Option<String>,
    pub(super) in_reply_to_user_id: Option<String>,
    pub(super) retweet_of: Option<String>,
    pub(super) lang: String,
    pub(super) created_ms: i64,
    pub(super) deleted: bool,
    /// Keys of its photos, video or GIF (see [`media`]).
    pub(super) media: Vec<String>,
    /// The links of its text (media and quote links included), as `entities.urls`.
    pub(super) links: Vec<media::Link>,
    /// The tweet it quotes.
    pub(super) quote_of: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub(super) struct Dm {
    pub(super) id: String,
    pub(super) conversation_id: String,
    pub(super) sender_id: String,
    pub(super) recipient_id: String,
    pub(super) text: String,
    pub(super) created_ms: i64,
    /// Keys of its media (one on the platform).
    pub(super) media: Vec<String>,
    /// The links of its text.
    pub(super) links: Vec<media::Link>,
    /// A tweet shared in it.
    pub(super) shared_tweet: Option<String>,
}

/// Everything X holds.
#[derive(Default)]
pub(super) struct XState {
    config: XConfig,
    users: BTreeMap<String, User>,
    tweets: Vec<Tweet>,
    dms: Vec<Dm>,
    limits: HashMap<XEndpoint, limits::Limit>,
    windows: HashMap<(XEndpoint, String), limits::Window>,
    requests: Vec<XRequestLog>,
    subscribers: Vec<webhook::XSubscriber>,
    stream: stream::StreamState,
    /// Injected failures and partial errors, group conversations.
    faults: faults::Faults,
    /// Photos, videos and GIFs by media key: the customers' and the business's uploads.
    media: BTreeMap<String, media::MediaItem>,
    /// `http://host:port` the emulator is reached at (from the last request's `Host`),
    /// for the media URLs it hands out.
    origin: String,
}

impl XState {
    pub(super) fn configure(&mut self, config: XConfig) {
        for account in &config.accounts {
            self.users.insert(
                account.user_id.clone(),
                User {
                    id: account.user_id.clone(),
                    username: account.handle.trim_start_matches('@').to_string(),
                    name: account.handle.trim_start_matches('@').to_string(),
                    followers: 1000,
                    deleted: false,
                },
            );
        }
        self.config = config;
    }

    pub(super) fn user_by_handle(&self, handle: &str) -> Option<&User> {
        let handle = handle.trim().trim_start_matches('@');
        self.users
            .values()
            .find(|u| !u.deleted && u.username.eq_ignore_ascii_case(handle))
    }

    pub(super) fn tweet(&self, id: &str) -> Option<&Tweet> {
        self.tweets.iter().find(|t| t.id == id)
    }

    fn account_ids(&self) -> Vec<String> {
        self.config
            .accounts
            .iter()
            .map(|a| a.user_id.clone())
            .collect()
    }

    fn user_json(&self, id: &str) -> Option<Value> {
        let u = self.users.get(id).filter(|u| !u.deleted)?;
        Some(json!({
            "id": u.id, "name": u.name, "username": u.username,
            "public_metrics": { "followers_count": u.followers, "following_count": 10, "tweet_count": 100, "listed_count": 0 },
        }))
    }

    fn tweet_json(&self, t: &Tweet) -> Value {
        let mut v = json!({
            "id": t.id,
            "text": t.text,
            "author_id": t.author_id,
            "conversation_id": t.conversation_id,
            "created_at": iso_time(t.created_ms),
            "lang": t.lang,
            "edit_history_tweet_ids": [t.id],
        });
        let mut refs = Vec::new();
        if let Some(parent) = &t.in_reply_to_tweet_id {
            refs.push(json!({ "type": "replied_to", "id": parent }));
        }
        if let Some(rt) = &t.retweet_of {
            refs.push(json!({ "type": "retweeted", "id": rt }));
        }
        if let Some(q) = &t.quote_of {
            refs.push(json!({ "type": "quoted", "id": q }));
        }
        if !t.media.is_empty() {
            v["attachments"] = json!({ "media_keys": t.media });
        }
        if !t.links.is_empty() {
            v["entities"] =
                json!({ "urls": t.links.iter().map(media::Link::v2).collect::<Vec<_>>() });
        }
        if !refs.is_empty() {
            v["referenced_tweets"] = Value::Array(refs);
        }
        if let Some(to) = &t.in_reply_to_user_id {
            v["in_reply_to_user_id"] = json!(to);
        }
        v
    }

    /// A page of tweets, newest first, the X way: `data`, `includes.users`, `meta`.
    fn page(&self, found: &[&Tweet], next_token: Option<String>) -> Value {
        let mut meta = json!({ "result_count": found.len() });
        if let (Some(first), Some(last)) = (found.first(), found.last()) {
            meta["newest_id"] = json!(first.id);
            meta["oldest_id"] = json!(last.id);
        }
        if let Some(t) = next_token {
            meta["next_token"] = json!(t);
        }
        if found.is_empty() {
            return json!({ "meta": meta });
        }
        let mut author_ids: Vec<&str> = found.iter().map(|t| t.author_id.as_str()).collect();
        author_ids.sort();
        author_ids.dedup();
        let mut includes = json!({ "users": author_ids.iter().filter_map(|id| self.user_json(id)).collect::<Vec<_>>() });
        self.add_includes(&mut includes, found.iter().copied());
        json!({
            "data": found.iter().map(|t| self.tweet_json(t)).collect::<Vec<_>>(),
            "includes": includes,
            "meta": meta,
        })
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// `2024-01-15T12:03:00.000Z`
pub(super) fn iso_time(ms: i64) -> String {
    let base = super::graph::graph_time(ms.div_euclid(1000));
    format!("{}.{:03}Z", &base[..19], ms.rem_euclid(1000))
}

/// An RFC 7807 problem, as X answers errors.
pub(super) fn problem(
    status: StatusCode,
    title: &str,
    detail: &str,
    kind: Option<&str>,
) -> Response {
    let kind = kind
        .map(|k| format!("https://api.twitter.com/2/problems/{k}"))
        .unwrap_or_else(|| "about:blank".into());
    let body = json!({ "title": title, "detail": detail, "type": kind, "status": status.as_u16() });
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

fn invalid_request(detail: &str) -> Response {
    problem(
        StatusCode::BAD_REQUEST,
        "Invalid Request",
        &format!("One or more parameters to your request was invalid. {detail}"),
        Some("invalid-request"),
    )
}

/// The X API routes and the `/_emulator/x/...` control routes.
pub(super) fn routes() -> Router<Emulator> {
    Router::new()
        .route("/2/tweets/search/recent", get(api::search_recent))
        .route("/2/users/by/username/{name}", get(api::user_by_name))
        .route("/2/users/me", get(api::users_me))
        .route("/2/users/{id}/mentions", get(api::mentions))
        .route("/2/users/{id}/tweets", get(timeline::user_tweets))
        .route("/2/dm_events", get(api::dm_events))
        .route(
            "/2/tweets",
            get(compliance::tweets_lookup).post(api::create_tweet),
        )
        .route("/2/users", get(compliance::users_lookup))
        .route("/2/tweets/{id}", delete(api::delete_tweet))
        .route(
            "/2/dm_conversations/with/{participant}/messages",
            post(api::send_dm),
        )
        .merge(control::control_routes())
        .merge(faults::routes())
        .merge(stream::routes())
        .merge(media::routes())
        .merge(upload::routes())
        .merge(compliance::routes())
}
