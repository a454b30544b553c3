//! Apple's encrypted files (MMCS, the iCloud content service) both ways.
//!
//! Apple never hands a file over in the clear: every file is encrypted with AES-256 in CTR
//! mode (128-bit big-endian counter, a zero 16-byte IV) under a fresh random 32-byte key,
//! and the message carries an attachment dictionary instead of the bytes:
//! `{name, mimeType, size, signature-base64, url, owner, key}`.
//!
//! - A customer's file: the control call encrypts it, keeps the ciphertext here and puts the
//!   dictionary in the webhook (`signature-base64` is, as with Apple, hex; `key` is `00` and
//!   the key's hex). The connector asks `GET /v1/preDownload` (with the signature in base64)
//!   for a download URL and fetches the ciphertext from `/_emulator/apple/mmcs/download/{id}`.
//! - A business's file: `GET /v1/preUpload` gives an upload URL, the connector POSTs the
//!   ciphertext there (the answer holds the checksum) and then sends a `text` message whose
//!   `attachments` hold the dictionary; the gateway decrypts the file with the given key and
//!   records it (`GET /_emulator/apple/files/{business_id}`).
//!
//! The checksum is the emulator's choice: the SHA-256 of the ciphertext (Apple's is its
//! own). CTR has no integrity check, so a wrong key still "decrypts" to bytes of the right
//! length: neither Apple nor the emulator can tell, only the file's receiver sees garbage.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ctr::cipher::{KeyIvInit, StreamCipher};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{AttachmentRequest, authorize, base64_decode, base64_encode, header_str};
use super::{refuse, strip_urn};
use crate::facebook::cdn::{self, base_url};
use crate::{Emulator, control_error};

/// The MMCS owner (the storage partition) of every file.
pub(super) const OWNER: &str = "p56";
/// Files' `url`: this and the file's id (never fetched; `preDownload` resolves it).
pub(super) const URL_PREFIX: &str = "https://p56-content.icloud.com/";
/// The largest file Apple takes: 100 MiB.
pub(super) const MAX_FILE: u64 = 100 * 1024 * 1024;

type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;

/// Encrypts or decrypts (the same thing in CTR) `buf` in place with `key`, zero IV.
pub(super) fn apply_ctr(key: &[u8; 32], buf: &mut [u8]) {
    let mut cipher = Aes256Ctr::new_from_slices(key, &[0u8; 16]).expect("32-byte key, 16-byte IV");
    cipher.apply_keystream(buf);
}

/// The checksum of a stored file: the SHA-256 of its ciphertext.
fn checksum(ciphertext: &[u8]) -> [u8; 32] {
    Sha256::digest(ciphertext).into()
}

/// The dictionary's `key`: `00` and the key's 64 hex digits.
pub(super) fn key_field(key: &[u8; 32]) -> String {
    format!("00{}", hex::encode(key))
}

/// The files on Apple's side, by id.
#[derive(Default)]
pub(super) struct Mmcs {
    files: HashMap<String, StoredFile>,
}

enum StoredFile {
    /// `preUpload` was asked for this many bytes; nothing uploaded yet.
    Pending { size: u64 },
    /// The encrypted bytes (a customer's file, or a business's upload).
    Stored {
        ciphertext: Vec<u8>,
        checksum: [u8; 32],
    },
}

impl Mmcs {
    fn stored(&self, url: &str) -> Option<(&[u8], &[u8; 32])> {
        match self.files.get(url.strip_prefix(URL_PREFIX)?)? {
            StoredFile::Stored {
                ciphertext,
                checksum,
            } => Some((ciphertext, checksum)),
            StoredFile::Pending { .. } => None,
        }
    }

    /// Keeps a customer's encrypted file.
    pub(super) fn keep(&mut self, file: CustomerFile) {
        self.files.insert(
            file.id,
            StoredFile::Stored {
                checksum: checksum(&file.ciphertext),
                ciphertext: file.ciphertext,
            },
        );
    }
}

/// A file the business sent, decrypted, as `GET /_emulator/apple/files/{business_id}` lists it.
#[derive(Clone, Debug, Serialize)]
pub(super) struct SentFile {
    message_id: String,
    name: String,
    mime_type: String,
    size: u64,
    /// Hex SHA-256 of the decrypted bytes.
    sha256: String,
    /// Hex of the first 8 decrypted bytes.
    head_hex: String,
}

// ------------------------------------------------------------------ customers' files

/// A customer's file, encrypted, with the dictionary the webhook carries.
pub(super) struct CustomerFile {
    id: String,
    ciphertext: Vec<u8>,
    pub(super) dictionary: Value,
}

