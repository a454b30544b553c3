//! The API's own `Json`, `Path` and `Query`: axum's extractors, refusing a request in the
//! API's JSON error shape ([`ApiError`]) with a message in plain words, where axum answers
//! in plain text with serde's wording. Handlers import these instead of axum's, so a new
//! handler refuses a bad id or body like every other one; `Json` is also the response type.
//!
//! - A path parameter that does not parse: 400 `invalid`, "The conversation id must be a
//!   whole number; “abc” is not."
//! - A body that is not JSON: 400 `invalid_json`; JSON with a missing or mistyped field:
//!   400 `invalid`, naming the field; no `Content-Type: application/json`: 415
//!   `unsupported_media_type`; over the size limit: 413 `too_large`.
//! - A query parameter that does not parse: 400 `invalid`, naming the parameter.

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, MatchedPath, RawPathParams, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A JSON request body (refused in the API's error shape), or a JSON answer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(body_error(rejection)),
        }
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Path parameters (refused in the API's error shape, naming what the id is of).
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<S, T> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(rejection) => Err(path_error(parts, state, rejection).await),
        }
    }
}

/// Query parameters (refused in the API's error shape, naming the parameter).
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(rejection) => Err(query_error(rejection)),
        }
    }
}

// ---- bodies -----------------------------------------------------------------------------

fn body_error(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send the body as JSON, with the header `Content-Type: application/json`.",
        ),
        JsonRejection::JsonSyntaxError(e) => {
            let at = serde_error(&e)
                .map(|(_, e)| format!(" (at line {}, column {})", e.line(), e.column()))
                .unwrap_or_default();
            ApiError::problem(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("The body is not valid JSON{at}. Check its quotes, commas and brackets."),
            )
        }
        JsonRejection::JsonDataError(e) => match serde_error(&e) {
            Some((path, e)) => ApiError::BadRequest(field_error(&path, &e.to_string())),
            None => ApiError::BadRequest(format!("The body does not fit this request: {e}")),
        },
        JsonRejection::BytesRejection(e) => bytes_error(e),
        other => ApiError::BadRequest(format!("The body could not be read: {other}")),
    }
}

fn bytes_error(e: BytesRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "The body is too large for this server.",
        )
    } else {
        ApiError::BadRequest("The body could not be read; send it again.".into())
    }
}

/// The field path and serde_json's error inside a JSON rejection (axum keeps both, via
/// `serde_path_to_error`; a syntax error found after the value has no path).
fn serde_error<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<(String, &'a serde_json::Error)> {
    let mut source = Some(e);
    while let Some(err) = source {
        if let Some(p) = err.downcast_ref::<serde_path_to_error::Error<serde_json::Error>>() {
            return Some((p.path().to_string(), p.inner()));
        }
        if let Some(inner) = err.downcast_ref::<serde_json::Error>() {
            return Some((".".into(), inner));
        }
        source = err.source();
    }
    None
}

