//! WhatsApp media on the emulated Cloud API, both ways.
//!
//! Customers' media (made by `/_emulator/whatsapp/messages`) and the business's uploads
//! (`POST /{phone-number-id}/media`, multipart) get a media id. `GET /{media-id}` with the
//! owning number's token answers `{messaging_product, url, mime_type, sha256, file_size,
//! id}` as the Cloud API does; the `url` is this emulator's stand-in for
//! `lookaside.fbsbx.com` (`/whatsapp_business/attachments/?mid=..&ext=..&hash=..`), valid
//! five minutes and only with the same bearer token. The bytes are real files of their
//! type (a PNG, a JPEG, a WebP, a PDF, Ogg and MP4 headers), padded with zeros to a
//! requested size, so a content check or a size cap sees what it would see for real.
//!
//! Axum gives the Graph fallback no raw body, so the upload route here takes the multipart
//! request itself, keeps the file, and hands the fallback a small JSON request naming it:
//! failure injection, slowness and the token check apply to uploads like to any call.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Query, Request, State as AxState};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Digest;

use super::{Number, WhatsAppState, bad_parameter, cloud_error};
use crate::graph::{GraphRequest, graph_error};
use crate::{Emulator, unix_now};

/// How long a download URL works, as Meta's do.
pub(super) const URL_LIFETIME_SECS: i64 = 300;
/// The largest upload read (WhatsApp's largest file, a 100 MB document, and some room).
const MAX_UPLOAD_BYTES: usize = 110 * 1024 * 1024;
/// Uploads waiting for the Graph fallback to pick them up; older ones are dropped.
const MAX_PENDING_UPLOADS: usize = 16;

const PNG: &[u8] = include_bytes!("samples/sample.png");
const JPEG: &[u8] = include_bytes!("samples/sample.jpg");
const WEBP: &[u8] = include_bytes!("samples/sample.webp");
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj <</Type/Catalog/Pages 2 0 R>> endobj\n2 0 obj <</Type/Pages/Kids[3 0 R]/Count 1>> endobj\n3 0 obj <</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n";
/// An Ogg page carrying an Opus identification header (a voice note's start).
const OGG: &[u8] = b"OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x13OpusHead\x01\x01\x38\x01\x80\xbb\x00\x00\x00\x00\x00";
/// An MP4 `ftyp` box (ISO base media), then an empty `free` box.
const MP4: &[u8] = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2\x00\x00\x00\x08free";
const THREE_GP: &[u8] = b"\x00\x00\x00\x14ftyp3gp4\x00\x00\x00\x00isom\x00\x00\x00\x08free";
const M4A: &[u8] = b"\x00\x00\x00\x18ftypM4A \x00\x00\x02\x00M4A isom\x00\x00\x00\x08free";
/// An ID3v2 tag, then an MPEG-1 Layer III frame header.
const MP3: &[u8] = b"ID3\x04\x00\x00\x00\x00\x00\x00\xff\xfb\x90\x64\x00\x00\x00\x00";
const AMR: &[u8] = b"#!AMR\n\x3c\x00";
const AAC: &[u8] = b"\xff\xf1\x50\x80\x02\x1f\xfc";
/// A ZIP local file header: what Office documents are.
const ZIP: &[u8] = b"PK\x03\x04\x14\x00\x00\x00\x08\x00";

/// The bytes of an emulated file of `mime` type.
pub(super) fn sample(mime: &str) -> Vec<u8> {
    let mime = mime.split(';').next().unwrap_or("").trim();
    let bytes: &[u8] = match mime {
        "image/png" => PNG,
        "image/webp" => WEBP,
        m if m.starts_with("image/") => JPEG,
        "video/3gpp" => THREE_GP,
        m if m.starts_with("video/") => MP4,
        "audio/mpeg" => MP3,
        "audio/amr" => AMR,
        "audio/aac" => AAC,
        "audio/mp4" => M4A,
        m if m.starts_with("audio/") => OGG,
        "application/pdf" => PDF,
        "text/plain" => b"Emulated document.\n",
        m if m.contains("openxmlformats") => ZIP,
        _ => b"Emulated file.\n",
    };
    bytes.to_vec()
}

/// One media item on the emulated Cloud API.
pub(super) struct Media {
    /// The phone number id it belongs to (whose token reads it).
    pub(super) owner: String,
    pub(super) mime_type: String,
    pub(super) file_name: Option<String>,
    /// The bytes: uploaded ones as sent; a customer's generated from the type, padded.
    pub(super) bytes: Vec<u8>,
    /// Where the emulator was reached when the media was made (`http://host:port`), for
    /// the download URL.
    pub(super) origin: String,
    /// Uploaded by the business (rather than sent by a customer).
    pub(super) uploaded: bool,
}

