//! Calling the X API: bearer tokens, rate-limit bookkeeping (no request before the reset
//! time), RFC 7807 errors, user id lookups.

use serde::Deserialize;
use switchboard_sdk::{Account, ConnectorError, HttpRequest, HttpResponse, clock, http, kv, log};

use crate::Settings;

/// How long to wait after a 429 that says nothing about its reset time.
pub(crate) const DEFAULT_BACKOFF_MS: i64 = 60_000;

/// One rate-limit bucket of the X API (each endpoint has its own window).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Search,
    Mentions,
    DmRead,
    Post,
    Delete,
    DmSend,
    Users,
    /// `GET /2/users/me` (the credentials check).
    Me,
    StreamRules,
    /// `GET /2/tweets?ids=` (the compliance check).
    TweetLookup,
    /// `GET /2/users?ids=` (the compliance check).
    UserLookup,
}

impl Endpoint {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Endpoint::Search => "search",
            Endpoint::Mentions => "mentions",
            Endpoint::DmRead => "dm_read",
            Endpoint::Post => "post",
            Endpoint::Delete => "delete",
            Endpoint::DmSend => "dm_send",
            Endpoint::Users => "users",
            Endpoint::Me => "users_me",
            Endpoint::StreamRules => "stream_rules",
            Endpoint::TweetLookup => "tweet_lookup",
            Endpoint::UserLookup => "user_lookup",
        }
    }

    /// The kv key holding the reset time (unix ms) while the bucket is exhausted.
    pub(crate) fn kv_key(self) -> String {
        format!("rate_limit/{}", self.name())
    }

    /// The kv key holding why the bucket is exhausted (a rate limit, a usage cap), in
    /// the platform's words, so a source skipped until the reset can still say why.
    pub(crate) fn reason_key(self) -> String {
        format!("rate_limit_reason/{}", self.name())
    }
}

/// Why `endpoint` is blocked, as recorded when it was; a plain default otherwise.
pub(crate) fn blocked_reason(endpoint: Endpoint) -> String {
    kv::get_string(&endpoint.reason_key())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "rate limited".into())
}

fn block(endpoint: Endpoint, until: i64, reason: String) {
    kv::set(&endpoint.kv_key(), until.to_string());
    kv::set(&endpoint.reason_key(), reason);
}

/// When (unix ms) `endpoint` may be called again, as recorded from the platform's
/// reset header: a status shows this exact time rather than one re-derived from a
/// relative wait and a later clock reading.
pub(crate) fn blocked_until(endpoint: Endpoint) -> Option<i64> {
    kv::get_string(&endpoint.kv_key())?.trim().parse().ok()
}

/// Milliseconds to wait before `endpoint` may be called again, if it may not be now.
pub(crate) fn blocked_for(endpoint: Endpoint) -> Option<u64> {
    let until: i64 = kv::get_string(&endpoint.kv_key())?.trim().parse().ok()?;
    let now = clock::now_millis();
    if now < until {
        Some((until - now) as u64)
    } else {
        kv::delete(&endpoint.kv_key());
        kv::delete(&endpoint.reason_key());
        None
    }
}

fn header_i64(resp: &HttpResponse, name: &str) -> Option<i64> {
    resp.header(name)?.trim().parse().ok()
}

/// Sends `req` unless `endpoint` is still rate limited; records the reset time when the
/// answer is a 429 or says no calls remain; maps errors.
pub(crate) fn call(endpoint: Endpoint, req: HttpRequest) -> Result<HttpResponse, ConnectorError> {
    if let Some(wait) = blocked_for(endpoint) {
        return Err(ConnectorError::RateLimited(wait));
    }
    let resp = http::fetch(&req).map_err(|e| e.context("X API request failed"))?;
    let now = clock::now_millis();
    let reset_ms = header_i64(&resp, "x-rate-limit-reset").map(|s| s.saturating_mul(1_000));
    let remaining = header_i64(&resp, "x-rate-limit-remaining");
    if resp.status == 429 {
        let until = reset_ms
            .filter(|r| *r > now)
            .unwrap_or(now + DEFAULT_BACKOFF_MS);
        let reason = problem_text(&resp);
        log::warn(format!(
            "x: rate limited on {} until {} ({reason})",
            endpoint.name(),
            switchboard_sdk::time::format_iso8601_millis(until),
        ));
        block(endpoint, until, reason);
        return Err(ConnectorError::RateLimited((until - now) as u64));
    }
    if remaining == Some(0)
        && let Some(until) = reset_ms.filter(|r| *r > now)
    {
        block(
            endpoint,
            until,
            "no calls left in this rate-limit window".into(),
        );
        log::info(format!(
            "x: no {} calls left until {}",
            endpoint.name(),
            switchboard_sdk::time::format_iso8601_millis(until)
        ));
    }
    check(resp)
}

