//! Media: the two-step download the host makes, the upload it makes for us, the limits.

use serde_json::json;
use switchboard_sdk::{
    Attachment, Connector, ConnectorError, HttpResponse, OutboundFile, Visibility,
};

use super::{GRAPH, HOUR, NOW, PHONE_ID, cloud_error, host, reply};
use crate::WhatsApp;

const CDN_URL: &str =
    "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=777&ext=1800000300&hash=ATx";

fn media_info() -> HttpResponse {
    HttpResponse::json(
        200,
        &json!({"messaging_product": "whatsapp", "url": CDN_URL, "mime_type": "image/jpeg",
            "sha256": "81d3bd8a", "file_size": "303833", "id": "777"}),
    )
}

#[test]
fn media_request_asks_for_the_url_then_hands_back_an_authenticated_download() {
    let host = host();
    host.on_http(|_| Ok(media_info()));
    let attachment = Attachment::with_media_id("image", "777");
    let download = WhatsApp.media_request(attachment).unwrap().unwrap().request;

    // Step one, made by the plugin: the media id's URL, with the token.
    let asked = host.requests();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].method, "GET");
    assert_eq!(
        asked[0].url,
        format!("{GRAPH}/777?phone_number_id={PHONE_ID}")
    );
    assert_eq!(asked[0].header("authorization"), Some("Bearer wa-token"));

    // Step two, made by the host: the CDN URL with the same bearer token.
    assert_eq!(download.method, "GET");
    assert_eq!(download.url, CDN_URL);
    assert_eq!(download.header("authorization"), Some("Bearer wa-token"));
    assert!(download.body.is_empty());
}

#[test]
fn a_refused_token_is_unauthorized_and_never_quoted() {
    let host = host();
    host.on_http(|_| {
        Ok(HttpResponse::json(
            401,
            &json!({"error": {"message": "Malformed access token wa-token", "type": "OAuthException", "code": 190}}),
        ))
    });
    let err = WhatsApp
        .media_request(Attachment::with_media_id("file", "777"))
        .unwrap_err();
    let ConnectorError::Unauthorized(text) = &err else {
        panic!("{err:?}")
    };
    assert!(text.contains("access_token"), "{text}");
    assert!(!text.contains("wa-token"), "{text}");
    assert_eq!(host.requests().len(), 1, "no download is attempted");
}

#[test]
fn expired_media_is_refused_for_good_and_outages_are_retried() {
    let host = host();
    host.on_http(|_| {
        Ok(cloud_error(
            400,
            100,
            "(#100) Invalid parameter",
            "media not found",
        ))
    });
    let err = WhatsApp
        .media_request(Attachment::with_media_id("video", "old"))
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Rejected(m) if m.contains("30 days")),
        "{err:?}"
    );

    host.on_http(|_| Ok(HttpResponse::text(503, "busy")));
    let err = WhatsApp
        .media_request(Attachment::with_media_id("video", "v"))
        .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");

    // An answer without a URL is worth asking again.
    host.on_http(|_| Ok(HttpResponse::json(200, &json!({"id": "v"}))));
    let err = WhatsApp
        .media_request(Attachment::with_media_id("video", "v"))
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Transient(_)), "{err:?}");
}

#[test]
fn content_without_a_file_needs_no_download() {
    let host = host();
    host.on_http(|_| Ok(media_info()));
    assert_eq!(
        WhatsApp
            .media_request(Attachment::location("1.5", "2"))
            .unwrap(),
        None
    );
    // Locations stored before the contract had details carried a `geo:` URL.
    assert_eq!(
        WhatsApp
            .media_request(Attachment::at_url("location", "geo:1.5,2"))
            .unwrap(),
        None
    );
    assert!(host.requests().is_empty());

    // Media stored with the old `whatsapp-media:` URL still download.
    let old = WhatsApp
        .media_request(Attachment::at_url("image", "whatsapp-media:555"))
        .unwrap()
        .unwrap()
        .request;
    assert_eq!(old.url, CDN_URL);
    assert!(host.requests()[0].url.starts_with(&format!("{GRAPH}/555?")));
}

#[test]
fn media_request_without_a_token_is_a_settings_problem() {
    let host = host();
    host.remove_secret("access_token");
    let err = WhatsApp
        .media_request(Attachment::with_media_id("image", "777"))
        .unwrap_err();
    assert!(matches!(&err, ConnectorError::InvalidConfig(m) if m.contains("access_token")));
    assert!(host.requests().is_empty());
}

pub(super) fn file(kind: &str, name: &str, mime: &str) -> OutboundFile {
    OutboundFile {
        kind: kind.into(),
        file_name: name.into(),
        mime_type: mime.into(),
        size: 1234,
        upload: None,
        link: None,
        upload_key: None,
        upload_state: None,
    }
}

#[test]
fn upload_is_a_multipart_post_to_the_number_s_media() {
    let host = host();
    let msg = reply("", Some(NOW - HOUR));
    let upload = WhatsApp
        .upload_media(file("image", "parcel.png", "image/png"), msg)
        .unwrap()
        .unwrap();
    assert_eq!(upload.request.method, "POST");
    assert_eq!(upload.request.url, format!("{GRAPH}/{PHONE_ID}/media"));
    assert_eq!(
        upload.request.header("authorization"),
        Some("Bearer wa-token")
    );
    assert_eq!(
        upload.form,
        [
            ("messaging_product".to_string(), "whatsapp".to_string()),
            ("type".to_string(), "image/png".to_string())
        ]
    );
    assert_eq!(upload.file_field.as_deref(), Some("file"));
    assert!(host.requests().is_empty(), "the host makes the upload");
}

#[test]
fn nothing_is_uploaded_for_a_reply_whatsapp_would_refuse() {
    let _host = host();
    let late = reply("", Some(NOW - 25 * HOUR));
    let err = WhatsApp
        .upload_media(file("file", "a.pdf", "application/pdf"), late)
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Rejected(m) if m.contains("only a template")),
        "{err:?}"
    );
    let err = WhatsApp
        .upload_media(
            file("sticker", "s.webp", "image/webp"),
            reply("", Some(NOW)),
        )
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Rejected(_)), "{err:?}");
}

#[test]
fn file_limits_are_the_cloud_api_s() {
    let limits = WhatsApp.file_limits();
    let of = |kind: &str| {
        limits
            .iter()
            .find(|l| l.kind == kind && l.visibility == Visibility::Private)
            .unwrap()
    };
    const MB: u64 = 1024 * 1024;
    assert_eq!(of("image").max_bytes, 5 * MB);
    assert_eq!(of("image").mime_types, ["image/jpeg", "image/png"]);
    assert_eq!(of("video").max_bytes, 16 * MB);
    assert_eq!(of("video").mime_types, ["video/mp4", "video/3gpp"]);
    assert_eq!(of("audio").max_bytes, 16 * MB);
    assert!(of("audio").mime_types.contains(&"audio/ogg".to_string()));
    assert_eq!(of("file").max_bytes, 100 * MB);
    assert!(
        of("file")
            .mime_types
            .contains(&"application/pdf".to_string())
    );
    // A public reply is the same message: the same limits.
    assert_eq!(limits.len(), 8);
    assert!(
        limits
            .iter()
            .any(|l| l.visibility == Visibility::Public && l.kind == "image")
    );
}

#[test]
fn the_media_cdn_is_an_allowed_host() {
    let hosts = WhatsApp.describe().hosts;
    assert_eq!(
        hosts,
        ["https://graph.facebook.com", "https://lookaside.fbsbx.com"]
    );
}
