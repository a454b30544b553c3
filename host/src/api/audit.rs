//! The audit log: sign-ins, failed sign-ins (recorded by `login`), and every change a
//! signed-in user asks of the administration API, recorded by [`record`] around the
//! request: who, when, from which address, what (method, path and the body sent, with
//! every secret value replaced), and how it was answered, refusals included. Agents' work
//! on interactions (`/interactions/…`, `/me/…`) is not recorded here: it is in each
//! interaction's own events.
//!
//! The entry is written after the answer, in its own commit: a crash between the change
//! and its entry loses the entry, never the change. Administrators read the log through
//! `GET /api/v1/audit`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

use super::admin::Admin;
use super::auth::Caller;
use super::error::ApiError;
use super::extract::{Json, Query};
use super::login::ClientAddr;
use super::responses::{BadRequest, NeedsRight};
use crate::app::App;
use crate::clock::now_ms;
use crate::store::audit::{self, AuditEntry, AuditQuery};

/// What a secret value is recorded as.
const CHANGED: &str = "(changed)";
/// The largest body recorded (and let through: the API's own limit).
const MAX_BODY: usize = 8 << 20;

/// API paths whose changes are an agent's work on interactions, not administration.
fn agent_work(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/api/v1/") else {
        return false;
    };
    let first = rest.split('/').next().unwrap_or_default();
    ["interactions", "me", "login", "logout", "testing"].contains(&first)
}

/// Whether `key` names a credential whose value must never be recorded.
fn secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "password",
        "secret",
        "token",
        "credential",
        "private_key",
        "api_key",
    ]
    .iter()
    .any(|w| key.contains(w))
}

/// `v` with every secret value replaced: credential-like keys anywhere, and every value
/// of a channel's `secrets`.
fn redacted(v: Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    // `secrets` keeps its names (which secrets changed), not values.
                    let v = if k == "secrets" {
                        match v {
                            Value::Object(m) => Value::Object(
                                m.into_iter()
                                    .map(|(k, _)| (k, Value::String(CHANGED.into())))
                                    .collect(),
                            ),
                            _ => Value::String(CHANGED.into()),
                        }
                    } else if secret_key(&k) {
                        Value::String(CHANGED.into())
                    } else {
                        redacted(v)
                    };
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(redacted).collect()),
        other => other,
    }
}

/// Appends `entry`; a failure is logged (the action itself already happened).
pub(crate) async fn append(app: &App, entry: AuditEntry) {
    let what = format!("{} {}", entry.action, entry.target.as_deref().unwrap_or(""));
    if let Err(e) = app.store.write(move |c| audit::record(c, &entry)).await {
        tracing::error!(action = %what, error = %format!("{e:#}"), "could not write the audit log entry");
    }
}

/// The middleware: records every change a signed-in user asks of the API outside their
/// own interaction work, with its answer's status.
pub(crate) async fn record(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    // Every request passes here, webhooks included: decide before any allocation.
    let path = req.uri().path();
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        || !path.starts_with("/api/v1/")
        || agent_work(path)
    {
        return next.run(req).await;
    }
    let path = path.to_owned();
    let (mut parts, body) = req.into_parts();
    // Unsigned or expired callers are answered 401 by the route and change nothing.
    let Ok(Caller(user)) = Caller::from_request_parts(&mut parts, &app).await else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    let Ok(ClientAddr(client)) = ClientAddr::from_request_parts(&mut parts, &app).await;
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::problem(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "The request is too large.",
            )
            .into_response();
        }
    };
    // A contact's record is a customer's personal data: the entry says who changed which
    // contact, never what it holds (so erasing a customer leaves nothing of them here).
    let personal = path.starts_with("/api/v1/contacts");
    let detail = (!bytes.is_empty() && !personal).then(|| {
        serde_json::from_slice::<Value>(&bytes)
            .map(redacted)
            .unwrap_or_else(|_| Value::String(format!("({} bytes, not JSON)", bytes.len())))
    });
    let method = parts.method.to_string();
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    append(
        &app,
        AuditEntry {
            id: 0,
            at: now_ms(),
            actor_id: Some(user.id),
            actor: user.username.clone(),
            client: client.to_string(),
            action: method,
            target: Some(path),
            status: Some(i64::from(response.status().as_u16())),
            detail,
        },
    )
    .await;
    response
}

/// Which entries `GET /api/v1/audit` lists.
#[derive(Deserialize, IntoParams)]
pub struct AuditParams {
    /// Only entries at or after this time (unix ms).
    since: Option<i64>,
    /// Only entries before this time (unix ms).
    until: Option<i64>,
    /// Only this user's entries (username).
    actor: Option<String>,
    /// The next page: entries older than this `id`.
    before_id: Option<i64>,
    /// At most this many (default 100, at most 1,000).
    limit: Option<i64>,
}

/// The audit log, newest first: sign-ins, failed sign-ins, and every change made through
/// the administration API, with who, when, from where and how it was answered. Secret
/// values are never recorded.
#[utoipa::path(get, path = "/api/v1/audit", tag = "admin", params(AuditParams),
    responses((status = 200, body = Vec<AuditEntry>), NeedsRight, BadRequest),
    security(("bearer" = [])))]
pub async fn list(
    State(app): State<Arc<App>>,
    _: Admin,
    Query(p): Query<AuditParams>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    let limit = p.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::BadRequest(
            "`limit` must be between 1 and 1000.".into(),
        ));
    }
    let q = AuditQuery {
        since: p.since,
        until: p.until,
        actor: p.actor,
        before_id: p.before_id,
        limit,
    };
    Ok(Json(app.store.read(move |c| audit::list(c, &q)).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_values_are_replaced_wherever_they_are() {
        let sent = json!({
            "username": "eve",
            "password": "hunter2",
            "rights": ["agent"],
            "secrets": { "page_token": "EAAB123", "app_secret": "s3" },
            "settings": { "page_id": "1001", "verify_token": "vt" },
            "accounts": [{ "handle": "acme", "access_token": "tok" }],
        });
        let kept = redacted(sent).to_string();
        for secret in ["hunter2", "EAAB123", "s3\"", "\"vt\"", "\"tok\""] {
            assert!(!kept.contains(secret), "{secret} in {kept}");
        }
        for shown in ["eve", "agent", "page_token", "1001", "acme"] {
            assert!(kept.contains(shown), "{shown} missing from {kept}");
        }
    }

    #[test]
    fn only_administration_is_recorded_by_the_middleware() {
        assert!(agent_work("/api/v1/interactions/3/reply"));
        assert!(agent_work("/api/v1/me/status"));
        assert!(agent_work("/api/v1/login"));
        assert!(!agent_work("/api/v1/users/3"));
        assert!(!agent_work("/api/v1/channels/facebook"));
        assert!(!agent_work("/api/v1/meetings"));
    }
}