#[derive(Deserialize, Default)]
struct Problem {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct ErrorItem {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    code: Option<i64>,
}

/// The error text of an answer: RFC 7807 `title: detail`, or the first of `errors[]`.
pub(crate) fn problem_text(resp: &HttpResponse) -> String {
    let problem: Problem = resp.json_body().unwrap_or_default();
    let mut parts = Vec::new();
    if let Some(t) = problem.title.filter(|t| !t.is_empty()) {
        parts.push(t);
    }
    if let Some(d) = problem.detail.filter(|d| !d.is_empty())
        && parts.first() != Some(&d)
    {
        parts.push(d);
    }
    if parts.is_empty()
        && let Some(e) = problem.errors.into_iter().next()
    {
        let text = e
            .message
            .or(e.detail)
            .or(e.title)
            .unwrap_or_else(|| "error".into());
        parts.push(match e.code {
            Some(c) => format!("{text} (code {c})"),
            None => text,
        });
    }
    if parts.is_empty() {
        let body: String = resp.body_text().chars().take(300).collect();
        parts.push(if body.is_empty() {
            "no details".into()
        } else {
            body
        });
    }
    let mut text = format!("X API answered HTTP {}: {}", resp.status, parts.join(": "));
    if let Some(kind) = problem.kind.filter(|k| !k.is_empty() && k != "about:blank") {
        text.push_str(&format!(" [{kind}]"));
    }
    text
}

/// Maps an answer to itself (2xx, even with partial `errors[]`) or an error.
pub(crate) fn check(resp: HttpResponse) -> Result<HttpResponse, ConnectorError> {
    if resp.is_success() {
        return Ok(resp);
    }
    let text = problem_text(&resp);
    Err(match resp.status {
        401 => ConnectorError::Unauthorized(text),
        429 => ConnectorError::RateLimited(DEFAULT_BACKOFF_MS as u64),
        500..=599 => ConnectorError::Transient(text),
        _ => ConnectorError::Rejected(text),
    })
}

/// A request with the bearer token.
pub(crate) fn request(method: &str, url: String, token: &str) -> HttpRequest {
    HttpRequest::new(method, url).with_header("authorization", format!("Bearer {token}"))
}

/// A JSON request with the bearer token.
pub(crate) fn json_request(
    method: &str,
    url: String,
    token: &str,
    body: &serde_json::Value,
) -> HttpRequest {
    request(method, url, token)
        .with_header("content-type", "application/json")
        .with_body(serde_json::to_vec(body).unwrap_or_default())
}

#[derive(Deserialize)]
struct UserEnvelope {
    data: Option<UserData>,
}

#[derive(Deserialize)]
struct UserData {
    id: String,
}

/// The user id of one of our handles: cached in kv (`user_id/<handle>`), else looked up
/// with `GET /2/users/by/username/:handle`.
pub(crate) fn user_id(settings: &Settings, handle: &str) -> Result<String, ConnectorError> {
    let slot = format!("user_id/{}", handle.to_ascii_lowercase());
    if let Some(id) = kv::get_string(&slot).filter(|s| !s.is_empty()) {
        return Ok(id);
    }
    let token = settings.require_user_token(handle)?;
    let url = format!(
        "{}/2/users/by/username/{}",
        settings.api_base_url,
        http::percent_encode(handle)
    );
    let resp = call(Endpoint::Users, request("GET", url, &token))?;
    let id = resp
        .json_body::<UserEnvelope>()
        .ok()
        .and_then(|e| e.data)
        .map(|d| d.id)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            ConnectorError::Rejected(format!(
                "X API knows no user @{handle}: {}",
                resp.body_text()
            ))
        })?;
    kv::set(&slot, id.as_bytes());
    Ok(id)
}

/// The channel's handle whose user id is `id`, as cached by [`user_id`] (no call).
pub(crate) fn handle_of(settings: &Settings, id: &str) -> Option<String> {
    settings
        .handles
        .iter()
        .find(|h| {
            kv::get_string(&format!("user_id/{}", h.to_ascii_lowercase())).as_deref() == Some(id)
        })
        .cloned()
}

