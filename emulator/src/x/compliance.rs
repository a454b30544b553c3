//! Compliance on the emulated X: the tweet and user lookups a connector uses to learn
//! what was deleted (`GET /2/tweets?ids=`, `GET /2/users?ids=`: a deleted tweet or account
//! is a `Not Found Error` in `errors[]`), and the control routes where a customer deletes
//! a tweet or the whole account (`POST /_emulator/x/delete_tweet`, `/delete_user`).
//!
//! A deleted tweet also reaches Account Activity subscribers (`tweet_delete_events`); a
//! deleted account reaches nobody, as on X. With `"stream": true` the event is also
//! written on the open stream as X's compliance streams word it, for tests of connectors
//! that read those lines.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};

use super::limits::{gate, with_rate};
use super::{XEndpoint, invalid_request, iso_time, now_ms};
use crate::{Emulator, control_error, parse_control};

/// `ids` of a lookup: 1 to 100 comma-separated ids.
#[allow(clippy::result_large_err)]
fn ids(params: &HashMap<String, String>) -> Result<Vec<String>, Response> {
    let ids: Vec<String> = params
        .get("ids")
        .map(|s| {
            s.split(',')
                .map(|i| i.trim().to_string())
                .filter(|i| !i.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if ids.is_empty() || ids.len() > 100 {
        return Err(invalid_request(
            "The `ids` query parameter must hold 1 to 100 ids.",
        ));
    }
    Ok(ids)
}

fn not_found(kind: &str, id: &str) -> Value {
    json!({
        "value": id, "detail": format!("Could not find {kind} with ids: [{id}]."),
        "title": "Not Found Error", "resource_type": kind, "parameter": "ids",
        "resource_id": id, "type": "https://api.twitter.com/2/problems/resource-not-found",
    })
}

/// `GET /2/tweets?ids=`: the tweets that exist, a `Not Found Error` for the others.
pub(super) async fn tweets_lookup(
    AxState(em): AxState<Emulator>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let (_, rate) = match gate(&em, XEndpoint::TweetLookup, &headers, false) {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    let ids = match ids(&params) {
        Ok(ids) => ids,
        Err(r) => return with_rate(r, rate),
    };
    let state = em.state();
    let x = &state.x;
    let mut data = Vec::new();
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for id in &ids {
        match x
            .tweet(id)
            .filter(|t| !t.deleted && x.users.get(&t.author_id).is_none_or(|u| !u.deleted))
        {
            Some(t) => {
                data.push(x.tweet_json(t));
                found.push(t);
            }
            None => errors.push(not_found("tweet", id)),
        }
    }
    let mut body = json!({});
    if !data.is_empty() {
        let mut authors: Vec<&str> = found.iter().map(|t| t.author_id.as_str()).collect();
        authors.sort();
        authors.dedup();
        let mut includes =
            json!({ "users": authors.iter().filter_map(|a| x.user_json(a)).collect::<Vec<_>>() });
        x.add_includes(&mut includes, found.iter().copied());
        body["data"] = Value::Array(data);
        body["includes"] = includes;
    }
    if !errors.is_empty() {
        body["errors"] = Value::Array(errors);
    }
    with_rate(axum::Json(body).into_response(), rate)
}

/// `GET /2/users?ids=`: the accounts that exist, a `Not Found Error` for the others.
pub(super) async fn users_lookup(
    AxState(em): AxState<Emulator>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let (_, rate) = match gate(&em, XEndpoint::UserLookup, &headers, false) {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    let ids = match ids(&params) {
        Ok(ids) => ids,
        Err(r) => return with_rate(r, rate),
    };
    let state = em.state();
    let x = &state.x;
    let mut data = Vec::new();
    let mut errors = Vec::new();
    for id in &ids {
        match x.user_json(id) {
            Some(u) => data.push(u),
            None => errors.push(not_found("user", id)),
        }
    }
    let mut body = json!({});
    if !data.is_empty() {
        body["data"] = Value::Array(data);
    }
    if !errors.is_empty() {
        body["errors"] = Value::Array(errors);
    }
    with_rate(axum::Json(body).into_response(), rate)
}

#[derive(Deserialize)]
struct DeleteTweet {
    #[serde(default, alias = "tweet_id")]
    id: Option<String>,
    /// Also write the compliance stream's `delete` line on the open stream.
    #[serde(default)]
    stream: bool,
}

/// The author deletes a tweet: gone from the API and the lookups; Account Activity
/// subscribers get `tweet_delete_events`.
async fn control_delete_tweet(AxState(em): AxState<Emulator>, body: Bytes) -> Response {
    let req: DeleteTweet = match parse_control(&body) {
        Ok(req) => req,
        Err(response) => return response,
    };
    let Some(id) = req.id.filter(|i| !i.trim().is_empty()) else {
        return control_error(StatusCode::BAD_REQUEST, "id is required");
    };
    let mut state = em.state();
    let x = &mut state.x;
    let Some(tweet) = x.tweets.iter_mut().find(|t| t.id == id && !t.deleted) else {
        return control_error(StatusCode::NOT_FOUND, format!("unknown tweet {id}"));
    };
    tweet.deleted = true;
    let tweet = tweet.clone();
    let at = now_ms();
    x.notify_delete(&tweet, at);
    let written = if req.stream {
        x.stream_line(&json!({ "data": { "delete": {
            "tweet": { "id": tweet.id, "author_id": tweet.author_id },
            "event_at": iso_time(at),
        }}}))
    } else {
        0
    };
    axum::Json(json!({ "tweet_id": tweet.id, "deleted": true, "stream_lines": written }))
        .into_response()
}

#[derive(Deserialize)]
struct DeleteUser {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    handle: Option<String>,
    #[serde(default)]
    stream: bool,
}

/// A customer deletes their account: their tweets and direct messages leave the API, and
/// the lookups answer `Not Found Error` for them and their tweets.
async fn control_delete_user(AxState(em): AxState<Emulator>, body: Bytes) -> Response {
    let req: DeleteUser = match parse_control(&body) {
        Ok(req) => req,
        Err(response) => return response,
    };
    let mut state = em.state();
    let x = &mut state.x;
    let id = match (&req.id, &req.handle) {
        (Some(id), _) => Some(id.clone()),
        (None, Some(h)) => x.user_by_handle(h).map(|u| u.id.clone()),
        (None, None) => return control_error(StatusCode::BAD_REQUEST, "id or handle is required"),
    };
    let Some(user) = id
        .as_deref()
        .and_then(|id| x.users.get_mut(id))
        .filter(|u| !u.deleted)
    else {
        return control_error(StatusCode::NOT_FOUND, "unknown user");
    };
    if x.config.accounts.iter().any(|a| a.user_id == user.id) {
        return control_error(
            StatusCode::BAD_REQUEST,
            "that is one of the business's accounts",
        );
    }
    user.deleted = true;
    let id = user.id.clone();
    let mut tweets = 0;
    for t in x
        .tweets
        .iter_mut()
        .filter(|t| t.author_id == id && !t.deleted)
    {
        t.deleted = true;
        tweets += 1;
    }
    let before = x.dms.len();
    x.dms.retain(|d| d.sender_id != id);
    let dms = before - x.dms.len();
    let written = if req.stream {
        x.stream_line(&json!({ "data": { "user_delete": {
            "user": { "id": id }, "event_at": iso_time(now_ms()),
        }}}))
    } else {
        0
    };
    axum::Json(json!({
        "user_id": id, "deleted": true, "tweets_deleted": tweets, "dms_deleted": dms,
        "stream_lines": written,
    }))
    .into_response()
}

/// The control routes.
pub(super) fn routes() -> Router<Emulator> {
    Router::new()
        .route("/_emulator/x/delete_tweet", post(control_delete_tweet))
        .route("/_emulator/x/delete_user", post(control_delete_user))
}
