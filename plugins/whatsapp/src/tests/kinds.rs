//! Every inbound message type is kept: text, attachments, details and metadata.

use serde_json::json;
use switchboard_sdk::{Attachment, Connector, Event};

use super::{host, inbound, meta, msg, one, signed_post};
use crate::WhatsApp;

fn details(a: &Attachment) -> Vec<(&str, &str)> {
    a.details
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[test]
fn media_messages_carry_the_media_id_mime_caption_and_file_name() {
    for (kind, att_kind, mime) in [
        ("image", "image", "image/jpeg"),
        ("video", "video", "video/mp4"),
        ("audio", "audio", "audio/ogg; codecs=opus"),
        ("document", "file", "application/pdf"),
        ("sticker", "sticker", "image/webp"),
    ] {
        let mut media = json!({"id": format!("{kind}-id-1"), "mime_type": mime, "sha256": "abc"});
        if kind != "audio" && kind != "sticker" {
            media["caption"] = json!("look at this 👀");
        }
        if kind == "document" {
            media["filename"] = json!("invoice.pdf");
        }
        let m = one(kind, json!({ kind: media }));
        assert_eq!(m.attachments.len(), 1, "{kind}");
        let a = &m.attachments[0];
        assert_eq!(a.kind, att_kind);
        assert_eq!(a.media_id.as_deref(), Some(format!("{kind}-id-1").as_str()));
        // No URL: the host asks `media_request` for the download.
        assert_eq!(a.url, None, "{kind}");
        assert_eq!(a.mime_type.as_deref(), Some(mime));
        if kind == "audio" || kind == "sticker" {
            assert_eq!(m.text, "", "{kind}");
            assert_eq!(a.caption, None);
        } else {
            assert_eq!(m.text, "look at this 👀", "{kind}");
            assert_eq!(a.caption.as_deref(), Some("look at this 👀"));
        }
        assert_eq!(meta(&m, "media_id"), Some(format!("{kind}-id-1")));
        if kind == "document" {
            assert_eq!(a.file_name.as_deref(), Some("invoice.pdf"));
            assert_eq!(meta(&m, "filename").as_deref(), Some("invoice.pdf"));
        } else {
            assert_eq!(a.file_name, None);
        }
    }
}

#[test]
fn a_voice_note_says_so() {
    let m = one(
        "audio",
        json!({"audio": {"id": "v1", "mime_type": "audio/ogg; codecs=opus", "voice": true}}),
    );
    assert_eq!(m.attachments[0].detail("voice"), Some("true"));
    assert_eq!(meta(&m, "voice").as_deref(), Some("true"));
    let plain = one(
        "audio",
        json!({"audio": {"id": "a1", "mime_type": "audio/mpeg"}}),
    );
    assert_eq!(plain.attachments[0].detail("voice"), None);
}

#[test]
fn a_media_message_without_an_id_is_still_kept() {
    let m = one("image", json!({"image": {"mime_type": "image/jpeg"}}));
    assert_eq!(m.attachments.len(), 1);
    assert_eq!(m.attachments[0].kind, "image");
    assert_eq!(m.attachments[0].media_id, None);
    assert!(m.attachments[0].detail("error").is_some());
}

#[test]
fn a_location_is_an_attachment_with_its_details_and_no_text() {
    let m = one(
        "location",
        json!({"location": {"latitude": 38.9041, "longitude": -77.0171, "name": "Main St store",
            "address": "1 Main St, Springfield", "url": "https://example.com/store"}}),
    );
    // The customer wrote nothing: the place is the attachment, and nothing to download.
    assert_eq!(m.text, "");
    assert_eq!(m.attachments.len(), 1);
    let a = &m.attachments[0];
    assert_eq!(a.kind, "location");
    assert_eq!((a.url.as_deref(), a.media_id.as_deref()), (None, None));
    assert_eq!(
        details(a),
        [
            ("latitude", "38.9041"),
            ("longitude", "-77.0171"),
            ("name", "Main St store"),
            ("address", "1 Main St, Springfield"),
            ("url", "https://example.com/store")
        ]
    );
    assert_eq!(meta(&m, "latitude").as_deref(), Some("38.9041"));

    let bare = one(
        "location",
        json!({"location": {"latitude": 1.5, "longitude": 2}}),
    );
    assert_eq!(
        details(&bare.attachments[0]),
        [("latitude", "1.5"), ("longitude", "2")]
    );
}

#[test]
fn each_shared_contact_card_is_a_contact_attachment() {
    let m = one(
        "contacts",
        json!({"contacts": [
            {"name": {"formatted_name": "Ann Lee", "first_name": "Ann"},
             "phones": [{"phone": "+1 555 0100", "type": "CELL"}, {"phone": "+1 555 0101", "type": "WORK"}],
             "emails": [{"email": "ann@example.com", "type": "WORK"}],
             "org": {"company": "Acme", "title": "Buyer"}},
            {"name": {"first_name": "Bo", "last_name": "Diaz"}}
        ]}),
    );
    assert_eq!(m.text, "");
    assert_eq!(m.attachments.len(), 2);
    assert!(m.attachments.iter().all(|a| a.kind == "contact"));
    assert_eq!(
        details(&m.attachments[0]),
        [
            ("name", "Ann Lee"),
            ("phone", "+1 555 0100"),
            ("phone", "+1 555 0101"),
            ("email", "ann@example.com"),
            ("organization", "Acme, Buyer")
        ]
    );
    assert_eq!(details(&m.attachments[1]), [("name", "Bo Diaz")]);
    assert!(meta(&m, "contacts").unwrap().contains("Ann Lee"));
    // The shared contacts are not the sender: the author stays the customer.
    assert_eq!(m.author.name, "Sheena Nelson");
}

#[test]
fn a_reaction_is_a_readable_message_under_the_reacted_one() {
    let m = one(
        "reaction",
        json!({"reaction": {"message_id": "wamid.ours", "emoji": "👍"}}),
    );
    assert_eq!(m.text, "reacted 👍 to a message");
    assert_eq!(m.parent_id.as_deref(), Some("wamid.ours"));
    assert_eq!(meta(&m, "reaction_to").as_deref(), Some("wamid.ours"));
    assert_eq!(meta(&m, "reaction").as_deref(), Some("👍"));
    let removed = one(
        "reaction",
        json!({"reaction": {"message_id": "wamid.ours", "emoji": ""}}),
    );
    assert_eq!(removed.text, "removed their reaction to a message");
    assert_eq!(meta(&removed, "reaction").as_deref(), Some(""));
}

#[test]
fn button_and_interactive_replies() {
    let b = one(
        "button",
        json!({"button": {"text": "Yes", "payload": "CONFIRM_YES"}, "context": {"from": "15550783881", "id": "wamid.template"}}),
    );
    assert_eq!(b.text, "Yes");
    assert_eq!(meta(&b, "button_payload").as_deref(), Some("CONFIRM_YES"));
    assert_eq!(b.parent_id.as_deref(), Some("wamid.template"));

    let l = one(
        "interactive",
        json!({"interactive": {"type": "list_reply", "list_reply": {"id": "size-m", "title": "Medium", "description": "Fits 38-40"}}}),
    );
    assert_eq!(l.text, "Medium");
    assert!(l.attachments.is_empty());
    assert_eq!(meta(&l, "interactive_type").as_deref(), Some("list_reply"));
    assert_eq!(meta(&l, "interactive_id").as_deref(), Some("size-m"));
    assert_eq!(
        meta(&l, "interactive_description").as_deref(),
        Some("Fits 38-40")
    );

    let r = one(
        "interactive",
        json!({"interactive": {"type": "button_reply", "button_reply": {"id": "btn-2", "title": "Track order"}}}),
    );
    assert_eq!(r.text, "Track order");
    assert_eq!(meta(&r, "interactive_id").as_deref(), Some("btn-2"));

    let flow = one(
        "interactive",
        json!({"interactive": {"type": "nfm_reply", "nfm_reply": {"name": "flow", "body": "Sent", "response_json": "{\"rating\":5}"}}}),
    );
    assert_eq!(flow.text, "Sent");
    assert_eq!(
        meta(&flow, "flow_response").as_deref(),
        Some("{\"rating\":5}")
    );

    // A reply of a kind not read here is kept with its raw type.
    let other = one(
        "interactive",
        json!({"interactive": {"type": "call_permission_reply", "call_permission_reply": {"response": "accept"}}}),
    );
    assert_eq!(other.attachments.len(), 1);
    assert_eq!(other.attachments[0].kind, "call_permission_reply");
    assert!(meta(&other, "interactive").unwrap().contains("accept"));
}

#[test]
fn an_order_lists_its_items() {
    let m = one(
        "order",
        json!({"order": {"catalog_id": "cat-9", "text": "Gift wrap please",
        "product_items": [
            {"product_retailer_id": "SKU-1", "quantity": 2, "item_price": 9.99, "currency": "EUR"},
            {"product_retailer_id": "SKU-2", "quantity": "1"}
        ]}}),
    );
    assert_eq!(m.text, "Gift wrap please");
    let cart = &m.attachments[0];
    assert_eq!(cart.kind, "order");
    assert_eq!(
        details(cart),
        [
            ("catalog-id", "cat-9"),
            ("item", "2 × SKU-1 at 9.99 EUR"),
            ("item", "1 × SKU-2")
        ]
    );
    assert!(meta(&m, "order").unwrap().contains("SKU-2"));
}

#[test]
fn a_system_message_keeps_the_platform_sentence() {
    let m = one(
        "system",
        json!({"system": {"body": "Sheena changed their phone number from 16505551234 to 16505559999",
            "new_wa_id": "16505559999", "type": "user_changed_number"}}),
    );
    assert!(m.text.contains("changed their phone number"), "{}", m.text);
    assert_eq!(
        meta(&m, "system_type").as_deref(),
        Some("user_changed_number")
    );
    assert_eq!(meta(&m, "new_wa_id").as_deref(), Some("16505559999"));
}

#[test]
fn unsupported_and_unknown_types_are_kept_with_a_clear_label() {
    let m = one(
        "unsupported",
        json!({"errors": [{"code": 131051, "title": "Message type unknown", "message": "Message type unknown", "error_data": {"details": "Message type is currently not supported."}}]}),
    );
    assert_eq!(m.attachments.len(), 1);
    assert_eq!(m.attachments[0].kind, "unsupported");
    let error = m.attachments[0].detail("error").unwrap();
    assert!(error.starts_with("131051: Message type unknown"), "{error}");
    assert!(meta(&m, "error").unwrap().contains("131051"));

    // A type this connector has never seen: its raw type, and what it said.
    let new = one(
        "poll_vote",
        json!({"poll_vote": {"title": "Blue", "option": 2}}),
    );
    assert_eq!(new.attachments[0].kind, "poll_vote");
    assert_eq!(new.attachments[0].detail("title"), Some("Blue"));
    assert!(meta(&new, "raw").unwrap().contains("option"));
    assert_eq!(meta(&new, "message_type").as_deref(), Some("poll_vote"));
}

#[test]
fn a_referral_and_a_product_question_become_attachments() {
    let m = one(
        "text",
        json!({
            "text": {"body": "Is this in stock?"},
            "context": {"from": "15550783881", "id": "wamid.x",
                "referred_product": {"catalog_id": "cat-9", "product_retailer_id": "SKU-1"}},
            "referral": {"source_url": "https://fb.me/ad", "source_id": "120", "source_type": "ad",
                "headline": "Spring sale", "body": "Everything half off", "image_url": "https://scontent.example/ad.jpg"}
        }),
    );
    assert_eq!(m.text, "Is this in stock?");
    let kinds: Vec<&str> = m.attachments.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(kinds, ["product", "share"]);
    assert_eq!(
        details(&m.attachments[0]),
        [("catalog-id", "cat-9"), ("product-id", "SKU-1")]
    );
    let share = &m.attachments[1];
    assert_eq!(share.detail("title"), Some("Spring sale"));
    assert_eq!(share.detail("url"), Some("https://fb.me/ad"));
    // The ad's image is the advertiser's: nothing for the host to download.
    assert_eq!(
        (share.url.as_deref(), share.media_id.as_deref()),
        (None, None)
    );
    assert_eq!(meta(&m, "referred_product").as_deref(), Some("SKU-1"));
}

#[test]
fn every_kind_in_one_batch_is_kept_in_order() {
    let _host = host();
    let kinds = [
        ("text", json!({"text": {"body": "hi"}})),
        (
            "image",
            json!({"image": {"id": "i1", "mime_type": "image/png"}}),
        ),
        (
            "location",
            json!({"location": {"latitude": 1, "longitude": 2}}),
        ),
        (
            "contacts",
            json!({"contacts": [{"name": {"formatted_name": "A"}}]}),
        ),
        (
            "reaction",
            json!({"reaction": {"message_id": "m", "emoji": "❤️"}}),
        ),
        (
            "order",
            json!({"order": {"catalog_id": "c", "product_items": []}}),
        ),
        ("unsupported", json!({})),
    ];
    let messages = kinds.iter().map(|(k, v)| msg(k, v.clone())).collect();
    let out = WhatsApp
        .handle_webhook(signed_post(&inbound(messages)))
        .unwrap();
    let ids: Vec<String> = out
        .events
        .iter()
        .map(|e| match e {
            Event::Message(m) => m.platform_message_id.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    let expected: Vec<String> = kinds.iter().map(|(k, _)| format!("wamid.{k}")).collect();
    assert_eq!(ids, expected);
    // Nothing is an empty message: each has text or an attachment.
    for e in &out.events {
        let Event::Message(m) = e else { unreachable!() };
        assert!(!m.text.is_empty() || !m.attachments.is_empty(), "{m:?}");
    }
}
