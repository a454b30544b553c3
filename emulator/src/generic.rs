//! A scriptable stand-in for a platform the emulator does not know, so a partner tests a
//! new connector end to end without writing a fake server: it answers the connector's
//! calls from canned answers, records every call, and sends webhooks to the host signed
//! the way the partner's platform signs them.
//!
//! Everything lives under one platform name of the partner's choosing (`telegram`):
//!
//! - `ANY /generic/{platform}/{path}`: the connector's base URL points here. The first
//!   answer whose method and path fit is given (`*` stands for one path segment, a
//!   trailing `**` for the rest); `{{id}}` in its body becomes a fresh number each time.
//!   A call that changes something (any method but GET and HEAD) is also listed in
//!   `GET /_emulator/outbound` with `platform` and `kind` = `"POST /bot/sendMessage"`.
//!   No answer fits: 404 with a JSON error saying how to add one.
//! - `POST /_emulator/generic/{platform}/answers`: one answer or a list of them
//!   (`{method?, path, status?, headers?, body?}`; method `*` or none fits any), added
//!   after those already there. `DELETE` removes them all (and the recorded calls).
//! - `GET /_emulator/generic/{platform}/requests`: every call the connector made, in order
//!   (`method`, `path`, `query`, `headers`, `body`).
//! - `POST /_emulator/generic/{platform}/webhook`: `{url, body, headers?, sign?}` posts
//!   `body` (JSON, or a string sent as is) to the host's webhook `url`; `sign`
//!   (`{header, secret, prefix?}`) adds the HMAC-SHA256 of the body, hex, after `prefix`.
//!   Answers `{status, body}` of the host's answer.
//!
//! Answers may also be given as files to `switchboard emulator --answers DIR`: each
//! `DIR/{platform}/*.json` holds one answer or a list.

use std::collections::HashMap;
use std::path::Path;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as AxPath, Query, State as AxState};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Emulator;

/// One canned answer.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct Answer {
    /// `GET`, `POST`, ...; `*` or none: any.
    #[serde(default)]
    pub method: Option<String>,
    /// The path after `/generic/{platform}`, such as `/bot/sendMessage`; `*` is one
    /// segment, a trailing `**` the rest.
    pub path: String,
    /// The status; 200 when not given.
    #[serde(default = "ok")]
    pub status: u16,
    /// Headers to answer with.
    #[serde(default)]
    pub headers: HashMap<String, String>,
    /// The body: JSON, or a string sent as is.
    #[serde(default)]
    pub body: Value,
}

fn ok() -> u16 {
    200
}

/// One call a connector made.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Recorded {
    /// The method.
    pub method: String,
    /// The path after `/generic/{platform}`.
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    /// The headers, names in lower case.
    pub headers: HashMap<String, String>,
    /// The body as text (lossy for bytes that are not UTF-8).
    pub body: String,
}

/// The answers and calls of every generic platform.
#[derive(Default)]
pub(super) struct GenericState {
    platforms: HashMap<String, Platform>,
}

#[derive(Default)]
struct Platform {
    answers: Vec<Answer>,
    requests: Vec<Recorded>,
}

impl GenericState {
    fn platform(&mut self, name: &str) -> &mut Platform {
        self.platforms.entry(name.to_owned()).or_default()
    }
}

impl Emulator {
    /// Adds canned answers for the generic platform `platform`.
    pub fn generic_answers(&self, platform: &str, answers: Vec<Answer>) {
        self.state()
            .generic
            .platform(platform)
            .answers
            .extend(answers);
    }

    /// The calls connectors made to the generic platform `platform`, in order.
    pub fn generic_requests(&self, platform: &str) -> Vec<Recorded> {
        self.state().generic.platform(platform).requests.clone()
    }

    /// Loads answers from `dir/{platform}/*.json` (each file one answer or a list).
    pub fn load_generic_answers(&self, dir: &Path) -> anyhow::Result<usize> {
        use anyhow::Context;
        let mut loaded = 0;
        let mut platforms: Vec<_> = std::fs::read_dir(dir)
            .with_context(|| format!("reading answers in {}", dir.display()))?
            .collect::<Result<_, _>>()?;
        platforms.sort_by_key(|e| e.file_name());
        for entry in platforms {
            if !entry.file_type()?.is_dir() {
                continue;
            }
            let platform = entry.file_name().to_string_lossy().into_owned();
            let mut files: Vec<_> = std::fs::read_dir(entry.path())?
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect();
            files.sort();
            for file in files {
                let text = std::fs::read_to_string(&file)
                    .with_context(|| format!("reading {}", file.display()))?;
                let answers = parse_answers(&text).with_context(|| {
                    format!("{}: not an answer or a list of answers", file.display())
                })?;
                loaded += answers.len();
                self.generic_answers(&platform, answers);
            }
        }
        Ok(loaded)
    }
}

fn parse_answers(text: &str) -> Result<Vec<Answer>, serde_json::Error> {
    let value: Value = serde_json::from_str(text)?;
    if value.is_array() {
        serde_json::from_value(value)
    } else {
        Ok(vec![serde_json::from_value(value)?])
    }
}

