//! The filtered stream: `GET/POST /2/tweets/search/stream/rules` and the long-lived
//! `GET /2/tweets/search/stream` (one JSON object per line for every new customer tweet
//! matching a rule, a bare `\r\n` keep-alive every `keepalive_s` seconds, one connection
//! per app). Control: `POST /_emulator/x/stream` `{keepalive_s?, disconnect?}`.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State as AxState;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::limits::{gate, with_rate};
use super::{Tweet, XEndpoint, XState, invalid_request, iso_time, now_ms, query};
use crate::{Emulator, control_error, parse_control};

/// Keep-alive period of the real platform.
pub(super) const DEFAULT_KEEPALIVE_S: u64 = 20;

/// One stream rule.
#[derive(Clone, Debug)]
pub(super) struct Rule {
    pub(super) id: String,
    pub(super) value: String,
    pub(super) tag: Option<String>,
}

impl Rule {
    fn json(&self) -> Value {
        let mut v = json!({ "id": self.id, "value": self.value });
        if let Some(tag) = &self.tag {
            v["tag"] = json!(tag);
        }
        v
    }
}

/// One open stream connection.
struct Connection {
    id: u64,
    tx: mpsc::UnboundedSender<Result<Bytes, Infallible>>,
}

/// The app's rules and open connection.
#[derive(Default)]
pub(super) struct StreamState {
    pub(super) rules: Vec<Rule>,
    connections: Vec<Connection>,
    next_connection: u64,
    /// Seconds between keep-alives; 0 means the default.
    keepalive_s: u64,
    /// Connections opened so far.
    pub(super) opened: u64,
}

impl StreamState {
    fn keepalive(&self) -> Duration {
        Duration::from_secs(if self.keepalive_s == 0 {
            DEFAULT_KEEPALIVE_S
        } else {
            self.keepalive_s
        })
    }

    fn prune(&mut self) {
        self.connections.retain(|c| !c.tx.is_closed());
    }
}

impl XState {
    /// Sends `tweet` to the open stream when it matches any rule, with `matching_rules`.
    pub(super) fn stream_tweet(&mut self, tweet: &Tweet) {
        self.stream.prune();
        if self.stream.connections.is_empty() || tweet.deleted {
            return;
        }
        let matching: Vec<Value> = self
            .stream
            .rules
            .iter()
            .filter(|r| {
                query::parse(&r.value).is_ok_and(|q| query::matches(&q, tweet, &self.users))
            })
            .map(|r| {
                let mut v = json!({ "id": r.id });
                if let Some(tag) = &r.tag {
                    v["tag"] = json!(tag);
                }
                v
            })
            .collect();
        if matching.is_empty() {
            return;
        }
        let mut includes =
            json!({ "users": self.user_json(&tweet.author_id).into_iter().collect::<Vec<_>>() });
        self.add_includes(&mut includes, std::iter::once(tweet));
        let line = json!({
            "data": self.tweet_json(tweet),
            "includes": includes,
            "matching_rules": matching,
        });
        self.stream_line(&line);
    }

    /// Writes one JSON line on the open streams; how many took it.
    pub(super) fn stream_line(&mut self, line: &Value) -> usize {
        self.stream.prune();
        let mut bytes = serde_json::to_vec(line).expect("serializing a JSON value");
        bytes.extend_from_slice(b"\r\n");
        let bytes = Bytes::from(bytes);
        self.stream
            .connections
            .iter()
            .filter(|c| c.tx.send(Ok(bytes.clone())).is_ok())
            .count()
    }
}

/// The filtered-stream routes and their control route.
pub(super) fn routes() -> Router<Emulator> {
    Router::new()
        .route(
            "/2/tweets/search/stream/rules",
            get(get_rules).post(post_rules),
        )
        .route("/2/tweets/search/stream", get(open_stream))
        .route("/_emulator/x/stream", post(control_stream))
}