/// serde's message about the value at `path` (`.` is the whole body) in plain words.
///
/// serde's wording (`invalid type: integer `5`, expected a string at line 1 column 9`)
/// names Rust types and the parser's position; a person wants to know which field is wrong
/// and what it should be.
pub(crate) fn field_error(path: &str, serde: &str) -> String {
    // serde_json appends where in the text it was: the field's name says it better.
    let serde = serde.split(" at line ").next().unwrap_or(serde);
    let field = |name: &str| {
        if path == "." {
            format!("`{name}`")
        } else {
            format!("`{path}.{name}`")
        }
    };
    let this = if path == "." {
        "The body".to_string()
    } else {
        format!("`{path}`")
    };
    if let Some(name) = between(serde, "missing field `", "`") {
        return format!("{} is required.", field(name));
    }
    if let Some(name) = between(serde, "unknown field `", "`") {
        // The path already ends with the unknown field's name.
        let name = if path == name || path.ends_with(&format!(".{name}")) {
            format!("`{path}`")
        } else {
            field(name)
        };
        let known = serde
            .split_once("expected ")
            .map(|(_, list)| list.replace("one of ", ""))
            .map(|list| format!(" The fields are {list}."))
            .unwrap_or_default();
        return format!("{name} is not a field of this request.{known}");
    }
    if let Some(name) = between(serde, "unknown variant `", "`") {
        let allowed = serde
            .split_once("expected ")
            .map(|(_, list)| list.replace("one of ", ""))
            .unwrap_or_default();
        return format!("{this} must be one of {allowed}; “{name}” is not.");
    }
    // A list where an object (or a longer or shorter list) belongs.
    if let Some(rest) = serde.strip_prefix("invalid length ")
        && let Some((_, expected)) = rest.split_once(", expected ")
    {
        if expected.starts_with("struct ") {
            return format!("{this} must be an object, not a list.");
        }
        return format!("{this} must be {expected}.");
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = serde.strip_prefix(prefix)
            && let Some((found, expected)) = rest.split_once(", expected ")
        {
            return format!(
                "{this} must be {}, not {}.",
                expected_words(expected),
                found_words(found)
            );
        }
    }
    format!("{this} is not valid: {serde}.")
}

/// The text between `start` and the next `end` in `s`.
fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let (_, rest) = s.split_once(start)?;
    rest.split_once(end).map(|(inside, _)| inside)
}

/// What serde expected, as a person says it.
fn expected_words(expected: &str) -> String {
    let words = match expected {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number, 0 or more",
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        "a boolean" => "true or false",
        "a sequence" => "a list",
        "a map" => "an object",
        "a string" | "a borrowed string" => "text",
        other if other.starts_with("struct ") || other.starts_with("a map") => "an object",
        other => other,
    };
    words.to_string()
}

/// The value serde found, as a person says it (`integer `5`` → `the number 5`).
fn found_words(found: &str) -> String {
    let quoted = |s: &str| s.trim_matches('`').to_string();
    if let Some(n) = found
        .strip_prefix("integer ")
        .or_else(|| found.strip_prefix("floating point "))
    {
        return format!("the number {}", quoted(n));
    }
    if let Some(s) = found.strip_prefix("string ") {
        return format!("the text {s}");
    }
    if let Some(b) = found.strip_prefix("boolean ") {
        return quoted(b);
    }
    match found {
        "map" => "an object".into(),
        "sequence" => "a list".into(),
        "null" | "unit value" => "null".into(),
        other => other.into(),
    }
}

// ---- paths ------------------------------------------------------------------------------

async fn path_error<S: Send + Sync>(parts: &mut Parts, state: &S, e: PathRejection) -> ApiError {
    use axum::extract::path::ErrorKind;
    let PathRejection::FailedToDeserializePathParams(failed) = e else {
        // No parameters for the matched route: a handler that does not fit its route.
        return ApiError::Internal(anyhow::anyhow!("path parameters: {e}"));
    };
    let raw = RawPathParams::from_request_parts(parts, state).await.ok();
    let key_at = |index: usize| {
        raw.as_ref()
            .and_then(|r| r.iter().nth(index).map(|(k, _)| k.to_owned()))
    };
    let route = parts
        .extensions
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    let (key, value, expected) = match failed.into_kind() {
        ErrorKind::ParseErrorAtKey {
            key,
            value,
            expected_type,
        } => (Some(key), value, expected_type),
        ErrorKind::ParseErrorAtIndex {
            index,
            value,
            expected_type,
        } => (key_at(index), value, expected_type),
        ErrorKind::ParseError {
            value,
            expected_type,
        } => (key_at(0), value, expected_type),
        ErrorKind::InvalidUtf8InPathParam { key } => {
            return ApiError::BadRequest(format!(
                "The {} in the address is not valid text (UTF-8).",
                what(&route, &key)
            ));
        }
        other => return ApiError::BadRequest(format!("The address is not valid: {other}.")),
    };
    let what = key.map_or_else(|| "id".to_string(), |k| what(&route, &k));
    let value = value.chars().take(40).collect::<String>();
    let whole = value.trim_start_matches('-');
    if !whole.is_empty() && whole.chars().all(|c| c.is_ascii_digit()) {
        return ApiError::BadRequest(format!(
            "The {what} “{value}” is too large to be one of ours."
        ));
    }
    ApiError::BadRequest(format!(
        "The {what} must be {}; “{value}” is not.",
        expected_words(expected)
    ))
}

