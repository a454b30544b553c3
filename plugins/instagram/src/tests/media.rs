//! Files both ways: what the host may download and how, what a reply may carry, and DMs
//! with files sent by the host's public link (Meta's "Send a Message" reference for
//! Instagram messaging: `{"attachment":{"type","payload":{"url"}}}`).

use std::cell::Cell;
use std::rc::Rc;

use serde_json::json;
use switchboard_sdk::{
    Attachment, Connector, ConnectorError, Event, HttpResponse, OutboundFile, Visibility,
};

use super::{
    CUSTOMER, GRAPH, HOUR, IG, NOW, TOKEN, body, deliver, dm, graph, host, not_found, on_comment,
};
use crate::Instagram;

const MB: u64 = 1024 * 1024;

fn file(kind: &str, name: &str, mime: &str, link: Option<&str>) -> OutboundFile {
    OutboundFile {
        kind: kind.into(),
        file_name: name.into(),
        mime_type: mime.into(),
        size: 1000,
        upload: None,
        link: link.map(str::to_string),
        upload_key: None,
        upload_state: None,
    }
}

/// A Send API whose message ids count up (`aWdf1`, `aWdf2`, ...) and that fails the
/// calls whose number is in `fail`.
fn counting_send_api(host: &switchboard_sdk::testing::MockHost, fail: &'static [usize]) {
    let n = Rc::new(Cell::new(0usize));
    host.on_http(move |_| {
        n.set(n.get() + 1);
        if fail.contains(&n.get()) {
            return Ok(HttpResponse::json(
                500,
                &json!({"error": {"message": "oops", "code": 2}}),
            ));
        }
        Ok(HttpResponse::json(
            200,
            &json!({"recipient_id": CUSTOMER, "message_id": format!("aWdf{}", n.get())}),
        ))
    });
}

#[test]
fn the_cdn_hosts_are_declared_and_a_download_carries_no_token() {
    let _host = host();
    let hosts = Instagram.describe().hosts;
    for wanted in [
        "https://*.fbsbx.com",
        "https://*.cdninstagram.com",
        "https://graph.instagram.com",
    ] {
        assert!(
            hosts.iter().any(|h| h == wanted),
            "{wanted} missing from {hosts:?}"
        );
    }
    let url = "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1&signature=a";
    let req = Instagram
        .media_request(Attachment::at_url("image", url))
        .unwrap()
        .unwrap()
        .request;
    assert_eq!((req.method.as_str(), req.url.as_str()), ("GET", url));
    assert!(
        req.headers.is_empty(),
        "a CDN never gets the token: {:?}",
        req.headers
    );
    assert_eq!(
        Instagram.media_request(Attachment::location(1, 2)).unwrap(),
        None
    );
}

#[test]
fn direct_messages_take_images_video_audio_and_pdf_within_metas_sizes() {
    let _host = host();
    let limits = Instagram.file_limits();
    assert!(
        limits.iter().all(|l| l.visibility == Visibility::Private),
        "comments take no file"
    );
    let limit = |kind: &str| limits.iter().find(|l| l.kind == kind).unwrap();
    assert_eq!(limit("image").max_bytes, 8 * MB);
    assert_eq!(limit("image").mime_types, ["image/png", "image/jpeg"]);
    assert_eq!(limit("video").max_bytes, 25 * MB);
    assert!(limit("video").mime_types.iter().any(|m| m == "video/mp4"));
    assert!(limit("audio").mime_types.iter().any(|m| m == "audio/aac"));
    assert_eq!(limit("file").mime_types, ["application/pdf"]);
}

#[test]
fn nothing_is_uploaded_a_dm_goes_by_link_and_comments_take_no_file() {
    let host = host();
    let photo = file(
        "image",
        "parcel.jpg",
        "image/jpeg",
        Some("https://sb.example/f/1"),
    );
    assert_eq!(
        Instagram.upload_media(photo.clone(), dm("", None)).unwrap(),
        None
    );
    for reply in [
        on_comment(Visibility::Private, Some("17800000000000002")),
        on_comment(Visibility::Public, Some("17800000000000002")),
    ] {
        let err = Instagram
            .upload_media(photo.clone(), reply.clone())
            .unwrap_err();
        assert!(matches!(err, ConnectorError::Rejected(_)), "{err:?}");
        let mut with_file = reply;
        with_file.files = vec![photo.clone()];
        assert!(matches!(
            Instagram.send(with_file, "k-comment".into()),
            Err(ConnectorError::Rejected(_))
        ));
    }
    assert!(host.requests().is_empty());
}

