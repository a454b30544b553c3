//! Messenger attachments both ways: every inbound kind from a saved webhook
//! (`every_kind.json`, shapes from Meta's `messages`, `messaging_postbacks`,
//! `message_reactions` and `message_edits` webhook references), and files sent through
//! the Attachment Upload API then the Send API by `attachment_id`.

use serde_json::json;
use switchboard_sdk::{
    Attachment, Connector, ConnectorError, Event, HttpRequest, HttpResponse, OutboundFile,
    Visibility,
};

use super::{
    DAY_MS, GRAPH, NOW, PAGE, PSID, SECRET, body_of, dm, host, host_with_profile, private_reply,
    sent_ok,
};
use crate::Facebook;

fn deliver(body: &str) -> Vec<Event> {
    let req = HttpRequest::new("POST", "/webhooks/facebook")
        .with_header(
            "x-hub-signature-256",
            switchboard_sdk::meta::signature(SECRET, body.as_bytes()),
        )
        .with_body(body);
    let out = Facebook.handle_webhook(req).unwrap();
    assert_eq!(out.response.status, 200);
    out.events
}

fn message<'a>(events: &'a [Event], mid: &str) -> &'a switchboard_sdk::Message {
    events
        .iter()
        .find_map(|e| match e {
            Event::Message(m) if m.platform_message_id.starts_with(mid) => Some(m),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no message {mid} in {events:?}"))
}

fn meta<'a>(m: &'a switchboard_sdk::Message, key: &str) -> Option<&'a str> {
    m.metadata
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[test]
fn every_inbound_kind_is_kept_readable() {
    let _host = host_with_profile();
    let events = deliver(include_str!("every_kind.json"));
    assert_eq!(events.len(), 7, "{events:?}");

    // A location alone is a message, with its coordinates (it used to arrive empty).
    let location = message(&events, "m_location");
    assert_eq!(location.text, "");
    let [place] = location.attachments.as_slice() else {
        panic!("{:?}", location.attachments)
    };
    assert_eq!(place.kind, "location");
    assert_eq!(place.detail("latitude"), Some("52.3676"));
    assert_eq!(place.detail("longitude"), Some("4.9041"));
    assert_eq!(place.detail("name"), Some("Ann's Location"));
    assert!(place.detail("url").unwrap().contains("bing.com"));
    assert_eq!(place.url, None);

    // The like button: one sticker, not two.
    let like = message(&events, "m_like");
    let [sticker] = like.attachments.as_slice() else {
        panic!("{:?}", like.attachments)
    };
    assert_eq!(sticker.kind, "sticker");
    assert_eq!(sticker.detail("sticker-id"), Some("369239263222822"));
    assert!(sticker.url.as_deref().unwrap().contains("fbcdn.net"));

    let media = message(&events, "m_media");
    assert_eq!(media.text, "here you go");
    let kinds: Vec<&str> = media.attachments.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "image", "video", "audio", "file", "fallback", "share", "share", "share", "hologram"
        ]
    );
    let a = &media.attachments;
    assert!(
        a[..4].iter().all(|a| a.url.is_some()),
        "files are downloadable"
    );
    assert_eq!(a[3].file_name.as_deref(), Some("Invoice-1042.pdf"));
    assert_eq!(a[4].detail("title"), Some("Spring sale"));
    assert_eq!(a[4].url, None, "a shared link is not downloaded");
    assert_eq!(a[5].detail("product-id"), Some("4211"));
    assert_eq!(a[5].caption.as_deref(), Some("Green parka"));
    assert_eq!(a[6].detail("shared"), Some("reel"));
    assert_eq!(a[7].detail("reel-video-id"), Some("1230000000"));
    assert!(a[8].caption.as_deref().unwrap().contains("`hologram`"));

    let quick = message(&events, "m_quick");
    assert_eq!(quick.text, "Red");
    assert_eq!(meta(quick, "quick_reply_payload"), Some("COLOR_RED"));

    let postback = message(&events, "m_postback");
    assert_eq!(postback.text, "Track my order");
    assert_eq!(meta(postback, "postback"), Some("true"));
    assert_eq!(meta(postback, "postback_payload"), Some("TRACK_ORDER"));

    let reaction = message(&events, "m_sent_by_page#react");
    assert_eq!(reaction.text, "reacted \u{2764}\u{fe0f} to a message");
    assert_eq!(reaction.parent_id.as_deref(), Some("m_sent_by_page"));
    assert_eq!(reaction.thread_id, format!("psid:{PSID}"));
    assert_eq!(meta(reaction, "reaction"), Some("love"));
    assert!(!reaction.from_business);

    let edit = events
        .iter()
        .find_map(|e| match e {
            Event::Edited(e) => Some(e),
            _ => None,
        })
        .unwrap();
    assert_eq!(edit.platform_message_id, "m_media");
    assert_eq!(edit.text, "here you go, both of them");
    assert_eq!(edit.thread_id, Some(format!("psid:{PSID}")));
}