/// What a path parameter names, from the route segment before it:
/// `/interactions/{id}` → "conversation id", `/outbound/{outbound_id}` → "reply id".
fn what(route: &str, key: &str) -> String {
    let segments: Vec<&str> = route.split('/').collect();
    let placeholder = format!("{{{key}}}");
    let before = segments
        .iter()
        .position(|s| *s == placeholder)
        .and_then(|i| i.checked_sub(1))
        .map(|i| segments[i]);
    let noun = match before {
        Some("interactions") => "conversation",
        Some("users") => "user",
        Some("workgroups") => "workgroup",
        Some("stations") => "station",
        Some("outbound") => "reply",
        Some("messages") => "message",
        Some("channels") => "channel",
        _ => return key.replace('_', " "),
    };
    if key == "id" || key.ends_with("_id") {
        format!("{noun} id")
    } else {
        format!("{noun} {key}")
    }
}

// ---- queries ----------------------------------------------------------------------------

fn query_error(e: QueryRejection) -> ApiError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(err) = source {
        if let Some(p) =
            err.downcast_ref::<serde_path_to_error::Error<serde_urlencoded::de::Error>>()
        {
            let message = p.inner().to_string();
            let name = p.path().to_string();
            return ApiError::BadRequest(if name == "." {
                format!("The query string is not valid: {message}.")
            } else {
                format!("The parameter `{name}` is not valid: {message}.")
            });
        }
        source = err.source();
    }
    ApiError::BadRequest(format!("The query string is not valid: {e}."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_become_plain_words() {
        assert_eq!(
            field_error(".", "missing field `text` at line 1 column 2"),
            "`text` is required."
        );
        assert_eq!(
            field_error(
                "skills.english",
                "invalid value: integer `-1`, expected u32 at line 1 column 30"
            ),
            "`skills.english` must be a whole number, 0 or more, not the number -1."
        );
        assert_eq!(
            field_error("text", "invalid type: integer `5`, expected a string"),
            "`text` must be text, not the number 5."
        );
        assert_eq!(
            field_error(".", "invalid type: sequence, expected struct ReplyRequest"),
            "The body must be an object, not a list."
        );
        assert_eq!(
            field_error(
                ".",
                "unknown field `nick`, expected one of `username`, `password`"
            ),
            "`nick` is not a field of this request. The fields are `username`, `password`."
        );
        assert_eq!(
            field_error("nick", "unknown field `nick`, expected `username`"),
            "`nick` is not a field of this request. The fields are `username`."
        );
        assert_eq!(
            field_error("skills.x", "unknown field `x`, expected `a`"),
            "`skills.x` is not a field of this request. The fields are `a`."
        );
        assert_eq!(
            field_error(
                ".",
                "invalid length 0, expected struct StatusRequest with 1 element"
            ),
            "The body must be an object, not a list."
        );
        assert_eq!(
            field_error(
                "visibility",
                "unknown variant `loud`, expected `public` or `private`"
            ),
            "`visibility` must be one of `public` or `private`; “loud” is not."
        );
    }

    #[test]
    fn a_path_parameter_is_named_by_what_it_is_of() {
        assert_eq!(what("/api/v1/interactions/{id}", "id"), "conversation id");
        assert_eq!(
            what(
                "/api/v1/interactions/{id}/outbound/{outbound_id}/resend",
                "outbound_id"
            ),
            "reply id"
        );
        assert_eq!(what("/api/v1/users/{id}", "id"), "user id");
        assert_eq!(what("/elsewhere/{thing_id}", "thing_id"), "thing id");
    }
}
