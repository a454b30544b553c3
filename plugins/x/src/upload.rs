//! Files agents send: what X takes (`file_limits`), the upload the host makes for each
//! file (`upload_media`), and the media ids `send` reads from the answers.
//!
//! One `POST /2/media/upload` multipart request per file (fields `media_category` and
//! `media_type`, the file as `media`), with the user access token of the handle that
//! sends, so the media id belongs to that account. X's simple upload takes images; videos
//! need its chunked upload (INIT, APPEND, FINALIZE, then waiting for processing), which one
//! request cannot express, so `file_limits` offers images only: JPEG, PNG, WEBP and GIF up
//! to 5 MB (X's image limit), in direct messages (`dm_image`, `dm_gif`) and in public
//! replies (`tweet_image`, `tweet_gif`). A direct message carries one file; a tweet up to
//! four images or one GIF (see `send`).

use serde::Deserialize;
use switchboard_sdk::lenient;
use switchboard_sdk::{
    ConnectorError, FileLimit, HttpResponse, MediaUpload, Outbound, OutboundFile, Visibility,
};

use crate::Settings;
use crate::api;

/// X's largest image.
pub(crate) const MAX_IMAGE_BYTES: u64 = 5 * 1024 * 1024;
/// The image types X takes.
pub(crate) const IMAGE_TYPES: [&str; 4] = ["image/jpeg", "image/png", "image/webp", "image/gif"];

/// Images in direct messages and in public replies.
pub(crate) fn file_limits() -> Vec<FileLimit> {
    [Visibility::Private, Visibility::Public]
        .into_iter()
        .map(|v| FileLimit::new(v, "image", MAX_IMAGE_BYTES, &IMAGE_TYPES))
        .collect()
}

fn is_gif(mime: &str) -> bool {
    mime.trim().eq_ignore_ascii_case("image/gif")
}

/// The upload of `file` as the handle that sends `message`.
pub(crate) fn upload_media(
    settings: &Settings,
    file: &OutboundFile,
    message: &Outbound,
) -> Result<MediaUpload, ConnectorError> {
    let mime = file.mime_type.trim().to_ascii_lowercase();
    if file.kind != "image" || !IMAGE_TYPES.contains(&mime.as_str()) {
        return Err(ConnectorError::Rejected(format!(
            "X takes images (JPEG, PNG, WEBP, GIF) up to 5 MB here; `{}` is {} ({}): videos need X's chunked upload, which this connector does not make",
            file.file_name, file.kind, file.mime_type
        )));
    }
    if file.size > MAX_IMAGE_BYTES {
        return Err(ConnectorError::Rejected(format!(
            "`{}` is {} bytes; X takes images up to {MAX_IMAGE_BYTES} bytes (5 MB)",
            file.file_name, file.size
        )));
    }
    let handle = crate::send::sender(settings, message)?;
    let token = settings.require_user_token(handle)?;
    let category = match (message.visibility, is_gif(&mime)) {
        (Visibility::Private, false) => "dm_image",
        (Visibility::Private, true) => "dm_gif",
        (Visibility::Public, false) => "tweet_image",
        (Visibility::Public, true) => "tweet_gif",
    };
    let request = api::request(
        "POST",
        format!("{}/2/media/upload", settings.api_base_url),
        &token,
    );
    Ok(MediaUpload::multipart(
        request,
        vec![
            ("media_category".into(), category.into()),
            ("media_type".into(), mime),
        ],
        "media",
    ))
}

/// The answer to an upload: v2 `{"data":{"id","media_key"}}`, v1.1 `{"media_id_string"}`.
#[derive(Deserialize, Default)]
struct Answer {
    #[serde(default, deserialize_with = "lenient::opt")]
    data: Option<AnswerData>,
    #[serde(default, deserialize_with = "lenient::opt")]
    media_id_string: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    media_id: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
struct AnswerData {
    #[serde(default, deserialize_with = "lenient::opt")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt")]
    media_id: Option<String>,
}

/// A file X holds for the reply.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Uploaded {
    pub id: String,
    pub gif: bool,
}

fn media_id(resp: &HttpResponse) -> Option<String> {
    let answer: Answer = resp.json_body().unwrap_or_default();
    answer
        .data
        .and_then(|d| d.id.or(d.media_id))
        .or(answer.media_id_string)
        .or(answer.media_id.map(|v| match v {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        }))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && s != "null")
}

/// The media ids of the reply's files, in order, from the answers the host passed. A
/// refused upload fails the send with X's reason.
pub(crate) fn uploaded(files: &[OutboundFile]) -> Result<Vec<Uploaded>, ConnectorError> {
    files
        .iter()
        .map(|f| {
            let Some(resp) = &f.upload else {
                return Err(ConnectorError::Rejected(format!(
                    "`{}` was not uploaded to X before the send",
                    f.file_name
                )));
            };
            let resp = api::check(resp.clone()).map_err(|e| match e {
                ConnectorError::Rejected(why) => ConnectorError::Rejected(format!(
                    "X refused the upload of `{}`: {why}",
                    f.file_name
                )),
                other => other,
            })?;
            let id = media_id(&resp).ok_or_else(|| {
                ConnectorError::Rejected(format!(
                    "X accepted the upload of `{}` but gave no media id: {}",
                    f.file_name,
                    resp.body_text().chars().take(300).collect::<String>()
                ))
            })?;
            Ok(Uploaded {
                id,
                gif: is_gif(&f.mime_type),
            })
        })
        .collect()
}
