//! Media both ways through the Cloud API.
//!
//! In: a media message carries only a media id. [`media_request`] asks
//! `GET /{media-id}?phone_number_id=..` with the access token for
//! `{url, mime_type, sha256, file_size}` and hands the host a `GET` of that URL (on
//! `lookaside.fbsbx.com`, valid about five minutes) with the same bearer token; the host
//! calls it again on every retry, so an expired URL is simply asked for again. WhatsApp
//! keeps received media for 30 days; after that the lookup fails for good.
//!
//! Out: [`upload`] describes `POST /{phone-number-id}/media` as `multipart/form-data`
//! (`messaging_product=whatsapp`, `type` = the file's MIME type, the file in field
//! `file`); the host makes it and passes WhatsApp's `{id}` back to `send`, which sends by
//! that id ([`uploaded_id`]). [`file_limits`] are the Cloud API's documented types and
//! sizes.

use serde::Deserialize;
use switchboard_sdk::meta::{self, GraphFailure};
use switchboard_sdk::{
    Attachment, ConnectorError, FileLimit, HttpRequest, MediaUpload, Outbound, OutboundFile,
    Visibility, clock,
};

use crate::{MEDIA_URL_PREFIX, Settings, WINDOW_MS};

/// Where Meta serves media downloads.
pub const MEDIA_CDN: &str = "https://lookaside.fbsbx.com";

const MB: u64 = 1024 * 1024;

/// What the Cloud API takes, per kind of file (its "Supported media types").
const LIMITS: [(&str, u64, &[&str]); 4] = [
    ("image", 5 * MB, &["image/jpeg", "image/png"]),
    ("video", 16 * MB, &["video/mp4", "video/3gpp"]),
    (
        "audio",
        16 * MB,
        &[
            "audio/aac",
            "audio/amr",
            "audio/mpeg",
            "audio/mp4",
            "audio/ogg",
        ],
    ),
    (
        "file",
        100 * MB,
        &[
            "text/plain",
            "application/pdf",
            "application/msword",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.ms-excel",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.ms-powerpoint",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ],
    ),
];

/// The files WhatsApp takes. Every conversation is private; a public reply is sent as the
/// same message, so both visibilities get the same limits.
pub(crate) fn file_limits() -> Vec<FileLimit> {
    [Visibility::Private, Visibility::Public]
        .into_iter()
        .flat_map(|visibility| {
            LIMITS
                .iter()
                .map(move |(kind, max, types)| FileLimit::new(visibility, kind, *max, types))
        })
        .collect()
}

/// The Cloud API's message type for an outbound file's kind.
pub(crate) fn message_type(kind: &str) -> Option<&'static str> {
    match kind {
        "image" => Some("image"),
        "video" => Some("video"),
        "audio" => Some("audio"),
        "file" => Some("document"),
        _ => None,
    }
}

/// `GET /{media-id}`'s answer.
#[derive(Deserialize)]
struct MediaInfo {
    #[serde(default)]
    url: Option<String>,
}

/// The media id of an attachment: its `media_id`, or the `whatsapp-media:<id>` URL this
/// connector wrote before the contract had media ids (messages stored then).
fn media_id(attachment: &Attachment) -> Option<String> {
    attachment
        .media_id
        .clone()
        .or_else(|| {
            attachment
                .url
                .as_deref()
                .and_then(|u| u.strip_prefix(MEDIA_URL_PREFIX))
                .map(str::to_string)
        })
        .map(|id| id.trim().to_string())
        .filter(|id| !id.is_empty())
}

fn needs_token(settings: &Settings) -> Result<(), ConnectorError> {
    match settings.meta.access_token {
        Some(_) => Ok(()),
        None => Err(ConnectorError::InvalidConfig(
            "secret `access_token` (the system user access token) is required to reach WhatsApp media"
                .into(),
        )),
    }
}

