//! X (API v2): recent search, mentions, user lookup, direct messages, posting and deleting
//! tweets, with per-endpoint rate limits (`x-rate-limit-*` headers, 429 until the reset),
//! RFC 7807 error bodies and bearer-token checks; Account Activity webhooks (CRC handshake,
//! `x-twitter-webhooks-signature`). The control endpoints that play the customers' side
//! are in [`control`].

mod control;
mod stream;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use anyhow::{Context, bail};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::Emulator;

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
    /// `GET /2/users/by/username/:name`
    Users,
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
}

impl XEndpoint {
    /// The real platform's limit per 15-minute window.
    fn default_limit(self) -> u32 {
        match self {
            XEndpoint::Search | XEndpoint::Mentions => 450,
            XEndpoint::Users => 300,
            XEndpoint::DmRead | XEndpoint::DmSend => 15,
            XEndpoint::Post => 100,
            XEndpoint::Delete => 50,
            XEndpoint::StreamRules => 450,
            XEndpoint::Stream => 50,
        }
    }
}

/// Default window length (15 minutes).
const WINDOW_S: i64 = 900;

#[derive(Clone, Copy, Debug)]
struct Limit {
    limit: u32,
    window_s: i64,
}

#[derive(Clone, Copy, Debug)]
struct Window {
    /// Unix seconds when the window resets.
    reset: i64,
    used: u32,
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

#[derive(Clone, Debug)]
pub(super) struct User {
    pub(super) id: String,
    pub(super) username: String,
    pub(super) name: String,
    pub(super) followers: u64,
}

#[derive(Clone, Debug)]
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
}

#[derive(Clone, Debug)]
pub(super) struct Dm {
    pub(super) id: String,
    pub(super) conversation_id: String,
    pub(super) sender_id: String,
    pub(super) recipient_id: String,
    pub(super) text: String,
    pub(super) created_ms: i64,
}

/// An Account Activity subscriber.
struct XSubscriber {
    callback_url: String,
    tx: mpsc::UnboundedSender<Value>,
}

