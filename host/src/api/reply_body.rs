//! A reply's body: JSON (`text`, `visibility`, template, sender, list) or, to send files,
//! `multipart/form-data` with the same fields as text parts and one `file` part per file.
//!
//! The route has its own body limit (`[media] max_mib` per file and a little more): a
//! file is streamed into the blob store as it arrives and refused at the limit, so a
//! large document is never held in memory. A JSON body keeps the API's usual 8 MiB limit.
//! Files are only ever what the agent uploads here: a JSON body naming files is refused.

use std::sync::Arc;

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header;
use futures::TryStreamExt;

use super::error::ApiError;
use crate::app::App;
use crate::model::interaction::Visibility;
use crate::model::reply::{Extras, FileRef};

/// The largest JSON reply body.
const JSON_MAX: usize = 8 << 20;
/// The largest text field of a multipart reply.
const FIELD_MAX: usize = 256 << 10;
/// Most files in one reply.
const MAX_FILES: usize = 10;

/// A reply as the agent sent it, with its files already in the blob store.
pub struct ReplyBody {
    pub text: String,
    pub visibility: Option<Visibility>,
    pub extras: Extras,
}

/// The JSON form (also what the multipart form's fields mean).
#[derive(serde::Deserialize, utoipa::ToSchema)]
pub struct ReplyRequest {
    /// The text, UTF-8 (in the multipart form, it may be empty when files are sent).
    pub text: String,
    /// `public` (a comment) or `private`; default: as the conversation is (private for a
    /// direct message, public otherwise).
    #[serde(default)]
    pub visibility: Option<Visibility>,
    /// Template, sender handle and list choices, where the platform has them.
    #[serde(flatten)]
    pub extras: Extras,
}

/// The multipart form of a reply (for the API's documentation; see [`ReplyRequest`]).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ReplyForm {
    /// The text (may be empty when files are sent).
    text: Option<String>,
    /// `public` or `private`.
    visibility: Option<String>,
    /// One part per file.
    #[schema(value_type = Vec<String>, format = Binary)]
    file: Vec<Vec<u8>>,
    /// Which of the channel's accounts sends it (an X handle).
    from_handle: Option<String>,
    /// A template as JSON: `{"name", "language", "parameters"}`.
    template: Option<String>,
    /// A list picker's choices as JSON: `[{"id", "title"}]`.
    list_items: Option<String>,
}

impl FromRequest<Arc<App>> for ReplyBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, app: &Arc<App>) -> Result<Self, ApiError> {
        let multipart = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| {
                t.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("multipart/form-data")
            });
        if !multipart {
            // The route's own limit is for files; JSON keeps the API's 8 MiB.
            let (parts, body) = req.into_parts();
            let bytes = axum::body::to_bytes(body, JSON_MAX).await.map_err(|_| {
                ApiError::problem(
                    axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    "The reply is larger than 8 MiB. Send files as multipart/form-data.",
                )
            })?;
            let req = Request::from_parts(parts, axum::body::Body::from(bytes));
            let super::extract::Json(r) =
                super::extract::Json::<ReplyRequest>::from_request(req, app).await?;
            if !r.extras.files.is_empty() {
                return Err(ApiError::BadRequest(
                    "Files are sent as multipart/form-data parts named `file`, not in JSON.".into(),
                ));
            }
            return Ok(ReplyBody {
                text: r.text,
                visibility: r.visibility,
                extras: r.extras,
            });
        }
        let mut form = Multipart::from_request(req, app).await.map_err(|e| {
            ApiError::BadRequest(format!("The form cannot be read: {}", e.body_text()))
        })?;
        let mut text = String::new();
        let mut visibility = None;
        let mut extras = Extras::default();
        let mut files: Vec<FileRef> = Vec::new();
        while let Some(field) = form.next_field().await.map_err(|e| {
            ApiError::BadRequest(format!("The form cannot be read: {}", e.body_text()))
        })? {
            let name = field.name().unwrap_or_default().to_owned();
            match name.as_str() {
                "file" => {
                    if files.len() == MAX_FILES {
                        return Err(ApiError::BadRequest(format!(
                            "A reply carries at most {MAX_FILES} files."
                        )));
                    }
                    let file_name = field.file_name().unwrap_or("file").to_owned();
                    let declared = field.content_type().map(str::to_owned);
                    let stream = field.map_err(|e| e.body_text());
                    files.push(
                        crate::outbound::files::accept_stream(
                            app,
                            Box::pin(stream),
                            &file_name,
                            declared.as_deref(),
                        )
                        .await?,
                    );
                }
                "text" => text = small(field, "text").await?,
                "visibility" => {
                    let v = small(field, "visibility").await?;
                    visibility = match v.trim() {
                        "" => None,
                        "public" => Some(Visibility::Public),
                        "private" => Some(Visibility::Private),
                        other => {
                            return Err(ApiError::BadRequest(format!(
                                "visibility must be public or private, not “{other}”."
                            )));
                        }
                    };
                }
                "from_handle" => {
                    let v = small(field, "from_handle").await?;
                    extras.from_handle = Some(v).filter(|v| !v.trim().is_empty());
                }
                "template" => {
                    let v = small(field, "template").await?;
                    extras.template = Some(serde_json::from_str(&v).map_err(|e| {
                        ApiError::BadRequest(format!(
                            "template must be JSON such as {{\"name\": \"order_update\", \"language\": \"en_US\", \"parameters\": [\"Ann\"]}}: {e}"
                        ))
                    })?);
                }
                "list_items" => {
                    let v = small(field, "list_items").await?;
                    extras.list_items = serde_json::from_str(&v).map_err(|e| {
                        ApiError::BadRequest(format!(
                            "list_items must be a JSON list of {{\"id\", \"title\"}}: {e}"
                        ))
                    })?;
                }
                other => {
                    return Err(ApiError::BadRequest(format!(
                        "The reply form has no field “{other}”: it takes text, visibility, file, from_handle, template and list_items."
                    )));
                }
            }
        }
        extras.files = files;
        Ok(ReplyBody {
            text,
            visibility,
            extras,
        })
    }
}

/// A text field of the form, at most [`FIELD_MAX`] bytes.
async fn small(
    mut field: axum::extract::multipart::Field<'_>,
    name: &str,
) -> Result<String, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| ApiError::BadRequest(format!("The form cannot be read: {}", e.body_text())))?
    {
        if bytes.len() + chunk.len() > FIELD_MAX {
            return Err(ApiError::BadRequest(format!(
                "The field {name} is longer than {} KiB.",
                FIELD_MAX >> 10
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes)
        .map_err(|_| ApiError::BadRequest(format!("The field {name} is not UTF-8 text.")))
}