impl Media {
    pub(super) fn sha256(&self) -> String {
        hex::encode(sha2::Sha256::digest(&self.bytes))
    }

    pub(super) fn summary(&self, id: &str) -> Value {
        json!({
            "id": id,
            "mime_type": self.mime_type,
            "file_name": self.file_name,
            "file_size": self.bytes.len(),
            "sha256": self.sha256(),
            "uploaded": self.uploaded,
        })
    }
}

/// A customer's file of `mime` type, `size` bytes when asked (padded with zeros).
pub(super) fn customer_media(
    owner: &str,
    mime: &str,
    file_name: Option<String>,
    size: Option<usize>,
    origin: &str,
) -> Media {
    let mut bytes = sample(mime);
    if let Some(size) = size.filter(|s| *s > bytes.len()) {
        bytes.resize(size.min(MAX_UPLOAD_BYTES), 0);
    }
    Media {
        owner: owner.to_string(),
        mime_type: mime.to_string(),
        file_name,
        bytes,
        origin: origin.to_string(),
        uploaded: false,
    }
}

/// `http://<Host>` of a request, where the emulator was reached.
pub(super) fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// The signature of a download URL (the real one is Meta's; this one only has to be
/// unguessable without the app secret).
fn url_hash(id: &str, expires: i64, secret: &str) -> String {
    let digest = sha2::Sha256::digest(format!("{id}:{expires}:{secret}").as_bytes());
    hex::encode(&digest[..16])
}

/// Checks a Graph call's token against the owning number's (none configured: anything).
#[allow(clippy::result_large_err)] // the error is the ready-made HTTP answer
pub(super) fn check_owner_token(number: &Number, req: &GraphRequest) -> Result<(), Response> {
    match number.config.access_token.as_deref() {
        Some(expected) if req.access_token().as_deref() != Some(expected) => Err(graph_error(
            StatusCode::UNAUTHORIZED,
            "Invalid OAuth access token - Cannot parse access token",
            "OAuthException",
            190,
            None,
        )),
        _ => Ok(()),
    }
}

/// `GET /{media-id}`: where to download it, for the owning number's token. `None`: not a
/// media id.
pub(super) fn media_info(wa: &WhatsAppState, id: &str, req: &GraphRequest) -> Option<Response> {
    let media = wa.media.get(id)?;
    let number = wa.numbers.get(&media.owner)?;
    if req.method != Method::GET {
        return Some(bad_parameter("Media can only be read (GET) or deleted."));
    }
    if let Err(refused) = check_owner_token(number, req) {
        return Some(refused);
    }
    if let Some(asked) = req.param("phone_number_id")
        && asked != media.owner
    {
        return Some(bad_parameter(&format!(
            "Media {id} does not belong to phone number {asked}."
        )));
    }
    let expires = unix_now() + URL_LIFETIME_SECS;
    let hash = url_hash(id, expires, &number.config.app_secret);
    let url = format!(
        "{}/whatsapp_business/attachments/?mid={id}&ext={expires}&hash={hash}",
        media.origin
    );
    Some(
        axum::Json(json!({
            "messaging_product": "whatsapp",
            "url": url,
            "mime_type": media.mime_type,
            "sha256": media.sha256(),
            "file_size": media.bytes.len().to_string(),
            "id": id,
        }))
        .into_response(),
    )
}

#[derive(Deserialize)]
pub(super) struct DownloadQuery {
    #[serde(default)]
    mid: String,
    #[serde(default)]
    ext: i64,
    #[serde(default)]
    hash: String,
}

/// The stand-in for `lookaside.fbsbx.com`: the bytes, for the URL `GET /{media-id}` gave
/// and the owning number's bearer token. An expired or altered URL is 404, a missing or
/// wrong token 401.
pub(super) async fn download(
    AxState(em): AxState<Emulator>,
    Query(q): Query<DownloadQuery>,
    headers: HeaderMap,
) -> Response {
    let state = em.state();
    let wa = &state.whatsapp;
    let not_found = || (StatusCode::NOT_FOUND, "URL signature mismatch or expired").into_response();
    let Some(media) = wa.media.get(&q.mid) else {
        return not_found();
    };
    let Some(number) = wa.numbers.get(&media.owner) else {
        return not_found();
    };
    if q.hash != url_hash(&q.mid, q.ext, &number.config.app_secret) || unix_now() > q.ext {
        return not_found();
    }
    if let Some(expected) = number.config.access_token.as_deref() {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if bearer != Some(expected) {
            return (StatusCode::UNAUTHORIZED, "Authorization required").into_response();
        }
    }
    (
        [(header::CONTENT_TYPE, media.mime_type.clone())],
        media.bytes.clone(),
    )
        .into_response()
}

