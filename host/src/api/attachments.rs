//! Attachment files, served only by this host: the agent's browser never loads a
//! platform's URL (which expires, needs the platform's token, or tells the platform who
//! looked).
//!
//! A file is answered to a signed-in user allowed to see its interaction (the agent it
//! is assigned to, an agent who answers the same customer now, supervisors and
//! administrators), with the type its bytes showed. Only images, audio and video are
//! offered inline; every other file is a download (`Content-Disposition: attachment`),
//! and every answer forbids the browser from guessing a type or running anything.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::auth::Caller;
use super::error::ApiError;
use super::extract::Path;
use super::responses::{BadRequest, NotFound, SignedIn};
use crate::app::App;
use crate::model::attachment::MediaState;
use crate::store::media;

/// The bytes of one attachment file (`url` of an attachment in an interaction's
/// transcript), with their content type. Images, audio and video are inline; other files
/// come as downloads named as the customer named them.
#[utoipa::path(get, path = "/api/v1/attachments/{id}", params(("id" = i64, Path)),
    responses(
        (status = 200, description = "The file's bytes, with the type they showed (an image, audio, video, a PDF, ...)", content_type = "*/*"),
        SignedIn, BadRequest, NotFound,
        (status = 403, description = "`forbidden`: the file belongs to a conversation you may not see", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn file(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let found = app
        .store
        .read(move |c| media::serving(c, id))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("There is no attachment {id}.")))?;
    let allowed = if caller.sees_all() {
        true
    } else if let Some(ix) = found.interaction_id {
        let user = caller.0.id;
        app.store
            .read(move |c| {
                let mine = crate::store::queries::interaction(c, ix)?
                    .is_some_and(|i| i.assigned_user_id == Some(user));
                Ok(mine || crate::store::contacts::shares_contact_with(c, ix, user)?)
            })
            .await?
    } else {
        false
    };
    if !allowed {
        return Err(ApiError::Forbidden(
            "This attachment belongs to a conversation you may not see.".into(),
        ));
    }
    let (hash, content_type) = match (found.state, found.content_hash, found.content_type) {
        (MediaState::Stored, Some(hash), Some(t)) => (hash, t),
        (MediaState::Pending, ..) => {
            return Err(ApiError::NotFound(
                "This attachment is not yet available: it is still being downloaded from the platform."
                    .into(),
            ));
        }
        (MediaState::Erased, ..) => {
            return Err(ApiError::NotFound(
                "This attachment was removed (retention or erasure).".into(),
            ));
        }
        _ => {
            return Err(ApiError::NotFound(
                "This attachment could not be downloaded from the platform.".into(),
            ));
        }
    };
    let file = app.media.blobs.read(&hash).await.map_err(|e| {
        tracing::error!(media = id, error = %format!("{e:#}"), "a stored attachment file is missing");
        ApiError::NotFound("This attachment's file is missing on the server.".into())
    })?;
    let mut res = blob_answer(file, &content_type, found.size);
    let headers = res.headers_mut();
    let name = found
        .file_name
        .as_deref()
        .map(safe_file_name)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| format!("attachment-{id}"));
    let inline = crate::model::attachment::inline(&content_type);
    let disposition = if inline { "inline" } else { "attachment" };
    if let Ok(v) = HeaderValue::from_str(&format!("{disposition}; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    // The bytes under one id never change; only this user's browser may keep them.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    Ok(res)
}

/// An agent's file by the signed link given to a platform that fetches files itself
/// (`media::upload`): the bytes while the link works, 404 otherwise (an expired, forged or
/// altered link says nothing about what exists).
pub async fn linked(
    State(app): State<Arc<App>>,
    axum::extract::Path((id, expires, signature)): axum::extract::Path<(i64, i64, String)>,
) -> Response {
    let gone = || (axum::http::StatusCode::NOT_FOUND, "This link has expired.").into_response();
    if expires < crate::clock::now_ms() {
        return gone();
    }
    let found = app
        .store
        .write(move |c| {
            let key = crate::store::contacts::named_key(c, crate::media::upload::LINK_KEY)?;
            Ok((key, media::linked(c, id)?))
        })
        .await;
    let Ok((key, Some((hash, content_type, size)))) = found else {
        return gone();
    };
    if !crate::media::upload::verify(&key, id, expires, &signature) {
        return gone();
    }
    let Ok(file) = app.media.blobs.read(&hash).await else {
        return gone();
    };
    blob_answer(file, &content_type, Some(size))
}

/// A stored file's bytes as an answer: its type and length, and nothing a browser may
/// guess or run.
fn blob_answer(
    file: crate::media::blobs::ByteStream,
    content_type: &str,
    size: Option<i64>,
) -> Response {
    let mut res = Body::from_stream(file).into_response();
    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    if let Some(size) = size {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    res
}

/// A file name fit for a header: printable ASCII without quotes, slashes or backslashes
/// (what a customer typed can hold anything).
fn safe_file_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_graphic() && !matches!(c, '"' | '\\' | '/' | ';') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .take(120)
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_cannot_break_the_header() {
        assert_eq!(safe_file_name("invoice 12.pdf"), "invoice 12.pdf");
        assert_eq!(
            safe_file_name("a\"; filename=evil.html"),
            "a__ filename=evil.html"
        );
        assert_eq!(safe_file_name("../../etc/passwd"), ".._.._etc_passwd");
        assert_eq!(safe_file_name("résumé\r\n.pdf"), "r_sum___.pdf");
    }
}
