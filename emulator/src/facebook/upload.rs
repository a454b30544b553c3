//! Messenger's Attachment Upload API: `POST /{page-id}/message_attachments` (with or without
//! the version prefix) as `multipart/form-data`, with `message={"attachment":{"type":
//! "image|video|audio|file","payload":{"is_reusable":true}}}` and the file as `filedata`,
//! answered `{"attachment_id":".."}`. The Send API then takes
//! `{"attachment":{"type","payload":{"attachment_id"}}}` for a file of the same page.
//!
//! It is a route of its own rather than a case of the Graph fallback because its body is
//! multipart, which the fallback does not read. It keeps the fallback's rules: the page's
//! token (Bearer header, or `access_token` in the query or the form), injected failures,
//! Graph error shapes. The real platform's checks an agent could trip are kept: a type the
//! Send API does not take, no file, a file over 25 MB, an `image` whose bytes are not an
//! image (code 100). `GET /_emulator/messenger/uploads` lists what was uploaded.

use axum::Router;
use axum::extract::{Path, Request, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use sha2::Digest;

use super::cdn;
use crate::Emulator;
use crate::graph::{graph_error, injected_failure, is_graph_version};

/// Meta's limit for an uploaded asset.
const MAX_BYTES: usize = 25 * 1024 * 1024;
/// Room for the multipart framing around the largest file.
const MAX_BODY: usize = MAX_BYTES + 64 * 1024;
/// The attachment types the Send API takes.
const TYPES: &[&str] = &["image", "video", "audio", "file"];

/// A file an agent uploaded for a page.
pub(crate) struct Upload {
    pub(crate) page_id: String,
    pub(crate) kind: String,
    pub(crate) file_name: Option<String>,
    pub(crate) content_type: String,
    pub(crate) bytes: Vec<u8>,
    /// Where the emulator's CDN serves it (echoes of the page's sends point here).
    pub(crate) url: String,
}

/// The upload routes and their control view.
pub(crate) fn routes() -> Router<Emulator> {
    Router::new()
        .route("/{node}/message_attachments", post(upload_unversioned))
        .route(
            "/{version}/{node}/message_attachments",
            post(upload_versioned),
        )
        .route("/_emulator/messenger/uploads", get(control_uploads))
}

async fn upload_unversioned(
    AxState(em): AxState<Emulator>,
    Path(node): Path<String>,
    request: Request,
) -> Response {
    upload(em, node, request).await
}

async fn upload_versioned(
    AxState(em): AxState<Emulator>,
    Path((version, node)): Path<(String, String)>,
    request: Request,
) -> Response {
    if !is_graph_version(&version) {
        return param_error(&format!(
            "Unsupported post request. Object with ID '{version}' does not exist"
        ));
    }
    upload(em, node, request).await
}

fn param_error(message: &str) -> Response {
    graph_error(
        StatusCode::BAD_REQUEST,
        message,
        "OAuthException",
        100,
        None,
    )
}

/// One part of a `multipart/form-data` body.
pub(crate) struct Part {
    pub(crate) name: String,
    pub(crate) file_name: Option<String>,
    pub(crate) content_type: Option<String>,
    pub(crate) data: Vec<u8>,
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// A `name="value"` parameter of a header.
fn header_param(header: &str, name: &str) -> Option<String> {
    header.split(';').map(str::trim).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

/// The parts of a `multipart/form-data` body (RFC 7578), or none when it is not one.
pub(crate) fn parse_multipart(content_type: &str, body: &[u8]) -> Option<Vec<Part>> {
    if !content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        return None;
    }
    let boundary = header_param(content_type, "boundary").filter(|b| !b.is_empty())?;
    let delimiter = format!("--{boundary}").into_bytes();
    let closing = format!("\r\n--{boundary}").into_bytes();
    let mut at = find(body, &delimiter, 0)? + delimiter.len();
    let mut parts = Vec::new();
    loop {
        if body.get(at..at + 2) == Some(b"--") {
            return Some(parts);
        }
        let start = at
            + if body.get(at..at + 2) == Some(b"\r\n") {
                2
            } else {
                0
            };
        let end = find(body, &closing, start)?;
        let raw = &body[start..end];
        let split = find(raw, b"\r\n\r\n", 0)?;
        let head = String::from_utf8_lossy(&raw[..split]);
        let mut part = Part {
            name: String::new(),
            file_name: None,
            content_type: None,
            data: raw[split + 4..].to_vec(),
        };
        for line in head.split("\r\n") {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            if key.trim().eq_ignore_ascii_case("content-disposition") {
                part.name = header_param(value, "name").unwrap_or_default();
                part.file_name = header_param(value, "filename");
            } else if key.trim().eq_ignore_ascii_case("content-type") {
                part.content_type = Some(value.trim().to_string());
            }
        }
        parts.push(part);
        at = end + closing.len();
    }
}

/// Whether `bytes` begin like an image a Messenger photo can be.
fn looks_like_image(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x89PNG\r\n\x1a\n")
        || bytes.starts_with(b"\xff\xd8\xff")
        || bytes.starts_with(b"GIF87a")
        || bytes.starts_with(b"GIF89a")
        || (bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP"))
}

fn text_of(part: &Part) -> String {
    String::from_utf8_lossy(&part.data).into_owned()
}

async fn upload(em: Emulator, node: String, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    if let Some(failure) = injected_failure(&em) {
        return failure;
    }
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return param_error("(#100) The file is larger than the 25 MB Messenger takes");
    };
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(form) = parse_multipart(content_type, &body) else {
        return param_error(
            "(#100) The emulator takes attachment uploads as multipart/form-data with `message` and `filedata`",
        );
    };
    let field = |name: &str| form.iter().find(|p| p.name == name);
    let query_token = parts.uri.query().and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("access_token="))
            .map(|t| urlencoding::decode(t).map_or(t.to_string(), |d| d.into_owned()))
    });
    let token = bearer(&parts.headers)
        .or(query_token)
        .or_else(|| field("access_token").map(text_of));
    let message: Value = match field("message").map(|p| serde_json::from_slice(&p.data)) {
        Some(Ok(message)) => message,
        _ => return param_error("(#100) param message must be a JSON object"),
    };
    let kind = message
        .pointer("/attachment/type")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !TYPES.contains(&kind) {
        return param_error(&format!(
            "(#100) param message[attachment][type] must be one of {TYPES:?}"
        ));
    }
    let Some(file) = field("filedata").filter(|f| !f.data.is_empty()) else {
        return param_error("(#100) Upload attachment failure: no filedata");
    };
    if file.data.len() > MAX_BYTES {
        return param_error("(#100) The file is larger than the 25 MB Messenger takes");
    }
    if kind == "image" && !looks_like_image(&file.data) {
        return param_error("(#100) Upload attachment failure: the file is not an image");
    }
    let id = em.next_id().to_string();
    let mut state = em.state();
    let fb = &mut state.facebook;
    let Some(page) = fb.pages.get(&node) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            &format!("(#100) Object with ID '{node}' does not exist"),
            "GraphMethodException",
            100,
            Some(33),
        );
    };
    if let Err(response) = check_token(page.config.access_token.as_deref(), token.as_deref()) {
        return response;
    }
    let upload = Upload {
        page_id: node.clone(),
        kind: kind.to_string(),
        file_name: file.file_name.clone(),
        content_type: file
            .content_type
            .clone()
            .unwrap_or_else(|| "application/octet-stream".into()),
        bytes: file.data.clone(),
        url: cdn::upload_url(&parts.headers, &id),
    };
    fb.messenger.uploads.insert(id.clone(), upload);
    axum::Json(json!({ "attachment_id": id })).into_response()
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("OAuth "))?;
    Some(token.trim().to_string())
}

