//! API errors, one shape for every route: a status code and
//! `{"error": "<plain words for a person>", "code": "<stable snake_case>", …fields}`.
//!
//! `error` says what is wrong in the user's terms and what to do; the desktop shows it as
//! is. `code` is for programs (and tests): it never changes once published. Extra fields
//! carry the numbers a client needs to explain or fix the request, such as `limit` and
//! `length` for `too_long`. The technical cause (a store error, a plugin's error chain) goes
//! to the log, never into the answer.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::interactions::ActionError;

/// The body of every error answer, as the OpenAPI document shows it. Some codes add
/// fields: `too_long` has `limit` and `length`, `too_many_requests` has `retry_after_s`.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// What is wrong, in plain words for a person, and what to do about it.
    pub error: String,
    /// For programs; never changes once published: `invalid`, `invalid_json`,
    /// `unauthorized`, `forbidden`, `not_found`, `method_not_allowed`, `conflict`,
    /// `too_large`, `unsupported_media_type`, `too_long`, `too_many_requests`, `internal`,
    /// and codes of single routes (`invalid_config`, `plugin_failed`, `inverted_range`).
    pub code: String,
}

/// An API failure.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 `invalid`.
    #[error("{0}")]
    BadRequest(String),
    /// 401 `unauthorized`.
    #[error("{0}")]
    Unauthorized(String),
    /// 403 `forbidden`.
    #[error("{0}")]
    Forbidden(String),
    /// 404 `not_found`.
    #[error("{0}")]
    NotFound(String),
    /// 409 `conflict`.
    #[error("{0}")]
    Conflict(String),
    /// Any status with its own code and fields (`422 too_long` with `limit` and `length`).
    #[error("{}", .0.message)]
    Problem(Box<Problem>),
    /// 500 `internal`; details go to the log, not the caller.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// An error with its own status, code and extra fields.
#[derive(Debug)]
pub struct Problem {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub fields: Map<String, Value>,
}

impl ApiError {
    /// An error with its own status and code; add fields with [`ApiError::with`].
    pub fn problem(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Problem(Box::new(Problem {
            status,
            code,
            message: message.into(),
            fields: Map::new(),
        }))
    }

    /// Adds a field to a [`ApiError::Problem`] (other kinds are returned unchanged).
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        if let ApiError::Problem(p) = &mut self {
            p.fields.insert(key.to_owned(), value.into());
        }
        self
    }

    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "invalid"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::Problem(p) => (p.status, p.code),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<ActionError> for ApiError {
    fn from(e: ActionError) -> Self {
        match e {
            ActionError::NotFound(_) => ApiError::NotFound(e.to_string()),
            ActionError::Conflict(m) => ApiError::Conflict(m),
            ActionError::Invalid(m) => ApiError::BadRequest(m),
            ActionError::TooLong { limit, length } => {
                ApiError::problem(StatusCode::UNPROCESSABLE_ENTITY, "too_long", e.to_string())
                    .with("limit", limit)
                    .with("length", length)
            }
            ActionError::Store(e) => ApiError::Internal(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let mut body = Map::new();
        let message = match &self {
            ApiError::Internal(e) => {
                tracing::error!(error = %format!("{e:#}"), "internal error");
                "Something went wrong on the server. Try again; if it keeps happening, tell \
                 your administrator (the server log has the details)."
                    .to_string()
            }
            other => other.to_string(),
        };
        body.insert("error".into(), Value::String(message));
        body.insert("code".into(), Value::String(code.into()));
        if let ApiError::Problem(p) = self {
            for (k, v) in p.fields {
                body.entry(k).or_insert(v);
            }
        }
        // A problem that says when to come back says it in the standard header too.
        let retry_after = body.get("retry_after_s").and_then(Value::as_u64);
        let mut res = (status, Json(Value::Object(body))).into_response();
        if let Some(s) = retry_after {
            res.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, s.into());
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(e: ApiError) -> (StatusCode, Value) {
        let res = e.into_response();
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn every_error_has_a_message_and_a_code() {
        let (s, b) = body(ApiError::Conflict("already picked up".into())).await;
        assert_eq!(s, StatusCode::CONFLICT);
        assert_eq!(b["error"], "already picked up");
        assert_eq!(b["code"], "conflict");

        let (s, b) = body(
            ActionError::TooLong {
                limit: 280,
                length: 312,
            }
            .into(),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(b["code"], "too_long");
        assert_eq!(b["limit"], 280);
        assert_eq!(b["length"], 312);
        assert!(b["error"].as_str().unwrap().contains("280"), "{b}");

        let (s, b) = body(ApiError::Internal(anyhow::anyhow!(
            "disk I/O error at /secret"
        )))
        .await;
        assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(b["code"], "internal");
        assert!(!b["error"].as_str().unwrap().contains("/secret"), "{b}");
    }
}
