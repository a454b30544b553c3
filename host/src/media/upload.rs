//! Giving the platform an agent's file: the upload a connector describes
//! (`upload-media`), made by the host from the blob store, or a signed link for platforms
//! that fetch files themselves.
//!
//! The upload goes through the channel's allowlist like the connector's own requests and
//! streams the file, so its size never meets a plugin's memory; a platform that keeps
//! files encrypted gets them encrypted on the way (`crypt`), with a fresh key per upload. The platform's answer
//! (its media id) goes back to the connector for `send`. A link names one file for one
//! hour and is signed with a key every host shares (`store_keys`), so any host serves
//! it; it is the only way to a file without signing in, and it says nothing else.

use hmac::{KeyInit, Mac};

use super::Media;
use crate::connectors::ChannelConnector;
use crate::connectors::bindings::types as wit;
use crate::model::reply::FileRef;

/// The most of a platform's answer to an upload that is read (its JSON with an id).
const ANSWER_MAX: usize = 1 << 20;
/// How long a link works.
pub(crate) const LINK_MS: i64 = 3_600_000;
/// The key's name in `store_keys`.
pub(crate) const LINK_KEY: &str = "media_links";

/// Makes the upload `plan` describes with `file` as its body (or its file field), and
/// answers what the platform said. Errors are in plain words, for the reply's status.
pub(crate) async fn upload(
    media: &Media,
    connector: &ChannelConnector,
    plan: wit::MediaUpload,
    file: &FileRef,
    encrypt: Option<&super::crypt::FileKey>,
) -> Result<wit::HttpResponse, String> {
    let url = reqwest::Url::parse(&plan.request.url)
        .map_err(|_| "the connector gave an upload address that is not a URL".to_owned())?;
    let egress = connector.egress();
    egress
        .check(&url)
        .map_err(|refused| format!("the upload was refused: {refused}"))?;
    let stream = media
        .blobs
        .read(&file.hash)
        .await
        .map_err(|_| format!("{} is missing on the server", file.file_name))?;
    // Counter mode keeps the length: `file.size` stays the body's length.
    let body = match encrypt {
        Some(key) => reqwest::Body::wrap_stream(key.apply(stream)),
        None => reqwest::Body::wrap_stream(stream),
    };
    let method = reqwest::Method::from_bytes(plan.request.method.as_bytes())
        .unwrap_or(reqwest::Method::POST);
    let mut builder = egress.client().request(method, url);
    for (name, value) in &plan.request.headers {
        // The host sets the body's own type and length.
        if name.eq_ignore_ascii_case("content-type") && plan.file_field.is_some() {
            continue;
        }
        if name.eq_ignore_ascii_case("content-length") {
            continue;
        }
        builder = builder.header(name, value);
    }
    builder = match &plan.file_field {
        Some(field) => {
            let mut form = reqwest::multipart::Form::new();
            for (name, value) in plan.form {
                form = form.text(name, value);
            }
            let part = reqwest::multipart::Part::stream_with_length(body, file.size)
                .file_name(file.file_name.clone())
                .mime_str(&file.content_type)
                .map_err(|_| format!("{} has a type the upload cannot carry", file.file_name))?;
            builder.multipart(form.part(field.clone(), part))
        }
        None => {
            let has_type = plan
                .request
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
            let builder = builder.header(reqwest::header::CONTENT_LENGTH, file.size);
            let builder = if has_type {
                builder
            } else {
                builder.header(reqwest::header::CONTENT_TYPE, &file.content_type)
            };
            builder.body(body)
        }
    };
    let response = builder
        .send()
        .await
        .map_err(|e| match egress.refusal_in(&e) {
            Some(refused) => format!("the upload was refused: {refused}"),
            None => format!(
                "the upload of {} failed: {}",
                file.file_name,
                connector.scrub(&crate::connectors::egress::error_text(&e))
            ),
        })?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    use futures::StreamExt;
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| format!("the platform's answer to the upload broke off: {e}"))?;
        if body.len() + chunk.len() > ANSWER_MAX {
            return Err("the platform's answer to the upload was too large to read".into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(wit::HttpResponse {
        status,
        headers,
        body,
    })
}

/// The signature of a link to file `id` that works until `expires` (unix ms).
pub(crate) fn sign(key: &[u8], id: i64, expires: i64) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key length");
    mac.update(format!("media-link:{id}:{expires}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `signature` is a link's to file `id` until `expires`, checked in constant time.
pub(crate) fn verify(key: &[u8], id: i64, expires: i64, signature: &str) -> bool {
    let Ok(given) = hex::decode(signature) else {
        return false;
    };
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key length");
    mac.update(format!("media-link:{id}:{expires}").as_bytes());
    mac.verify_slice(&given).is_ok()
}

/// The public link to file `id` (a `media` row), working until `expires`.
pub(crate) fn link(public_url: &str, key: &[u8], id: i64, expires: i64) -> String {
    format!(
        "{public_url}/media/{id}/{expires}/{}",
        sign(key, id, expires)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_names_one_file_until_it_expires() {
        let key = [7u8; 32];
        let sig = sign(&key, 12, 1_000);
        assert!(verify(&key, 12, 1_000, &sig));
        assert!(!verify(&key, 13, 1_000, &sig));
        assert!(!verify(&key, 12, 2_000, &sig));
        assert!(!verify(&[8u8; 32], 12, 1_000, &sig));
        assert!(!verify(&key, 12, 1_000, "not hex"));
        assert_eq!(
            link("https://sb.example", &key, 12, 1_000),
            format!("https://sb.example/media/12/1000/{sig}")
        );
    }
}