async fn get_rules(AxState(em): AxState<Emulator>, headers: HeaderMap) -> Response {
    let (_, rate) = match gate(&em, XEndpoint::StreamRules, &headers, false) {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    let state = em.state();
    let rules = &state.x.stream.rules;
    let meta = json!({ "sent": iso_time(now_ms()), "result_count": rules.len() });
    let body = if rules.is_empty() {
        json!({ "meta": meta })
    } else {
        json!({ "data": rules.iter().map(Rule::json).collect::<Vec<_>>(), "meta": meta })
    };
    with_rate(axum::Json(body).into_response(), rate)
}

#[derive(Deserialize)]
struct RulesRequest {
    #[serde(default)]
    add: Option<Vec<AddRule>>,
    #[serde(default)]
    delete: Option<DeleteRules>,
}

#[derive(Deserialize)]
struct AddRule {
    value: String,
    #[serde(default)]
    tag: Option<String>,
}

#[derive(Deserialize)]
struct DeleteRules {
    #[serde(default)]
    ids: Vec<String>,
}

async fn post_rules(AxState(em): AxState<Emulator>, headers: HeaderMap, body: Bytes) -> Response {
    let (_, rate) = match gate(&em, XEndpoint::StreamRules, &headers, false) {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    let req: RulesRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return with_rate(
                invalid_request(&format!("The request body is not valid JSON: {e}")),
                rate,
            );
        }
    };
    let sent = iso_time(now_ms());
    match (req.add, req.delete) {
        (Some(add), None) => {
            let ids: Vec<String> = add.iter().map(|_| em.next_id().to_string()).collect();
            let mut state = em.state();
            let rules = &mut state.x.stream.rules;
            let mut created = Vec::new();
            let mut errors = Vec::new();
            for (rule, id) in add.into_iter().zip(ids) {
                if let Some(existing) = rules.iter().find(|r| r.value == rule.value) {
                    errors.push(json!({
                        "value": rule.value, "id": existing.id, "title": "DuplicateRule",
                        "type": "https://api.twitter.com/2/problems/duplicate-rules",
                    }));
                    continue;
                }
                let problem = if rule.value.trim().is_empty() {
                    Some("Rules must contain a non-empty value".to_string())
                } else if rule.value.chars().count() > 512 {
                    Some("Rule value is longer than 512 characters".to_string())
                } else {
                    query::parse(&rule.value).err()
                };
                if let Some(detail) = problem {
                    errors.push(json!({
                        "value": rule.value, "details": [detail], "title": "UnprocessableEntity",
                        "type": "https://api.twitter.com/2/problems/invalid-rules",
                    }));
                    continue;
                }
                let rule = Rule {
                    id,
                    value: rule.value,
                    tag: rule.tag.filter(|t| !t.is_empty()),
                };
                created.push(rule.json());
                rules.push(rule);
            }
            let mut body = json!({ "meta": { "sent": sent, "summary": {
                "created": created.len(), "not_created": errors.len(),
                "valid": created.len(), "invalid": errors.len(),
            }}});
            if !created.is_empty() {
                body["data"] = Value::Array(created);
            }
            if !errors.is_empty() {
                body["errors"] = Value::Array(errors);
            }
            with_rate(axum::Json(body).into_response(), rate)
        }
        (None, Some(delete)) => {
            let mut state = em.state();
            let rules = &mut state.x.stream.rules;
            let mut deleted = 0;
            let mut errors = Vec::new();
            for id in delete.ids {
                let before = rules.len();
                rules.retain(|r| r.id != id);
                if rules.len() < before {
                    deleted += 1;
                } else {
                    errors.push(json!({
                        "errors": [{ "parameters": {}, "message": "Rule does not exist" }],
                        "title": "Invalid Request", "detail": "One or more parameters to your request was invalid.",
                        "type": "https://api.twitter.com/2/problems/invalid-request", "value": id,
                    }));
                }
            }
            let mut body = json!({ "meta": { "sent": sent, "summary": {
                "deleted": deleted, "not_deleted": errors.len(),
            }}});
            if !errors.is_empty() {
                body["errors"] = Value::Array(errors);
            }
            with_rate(axum::Json(body).into_response(), rate)
        }
        _ => with_rate(
            invalid_request("The request body must hold exactly one of `add` or `delete`"),
            rate,
        ),
    }
}

