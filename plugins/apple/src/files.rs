//! Files both ways. Apple keeps every attachment encrypted on its content servers
//! (AES-256 in counter mode, a fresh key per file, a zero IV):
//!
//! - **In:** a customer's attachment carries the file's address (`url`), `owner`,
//!   checksum (`signature-base64`, which Apple fills with hex) and `key` (hex, with a
//!   leading `00`). They are kept as the attachment's `media-id` (never shown), and
//!   `media_request` asks Apple for a download address (`GET /v1/preDownload`) and hands
//!   the host that address with the key: the host downloads and decrypts.
//! - **Out:** `upload_media` asks Apple for an upload address (`GET /v1/preUpload`, with
//!   the file's size) and has the host encrypt the file with a key of its own and upload
//!   it; `send` then names the file by the address and owner Apple gave, the checksum
//!   the upload answered and the key.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use switchboard_sdk::{
    Attachment, Cipher, ConnectorError, FileKey, FileLimit, HttpRequest, MediaDownload,
    MediaUpload, OutboundFile, Visibility, clock, http,
};

use crate::send::check_answer;
use crate::{Settings, jwt};

/// The largest attachment Apple Messages takes, in bytes.
pub(crate) const MAX_FILE_BYTES: u64 = 100 * 1024 * 1024;

/// What the host needs later to download a customer's file, kept as its `media-id`.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub(crate) struct Handle {
    /// The file's address on Apple's content servers (never fetched directly).
    pub url: String,
    pub owner: String,
    /// The file's checksum, base64 (as `preDownload` takes it).
    pub signature: String,
    /// The AES-256 key, hex.
    pub key: String,
}

impl Handle {
    /// From Apple's attachment fields; none when one is missing or malformed.
    pub(crate) fn of(url: &str, owner: &str, signature: &str, key: &str) -> Option<Handle> {
        let (url, owner) = (url.trim(), owner.trim());
        if url.is_empty() || owner.is_empty() {
            return None;
        }
        Some(Handle {
            url: url.into(),
            owner: owner.into(),
            signature: signature_base64(signature)?,
            key: hex::encode(key_bytes(key)?),
        })
    }

    pub(crate) fn to_media_id(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    fn from_media_id(id: &str) -> Option<Handle> {
        serde_json::from_str(id).ok()
    }
}

/// Apple names the checksum `signature-base64` but fills it with hex (and `preDownload`
/// wants base64): hex is turned into base64, anything else is taken as base64 already.
fn signature_base64(s: &str) -> Option<String> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_hexdigit())
        && let Ok(bytes) = hex::decode(s)
    {
        return Some(B64.encode(bytes));
    }
    B64.decode(s).ok().map(|_| s.to_owned())
}

/// The 32-byte key from Apple's hex, which starts with an extra `00`.
fn key_bytes(s: &str) -> Option<Vec<u8>> {
    let bytes = hex::decode(s.trim()).ok()?;
    match bytes.len() {
        33 if bytes[0] == 0 => Some(bytes[1..].to_vec()),
        32 => Some(bytes),
        _ => None,
    }
}

/// A request to Apple's gateway signed as our provider.
fn gateway(settings: &Settings, path: &str) -> Result<HttpRequest, ConnectorError> {
    let token = jwt::sign(
        settings.require_secret()?,
        &json!({ "iss": settings.provider_id, "iat": clock::now_millis().div_euclid(1000) }),
    );
    Ok(
        HttpRequest::new("GET", format!("{}{path}", settings.apple_base_url))
            .with_header("authorization", format!("Bearer {token}"))
            .with_header("source-id", settings.business_id.clone()),
    )
}

/// The field `name` of a gateway's JSON answer.
fn answer_field(body: &[u8], name: &str, call: &str) -> Result<String, ConnectorError> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get(name)?.as_str().map(str::to_owned))
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ConnectorError::Transient(format!("Apple's {call} answer has no `{name}`")))
}