/// The authenticated download of an attachment's bytes, after asking WhatsApp where they
/// are now. `None` for content without a file (a location, a contact card).
pub(crate) fn media_request(
    settings: &Settings,
    attachment: &Attachment,
) -> Result<Option<HttpRequest>, ConnectorError> {
    let graph = settings.graph();
    let Some(id) = media_id(attachment) else {
        // A media URL handed out earlier (the host keeps none, but be exact): the same
        // token opens it. Anything else (`geo:` of old locations) is not a file.
        return Ok(attachment
            .url
            .as_deref()
            .filter(|u| u.starts_with(MEDIA_CDN))
            .map(|u| graph.authorize(HttpRequest::new("GET", u))));
    };
    needs_token(settings)?;
    let url = switchboard_sdk::http::url_with_query(
        &graph.object_url(&id),
        &[("phone_number_id", settings.phone_number_id.as_str())],
    );
    let resp = graph
        .get(&url)
        .map_err(|failure| lookup_failed(failure, &id))?;
    let info: MediaInfo = resp.json_body().map_err(|e| {
        ConnectorError::Transient(format!(
            "unreadable answer from WhatsApp about media {id}: {e}"
        ))
    })?;
    let Some(download) = info
        .url
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
    else {
        return Err(ConnectorError::Transient(format!(
            "WhatsApp answered without a download URL for media {id}"
        )));
    };
    Ok(Some(graph.authorize(HttpRequest::new("GET", download))))
}

/// A failed media lookup in plain words.
fn lookup_failed(failure: GraphFailure, id: &str) -> ConnectorError {
    match (failure.code(), failure.error) {
        (_, ConnectorError::Unauthorized(why)) => ConnectorError::Unauthorized(format!(
            "WhatsApp refused the access token in secret `access_token` while fetching media {id}: {why}"
        )),
        (Some(100), ConnectorError::Rejected(why)) => ConnectorError::Rejected(format!(
            "WhatsApp no longer has media {id} (it keeps received media 30 days): {why}"
        )),
        (_, other) => other,
    }
}

/// Why a free-form message cannot be sent now, if it cannot (the 24-hour window).
pub(crate) fn window_closed(msg: &Outbound, now: i64) -> Option<ConnectorError> {
    let last = msg.last_customer_at?;
    (msg.template.is_none() && now >= last.saturating_add(WINDOW_MS)).then(|| {
        ConnectorError::Rejected(
            "only a template can be sent: more than 24 hours have passed since the \
             customer's last WhatsApp message, so WhatsApp refuses free-form messages"
                .into(),
        )
    })
}

/// The upload of an agent's file: `POST /{phone-number-id}/media`, multipart.
pub(crate) fn upload(
    settings: &Settings,
    file: &OutboundFile,
    msg: &Outbound,
) -> Result<Option<MediaUpload>, ConnectorError> {
    if message_type(&file.kind).is_none() {
        return Err(ConnectorError::Rejected(format!(
            "WhatsApp cannot send {} as a file of kind `{}`: send an image, video, audio or document",
            file.file_name, file.kind
        )));
    }
    // Nothing is uploaded for a reply WhatsApp will refuse anyway.
    if let Some(closed) = window_closed(msg, clock::now_millis()) {
        return Err(closed);
    }
    needs_token(settings)?;
    let graph = settings.graph();
    let url = format!("{}/media", graph.object_url(&settings.phone_number_id));
    let request = graph.authorize(HttpRequest::new("POST", url));
    let form = vec![
        ("messaging_product".to_string(), "whatsapp".to_string()),
        ("type".to_string(), file.mime_type.clone()),
    ];
    Ok(Some(MediaUpload::multipart(request, form, "file")))
}

#[derive(Deserialize)]
struct Uploaded {
    #[serde(default)]
    id: Option<String>,
}

/// The media id WhatsApp gave an uploaded file, from the answer the host passed back.
pub(crate) fn uploaded_id(
    settings: &Settings,
    file: &OutboundFile,
) -> Result<String, ConnectorError> {
    let Some(answer) = &file.upload else {
        return Err(ConnectorError::Rejected(format!(
            "{} was not uploaded to WhatsApp before sending; WhatsApp takes files only by upload",
            file.file_name
        )));
    };
    let answer = meta::check(Ok(answer.clone())).map_err(|failure| {
        let failure = match &settings.meta.access_token {
            Some(token) => failure.redact(token),
            None => failure,
        };
        match failure.error {
            ConnectorError::Rejected(why) => ConnectorError::Rejected(format!(
                "WhatsApp refused the upload of {}: {why}",
                file.file_name
            )),
            other => other,
        }
    })?;
    answer
        .json_body::<Uploaded>()
        .ok()
        .and_then(|u| u.id)
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| {
            ConnectorError::Rejected(format!(
                "WhatsApp accepted the upload of {} but gave no media id",
                file.file_name
            ))
        })
}