async fn open_stream(AxState(em): AxState<Emulator>, headers: HeaderMap) -> Response {
    let (_, rate) = match gate(&em, XEndpoint::Stream, &headers, false) {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    let (tx, rx) = mpsc::unbounded_channel::<Result<Bytes, Infallible>>();
    let id = {
        let mut state = em.state();
        let stream = &mut state.x.stream;
        stream.prune();
        if !stream.connections.is_empty() {
            // RFC 7807 with the issue named, as the platform answers.
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                axum::Json(json!({
                    "title": "ConnectionException",
                    "detail": "This stream is currently at the maximum allowed connection limit.",
                    "connection_issue": "TooManyConnections",
                    "type": "https://api.twitter.com/2/problems/streaming-connection",
                    "status": 429,
                })),
            )
                .into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/problem+json"),
            );
            return with_rate(response, rate);
        }
        stream.next_connection += 1;
        stream.opened += 1;
        let id = stream.next_connection;
        stream.connections.push(Connection { id, tx });
        id
    };
    tokio::spawn(keepalive(em.clone(), id));
    let body = Body::from_stream(tokio_stream::wrappers::UnboundedReceiverStream::new(rx));
    let mut response = Response::new(body);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    with_rate(response, rate)
}

/// Sends `\r\n` on connection `id` every keep-alive period (a changed period applies at
/// once) until it is gone.
async fn keepalive(em: Emulator, id: u64) {
    let mut last = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let state = em.state();
        let Some(c) = state.x.stream.connections.iter().find(|c| c.id == id) else {
            return;
        };
        if last.elapsed() < state.x.stream.keepalive() {
            continue;
        }
        if c.tx.send(Ok(Bytes::from_static(b"\r\n"))).is_err() {
            return;
        }
        last = tokio::time::Instant::now();
    }
}

#[derive(Deserialize)]
struct StreamControl {
    #[serde(default)]
    keepalive_s: Option<u64>,
    #[serde(default)]
    disconnect: bool,
    /// A line written as is on the open streams (a poison line for tests).
    #[serde(default)]
    raw_line: Option<String>,
}

/// Sets the keep-alive period and/or closes the open streams (after an
/// `operational-disconnect` error line, as the platform does).
async fn control_stream(AxState(em): AxState<Emulator>, body: Bytes) -> Response {
    let req: StreamControl = match parse_control(&body) {
        Ok(req) => req,
        Err(response) => return response,
    };
    if req.keepalive_s == Some(0) {
        return control_error(StatusCode::BAD_REQUEST, "keepalive_s must be at least 1");
    }
    let mut state = em.state();
    let stream = &mut state.x.stream;
    if let Some(k) = req.keepalive_s {
        stream.keepalive_s = k;
    }
    stream.prune();
    let mut written = 0;
    if let Some(line) = &req.raw_line {
        let mut bytes = line.as_bytes().to_vec();
        bytes.extend_from_slice(b"\r\n");
        for c in &stream.connections {
            if c.tx.send(Ok(Bytes::from(bytes.clone()))).is_ok() {
                written += 1;
            }
        }
    }
    let mut closed = 0;
    if req.disconnect {
        let line = json!({ "errors": [{
            "title": "operational-disconnect",
            "disconnect_type": "OperationalDisconnect",
            "detail": "This stream has been disconnected for operational reasons.",
            "type": "https://api.twitter.com/2/problems/operational-disconnect",
        }]});
        let mut bytes = serde_json::to_vec(&line).expect("serializing a JSON value");
        bytes.extend_from_slice(b"\r\n");
        for c in stream.connections.drain(..) {
            let _ = c.tx.send(Ok(Bytes::from(bytes.clone())));
            closed += 1;
        }
    }
    axum::Json(json!({
        "keepalive_s": stream.keepalive().as_secs(),
        "closed": closed,
        "written": written,
        "open": stream.connections.len(),
        "opened": stream.opened,
        "rules": stream.rules.iter().map(Rule::json).collect::<Vec<_>>(),
    }))
    .into_response()
}