#[test]
fn the_cdn_hosts_are_declared_and_downloads_carry_no_token() {
    let _host = host();
    let hosts = Facebook.describe().hosts;
    for wanted in [
        "https://graph.facebook.com",
        "https://*.xx.fbcdn.net",
        "https://*.fbsbx.com",
    ] {
        assert!(
            hosts.iter().any(|h| h == wanted),
            "{wanted} not in {hosts:?}"
        );
    }
    let url = "https://scontent.xx.fbcdn.net/v/t1.15752-9/photo_n.jpg?oh=1";
    let req = Facebook
        .media_request(Attachment::at_url("image", url))
        .unwrap()
        .unwrap()
        .request;
    assert_eq!((req.method.as_str(), req.url.as_str()), ("GET", url));
    assert!(req.headers.is_empty(), "the page token never goes to a CDN");
}

fn file(kind: &str, name: &str, upload: Option<HttpResponse>) -> OutboundFile {
    OutboundFile {
        kind: kind.into(),
        file_name: name.into(),
        mime_type: if kind == "image" {
            "image/png"
        } else {
            "application/pdf"
        }
        .into(),
        size: 2048,
        upload,
        link: None,
        upload_key: None,
        upload_state: None,
    }
}

fn uploaded(id: &str) -> Option<HttpResponse> {
    Some(HttpResponse::json(200, &json!({ "attachment_id": id })))
}

#[test]
fn a_messenger_file_is_uploaded_through_the_attachment_upload_api() {
    let host = host();
    let upload = Facebook
        .upload_media(file("image", "label.png", None), dm("", None))
        .unwrap()
        .expect("Messenger needs an upload");
    assert_eq!(upload.request.method, "POST");
    assert_eq!(
        upload.request.url,
        format!("{GRAPH}/{PAGE}/message_attachments")
    );
    assert_eq!(upload.request.header("authorization"), Some("Bearer tok"));
    assert_eq!(upload.file_field.as_deref(), Some("filedata"));
    let (field, value) = &upload.form[0];
    assert_eq!(field, "message");
    let message: serde_json::Value = serde_json::from_str(value).unwrap();
    assert_eq!(message["attachment"]["type"], "image");
    assert_eq!(message["attachment"]["payload"]["is_reusable"], true);
    // A document goes as `file`.
    let doc = Facebook
        .upload_media(file("file", "invoice.pdf", None), dm("", None))
        .unwrap()
        .unwrap();
    assert!(doc.form[0].1.contains(r#""type":"file""#));
    // A private reply to a comment is text only: refused before any upload.
    let err = Facebook
        .upload_media(file("image", "a.png", None), private_reply("1_2", None))
        .unwrap_err();
    assert!(matches!(&err, ConnectorError::Rejected(m) if m.contains("private reply")));
    assert!(
        host.requests().is_empty(),
        "describing an upload calls nothing"
    );
}

#[test]
fn the_text_then_each_file_is_sent_by_its_attachment_id() {
    let host = host();
    sent_ok(&host);
    let mut out = dm("Here is your label", Some(NOW - 2 * DAY_MS));
    out.files = vec![
        file("image", "label.png", uploaded("1857777774821032")),
        file("file", "invoice.pdf", uploaded("1857777774821033")),
    ];
    let sent = Facebook.send(out.clone(), "k-files".into()).unwrap();
    assert_eq!(sent.platform_message_id, "m_sent1");
    assert_eq!(host.requests().len(), 3);
    for i in 0..3 {
        let b = body_of(&host, i);
        assert_eq!(b["recipient"], json!({ "id": PSID }));
        // The window's tag on every part.
        assert_eq!(
            (b["messaging_type"].as_str(), b["tag"].as_str()),
            (Some("MESSAGE_TAG"), Some("HUMAN_AGENT"))
        );
    }
    assert_eq!(
        body_of(&host, 0)["message"],
        json!({ "text": "Here is your label" })
    );
    assert_eq!(
        body_of(&host, 1)["message"],
        json!({ "attachment": { "type": "image", "payload": { "attachment_id": "1857777774821032" } } })
    );
    assert_eq!(body_of(&host, 2)["message"]["attachment"]["type"], "file");
    // Sent once.
    Facebook.send(out, "k-files".into()).unwrap();
    assert_eq!(host.requests().len(), 3);

    // A file alone is a reply too.
    host.clear_requests();
    let mut only = dm("", Some(NOW - 3_600_000));
    only.files = vec![file("image", "a.png", uploaded("42"))];
    Facebook.send(only, "k-only".into()).unwrap();
    assert_eq!(host.requests().len(), 1);
    assert_eq!(body_of(&host, 0)["messaging_type"], "RESPONSE");
}

#[test]
fn a_failed_upload_or_a_missing_one_sends_nothing() {
    let host = host();
    sent_ok(&host);
    let mut out = dm("Here you go", Some(NOW - 3_600_000));
    let refused = HttpResponse::json(
        400,
        &json!({"error": {"message": "(#100) Upload attachment failure.", "code": 100}}),
    );
    out.files = vec![
        file("image", "a.png", uploaded("1")),
        file("file", "b.pdf", Some(refused)),
    ];
    let err = Facebook.send(out.clone(), "k-bad".into()).unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Rejected(m) if m.contains("Upload attachment failure")),
        "{err:?}"
    );
    out.files[1].upload = None;
    let err = Facebook.send(out, "k-none".into()).unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Rejected(m) if m.contains("b.pdf")),
        "{err:?}"
    );
    assert!(host.requests().is_empty(), "not even the text went out");
}