#[derive(Deserialize)]
struct MeEnvelope {
    #[serde(default)]
    data: Option<Me>,
}

#[derive(Deserialize)]
struct Me {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    username: Option<String>,
}

/// `text` with every occurrence of `secret` blanked out: a secret never goes into an
/// error or a log, even when the platform quotes it back.
pub(crate) fn redact(text: &str, secret: &str) -> String {
    let secret = secret.trim();
    if secret.is_empty() {
        return text.to_string();
    }
    text.replace(secret, "[the token]")
}

/// The Test button: `GET /2/users/me` with the user access token of the default reply
/// handle (the token replies are sent with). Reads only. The account it answers must be
/// that handle: a token of another account would reply under the wrong name.
pub(crate) fn check_credentials(settings: &Settings) -> Result<Account, ConnectorError> {
    let handle = settings.default_handle();
    let secret = format!("token_{handle}");
    let token = settings.require_user_token(handle)?;
    let url = format!("{}/2/users/me", settings.api_base_url);
    let resp = call(Endpoint::Me, request("GET", url, &token)).map_err(|e| match e {
        // 401: X does not know the token; 403 and other refusals: a token it will not
        // take here (an app-only bearer token, a suspended account, an app without access).
        ConnectorError::Unauthorized(why) | ConnectorError::Rejected(why) => {
            ConnectorError::Unauthorized(format!(
                "the user access token of @{handle} in secret `{secret}` does not work: {}; authorize the app again as @{handle} and paste the new token there",
                redact(&why, &token)
            ))
        }
        ConnectorError::Transient(why) => ConnectorError::Transient(redact(&why, &token)),
        other => other,
    })?;
    let me = resp
        .json_body::<MeEnvelope>()
        .ok()
        .and_then(|e| e.data)
        .ok_or_else(|| {
            ConnectorError::Transient(format!(
                "unreadable X answer to the credentials check: {}",
                redact(
                    &resp.body_text().chars().take(300).collect::<String>(),
                    &token
                )
            ))
        })?;
    let id = me.id.filter(|id| !id.is_empty()).ok_or_else(|| {
        ConnectorError::Transient("X answered the credentials check without a user id".into())
    })?;
    let username = me
        .username
        .map(|u| u.trim_start_matches('@').to_string())
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| id.clone());
    if !username.eq_ignore_ascii_case(handle) {
        let held = format!("secret `{secret}` holds the token of @{username} (user id {id})");
        return Err(ConnectorError::InvalidConfig(
            if settings.is_own_handle(&username) {
                format!(
                    "{held}, another of the channel's handles, not of @{handle}: the tokens may be swapped; paste the user access token of @{handle} there"
                )
            } else {
                format!(
                    "{held}, not of @{handle}: paste the user access token of @{handle} there, or correct setting `handles` if @{handle} was renamed"
                )
            },
        ));
    }
    let mut account = Account::new(id, format!("@{username}"));
    let others: Vec<String> = settings.handles[1..]
        .iter()
        .map(|h| format!("@{h}"))
        .collect();
    if !others.is_empty() {
        account = account.with_warning(format!(
            "Only the token of @{handle} was checked; the tokens of {} are checked when they are first used.",
            others.join(", ")
        ));
    }
    Ok(account)
}

/// Standard base64 with padding.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(char::from(ALPHABET[(n >> 18) as usize & 63]));
        out.push(char::from(ALPHABET[(n >> 12) as usize & 63]));
        out.push(if chunk.len() > 1 {
            char::from(ALPHABET[(n >> 6) as usize & 63])
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            char::from(ALPHABET[n as usize & 63])
        } else {
            '='
        });
    }
    out
}

/// `sha256=<base64 HMAC-SHA256(secret, data)>`, as X signs CRC answers and webhooks.
pub(crate) fn x_signature(secret: &str, data: &[u8]) -> String {
    format!(
        "sha256={}",
        base64(&switchboard_sdk::webhook::hmac_sha256(
            secret.as_bytes(),
            data
        ))
    )
}

/// Numeric order of X ids (snowflakes as decimal strings).
pub(crate) fn id_newer(a: &str, b: &str) -> bool {
    (a.len(), a) > (b.len(), b)
}