/// The sample sent for a file of `mime_type` when the control call gives no bytes.
fn sample_for_mime(mime_type: &str) -> &'static str {
    let mime = mime_type.trim().to_ascii_lowercase();
    if mime == "image/png" || mime == "image/jpeg" {
        "photo.png"
    } else if mime.starts_with("video/") {
        "clip.mp4"
    } else if mime.starts_with("audio/") {
        "voice.mp3"
    } else {
        "document.pdf"
    }
}

fn sample_bytes(name: &str) -> &'static [u8] {
    cdn::SAMPLES
        .iter()
        .find(|s| s.name == name)
        .map(|s| s.bytes)
        .expect("every sample_for_mime name is a sample")
}

/// Encrypts a customer's attachment (its `content_base64`, or the sample for its type) under
/// a fresh key and builds Apple's dictionary for it.
pub(super) fn customer_file(a: &AttachmentRequest) -> Result<CustomerFile, String> {
    let mut bytes = match &a.content_base64 {
        Some(b64) => base64_decode(b64)
            .ok_or_else(|| format!("attachment {}: content_base64 is not base64", a.name))?,
        None => sample_bytes(sample_for_mime(&a.mime_type)).to_vec(),
    };
    let size = a.size.unwrap_or(bytes.len() as u64);
    let key: [u8; 32] = rand::random();
    apply_ctr(&key, &mut bytes);
    let id = uuid::Uuid::new_v4().simple().to_string();
    let dictionary = json!({
        "name": a.name,
        "mimeType": a.mime_type,
        "size": size,
        "signature-base64": hex::encode_upper(checksum(&bytes)),
        "url": format!("{URL_PREFIX}{id}"),
        "owner": OWNER,
        "key": key_field(&key),
    });
    Ok(CustomerFile {
        id,
        ciphertext: bytes,
        dictionary,
    })
}

// ------------------------------------------------------------------ business's files

/// Checks and decrypts the `attachments` of a business's `text` message `msg` (none when it
/// has no `attachments`). The error is the plain reason of a 400.
pub(super) fn open_attachments(
    mmcs: &Mmcs,
    msg: &Value,
    message_id: &str,
) -> Result<Vec<SentFile>, String> {
    let attachments = match msg.get("attachments") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(_) => return Err("attachments must be an array".into()),
    };
    let placeholders = msg["body"]
        .as_str()
        .unwrap_or_default()
        .matches('\u{fffc}')
        .count();
    if placeholders != attachments.len() {
        return Err(format!(
            "the body has {placeholders} U+FFFC placeholders for {} attachments",
            attachments.len()
        ));
    }
    attachments
        .iter()
        .enumerate()
        .map(|(i, a)| open_attachment(mmcs, a, i, message_id))
        .collect()
}

fn open_attachment(
    mmcs: &Mmcs,
    a: &Value,
    index: usize,
    message_id: &str,
) -> Result<SentFile, String> {
    let name = a["name"]
        .as_str()
        .ok_or(format!("attachment {index}: missing name"))?;
    let field = |key: &str| {
        a[key]
            .as_str()
            .ok_or(format!("attachment {name}: missing {key}"))
    };
    let mime_type = field("mimeType")?;
    let size = a["size"]
        .as_u64()
        .ok_or(format!("attachment {name}: size must be a number of bytes"))?;
    let (signature, url, owner, key) = (
        field("signature-base64")?,
        field("url")?,
        field("owner")?,
        field("key")?,
    );
    let (ciphertext, stored_checksum) = mmcs
        .stored(url)
        .ok_or(format!("attachment {name}: unknown file"))?;
    if base64_decode(signature).as_deref() != Some(&stored_checksum[..]) {
        return Err(format!(
            "attachment {name}: signature-base64 is not the uploaded file's checksum"
        ));
    }
    if owner != OWNER {
        return Err(format!("attachment {name}: owner is not the file's owner"));
    }
    let key: [u8; 32] = key
        .strip_prefix("00")
        .and_then(|k| hex::decode(k).ok())
        .and_then(|k| k.try_into().ok())
        .ok_or(format!(
            "attachment {name}: key must be 00 followed by the 64 hex digits of a 32-byte key"
        ))?;
    if ciphertext.len() as u64 != size {
        return Err(format!(
            "attachment {name}: size {size} is not the file's {} bytes",
            ciphertext.len()
        ));
    }
    let mut plaintext = ciphertext.to_vec();
    apply_ctr(&key, &mut plaintext);
    Ok(SentFile {
        message_id: message_id.to_string(),
        name: name.to_string(),
        mime_type: mime_type.to_string(),
        size,
        sha256: hex::encode(Sha256::digest(&plaintext)),
        head_hex: hex::encode(&plaintext[..plaintext.len().min(8)]),
    })
}

// ------------------------------------------------------------------ routes