#[test]
fn a_retry_after_a_failure_in_the_middle_sends_only_what_is_left() {
    let host = host();
    let mut n = 0;
    host.on_http(move |_| {
        n += 1;
        if n == 2 {
            return Ok(HttpResponse::json(
                503,
                &json!({"error": {"message": "busy", "code": 2}}),
            ));
        }
        Ok(HttpResponse::json(
            200,
            &json!({"recipient_id": PSID, "message_id": format!("m_{n}")}),
        ))
    });
    let mut out = dm("Both photos", Some(NOW - 3_600_000));
    out.files = vec![
        file("image", "a.png", uploaded("11")),
        file("image", "b.png", uploaded("12")),
    ];
    assert!(
        Facebook
            .send(out.clone(), "k-mid".into())
            .unwrap_err()
            .is_retryable()
    );
    let sent = Facebook.send(out, "k-mid".into()).unwrap();
    assert_eq!(sent.platform_message_id, "m_1");
    let ids: Vec<String> = (0..host.requests().len())
        .map(|i| body_of(&host, i)["message"]["attachment"]["payload"]["attachment_id"].to_string())
        .collect();
    // text, 11 (failed), 11 again, 12: the text was not sent twice.
    assert_eq!(ids, ["null", "\"11\"", "\"11\"", "\"12\""]);
}

#[test]
fn file_limits_follow_meta() {
    let _host = host();
    let limits = Facebook.file_limits();
    let find = |v: Visibility, kind: &str| {
        limits
            .iter()
            .find(|l| l.visibility == v && l.kind == kind)
            .unwrap_or_else(|| panic!("no {kind} limit"))
    };
    for kind in ["image", "video", "audio", "file"] {
        assert_eq!(find(Visibility::Private, kind).max_bytes, 25 * 1024 * 1024);
    }
    assert!(
        find(Visibility::Private, "image")
            .mime_types
            .iter()
            .any(|m| m == "image/gif")
    );
    assert!(
        find(Visibility::Private, "file").mime_types.is_empty(),
        "any document"
    );
    assert_eq!(find(Visibility::Public, "image").max_bytes, 4 * 1024 * 1024);
    assert!(
        !limits
            .iter()
            .any(|l| l.visibility == Visibility::Public && l.kind != "image")
    );
}