/// A file taken from a multipart upload, waiting for the Graph fallback.
pub(super) struct PendingUpload {
    pub(super) bytes: Vec<u8>,
    pub(super) file_name: Option<String>,
    pub(super) content_type: Option<String>,
    pub(super) origin: String,
}

/// One part of a `multipart/form-data` body.
struct Part {
    name: String,
    file_name: Option<String>,
    content_type: Option<String>,
    data: Vec<u8>,
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    (from..=haystack.len() - needle.len()).find(|&i| &haystack[i..i + needle.len()] == needle)
}

/// A quoted parameter of a `Content-Disposition` header (`name="file"`).
fn disposition_param(line: &str, key: &str) -> Option<String> {
    let start = line.find(&format!("{key}=\""))? + key.len() + 2;
    let end = line[start..].find('"')? + start;
    Some(line[start..end].to_string())
}

/// The parts of a multipart body; `None` when it is not one.
fn multipart(content_type: &str, body: &[u8]) -> Option<Vec<Part>> {
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))?
        .trim_matches('"');
    let delimiter = format!("--{boundary}").into_bytes();
    let mut parts = Vec::new();
    let mut at = find(body, &delimiter, 0)? + delimiter.len();
    loop {
        if body[at..].starts_with(b"--") {
            return Some(parts);
        }
        let head_start = at + 2; // past CRLF
        let head_end = find(body, b"\r\n\r\n", head_start)?;
        let head = String::from_utf8_lossy(&body[head_start..head_end]).into_owned();
        let next = find(body, &delimiter, head_end)?;
        let data_end = next.checked_sub(2)?; // the CRLF before the delimiter
        let mut part = Part {
            name: String::new(),
            file_name: None,
            content_type: None,
            data: body[head_end + 4..data_end.max(head_end + 4)].to_vec(),
        };
        for line in head.split("\r\n") {
            let lower = line.to_ascii_lowercase();
            if lower.starts_with("content-disposition:") {
                part.name = disposition_param(line, "name").unwrap_or_default();
                part.file_name = disposition_param(line, "filename");
            } else if let Some(value) = lower.strip_prefix("content-type:") {
                part.content_type = Some(value.trim().to_string());
            }
        }
        parts.push(part);
        at = next + delimiter.len();
    }
}

/// The numbers' phone number ids, for the upload route.
fn is_number(em: &Emulator, id: &str) -> bool {
    em.state().whatsapp.numbers.contains_key(id)
}

/// `ANY /{id}/media` and `/{version}/{id}/media`: a multipart `POST` to a WhatsApp
/// number's media is read here and passed on as JSON; anything else goes to the Graph
/// fallback unchanged (Instagram's `/{ig-id}/media` among others).
pub(super) async fn upload_route(AxState(em): AxState<Emulator>, request: Request) -> Response {
    let segments: Vec<String> = request
        .uri()
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let number_id = segments.len().checked_sub(2).map(|i| segments[i].clone());
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let ours = request.method() == Method::POST
        && content_type.starts_with("multipart/form-data")
        && number_id.as_deref().is_some_and(|id| is_number(&em, id));
    if !ours {
        return crate::graph::graph_fallback(AxState(em), request).await;
    }
    let (mut parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_UPLOAD_BYTES).await else {
        return cloud_error(
            StatusCode::BAD_REQUEST,
            131053,
            "Media upload error",
            "The file is larger than WhatsApp takes.",
        );
    };
    let Some(fields) = multipart(&content_type, &bytes) else {
        return bad_parameter("The request is not valid multipart/form-data.");
    };
    let mut params = serde_json::Map::new();
    let mut file = None;
    for part in fields {
        if part.name == "file" {
            file = Some(part);
        } else {
            params.insert(
                part.name,
                json!(String::from_utf8_lossy(&part.data).into_owned()),
            );
        }
    }
    if let Some(file) = file {
        let token = uuid::Uuid::new_v4().to_string();
        let mut state = em.state();
        let pending = &mut state.whatsapp.pending_uploads;
        if pending.len() >= MAX_PENDING_UPLOADS {
            pending.clear();
        }
        pending.insert(
            token.clone(),
            PendingUpload {
                bytes: file.data,
                file_name: file.file_name,
                content_type: file.content_type,
                origin: origin(&parts.headers),
            },
        );
        params.insert("_upload".into(), json!(token));
    }
    let json = serde_json::to_vec(&Value::Object(params)).expect("serializing JSON");
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        "application/json".parse().expect("a valid header value"),
    );
    let request = Request::from_parts(parts, Body::from(json));
    crate::graph::graph_fallback(AxState(em), request).await
}