/// The routes: the platform's own and the control API.
pub(super) fn routes() -> Router<Emulator> {
    Router::new()
        .route("/generic/{platform}/{*path}", any(call))
        .route(
            "/_emulator/generic/{platform}/answers",
            post(add_answers).delete(clear),
        )
        .route("/_emulator/generic/{platform}/requests", get(requests))
        .route("/_emulator/generic/{platform}/webhook", post(webhook))
}

/// Whether `pattern` fits `path`: segment by segment, `*` any one, a last `**` the rest.
fn fits(pattern: &str, path: &str) -> bool {
    let want: Vec<&str> = pattern.trim_matches('/').split('/').collect();
    let got: Vec<&str> = path.trim_matches('/').split('/').collect();
    for (i, w) in want.iter().enumerate() {
        if *w == "**" && i == want.len() - 1 {
            return got.len() >= i;
        }
        match got.get(i) {
            Some(g) if w == g || *w == "*" => {}
            _ => return false,
        }
    }
    want.len() == got.len()
}

async fn call(
    AxState(em): AxState<Emulator>,
    AxPath((platform, path)): AxPath<(String, String)>,
    method: Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/{path}");
    let recorded = Recorded {
        method: method.as_str().to_owned(),
        path: path.clone(),
        query: uri.query().map(str::to_owned),
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let answer = {
        let mut state = em.state();
        let p = state.generic.platform(&platform);
        p.requests.push(recorded.clone());
        p.answers
            .iter()
            .find(|a| {
                a.method
                    .as_deref()
                    .is_none_or(|m| m == "*" || m.eq_ignore_ascii_case(method.as_str()))
                    && fits(&a.path, &path)
            })
            .cloned()
    };
    let id = em.next_id().to_string();
    if method != Method::GET && method != Method::HEAD {
        let text = (!recorded.body.is_empty()).then_some(recorded.body.as_str());
        em.record(
            &platform,
            &format!("{} {path}", method.as_str()),
            None,
            &id,
            text,
        );
    }
    let Some(answer) = answer else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({
                "error": format!(
                    "the emulator has no answer for {} {path} on `{platform}`: add one with \
                     POST /_emulator/generic/{platform}/answers",
                    method.as_str()
                )
            })),
        )
            .into_response();
    };
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let body = match &answer.body {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
    .replace("{{id}}", &id);
    let mut response = (status, body).into_response();
    let content_type = if answer.body.is_string() || answer.body.is_null() {
        "text/plain; charset=utf-8"
    } else {
        "application/json"
    };
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        content_type.parse().expect("a valid header"),
    );
    for (k, v) in &answer.headers {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(k.as_bytes()),
            axum::http::HeaderValue::from_str(v),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

async fn add_answers(
    AxState(em): AxState<Emulator>,
    AxPath(platform): AxPath<String>,
    body: Bytes,
) -> Response {
    match parse_answers(&String::from_utf8_lossy(&body)) {
        Ok(answers) => {
            let added = answers.len();
            em.generic_answers(&platform, answers);
            axum::Json(json!({ "added": added })).into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({ "error": format!("not an answer or a list of answers: {e}") })),
        )
            .into_response(),
    }
}

async fn clear(AxState(em): AxState<Emulator>, AxPath(platform): AxPath<String>) -> StatusCode {
    em.state().generic.platforms.remove(&platform);
    StatusCode::NO_CONTENT
}

async fn requests(
    AxState(em): AxState<Emulator>,
    AxPath(platform): AxPath<String>,
    Query(_): Query<HashMap<String, String>>,
) -> axum::Json<Vec<Recorded>> {
    axum::Json(em.generic_requests(&platform))
}

/// A webhook the platform sends: where, what, and how it is signed.
#[derive(Deserialize)]
struct Webhook {
    url: String,
    body: Value,
    #[serde(default)]
    headers: HashMap<String, String>,
    #[serde(default)]
    sign: Option<Signing>,
}

#[derive(Deserialize)]
struct Signing {
    header: String,
    secret: String,
    #[serde(default)]
    prefix: String,
}

