//! Sending files: by the media id the host's upload got, with the text as a caption or
//! a message of its own, and resending part-way.

use std::cell::Cell;
use std::rc::Rc;

use serde_json::{Value, json};
use switchboard_sdk::{Connector, ConnectorError, HttpResponse, OutboundFile};

use super::media::file;
use super::{GRAPH, HOUR, NOW, PHONE_ID, accepted, host, reply, sent_body};
use crate::WhatsApp;

/// A file the host uploaded, with WhatsApp's answer.
pub(super) fn uploaded(kind: &str, name: &str, mime: &str, media_id: &str) -> OutboundFile {
    OutboundFile {
        upload: Some(HttpResponse::json(200, &json!({ "id": media_id }))),
        ..file(kind, name, mime)
    }
}

fn numbered_answers(host: &switchboard_sdk::testing::MockHost) {
    let n = Rc::new(Cell::new(0));
    host.on_http(move |_| {
        n.set(n.get() + 1);
        Ok(accepted(&format!("wamid.part{}", n.get())))
    });
}

#[test]
fn an_image_goes_by_its_media_id_with_the_text_as_caption() {
    let host = host();
    numbered_answers(&host);
    let mut msg = reply("Here is your label", Some(NOW - HOUR));
    msg.files = vec![uploaded("image", "label.png", "image/png", "media-1")];
    let sent = WhatsApp.send(msg, "r1".into()).unwrap();
    assert_eq!(sent.platform_message_id, "wamid.part1");
    assert_eq!(host.requests().len(), 1);
    assert_eq!(
        host.requests()[0].url,
        format!("{GRAPH}/{PHONE_ID}/messages")
    );
    assert_eq!(
        sent_body(&host, 0),
        json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "16505551234",
            "type": "image",
            "image": {"id": "media-1", "caption": "Here is your label"},
            "context": {"message_id": "wamid.in1"}
        })
    );
}

#[test]
fn a_document_keeps_its_file_name_and_every_file_is_a_message() {
    let host = host();
    numbered_answers(&host);
    let mut msg = reply("", Some(NOW - HOUR));
    msg.reply_to = None;
    msg.files = vec![
        uploaded("file", "invoice.pdf", "application/pdf", "doc-1"),
        uploaded("video", "howto.mp4", "video/mp4", "vid-1"),
    ];
    let sent = WhatsApp.send(msg, "r2".into()).unwrap();
    assert_eq!(
        sent.platform_message_id, "wamid.part1",
        "the first message's id"
    );
    assert_eq!(sent_body(&host, 0)["type"], "document");
    assert_eq!(
        sent_body(&host, 0)["document"],
        json!({"id": "doc-1", "filename": "invoice.pdf"})
    );
    assert_eq!(sent_body(&host, 1)["type"], "video");
    assert_eq!(sent_body(&host, 1)["video"], json!({"id": "vid-1"}));
}

#[test]
fn text_that_cannot_be_a_caption_goes_first_on_its_own() {
    let host = host();
    numbered_answers(&host);
    // Audio takes no caption.
    let mut msg = reply("Listen to this", Some(NOW - HOUR));
    msg.files = vec![uploaded("audio", "note.ogg", "audio/ogg", "aud-1")];
    WhatsApp.send(msg, "r3".into()).unwrap();
    let text = sent_body(&host, 0);
    assert_eq!(text["type"], "text");
    assert_eq!(text["text"]["body"], "Listen to this");
    assert_eq!(
        text["context"]["message_id"], "wamid.in1",
        "the quote is on the first"
    );
    let audio = sent_body(&host, 1);
    assert_eq!(audio["audio"], json!({"id": "aud-1"}));
    assert!(audio.get("context").is_none());

    // Longer than a caption (1,024 characters).
    host.clear_requests();
    let long = "x".repeat(1025);
    let mut msg = reply(&long, Some(NOW - HOUR));
    msg.files = vec![uploaded("image", "a.jpg", "image/jpeg", "img-9")];
    WhatsApp.send(msg, "r4".into()).unwrap();
    assert_eq!(sent_body(&host, 0)["text"]["body"], Value::String(long));
    assert_eq!(sent_body(&host, 1)["image"], json!({"id": "img-9"}));
}

#[test]
fn a_file_without_a_usable_upload_is_refused_before_sending() {
    let host = host();
    numbered_answers(&host);
    let mut msg = reply("see attached", Some(NOW - HOUR));
    msg.files = vec![file("image", "a.png", "image/png")];
    let err = WhatsApp.send(msg.clone(), "r5".into()).unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Rejected(m) if m.contains("a.png") && m.contains("upload")),
        "{err:?}"
    );
    // WhatsApp refused the upload: its reason, and nothing sent.
    msg.files = vec![OutboundFile {
        upload: Some(super::cloud_error(
            400,
            131053,
            "(#131053) Media upload error",
            "Unsupported file type",
        )),
        ..file("image", "a.png", "image/png")
    }];
    let err = WhatsApp.send(msg, "r6".into()).unwrap_err();
    let ConnectorError::Rejected(text) = &err else {
        panic!("{err:?}")
    };
    assert!(
        text.contains("a.png") && text.contains("Unsupported file type"),
        "{text}"
    );
    assert!(host.requests().is_empty());
}

#[test]
fn sending_again_after_a_failure_part_way_skips_what_was_sent() {
    let host = host();
    let calls = Rc::new(Cell::new(0));
    let counter = calls.clone();
    host.on_http(move |_| {
        counter.set(counter.get() + 1);
        match counter.get() {
            1 => Ok(accepted("wamid.first")),
            2 => Ok(HttpResponse::text(503, "busy")),
            n => Ok(accepted(&format!("wamid.retry{n}"))),
        }
    });
    let mut msg = reply("", Some(NOW - HOUR));
    msg.files = vec![
        uploaded("image", "1.png", "image/png", "m1"),
        uploaded("image", "2.png", "image/png", "m2"),
    ];
    let err = WhatsApp.send(msg.clone(), "r7".into()).unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    assert!(err.message().contains("1 of the reply's 2"), "{err:?}");

    let sent = WhatsApp.send(msg, "r7".into()).unwrap();
    assert_eq!(sent.platform_message_id, "wamid.first");
    let images: Vec<Value> = (0..host.requests().len())
        .map(|i| sent_body(&host, i)["image"]["id"].clone())
        .collect();
    assert_eq!(
        images,
        [json!("m1"), json!("m2"), json!("m2")],
        "m1 went once"
    );
    // Once the whole reply is through, only the reply itself is remembered.
    assert_eq!(host.kv_keys(), ["sent/r7"]);
}