/// The MIME types and size the Cloud API takes for an upload of `mime` type.
fn upload_limit(mime: &str) -> Option<usize> {
    const MB: usize = 1024 * 1024;
    let mime = mime.split(';').next().unwrap_or("").trim();
    match mime {
        "image/jpeg" | "image/png" => Some(5 * MB),
        "image/webp" => Some(500 * 1024),
        "video/mp4" | "video/3gpp" => Some(16 * MB),
        "audio/aac" | "audio/amr" | "audio/mpeg" | "audio/mp4" | "audio/ogg" => Some(16 * MB),
        "text/plain"
        | "application/pdf"
        | "application/msword"
        | "application/vnd.ms-excel"
        | "application/vnd.ms-powerpoint"
        | "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        | "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        | "application/vnd.openxmlformats-officedocument.presentationml.presentation" => {
            Some(100 * MB)
        }
        _ => None,
    }
}

/// `POST /{phone-number-id}/media` (after [`upload_route`]): keeps the file, answers its id.
pub(super) fn upload(
    em: &Emulator,
    wa: &mut WhatsAppState,
    number_id: &str,
    req: &GraphRequest,
) -> Response {
    let Some(number) = wa.numbers.get(number_id) else {
        return bad_parameter("Unknown phone number.");
    };
    if let Err(refused) = check_owner_token(number, req) {
        return refused;
    }
    if req.param("messaging_product").as_deref() != Some("whatsapp") {
        return bad_parameter(
            "The parameter messaging_product is required and must be \"whatsapp\".",
        );
    }
    let Some(file) = req
        .param("_upload")
        .and_then(|token| wa.pending_uploads.remove(&token))
    else {
        return bad_parameter("The parameter file is required (send it as multipart/form-data).");
    };
    let Some(mime) = req
        .param("type")
        .or(file.content_type.clone())
        .filter(|t| !t.trim().is_empty())
    else {
        return bad_parameter("The parameter type is required.");
    };
    let Some(limit) = upload_limit(&mime) else {
        return bad_parameter(&format!(
            "Param file must be a file with one of the supported media types; {mime} is not one."
        ));
    };
    if file.bytes.len() > limit {
        return cloud_error(
            StatusCode::BAD_REQUEST,
            131053,
            "Media upload error",
            &format!(
                "The file is {} bytes; WhatsApp takes at most {limit} for {mime}.",
                file.bytes.len()
            ),
        );
    }
    let id = em.next_id().to_string();
    wa.media.insert(
        id.clone(),
        Media {
            owner: number_id.to_string(),
            mime_type: mime,
            file_name: file.file_name,
            bytes: file.bytes,
            origin: file.origin,
            uploaded: true,
        },
    );
    axum::Json(json!({ "id": id })).into_response()
}

/// The media a send names (`{"id"}` of an upload, or a `link`), as recorded; an error
/// answer for an id WhatsApp does not know.
#[allow(clippy::result_large_err)] // the error is the ready-made HTTP answer
pub(super) fn sent_media(
    media: &HashMap<String, Media>,
    number_id: &str,
    kind: &str,
    object: &Value,
) -> Result<Value, Response> {
    if let Some(link) = object.get("link").and_then(Value::as_str) {
        return Ok(json!({ "link": link }));
    }
    let Some(id) = object.get("id").and_then(Value::as_str) else {
        return Err(bad_parameter(&format!(
            "The parameter {kind}['id'] or {kind}['link'] is required."
        )));
    };
    match media.get(id).filter(|m| m.owner == number_id) {
        Some(found) => Ok(found.summary(id)),
        None => Err(cloud_error(
            StatusCode::BAD_REQUEST,
            131053,
            "Media upload error",
            &format!("Media {id} was not uploaded by this phone number."),
        )),
    }
}
