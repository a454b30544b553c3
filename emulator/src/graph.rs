//! The Meta Graph API plumbing shared by Facebook pages, Messenger, Instagram and WhatsApp:
//! request parsing (optional version prefix, parameters from query, form or JSON), the error
//! shape, Graph's time format, and failure injection for retry tests.

use axum::extract::{Request, State as AxState};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Emulator, facebook, instagram, whatsapp};

/// A pending injected failure (`POST /_emulator/facebook/failures`).
#[derive(Clone, Debug, Deserialize)]
pub(super) struct InjectedFailure {
    #[serde(default = "default_failure_status")]
    status: u16,
    #[serde(default = "default_failure_code")]
    code: i64,
    #[serde(default = "default_failure_message")]
    message: String,
    #[serde(default, rename = "type")]
    error_type: Option<String>,
    #[serde(default)]
    error_subcode: Option<i64>,
    #[serde(default = "default_failure_count")]
    count: u32,
}

fn default_failure_status() -> u16 {
    500
}
fn default_failure_code() -> i64 {
    1
}
fn default_failure_message() -> String {
    "An unknown error occurred".into()
}
fn default_failure_count() -> u32 {
    1
}

impl Emulator {
    /// Consumes one injected failure, if any are pending.
    pub(super) fn take_failure(&self) -> Option<InjectedFailure> {
        let mut slot = self.inner.failures.lock().unwrap();
        let failure = slot.as_mut()?;
        if failure.count == 0 {
            *slot = None;
            return None;
        }
        failure.count -= 1;
        let taken = failure.clone();
        if failure.count == 0 {
            *slot = None;
        }
        Some(taken)
    }

    /// Makes the next `failure.count` Graph calls fail (replacing pending failures); refuses
    /// statuses that are not HTTP statuses.
    pub(super) fn inject_failures(&self, failure: InjectedFailure) -> Result<(), String> {
        if StatusCode::from_u16(failure.status).is_err() {
            return Err(format!("invalid status {}", failure.status));
        }
        *self.inner.failures.lock().unwrap() = (failure.count > 0).then_some(failure);
        Ok(())
    }
}

/// Formats unix seconds the way the Graph API does: `2024-01-15T12:03:00+0000`.
pub(super) fn graph_time(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}+0000",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// A Graph API call, platform-neutral: the version prefix is stripped and query, form and
/// JSON parameters are merged (the body wins), as the real Graph API accepts all of them.
pub(super) struct GraphRequest {
    pub(super) method: Method,
    /// Path segments after the optional version, percent-decoded.
    pub(super) segments: Vec<String>,
    pub(super) params: Map<String, Value>,
    pub(super) bearer: Option<String>,
}

impl GraphRequest {
    fn parse(
        method: Method,
        path: &str,
        query: Option<&str>,
        headers: &HeaderMap,
        body: &[u8],
    ) -> GraphRequest {
        let mut segments: Vec<String> = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| {
                urlencoding::decode(s)
                    .map(|d| d.into_owned())
                    .unwrap_or_else(|_| s.to_string())
            })
            .collect();
        if segments.first().is_some_and(|s| is_version(s)) {
            segments.remove(0);
        }
        let mut params = Map::new();
        for (k, v) in parse_form(query.unwrap_or("")) {
            params.insert(k, Value::String(v));
        }
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let trimmed = body.trim_ascii_start();
        if content_type.contains("json") || (content_type.is_empty() && trimmed.starts_with(b"{")) {
            if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
                params.extend(map);
            }
        } else if !body.is_empty() {
            for (k, v) in parse_form(&String::from_utf8_lossy(body)) {
                params.insert(k, Value::String(v));
            }
        }
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("OAuth "))
            })
            .map(|v| v.trim().to_string());
        GraphRequest {
            method,
            segments,
            params,
            bearer,
        }
    }

    /// A parameter as a string; booleans and numbers from JSON bodies are stringified.
    pub(super) fn param(&self, name: &str) -> Option<String> {
        match self.params.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        }
    }

    /// A JSON object parameter (`recipient`, `message`, ...); form posts carry it as JSON text.
    pub(super) fn object_param(&self, name: &str) -> Option<Map<String, Value>> {
        match self.params.get(name)? {
            Value::Object(map) => Some(map.clone()),
            Value::String(text) => match serde_json::from_str(text) {
                Ok(Value::Object(map)) => Some(map),
                _ => None,
            },
            _ => None,
        }
    }

    /// The access token from the query, the body or an `Authorization: Bearer` header.
    pub(super) fn access_token(&self) -> Option<String> {
        self.param("access_token").or_else(|| self.bearer.clone())
    }

    /// Checks the token against the account's configured one (none configured: anything goes).
    // The error is the Graph error response itself; boxing it would buy nothing here.
    #[allow(clippy::result_large_err)]
    pub(super) fn check_token(&self, expected: Option<&str>) -> Result<(), Response> {
        match expected {
            Some(expected) if self.access_token().as_deref() != Some(expected) => Err(graph_error(
                StatusCode::BAD_REQUEST,
                "Invalid OAuth access token - Cannot parse access token",
                "OAuthException",
                190,
                None,
            )),
            _ => Ok(()),
        }
    }
}