/// `preDownload`, `preUpload`, the MMCS upload and download URLs and the files control route.
pub(super) fn routes() -> Router<Emulator> {
    Router::new()
        .route("/v1/preDownload", get(pre_download))
        .route("/v1/preUpload", get(pre_upload))
        .route("/_emulator/apple/mmcs/download/{id}", get(download))
        .route(
            "/_emulator/apple/mmcs/upload/{id}",
            post(upload).layer(DefaultBodyLimit::max(MAX_FILE as usize)),
        )
        .route("/_emulator/apple/files/{business_id}", get(control_files))
}

/// `GET /v1/preDownload`: where to fetch a customer's (encrypted) file.
async fn pre_download(AxState(em): AxState<Emulator>, headers: HeaderMap) -> Response {
    let state = em.state();
    if let Err(response) = authorize(&state.apple, &headers) {
        return response;
    }
    let (Some(url), Some(owner), Some(signature)) = (
        header_str(&headers, "url"),
        header_str(&headers, "owner"),
        header_str(&headers, "signature"),
    ) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "missing url, owner or signature header",
        );
    };
    let Some((_, stored_checksum)) = state.apple.mmcs.stored(url) else {
        return refuse(StatusCode::NOT_FOUND, "unknown url");
    };
    if owner != OWNER {
        return refuse(StatusCode::FORBIDDEN, "owner is not the file's owner");
    }
    if base64_decode(signature).as_deref() != Some(&stored_checksum[..]) {
        return refuse(
            StatusCode::FORBIDDEN,
            "signature is not the file's checksum",
        );
    }
    let id = url.strip_prefix(URL_PREFIX).expect("stored() checked it");
    axum::Json(json!({
        "download-url": format!("{}/_emulator/apple/mmcs/download/{id}", base_url(&headers)),
    }))
    .into_response()
}

/// `GET /_emulator/apple/mmcs/download/{id}`: the encrypted bytes.
async fn download(AxState(em): AxState<Emulator>, Path(id): Path<String>) -> Response {
    let state = em.state();
    match state.apple.mmcs.files.get(&id) {
        Some(StoredFile::Stored { ciphertext, .. }) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/octet-stream")],
            ciphertext.clone(),
        )
            .into_response(),
        _ => refuse(StatusCode::NOT_FOUND, "unknown file"),
    }
}

/// `GET /v1/preUpload`: a place to upload an encrypted file of `size` bytes.
async fn pre_upload(AxState(em): AxState<Emulator>, headers: HeaderMap) -> Response {
    let mut state = em.state();
    if let Err(response) = authorize(&state.apple, &headers) {
        return response;
    }
    let Some(size) = header_str(&headers, "size").and_then(|s| s.parse::<u64>().ok()) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "missing or invalid size header (decimal bytes)",
        );
    };
    if size == 0 {
        return refuse(StatusCode::BAD_REQUEST, "size must be at least 1 byte");
    }
    if size > MAX_FILE {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "file is larger than 100 MiB (104857600 bytes)",
        );
    }
    let id = uuid::Uuid::new_v4().simple().to_string();
    state
        .apple
        .mmcs
        .files
        .insert(id.clone(), StoredFile::Pending { size });
    axum::Json(json!({
        "upload-url": format!("{}/_emulator/apple/mmcs/upload/{id}", base_url(&headers)),
        "mmcs-url": format!("{URL_PREFIX}{id}"),
        "mmcs-owner": OWNER,
    }))
    .into_response()
}

/// `POST /_emulator/apple/mmcs/upload/{id}`: the encrypted bytes, once.
async fn upload(AxState(em): AxState<Emulator>, Path(id): Path<String>, body: Bytes) -> Response {
    let mut state = em.state();
    let Some(file) = state.apple.mmcs.files.get_mut(&id) else {
        return refuse(StatusCode::NOT_FOUND, "unknown upload");
    };
    let expected = match file {
        StoredFile::Pending { size } => *size,
        StoredFile::Stored { .. } => return refuse(StatusCode::CONFLICT, "already uploaded"),
    };
    if body.len() as u64 != expected {
        return refuse(
            StatusCode::BAD_REQUEST,
            &format!("body is {} bytes, preUpload said {expected}", body.len()),
        );
    }
    let sum = checksum(&body);
    *file = StoredFile::Stored {
        ciphertext: body.to_vec(),
        checksum: sum,
    };
    axum::Json(json!({
        "singleFile": { "fileChecksum": base64_encode(&sum), "size": expected },
    }))
    .into_response()
}

/// `GET /_emulator/apple/files/{business_id}`: the files the business sent, decrypted.
async fn control_files(AxState(em): AxState<Emulator>, Path(id): Path<String>) -> Response {
    let state = em.state();
    match state.apple.businesses.get(strip_urn(&id)) {
        Some(b) => axum::Json(&b.files).into_response(),
        None => control_error(StatusCode::NOT_FOUND, format!("unknown business {id}")),
    }
}