/// Everything X holds.
#[derive(Default)]
pub(super) struct XState {
    config: XConfig,
    users: BTreeMap<String, User>,
    tweets: Vec<Tweet>,
    dms: Vec<Dm>,
    limits: HashMap<XEndpoint, Limit>,
    windows: HashMap<(XEndpoint, String), Window>,
    requests: Vec<XRequestLog>,
    subscribers: Vec<XSubscriber>,
    stream: stream::StreamState,
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
                },
            );
        }
        self.config = config;
    }

    pub(super) fn user_by_handle(&self, handle: &str) -> Option<&User> {
        let handle = handle.trim().trim_start_matches('@');
        self.users
            .values()
            .find(|u| u.username.eq_ignore_ascii_case(handle))
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

    /// Queues an Account Activity payload for every subscriber.
    pub(super) fn notify(&self, payload: Value) {
        for s in &self.subscribers {
            if s.tx.send(payload.clone()).is_err() {
                tracing::warn!(callback = %s.callback_url, "x webhook worker is gone; delivery dropped");
            }
        }
    }

    /// Account Activity payloads for a new customer tweet: one per account it mentions
    /// or answers.
    pub(super) fn notify_tweet(&self, tweet: &Tweet) {
        let lower = tweet.text.to_lowercase();
        for id in self.account_ids() {
            let Some(user) = self.users.get(&id) else {
                continue;
            };
            let mentioned = lower.contains(&format!("@{}", user.username.to_lowercase()));
            let answered = tweet.in_reply_to_user_id.as_deref() == Some(id.as_str());
            if tweet.author_id != id && (mentioned || answered) {
                self.notify(json!({
                    "for_user_id": id,
                    "tweet_create_events": [self.v1_tweet(tweet)],
                }));
            }
        }
    }

    fn v1_user(&self, id: &str) -> Value {
        match self.users.get(id) {
            Some(u) => json!({
                "id": u.id.parse::<u64>().unwrap_or(0), "id_str": u.id, "name": u.name,
                "screen_name": u.username, "followers_count": u.followers,
            }),
            None => json!({ "id_str": id }),
        }
    }

    /// The v1.1 shape Account Activity webhooks carry.
    fn v1_tweet(&self, t: &Tweet) -> Value {
        let mut v = json!({
            "created_at": v1_time(t.created_ms),
            "id": t.id.parse::<u64>().unwrap_or(0),
            "id_str": t.id,
            "text": t.text,
            "lang": t.lang,
            "timestamp_ms": t.created_ms.to_string(),
            "in_reply_to_status_id_str": t.in_reply_to_tweet_id,
            "in_reply_to_user_id_str": t.in_reply_to_user_id,
            "user": self.v1_user(&t.author_id),
        });
        if let Some(rt) = t.retweet_of.as_deref().and_then(|id| self.tweet(id)) {
            v["retweeted_status"] = json!({ "id_str": rt.id, "text": rt.text });
        }
        v
    }

    pub(super) fn notify_dm(&self, dm: &Dm) {
        for id in self.account_ids() {
            if dm.sender_id != id && dm.recipient_id != id {
                continue;
            }
            let mut users = serde_json::Map::new();
            for uid in [&dm.sender_id, &dm.recipient_id] {
                if let Some(u) = self.users.get(uid.as_str()) {
                    users.insert(
                        uid.clone(),
                        json!({ "id": u.id, "name": u.name, "screen_name": u.username, "followers_count": u.followers }),
                    );
                }
            }
            self.notify(json!({
                "for_user_id": id,
                "direct_message_events": [{
                    "type": "message_create",
                    "id": dm.id,
                    "created_timestamp": dm.created_ms.to_string(),
                    "message_create": {
                        "target": { "recipient_id": dm.recipient_id },
                        "sender_id": dm.sender_id,
                        "message_data": { "text": dm.text, "entities": {} },
                    },
                }],
                "users": users,
            }));
        }
    }

    /// The tweet-delete compliance event, to every subscriber.
    pub(super) fn notify_delete(&self, tweet: &Tweet, at_ms: i64) {
        let for_user = self.account_ids().into_iter().next().unwrap_or_default();
        self.notify(json!({
            "for_user_id": for_user,
            "tweet_delete_events": [{
                "status": { "id": tweet.id, "user_id": tweet.author_id },
                "timestamp_ms": at_ms.to_string(),
            }],
        }));
    }

    fn user_json(&self, id: &str) -> Option<Value> {
        let u = self.users.get(id)?;
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
        json!({
            "data": found.iter().map(|t| self.tweet_json(t)).collect::<Vec<_>>(),
            "includes": { "users": author_ids.iter().filter_map(|id| self.user_json(id)).collect::<Vec<_>>() },
            "meta": meta,
        })
    }
}

impl Emulator {
    /// Registers an Account Activity webhook for every account: sends the CRC
    /// (`GET ?crc_token=`) first and errors unless the answer carries the right
    /// `response_token`. Subscribing the same URL again replaces the old subscription.
    pub async fn subscribe_x(&self, callback_url: &str) -> anyhow::Result<()> {
        let secret = self.state().x.config.consumer_secret.clone();
        let token = format!("crc{}", rand::random::<u64>());
        let response = self
            .inner
            .http
            .get(callback_url)
            .query(&[("crc_token", token.as_str())])
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .with_context(|| format!("CRC request to {callback_url} failed"))?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if status != reqwest::StatusCode::OK {
            bail!("callback {callback_url} answered the CRC with {status}: {body:.200}");
        }
        let expected = x_signature(&secret, token.as_bytes());
        let answered: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        if answered["response_token"].as_str() != Some(expected.as_str()) {
            bail!("callback {callback_url} gave a wrong CRC response_token: {body:.200}");
        }
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(delivery_worker(
            self.inner.http.clone(),
            callback_url.to_string(),
            secret,
            rx,
        ));
        let mut state = self.state();
        state
            .x
            .subscribers
            .retain(|s| s.callback_url != callback_url);
        state.x.subscribers.push(XSubscriber {
            callback_url: callback_url.to_string(),
            tx,
        });
        Ok(())
    }

