//! The business's uploads: `POST /2/media/upload` (user token), one multipart request
//! with `media` (the file), `media_category` and `media_type`, as X's simple upload takes
//! images (up to 5 MB, GIFs up to 15 MB). A video category or a chunked upload's `command`
//! (INIT, APPEND, FINALIZE) → 400: not emulated. The file's bytes must be the image type
//! declared. The upload is recorded in the outbound log as `media_upload`; sending it in a
//! tweet or direct message is in [`super::media`].

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;

use super::limits::{Caller, gate, with_rate};
use super::media::{MediaItem, PNG};
use super::{XEndpoint, invalid_request};
use crate::Emulator;

/// Largest file of one upload request: X's image limit (GIFs 15 MB).
const MAX_IMAGE: usize = 5 * 1024 * 1024;
const MAX_GIF: usize = 15 * 1024 * 1024;

/// One part of a `multipart/form-data` body.
struct Part {
    name: String,
    content_type: Option<String>,
    body: Vec<u8>,
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// The parts of a `multipart/form-data` body, or `None` when it is not one.
fn multipart(content_type: &str, body: &[u8]) -> Option<Vec<Part>> {
    let boundary = content_type
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))?
        .trim_matches('"');
    let delimiter = format!("--{boundary}").into_bytes();
    let mut parts = Vec::new();
    let mut at = find(body, &delimiter, 0)? + delimiter.len();
    loop {
        if body.get(at..at + 2) == Some(b"--") {
            return Some(parts);
        }
        let head_start = at + 2;
        let head_end = find(body, b"\r\n\r\n", head_start)?;
        let head = String::from_utf8_lossy(&body[head_start..head_end]).to_string();
        let next = find(body, &[b"\r\n".as_slice(), &delimiter].concat(), head_end)?;
        let mut name = String::new();
        let mut content_type = None;
        for line in head.split("\r\n") {
            let lower = line.to_ascii_lowercase();
            if lower.starts_with("content-disposition:") {
                name = line
                    .split(';')
                    .map(str::trim)
                    .find_map(|p| p.strip_prefix("name="))
                    .unwrap_or_default()
                    .trim_matches('"')
                    .to_string();
            } else if let Some(v) = lower.strip_prefix("content-type:") {
                content_type = Some(v.trim().to_string());
            }
        }
        parts.push(Part {
            name,
            content_type,
            body: body[head_end + 4..next].to_vec(),
        });
        at = next + 2 + delimiter.len();
    }
}

/// The MIME type the bytes are, for the image and video types X takes.
fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&PNG[..8]) {
        Some("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF8") {
        Some("image/gif")
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.len() > 8 && &bytes[4..8] == b"ftyp" {
        Some("video/mp4")
    } else {
        None
    }
}

/// `POST /2/media/upload` (user token), multipart: `media` (the file), `media_category`,
/// `media_type`. One request: images up to 5 MB, GIFs up to 15 MB; a video or a chunked
/// upload's `command` → 400.
async fn upload(AxState(em): AxState<Emulator>, headers: HeaderMap, body: Bytes) -> Response {
    let (caller, rate) = match gate(&em, XEndpoint::MediaUpload, &headers, true) {
        Ok(ok) => ok,
        Err(response) => return response,
    };
    let Caller::User(me) = caller else {
        return with_rate(
            invalid_request("A user context is required to upload."),
            rate,
        );
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Some(parts) = multipart(content_type, &body) else {
        return with_rate(
            invalid_request("The body must be multipart/form-data with a `media` part."),
            rate,
        );
    };
    let field = |n: &str| {
        parts
            .iter()
            .find(|p| p.name == n)
            .map(|p| String::from_utf8_lossy(&p.body).trim().to_string())
    };
    if field("command").is_some() {
        return with_rate(
            invalid_request("Chunked uploads (INIT, APPEND, FINALIZE) are not emulated."),
            rate,
        );
    }
    let Some(file) = parts.iter().find(|p| p.name == "media") else {
        return with_rate(invalid_request("The `media` field is required."), rate);
    };
    let category = field("media_category").unwrap_or_else(|| "tweet_image".into());
    if !matches!(
        category.as_str(),
        "tweet_image" | "tweet_gif" | "dm_image" | "dm_gif"
    ) {
        return with_rate(
            invalid_request(&format!(
                "media_category {category} needs a chunked upload, which is not emulated."
            )),
            rate,
        );
    }
    let sniffed = sniff(&file.body);
    // A file part sent as plain bytes says nothing about its type.
    let declared = field("media_type").or(file
        .content_type
        .clone()
        .filter(|c| c != "application/octet-stream"));
    match sniffed {
        Some(kind) if kind.starts_with("image/") => {}
        _ => {
            return with_rate(
                invalid_request("media type unrecognized: the file is not an image X takes."),
                rate,
            );
        }
    }
    if declared
        .as_deref()
        .is_some_and(|d| !d.eq_ignore_ascii_case(sniffed.unwrap_or_default()))
    {
        return with_rate(
            invalid_request("The media_type does not match the file's content."),
            rate,
        );
    }
    let max = if sniffed == Some("image/gif") {
        MAX_GIF
    } else {
        MAX_IMAGE
    };
    if file.body.len() > max {
        return with_rate(
            invalid_request(&format!("File size exceeds {max} bytes.")),
            rate,
        );
    }
    let id = em.next_id().to_string();
    let kind = sniffed.unwrap_or("image/png").to_string();
    let ext = kind
        .rsplit('/')
        .next()
        .unwrap_or("png")
        .replace("jpeg", "jpg");
    let item = MediaItem {
        resource: format!("u{id}.{ext}"),
        id: id.clone(),
        kind: if kind == "image/gif" && category.ends_with("_gif") {
            "animated_gif".into()
        } else {
            "photo".into()
        },
        alt_text: None,
        bytes: file.body.clone(),
        content_type: kind.clone(),
        owner: Some(me),
        category: Some(category),
        dm: None,
    };
    let key = item.key();
    let size = item.bytes.len();
    em.state().x.media.insert(key.clone(), item);
    em.record("x", "media_upload", None, &id, None);
    with_rate(
        axum::Json(json!({ "data": {
            "id": id, "media_key": key, "size": size, "expires_after_secs": 86_400,
            "image": { "image_type": kind, "w": 1, "h": 1 },
        }}))
        .into_response(),
        rate,
    )
}

/// The upload route.
pub(super) fn routes() -> Router<Emulator> {
    Router::new().route("/2/media/upload", post(upload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x::media::MP4;

    #[test]
    fn multipart_bodies_are_split_into_fields() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"media_category\"\r\n\r\ndm_image\r\n--XyZ\r\nContent-Disposition: form-data; name=\"media\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n--XyZ--\r\n";
        let parts = multipart("multipart/form-data; boundary=XyZ", body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "media_category");
        assert_eq!(parts[0].body, b"dm_image");
        assert_eq!(parts[1].name, "media");
        assert_eq!(parts[1].content_type.as_deref(), Some("image/png"));
        assert_eq!(parts[1].body, b"\x89PNG");
        assert!(multipart("application/json", body).is_none());
        assert_eq!(sniff(&PNG), Some("image/png"));
        assert_eq!(sniff(&MP4), Some("video/mp4"));
        assert_eq!(sniff(b"hello"), None);
    }
}