/// A non-empty string (or number, stringified) field of a JSON object parameter.
pub(super) fn str_field(map: &Map<String, Value>, name: &str) -> Option<String> {
    match map.get(name)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `v19.0`, `v20`, ...: the optional Graph API version prefix.
fn is_version(segment: &str) -> bool {
    segment.strip_prefix('v').is_some_and(|rest| {
        !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit() || c == '.')
    })
}

/// Parses `application/x-www-form-urlencoded` text (also used for query strings).
fn parse_form(text: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let s = s.replace('+', " ");
        urlencoding::decode(&s).map(|d| d.into_owned()).unwrap_or(s)
    };
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(pair), String::new()),
        })
        .collect()
}

/// A Graph API error response in the real shape.
pub(super) fn graph_error(
    status: StatusCode,
    message: &str,
    error_type: &str,
    code: i64,
    subcode: Option<i64>,
) -> Response {
    let mut error = json!({
        "message": message,
        "type": error_type,
        "code": code,
        "fbtrace_id": format!("A{:016x}", rand::random::<u64>()),
    });
    if let Some(subcode) = subcode {
        error["error_subcode"] = json!(subcode);
    }
    (status, axum::Json(json!({ "error": error }))).into_response()
}

/// Everything that is not a control route is a Graph API call.
pub(super) async fn graph_fallback(AxState(em): AxState<Emulator>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, 16 * 1024 * 1024).await else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "Request body too large",
            "GraphMethodException",
            100,
            None,
        );
    };
    let request = GraphRequest::parse(
        parts.method.clone(),
        parts.uri.path(),
        parts.uri.query(),
        &parts.headers,
        &body,
    );
    if let Some(failure) = em.take_failure() {
        let status =
            StatusCode::from_u16(failure.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let error_type = failure.error_type.as_deref().unwrap_or("OAuthException");
        return graph_error(
            status,
            &failure.message,
            error_type,
            failure.code,
            failure.error_subcode,
        );
    }
    // Instagram first: it owns its ids, and answers a linked page's or `/me`'s calls only
    // when they are Instagram's (see `instagram::graph`).
    if let Some(response) = instagram::graph(&em, &request) {
        return response;
    }
    if let Some(response) = whatsapp::graph(&em, &request) {
        return response;
    }
    if let Some(response) = facebook::graph(&em, &request) {
        return response;
    }
    let what = request.method.as_str().to_ascii_lowercase();
    graph_error(
        StatusCode::BAD_REQUEST,
        &format!(
            "Unsupported {what} request. Object with ID '{}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.",
            request.segments.first().map(String::as_str).unwrap_or("")
        ),
        "GraphMethodException",
        100,
        Some(33),
    )
}

/// The next injected failure as the Graph error answer, for a Graph route served outside
/// [`graph_fallback`] (Messenger's Attachment Upload API, whose multipart body the
/// fallback does not read).
pub(super) fn injected_failure(em: &Emulator) -> Option<Response> {
    let failure = em.take_failure()?;
    let status = StatusCode::from_u16(failure.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let error_type = failure.error_type.as_deref().unwrap_or("OAuthException");
    Some(graph_error(
        status,
        &failure.message,
        error_type,
        failure.code,
        failure.error_subcode,
    ))
}

/// Whether a path segment is a Graph API version (`v19.0`), for routes served outside
/// [`graph_fallback`].
pub(super) fn is_graph_version(segment: &str) -> bool {
    is_version(segment)
}