async fn webhook(
    AxState(em): AxState<Emulator>,
    AxPath(_platform): AxPath<String>,
    axum::Json(hook): axum::Json<Webhook>,
) -> Response {
    let body = match &hook.body {
        Value::String(s) => s.clone().into_bytes(),
        other => other.to_string().into_bytes(),
    };
    let mut request = em
        .inner
        .http
        .post(&hook.url)
        .header("content-type", "application/json");
    for (k, v) in &hook.headers {
        request = request.header(k, v);
    }
    if let Some(sign) = &hook.sign {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(sign.secret.as_bytes())
            .expect("HMAC takes any key");
        mac.update(&body);
        let hex = hex::encode(mac.finalize().into_bytes());
        request = request.header(&sign.header, format!("{}{hex}", sign.prefix));
    }
    match request.body(body).send().await {
        Ok(res) => {
            let status = res.status().as_u16();
            let text = res.text().await.unwrap_or_default();
            axum::Json(json!({ "status": status, "body": text })).into_response()
        }
        Err(e) => (
            StatusCode::BAD_GATEWAY,
            axum::Json(json!({ "error": format!("the webhook could not be delivered: {e}") })),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_fit_segment_by_segment() {
        assert!(fits("/bot/sendMessage", "/bot/sendMessage"));
        assert!(fits("/bot*/sendMessage", "/bot*/sendMessage"));
        assert!(fits("/*/sendMessage", "/bot123/sendMessage"));
        assert!(!fits("/*/sendMessage", "/bot123/getMe"));
        assert!(fits("/files/**", "/files/a/b/c"));
        assert!(!fits("/files/**", "/other/a"));
        assert!(!fits("/a", "/a/b"));
    }

    #[tokio::test]
    async fn a_partners_platform_is_answered_recorded_and_can_send_webhooks() {
        use crate::tests::{control, http, next_hook, receiver};
        let em = Emulator::new(crate::EmulatorConfig::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(em.clone().serve(listener));

        // No answer yet: a 404 that says how to add one.
        let res = http()
            .post(format!("{base}/generic/telegram/bot1/sendMessage"))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
        let text = res.text().await.unwrap();
        assert!(
            text.contains("/_emulator/generic/telegram/answers"),
            "{text}"
        );

        let (status, added) = control(
            &base,
            "/_emulator/generic/telegram/answers",
            json!([{ "method": "POST", "path": "/*/sendMessage",
                     "body": { "ok": true, "result": { "message_id": "{{id}}" } } },
                   { "path": "/*/getMe", "body": { "ok": true } }]),
        )
        .await;
        assert_eq!((status.as_u16(), &added["added"]), (200, &json!(2)));
        let send = |text: &'static str| {
            http()
                .post(format!("{base}/generic/telegram/bot1/sendMessage"))
                .header("content-type", "application/json")
                .body(json!({ "chat_id": 7, "text": text }).to_string())
                .send()
        };
        let first: Value = send("hello").await.unwrap().json().await.unwrap();
        let second: Value = send("again").await.unwrap().json().await.unwrap();
        assert_ne!(
            first["result"]["message_id"], second["result"]["message_id"],
            "{{{{id}}}} is fresh each time"
        );
        let me = http()
            .get(format!("{base}/generic/telegram/bot1/getMe?x=1"))
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), 200);

        let calls = em.generic_requests("telegram");
        assert_eq!(calls.len(), 4, "{calls:?}");
        assert_eq!(calls[3].query.as_deref(), Some("x=1"));
        assert!(calls[1].body.contains("hello"));
        let sent: Vec<_> = em
            .outbound()
            .into_iter()
            .filter(|o| o.platform == "telegram")
            .collect();
        assert_eq!(sent.len(), 3, "writes are listed, reads are not: {sent:?}");
        assert_eq!(sent[1].kind, "POST /bot1/sendMessage");

        // A signed webhook to the host.
        let (hook_url, _, mut hooks) = receiver("v", 0).await;
        let (status, answer) = control(
            &base,
            "/_emulator/generic/telegram/webhook",
            json!({ "url": hook_url, "body": { "update_id": 1 },
                    "sign": { "header": "x-sig", "secret": "s3", "prefix": "sha256=" } }),
        )
        .await;
        assert_eq!((status.as_u16(), &answer["status"]), (200, &json!(200)));
        let hook = next_hook(&mut hooks).await;
        let body = String::from_utf8(hook.body.to_vec()).unwrap();
        assert_eq!(body, r#"{"update_id":1}"#);
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"s3").unwrap();
        mac.update(body.as_bytes());
        assert_eq!(
            hook.headers["x-sig"],
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        );
    }

    #[test]
    fn answers_load_from_a_folder_per_platform() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("telegram")).unwrap();
        std::fs::write(
            dir.path().join("telegram/send.json"),
            r#"{"method": "POST", "path": "/*/sendMessage", "body": {"ok": true}}"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("telegram/notes.txt"), "ignored").unwrap();
        let em = Emulator::new(crate::EmulatorConfig::default());
        assert_eq!(em.load_generic_answers(dir.path()).unwrap(), 1);
        std::fs::write(dir.path().join("telegram/bad.json"), "{}").unwrap();
        let e = em.load_generic_answers(dir.path()).unwrap_err();
        assert!(format!("{e:#}").contains("bad.json"), "{e:#}");
    }

    #[test]
    fn an_answer_file_holds_one_or_a_list() {
        let one = parse_answers(r#"{"path": "/me", "body": {"ok": true}}"#).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].status, 200);
        let list =
            parse_answers(r#"[{"path": "/a"}, {"method": "POST", "path": "/b", "status": 201}]"#)
                .unwrap();
        assert_eq!(list[1].status, 201);
        assert!(parse_answers(r#"{"body": 1}"#).is_err(), "a path is needed");
    }
}
