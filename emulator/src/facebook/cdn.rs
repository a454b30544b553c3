//! Meta's media CDN, on the emulator itself: `GET /_emulator/meta-cdn/{file}` serves a
//! small sample of each kind a customer sends on Messenger and Instagram (a photo, a
//! sticker, a story frame, a video clip, a voice note, a PDF), with real leading bytes so
//! that a download's type check passes, and `GET /_emulator/meta-cdn/uploads/{id}` the
//! bytes an agent's upload left (what the page's own echoes point at).
//!
//! Like the real CDN links, these need no token: the connectors fetch them with a plain
//! `GET`. The control endpoints put them in the webhooks they send, built on the address
//! the control call came to (its `Host`), which is the address the connector reaches the
//! emulator at too.

use axum::Router;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::{Emulator, control_error};

/// One sample file: its name under `/_emulator/meta-cdn/`, its content type and bytes.
pub(crate) struct Sample {
    pub(crate) name: &'static str,
    pub(crate) content_type: &'static str,
    pub(crate) bytes: &'static [u8],
}

/// Every sample served.
pub(crate) const SAMPLES: &[Sample] = &[
    Sample {
        name: "photo.png",
        content_type: "image/png",
        bytes: include_bytes!("samples/photo.png"),
    },
    Sample {
        name: "sticker.png",
        content_type: "image/png",
        bytes: include_bytes!("samples/sticker.png"),
    },
    Sample {
        name: "story.png",
        content_type: "image/png",
        bytes: include_bytes!("samples/story.png"),
    },
    Sample {
        name: "clip.mp4",
        content_type: "video/mp4",
        bytes: include_bytes!("samples/clip.mp4"),
    },
    Sample {
        name: "voice.mp3",
        content_type: "audio/mpeg",
        bytes: include_bytes!("samples/voice.mp3"),
    },
    Sample {
        name: "document.pdf",
        content_type: "application/pdf",
        bytes: include_bytes!("samples/document.pdf"),
    },
];

/// The sample a customer's attachment of `kind` points at by default, if the kind has a
/// file (`image`, `video`, `audio`, `file`, and the shares and stories that carry media).
pub(crate) fn sample_for(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "image" | "photo" | "share" | "ig_post" | "template" => "photo.png",
        "sticker" => "sticker.png",
        "story_mention" | "story" => "story.png",
        "video" | "ig_reel" | "reel" => "clip.mp4",
        "audio" => "voice.mp3",
        "file" => "document.pdf",
        _ => return None,
    })
}

/// `http://<the address this call came to>`, for URLs the connector can reach.
pub(crate) fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// The URL of a sample file, on the emulator that `headers`' request reached.
pub(crate) fn sample_url(headers: &HeaderMap, name: &str) -> String {
    // A query like the real CDN's signed links, so connectors never rely on a bare path.
    format!(
        "{}/_emulator/meta-cdn/{name}?oh=emulator&oe=FFFFFFFF",
        base_url(headers)
    )
}

/// The URL of an uploaded file's bytes.
pub(crate) fn upload_url(headers: &HeaderMap, attachment_id: &str) -> String {
    format!(
        "{}/_emulator/meta-cdn/uploads/{attachment_id}",
        base_url(headers)
    )
}

/// The CDN routes.
pub(crate) fn routes() -> Router<Emulator> {
    Router::new()
        .route("/_emulator/meta-cdn/uploads/{id}", get(serve_upload))
        .route("/_emulator/meta-cdn/{file}", get(serve_sample))
}

fn file_response(content_type: &str, bytes: Vec<u8>) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CACHE_CONTROL,
                "max-age=1209600, no-transform".to_string(),
            ),
        ],
        bytes,
    )
        .into_response()
}

async fn serve_sample(Path(file): Path<String>) -> Response {
    match SAMPLES.iter().find(|s| s.name == file) {
        Some(sample) => file_response(sample.content_type, sample.bytes.to_vec()),
        None => control_error(StatusCode::NOT_FOUND, format!("no sample file {file}")),
    }
}

async fn serve_upload(AxState(em): AxState<Emulator>, Path(id): Path<String>) -> Response {
    let state = em.state();
    match state.facebook.messenger.upload(&id) {
        Some(upload) => file_response(&upload.content_type, upload.bytes.clone()),
        None => control_error(StatusCode::NOT_FOUND, format!("no upload {id}")),
    }
}
