//! Every kind of customer message Apple delivers is kept.

use serde_json::{Value, json};
use switchboard_sdk::{Attachment, Message};

use super::{BUSINESS, CUSTOMER, good_token, handle, host, inbound, messages, text_body};

/// The one message a body becomes.
fn one(body: Value) -> Message {
    let _host = host();
    let (status, events) = handle(inbound(body, Some(format!("Bearer {}", good_token()))));
    assert_eq!(status, 200);
    let all = messages(&events);
    assert_eq!(all.len(), 1, "{events:?}");
    all[0].clone()
}

fn meta<'a>(m: &'a Message, key: &str) -> Option<&'a str> {
    m.metadata
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn interactive(id: &str, data: Value) -> Value {
    json!({"v": 1, "type": "interactive", "id": id, "sourceId": CUSTOMER, "destinationId": BUSINESS,
        "interactiveData": {"bid": "com.apple.messages.MSMessageExtensionBalloonPlugin:0000000000:com.apple.icloud.apps.messages.business.extension",
            "data": data}})
}

fn details(a: &Attachment) -> Vec<(&str, &str)> {
    a.details
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[test]
fn attachments_keep_what_their_download_needs_out_of_sight() {
    let key = format!("00{}", "ab".repeat(32));
    let mut body = text_body("att-1", "\u{fffc}\u{fffc}");
    body["attachments"] = json!([
        {"name": "receipt.jpg", "mimeType": "image/jpeg", "size": 1234,
         "signature-base64": "0a1b2c", "url": "https://p56-content.icloud.com/x", "key": key, "owner": "p56"},
        {"name": "Audio Message.caf", "mimeType": "audio/x-caf", "size": "5678", "key": "00aa"},
        {"name": "terms.pdf", "mimeType": "application/pdf"}
    ]);
    let m = one(body);
    // Only placeholders: the customer wrote nothing.
    assert_eq!(m.text, "");
    let kinds: Vec<&str> = m.attachments.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(kinds, ["image", "audio", "file"]);
    let photo = &m.attachments[0];
    assert_eq!(photo.file_name.as_deref(), Some("receipt.jpg"));
    assert_eq!(photo.mime_type.as_deref(), Some("image/jpeg"));
    assert_eq!(photo.size, Some(1234));
    // The download's needs go in the media id (which the host keeps and never shows);
    // the checksum Apple writes in hex becomes the base64 preDownload takes, the key
    // loses Apple's `00`.
    assert_eq!(photo.url, None);
    let handle: Value = serde_json::from_str(photo.media_id.as_deref().unwrap()).unwrap();
    assert_eq!(
        handle,
        json!({"url": "https://p56-content.icloud.com/x", "owner": "p56",
               "signature": "Chss", "key": "ab".repeat(32)})
    );
    assert_eq!(photo.detail("note"), None);
    // Without an address, owner, checksum or a 32-byte key, nothing can be fetched: the
    // file is described and says so.
    for a in &m.attachments[1..] {
        assert_eq!(a.media_id, None);
        assert!(
            a.detail("note")
                .unwrap()
                .contains("without its address or key")
        );
    }
    assert_eq!(m.attachments[1].size, Some(5678));
    assert_eq!(m.attachments[1].detail("voice"), Some("true"));
    assert_eq!(m.attachments[2].size, None);
    // Nothing that opens a file is kept in what agents see.
    for a in &m.attachments {
        let seen = format!("{:?} {:?}", a.details, a.caption);
        assert!(
            !seen.contains("icloud.com") && !seen.contains("abab"),
            "{seen}"
        );
    }

    let mut captioned = text_body("att-2", "Here it is \u{fffc}");
    captioned["attachments"] = json!([{"name": "p.png", "mimeType": "image/png", "size": 1}]);
    assert_eq!(one(captioned).text, "Here it is");
}

#[test]
fn a_rich_link_is_a_share() {
    let mut body = text_body("rl-1", "https://acme.example/order/1042");
    body["type"] = json!("richLink");
    body["richLinkData"] = json!({"url": "https://acme.example/order/1042", "title": "Order 1042",
        "assets": {"image": {"data": "iVBOR", "mimeType": "image/png"}}});
    let m = one(body);
    assert_eq!(m.text, "https://acme.example/order/1042");
    assert_eq!(m.attachments.len(), 1);
    assert_eq!(
        details(&m.attachments[0]),
        [
            ("title", "Order 1042"),
            ("url", "https://acme.example/order/1042")
        ]
    );
    assert_eq!(m.attachments[0].kind, "share");
}

#[test]
fn quick_and_time_picker_replies_are_messages() {
    let quick = one(interactive(
        "qr-1",
        json!({"requestIdentifier": "r1", "quick-reply": {"selectedIdentifier": "2", "selectedIndex": 1,
            "items": [{"identifier": "1", "title": "Yes"}, {"identifier": "2", "title": "Not now"}]}}),
    ));
    assert_eq!(quick.text, "Not now");
    assert_eq!(meta(&quick, "interactive_type"), Some("quick_reply"));
    assert_eq!(meta(&quick, "quick_reply_selection"), Some("2"));

    let time = one(interactive(
        "tp-1",
        json!({"event": {"title": "Pick a slot", "timeslots": [
            {"identifier": "slot-9", "startTime": "2026-05-01T09:00+0000", "duration": 3600}]},
            "replyMessage": {"title": "Friday 9:00"}}),
    ));
    assert_eq!(time.text, "Friday 9:00");
    assert_eq!(meta(&time, "interactive_type"), Some("time_picker"));
    assert_eq!(meta(&time, "time_picker_selection"), Some("slot-9"));

    let bare = one(interactive(
        "tp-2",
        json!({"event": {"timeslots": [{"identifier": "s1", "startTime": "2026-05-01T10:00+0000"}]}}),
    ));
    assert_eq!(bare.text, "2026-05-01T10:00+0000");
}

#[test]
fn payment_and_sign_in_replies_keep_no_token() {
    let pay = one(interactive(
        "pay-1",
        json!({"payment": {"paymentToken": "SECRET-PAY-TOKEN", "paymentMethod": {"network": "Visa"}},
            "replyMessage": {"title": "Paid"}}),
    ));
    assert_eq!(pay.text, "Paid");
    assert_eq!(meta(&pay, "interactive_type"), Some("apple_pay"));
    assert!(!format!("{pay:?}").contains("SECRET-PAY-TOKEN"));

    // No title: an attachment says what it was, so the message is not empty.
    let auth = one(interactive(
        "auth-1",
        json!({"authenticate": {"token": "SECRET-OAUTH-TOKEN", "status": "authenticated"}}),
    ));
    assert_eq!(auth.text, "");
    assert_eq!(auth.attachments.len(), 1);
    assert_eq!(auth.attachments[0].kind, "interactive");
    assert_eq!(auth.attachments[0].detail("title"), Some("authentication"));
    assert!(!format!("{auth:?}").contains("SECRET-OAUTH-TOKEN"));

    // A reply from an unknown iMessage app, with only its title.
    let app = one(interactive(
        "app-1",
        json!({"replyMessage": {"title": "Seat 14C"}}),
    ));
    assert_eq!(app.text, "Seat 14C");
    assert_eq!(meta(&app, "interactive_type"), Some("other"));
}

#[test]
fn a_reply_over_10_kb_arrives_as_a_reference_and_is_kept() {
    let body = json!({"v": 1, "type": "interactive", "id": "ref-1", "sourceId": CUSTOMER,
        "destinationId": BUSINESS, "interactiveDataRef": {"url": "https://p56-content.icloud.com/ref",
            "bid": "com.apple.x", "signature-base64": "AA==", "key": "00ff", "owner": "o", "size": 20480}});
    let m = one(body);
    assert_eq!(meta(&m, "interactive_type"), Some("reference"));
    assert_eq!(m.attachments[0].kind, "interactive");
    assert_eq!(m.attachments[0].size, Some(20480));
    assert!(!format!("{m:?}").contains("icloud.com"));
}

#[test]
fn close_and_unknown_types_are_kept_with_a_label() {
    let close = one(
        json!({"v": 1, "type": "close", "id": "c-1", "sourceId": CUSTOMER,
        "destinationId": BUSINESS}),
    );
    assert_eq!(close.text, "");
    assert_eq!(close.attachments[0].kind, "close");
    assert_eq!(meta(&close, "apple_event"), Some("close"));
    assert_eq!(close.thread_id, CUSTOMER);

    let new = one(
        json!({"v": 1, "type": "sticker_pack", "id": "n-1", "sourceId": CUSTOMER,
        "destinationId": BUSINESS, "body": "🙂"}),
    );
    assert_eq!(new.text, "🙂");
    assert_eq!(new.attachments[0].kind, "sticker_pack");
    assert_eq!(meta(&new, "apple_type"), Some("sticker_pack"));
}