    /// Sets the rate limit of one endpoint family (calls per window of `window_s` seconds)
    /// and starts its windows afresh.
    pub fn set_x_rate_limit(&self, endpoint: XEndpoint, limit: u32, window_s: u64) {
        let mut state = self.state();
        state.x.limits.insert(
            endpoint,
            Limit {
                limit,
                window_s: window_s.max(1) as i64,
            },
        );
        state.x.windows.retain(|(e, _), _| *e != endpoint);
    }

    /// Every X API call so far, in order.
    pub fn x_requests(&self) -> Vec<XRequestLog> {
        self.state().x.requests.clone()
    }
}

async fn delivery_worker(
    http: reqwest::Client,
    callback_url: String,
    secret: String,
    mut rx: mpsc::UnboundedReceiver<Value>,
) {
    while let Some(payload) = rx.recv().await {
        let body = serde_json::to_vec(&payload).expect("serializing a JSON value");
        let signature = x_signature(&secret, &body);
        for attempt in 0..4u32 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(200 * 5u64.pow(attempt - 1))).await;
            }
            let result = http
                .post(&callback_url)
                .header(header::CONTENT_TYPE, "application/json")
                .header("x-twitter-webhooks-signature", &signature)
                .body(body.clone())
                .send()
                .await;
            match result {
                Ok(r) if r.status().is_success() => break,
                Ok(r) => {
                    tracing::warn!(callback = %callback_url, status = %r.status(), "x webhook delivery failed")
                }
                Err(e) => {
                    tracing::warn!(callback = %callback_url, error = %e, "x webhook delivery failed")
                }
            }
        }
    }
}