#[allow(clippy::result_large_err)] // the error is the Graph answer itself
fn check_token(expected: Option<&str>, given: Option<&str>) -> Result<(), Response> {
    match expected {
        Some(expected) if given != Some(expected) => Err(graph_error(
            StatusCode::BAD_REQUEST,
            "Invalid OAuth access token - Cannot parse access token",
            "OAuthException",
            190,
            None,
        )),
        _ => Ok(()),
    }
}

/// Every upload, oldest first: id, page, type, file name, content type, size, SHA-256 of
/// the bytes and the CDN URL they are served at.
async fn control_uploads(AxState(em): AxState<Emulator>) -> Response {
    let state = em.state();
    let mut uploads: Vec<(u64, Value)> = state
        .facebook
        .messenger
        .uploads
        .iter()
        .map(|(id, u)| {
            let order = id.parse().unwrap_or(u64::MAX);
            let view = json!({
                "attachment_id": id,
                "page_id": u.page_id,
                "type": u.kind,
                "file_name": u.file_name,
                "content_type": u.content_type,
                "size": u.bytes.len(),
                "sha256": hex::encode(sha2::Sha256::digest(&u.bytes)),
                "url": u.url,
            });
            (order, view)
        })
        .collect();
    uploads.sort_by_key(|(order, _)| *order);
    axum::Json(uploads.into_iter().map(|(_, v)| v).collect::<Vec<_>>()).into_response()
}