#[test]
fn text_then_each_file_is_sent_by_its_public_link() {
    let host = host();
    counting_send_api(&host, &[]);
    let mut out = dm("Here is your label", Some(NOW - HOUR));
    out.files = vec![
        file(
            "image",
            "label.png",
            "image/png",
            Some("https://sb.example/f/1?sig=a"),
        ),
        file(
            "file",
            "invoice.pdf",
            "application/pdf",
            Some("https://sb.example/f/2?sig=b"),
        ),
    ];
    let sent = Instagram.send(out.clone(), "k-files".into()).unwrap();
    assert_eq!(sent.platform_message_id, "aWdf1", "the first part's id");
    let reqs = host.requests();
    assert_eq!(reqs.len(), 3);
    for req in &reqs {
        assert_eq!(req.url, format!("{GRAPH}/{IG}/messages"));
        assert_eq!(
            req.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str())
        );
        assert_eq!(body(req)["recipient"], json!({"id": CUSTOMER}));
        assert_eq!(body(req)["messaging_type"], "RESPONSE");
    }
    assert_eq!(
        body(&reqs[0])["message"],
        json!({"text": "Here is your label"})
    );
    assert_eq!(
        body(&reqs[1])["message"],
        json!({"attachment": {"type": "image", "payload": {"url": "https://sb.example/f/1?sig=a"}}})
    );
    assert_eq!(
        body(&reqs[2])["message"],
        json!({"attachment": {"type": "file", "payload": {"url": "https://sb.example/f/2?sig=b"}}})
    );
    // Sent once: the same reply again changes nothing.
    assert_eq!(
        Instagram
            .send(out, "k-files".into())
            .unwrap()
            .platform_message_id,
        "aWdf1"
    );
    assert_eq!(host.requests().len(), 3);
}

#[test]
fn a_file_alone_goes_with_the_window_tag_and_a_retry_sends_only_what_is_left() {
    let host = host();
    // The second call (the first file) fails once.
    counting_send_api(&host, &[2]);
    let mut out = dm("", Some(NOW - 30 * HOUR));
    out.files = vec![
        file("image", "a.jpg", "image/jpeg", Some("https://sb.example/a")),
        file("image", "b.jpg", "image/jpeg", Some("https://sb.example/b")),
    ];
    out.text = "see both".into();
    let err = Instagram.send(out.clone(), "k-retry".into()).unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    let sent = Instagram.send(out, "k-retry".into()).unwrap();
    assert_eq!(
        sent.platform_message_id, "aWdf1",
        "the text's id, sent on the first try"
    );
    let reqs = host.requests();
    let urls: Vec<String> = reqs
        .iter()
        .map(|r| {
            body(r)["message"]["attachment"]["payload"]["url"]
                .as_str()
                .unwrap_or("text")
                .to_string()
        })
        .collect();
    assert_eq!(
        urls,
        [
            "text",
            "https://sb.example/a",
            "https://sb.example/a",
            "https://sb.example/b"
        ]
    );
    assert!(reqs.iter().all(|r| body(r)["tag"] == "HUMAN_AGENT"));

    // A file with no text at all is a reply too.
    host.clear_requests();
    let mut only = dm("", Some(NOW - HOUR));
    only.files = vec![file(
        "audio",
        "note.m4a",
        "audio/mp4",
        Some("https://sb.example/n"),
    )];
    Instagram.send(only, "k-only".into()).unwrap();
    assert_eq!(host.requests().len(), 1);
    assert_eq!(
        body(&host.requests()[0])["message"]["attachment"]["type"],
        "audio"
    );
}

#[test]
fn without_a_public_link_the_reply_is_refused_before_anything_is_sent() {
    let host = host();
    counting_send_api(&host, &[]);
    let mut out = dm("Here you go", Some(NOW - HOUR));
    out.files = vec![
        file("image", "a.jpg", "image/jpeg", Some("https://sb.example/a")),
        file("file", "invoice.pdf", "application/pdf", None),
    ];
    let err = Instagram.send(out, "k-nolink".into()).unwrap_err();
    match err {
        ConnectorError::Rejected(why) => {
            assert!(
                why.contains("public link") && why.contains("invoice.pdf"),
                "{why}"
            );
            assert!(why.contains("public_url"), "{why}");
        }
        other => panic!("{other:?}"),
    }
    assert!(host.requests().is_empty());
}

#[test]
fn an_unsupported_message_without_attachments_is_kept_labelled() {
    let host = host();
    graph(&host, not_found);
    let body = json!({"object": "instagram", "entry": [{"id": IG, "time": NOW, "messaging": [{
        "sender": {"id": CUSTOMER}, "recipient": {"id": IG}, "timestamp": NOW,
        "message": {"mid": "aWdfunsupported", "is_unsupported": true}}]}]})
    .to_string();
    let events = deliver(&body);
    let [Event::Message(m)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(m.attachments.len(), 1);
    assert_eq!(m.attachments[0].kind, "unsupported_type");
    assert!(
        m.attachments[0]
            .caption
            .as_deref()
            .unwrap()
            .contains("Instagram")
    );
}