/// Standard base64 with padding.
pub(super) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(chunk.get(1).copied().unwrap_or(0)) << 8)
            | u32::from(chunk.get(2).copied().unwrap_or(0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `sha256=<base64 HMAC-SHA256(consumer secret, data)>`: the CRC answer and the
/// `x-twitter-webhooks-signature` header.
pub fn x_signature(consumer_secret: &str, data: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(consumer_secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(data);
    format!("sha256={}", base64(&mac.finalize().into_bytes()))
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

/// `Mon Jan 15 12:03:00 +0000 2024`, the v1.1 time format.
fn v1_time(ms: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let iso = iso_time(ms);
    let month: usize = iso[5..7].parse().unwrap_or(1);
    let day = DAYS[ms.div_euclid(86_400_000).rem_euclid(7) as usize];
    format!(
        "{day} {} {} {} +0000 {}",
        MONTHS[month - 1],
        &iso[8..10],
        &iso[11..19],
        &iso[0..4]
    )
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

/// Who is calling.
#[derive(Clone, Debug)]
enum Caller {
    /// A user access token of one of the accounts.
    User(String),
    /// The app-only bearer token (or any token when none is configured).
    App,
}

/// The rate-limit headers of one answer.
#[derive(Clone, Copy)]
struct Rate {
    limit: u32,
    remaining: u32,
    reset: i64,
}

fn with_rate(mut response: Response, rate: Rate) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-rate-limit-limit", rate.limit.to_string()),
        ("x-rate-limit-remaining", rate.remaining.to_string()),
        ("x-rate-limit-reset", rate.reset.to_string()),
    ] {
        headers.insert(name, HeaderValue::from_str(&value).expect("digits"));
    }
    response
}

/// Authenticates and counts one call of `endpoint`; `user_only` endpoints refuse the
/// app-only token. Answers 401 / 403 / 429 itself.
#[allow(clippy::result_large_err)]
fn gate(
    em: &Emulator,
    endpoint: XEndpoint,
    headers: &HeaderMap,
    user_only: bool,
) -> Result<(Caller, Rate), Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    let mut state = em.state();
    let x = &mut state.x;
    let at_ms = now_ms();
    let no_tokens =
        x.config.bearer_token.is_none() && x.config.accounts.iter().all(|a| a.token.is_empty());
    let caller = match &token {
        None => None,
        Some(t) => x
            .config
            .accounts
            .iter()
            .find(|a| !a.token.is_empty() && a.token == *t)
            .map(|a| Caller::User(a.user_id.clone()))
            .or_else(|| {
                (no_tokens || x.config.bearer_token.as_deref() == Some(t.as_str()))
                    .then_some(Caller::App)
            }),
    };
    let Some(caller) = caller else {
        x.requests.push(XRequestLog {
            endpoint,
            at_ms,
            status: 401,
            reset: None,
            remaining: None,
        });
        return Err(problem(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Unauthorized",
            None,
        ));
    };
    if user_only && matches!(caller, Caller::App) && !no_tokens {
        x.requests.push(XRequestLog {
            endpoint,
            at_ms,
            status: 403,
            reset: None,
            remaining: None,
        });
        return Err(problem(
            StatusCode::FORBIDDEN,
            "Unsupported Authentication",
            "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context].",
            Some("unsupported-authentication"),
        ));
    }
    let limit = x.limits.get(&endpoint).copied().unwrap_or(Limit {
        limit: endpoint.default_limit(),
        window_s: WINDOW_S,
    });
    let now_s = at_ms.div_euclid(1000);
    let window = x
        .windows
        .entry((endpoint, token.unwrap_or_default()))
        .or_insert(Window {
            reset: now_s + limit.window_s,
            used: 0,
        });
    if now_s >= window.reset {
        *window = Window {
            reset: now_s + limit.window_s,
            used: 0,
        };
    }
    if window.used >= limit.limit {
        let rate = Rate {
            limit: limit.limit,
            remaining: 0,
            reset: window.reset,
        };
        x.requests.push(XRequestLog {
            endpoint,
            at_ms,
            status: 429,
            reset: Some(window.reset),
            remaining: Some(0),
        });
        return Err(with_rate(
            problem(
                StatusCode::TOO_MANY_REQUESTS,
                "Too Many Requests",
                "Too Many Requests",
                None,
            ),
            rate,
        ));
    }
    window.used += 1;
    let rate = Rate {
        limit: limit.limit,
        remaining: limit.limit - window.used,
        reset: window.reset,
    };
    x.requests.push(XRequestLog {
        endpoint,
        at_ms,
        status: 200,
        reset: Some(rate.reset),
        remaining: Some(rate.remaining),
    });
    Ok((caller, rate))
}

/// The X API routes and the `/_emulator/x/...` control routes.
pub(super) fn routes() -> Router<Emulator> {
    Router::new()
        .route("/2/tweets/search/recent", get(search_recent))
        .route("/2/users/by/username/{name}", get(user_by_name))
        .route("/2/users/{id}/mentions", get(mentions))
        .route("/2/dm_events", get(dm_events))
        .route("/2/tweets", post(create_tweet))
        .route("/2/tweets/{id}", delete(delete_tweet))
        .route(
            "/2/dm_conversations/with/{participant}/messages",
            post(send_dm),
        )
        .merge(control::control_routes())
        .merge(stream::routes())
}

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

async fn search_recent(
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
    with_rate(axum::Json(x.page(&found, next)).into_response(), rate)
}

async fn mentions(
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
    with_rate(axum::Json(x.page(&found, next)).into_response(), rate)
}

async fn user_by_name(
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

async fn dm_events(
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
            me.as_ref()
                .is_none_or(|me| d.sender_id == *me || d.recipient_id == *me)
        })
        .collect();
    found.sort_by(|a, b| (b.id.len(), &b.id).cmp(&(a.id.len(), &a.id)));
    found.truncate(max);
    let mut meta = json!({ "result_count": found.len() });
    if let (Some(first), Some(last)) = (found.first(), found.last()) {
        meta["newest_id"] = json!(first.id);
        meta["oldest_id"] = json!(last.id);
    }
    if found.is_empty() {
        return with_rate(axum::Json(json!({ "meta": meta })).into_response(), rate);
    }
    let mut senders: Vec<&str> = found.iter().map(|d| d.sender_id.as_str()).collect();
    senders.sort();
    senders.dedup();
    let body = json!({
        "data": found.iter().map(|d| json!({
            "id": d.id, "event_type": "MessageCreate", "text": d.text, "sender_id": d.sender_id,
            "dm_conversation_id": d.conversation_id, "created_at": iso_time(d.created_ms),
        })).collect::<Vec<_>>(),
        "includes": { "users": senders.iter().filter_map(|id| x.user_json(id)).collect::<Vec<_>>() },
        "meta": meta,
    });
    with_rate(axum::Json(body).into_response(), rate)
}

#[derive(Deserialize)]
struct CreateTweet {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    reply: Option<ReplyTo>,
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

async fn create_tweet(AxState(em): AxState<Emulator>, headers: HeaderMap, body: Bytes) -> Response {
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
    if text.trim().is_empty() {
        return with_rate(invalid_request("Tweet text is required."), rate);
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
    if x.tweets
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
    let tweet = Tweet {
        id: id.clone(),
        author_id,
        text: text.clone(),
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

async fn delete_tweet(
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

#[derive(Deserialize)]
struct SendDm {
    #[serde(default)]
    text: Option<String>,
}

async fn send_dm(
    AxState(em): AxState<Emulator>,
    headers: HeaderMap,
    Path(participant): Path<String>,
    body: Bytes,
) -> Response {
    let (caller, rate) = match gate(&em, XEndpoint::DmSend, &headers, true) {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    let text = serde_json::from_slice::<SendDm>(&body)
        .ok()
        .and_then(|b| b.text)
        .unwrap_or_default();
    if text.trim().is_empty() {
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
    let dm = Dm {
        id: id.clone(),
        conversation_id: dm_conversation_id(&me, &participant),
        sender_id: me,
        recipient_id: participant.clone(),
        text: text.clone(),
        created_ms: now_ms(),
    };
    let conversation = dm.conversation_id.clone();
    x.dms.push(dm);
    drop(state);
    em.record("x", "dm", Some(&participant), &id, Some(&text));
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

/// The recent-search query language, as much of it as connectors use: terms, `"phrases"`,
/// `@handle`, `from:`, `to:`, `lang:`, `is:retweet`, `is:reply`, `conversation_id:`,
/// negation with `-`, `OR`, parentheses; AND (a space) binds tighter than OR.
pub(super) mod query {
    use std::collections::BTreeMap;

    use super::{Tweet, User};

    #[derive(Debug, PartialEq)]
    pub(crate) enum Node {
        Or(Vec<Node>),
        And(Vec<Node>),
        Not(Box<Node>),
        Word(String),
        Mention(String),
        From(String),
        To(String),
        Lang(String),
        Conversation(String),
        IsRetweet,
        IsReply,
    }

    #[derive(Debug, PartialEq)]
    enum Tok {
        Open,
        Close,
        Or,
        Minus,
        Term(String, bool),
    }

    fn tokens(q: &str) -> Result<Vec<Tok>, String> {
        let mut out = Vec::new();
        let mut chars = q.chars().peekable();
        while let Some(&c) = chars.peek() {
            match c {
                c if c.is_whitespace() => {
                    chars.next();
                }
                '(' => {
                    chars.next();
                    out.push(Tok::Open);
                }
                ')' => {
                    chars.next();
                    out.push(Tok::Close);
                }
                '-' => {
                    chars.next();
                    out.push(Tok::Minus);
                }
                '"' => {
                    chars.next();
                    let mut s = String::new();
                    loop {
                        match chars.next() {
                            Some('"') => break,
                            Some(c) => s.push(c),
                            None => return Err("unterminated quoted phrase".into()),
                        }
                    }
                    out.push(Tok::Term(s, true));
                }
                _ => {
                    let mut s = String::new();
                    while let Some(&c) = chars.peek() {
                        if c.is_whitespace() || c == '(' || c == ')' || c == '"' {
                            break;
                        }
                        s.push(c);
                        chars.next();
                    }
                    if s == "OR" {
                        out.push(Tok::Or);
                    } else {
                        out.push(Tok::Term(s, false));
                    }
                }
            }
        }
        Ok(out)
    }

    struct Parser {
        toks: Vec<Tok>,
        pos: usize,
    }

    impl Parser {
        fn peek(&self) -> Option<&Tok> {
            self.toks.get(self.pos)
        }

        fn or(&mut self) -> Result<Node, String> {
            let mut parts = vec![self.and()?];
            while self.peek() == Some(&Tok::Or) {
                self.pos += 1;
                parts.push(self.and()?);
            }
            Ok(if parts.len() == 1 {
                parts.remove(0)
            } else {
                Node::Or(parts)
            })
        }

        fn and(&mut self) -> Result<Node, String> {
            let mut parts = Vec::new();
            while !matches!(self.peek(), None | Some(Tok::Close) | Some(Tok::Or)) {
                parts.push(self.unary()?);
            }
            match parts.len() {
                0 => Err("a query clause is empty".into()),
                1 => Ok(parts.remove(0)),
                _ => Ok(Node::And(parts)),
            }
        }

        fn unary(&mut self) -> Result<Node, String> {
            if self.peek() == Some(&Tok::Minus) {
                self.pos += 1;
                return Ok(Node::Not(Box::new(self.atom()?)));
            }
            self.atom()
        }

        fn atom(&mut self) -> Result<Node, String> {
            let tok = self.toks.get(self.pos).ok_or("the query ends too early")?;
            self.pos += 1;
            match tok {
                Tok::Open => {
                    let inner = self.or()?;
                    if self.peek() != Some(&Tok::Close) {
                        return Err("unbalanced parentheses".into());
                    }
                    self.pos += 1;
                    Ok(inner)
                }
                Tok::Term(s, true) => Ok(Node::Word(s.to_lowercase())),
                Tok::Term(s, false) => term(s),
                Tok::Close => Err("unbalanced parentheses".into()),
                Tok::Or => Err("OR needs a clause on each side".into()),
                Tok::Minus => Err("a lone `-`".into()),
            }
        }
    }

    fn term(s: &str) -> Result<Node, String> {
        let lower = s.to_lowercase();
        if let Some(h) = lower.strip_prefix('@') {
            return Ok(Node::Mention(h.to_string()));
        }
        if let Some((op, value)) = lower.split_once(':') {
            return Ok(match (op, value) {
                ("from", v) => Node::From(v.trim_start_matches('@').to_string()),
                ("to", v) => Node::To(v.trim_start_matches('@').to_string()),
                ("lang", v) => Node::Lang(v.to_string()),
                ("conversation_id", v) => Node::Conversation(v.to_string()),
                ("is", "retweet") => Node::IsRetweet,
                ("is", "reply") => Node::IsReply,
                _ => return Err(format!("Reference to invalid operator '{op}:{value}'")),
            });
        }
        Ok(Node::Word(lower))
    }

    /// Parses a query.
    pub(crate) fn parse(q: &str) -> Result<Node, String> {
        let mut parser = Parser {
            toks: tokens(q)?,
            pos: 0,
        };
        let node = parser.or()?;
        if parser.pos != parser.toks.len() {
            return Err("unbalanced parentheses".into());
        }
        if matches!(node, Node::Not(_)) {
            return Err("a query cannot only exclude".into());
        }
        Ok(node)
    }

    /// True when `tweet` matches `node`.
    pub(crate) fn matches(node: &Node, tweet: &Tweet, users: &BTreeMap<String, User>) -> bool {
        let username = |id: &str| users.get(id).map(|u| u.username.to_lowercase());
        match node {
            Node::Or(parts) => parts.iter().any(|p| matches(p, tweet, users)),
            Node::And(parts) => parts.iter().all(|p| matches(p, tweet, users)),
            Node::Not(inner) => !matches(inner, tweet, users),
            Node::Word(w) => tweet.text.to_lowercase().contains(w.as_str()),
            Node::Mention(h) => {
                tweet.text.to_lowercase().contains(&format!("@{h}"))
                    || tweet
                        .in_reply_to_user_id
                        .as_deref()
                        .and_then(username)
                        .is_some_and(|u| u == *h)
            }
            Node::From(h) => username(&tweet.author_id).is_some_and(|u| u == *h),
            Node::To(h) => tweet
                .in_reply_to_user_id
                .as_deref()
                .and_then(username)
                .is_some_and(|u| u == *h),
            Node::Lang(l) => tweet.lang.eq_ignore_ascii_case(l),
            Node::Conversation(c) => tweet.conversation_id == *c,
            Node::IsRetweet => tweet.retweet_of.is_some(),
            Node::IsReply => tweet.in_reply_to_tweet_id.is_some(),
        }
    }
}