/// The download of a customer's file: a fresh address from `preDownload`, and the key.
pub(crate) fn media_request(
    settings: &Settings,
    attachment: &Attachment,
) -> Result<Option<MediaDownload>, ConnectorError> {
    let Some(handle) = attachment
        .media_id
        .as_deref()
        .and_then(Handle::from_media_id)
    else {
        return Ok(None);
    };
    let key = hex::decode(&handle.key)
        .map_err(|_| ConnectorError::Rejected("the file's key is not readable".into()))?;
    let req = gateway(settings, "/v1/preDownload")?
        .with_header("url", handle.url.clone())
        .with_header("owner", handle.owner.clone())
        .with_header("signature", handle.signature.clone());
    let resp = http::fetch(&req).map_err(|e| e.context("Apple preDownload failed"))?;
    check_answer(&resp).map_err(|e| match e {
        ConnectorError::Rejected(why) => {
            ConnectorError::Rejected(format!("Apple has no download for this file: {why}"))
        }
        other => other,
    })?;
    let address = answer_field(&resp.body, "download-url", "preDownload")?;
    Ok(Some(
        MediaDownload::from(HttpRequest::new("GET", address))
            .decrypted_with(FileKey::aes256_ctr(key)),
    ))
}

/// Where Apple keeps an uploaded file, as `preUpload` said.
#[derive(Serialize, Deserialize)]
struct Placed {
    url: String,
    owner: String,
}

/// The upload of an agent's file: an address from `preUpload`, encrypted by the host.
pub(crate) fn upload_media(
    settings: &Settings,
    file: &OutboundFile,
) -> Result<MediaUpload, ConnectorError> {
    let req = gateway(settings, "/v1/preUpload")?.with_header("size", file.size.to_string());
    let resp = http::fetch(&req).map_err(|e| e.context("Apple preUpload failed"))?;
    check_answer(&resp)?;
    let upload_url = answer_field(&resp.body, "upload-url", "preUpload")?;
    let placed = Placed {
        url: answer_field(&resp.body, "mmcs-url", "preUpload")?,
        owner: answer_field(&resp.body, "mmcs-owner", "preUpload")?,
    };
    Ok(MediaUpload::raw(
        HttpRequest::new("POST", upload_url)
            .with_header("content-type", "application/octet-stream"),
    )
    .encrypted(Cipher::Aes256Ctr)
    .with_state(serde_json::to_string(&placed).unwrap_or_default()))
}

/// Apple's attachment dictionary for a file the host uploaded.
pub(crate) fn attachment_json(file: &OutboundFile) -> Result<Value, ConnectorError> {
    let missing = || {
        ConnectorError::Transient(format!(
            "{} was not uploaded to Apple before sending",
            file.file_name
        ))
    };
    let answer = file.upload.as_ref().ok_or_else(missing)?;
    let key = file.upload_key.as_ref().ok_or_else(missing)?;
    let placed: Placed = file
        .upload_state
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .ok_or_else(missing)?;
    check_answer(answer)?;
    let checksum = serde_json::from_slice::<Value>(&answer.body)
        .ok()
        .and_then(|v| v["singleFile"]["fileChecksum"].as_str().map(str::to_owned))
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ConnectorError::Transient(format!(
                "Apple's answer to the upload of {} has no checksum",
                file.file_name
            ))
        })?;
    Ok(json!({
        "name": file.file_name,
        "mimeType": file.mime_type,
        "size": file.size,
        "signature-base64": checksum,
        "url": placed.url,
        "owner": placed.owner,
        "key": format!("00{}", hex::encode(&key.key)),
    }))
}

/// What Apple takes: direct messages only, any file up to 100 MB.
pub(crate) fn limits() -> Vec<FileLimit> {
    ["image", "video", "audio", "file"]
        .into_iter()
        .map(|kind| FileLimit::new(Visibility::Private, kind, MAX_FILE_BYTES, &[]))
        .collect()
}
