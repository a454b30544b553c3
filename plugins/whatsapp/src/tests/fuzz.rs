//! Structured fuzzing of the Cloud API webhook (see `tests/fuzz-kit`): messages of every
//! type and statuses, signed over the mutated bytes so the signature check and then the
//! parsing run, fed through the connector's real entry point. WhatsApp has no poll.
//! `SWITCHBOARD_FUZZ_CASES` sets the count.

use fuzz_kit::{Case, Corpus, Verdict, acknowledged, fuzz, logged_at_least};
use serde_json::json;
use switchboard_sdk::meta::signature as meta_signature;
use switchboard_sdk::{Connector, HttpRequest, Level};

use super::{PHONE_ID, SECRET, envelope, host, inbound, msg};
use crate::WhatsApp;

fn corpus() -> Corpus {
    let media = |kind: &str| {
        msg(
            kind,
            json!({ kind: {"id": "media-1", "mime_type": "image/jpeg", "sha256": "abc",
                           "caption": "look", "filename": "a.pdf", "voice": true} }),
        )
    };
    let statuses = envelope(json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_ID},
        "statuses": [
            {"id": "wamid.sent1", "status": "delivered", "timestamp": "1749416400", "recipient_id": "16505551234",
             "conversation": {"id": "c1", "origin": {"type": "service"}}, "pricing": {"billable": true}},
            {"id": "wamid.sent2", "status": "failed", "timestamp": 1749416401, "recipient_id": "16505551234",
             "errors": [{"code": 131047, "title": "Re-engagement message",
                         "error_data": {"details": "more than 24 hours"}}]}
        ]
    }));
    Corpus::new()
        .bytes(
            "fixture",
            include_str!("../../../../tests/fixtures/payloads/whatsapp_text.json"),
        )
        .bytes(
            "media",
            inbound(vec![media("image"), media("document"), media("audio")]),
        )
        .bytes(
            "kinds",
            inbound(vec![
                msg("location", json!({"location": {"latitude": 38.9, "longitude": -77.0,
                    "name": "Office", "address": "1 Main St", "url": "https://x.test"}})),
                msg("contacts", json!({"contacts": [{"name": {"formatted_name": "Ann Lee"},
                    "phones": [{"phone": "+1 555"}]}]})),
                msg("reaction", json!({"reaction": {"message_id": "wamid.x", "emoji": "👍"}})),
                msg("button", json!({"button": {"text": "Yes", "payload": "YES"}})),
                msg("interactive", json!({"interactive": {"type": "list_reply",
                    "list_reply": {"id": "r1", "title": "Red", "description": "the red one"}}})),
                msg("unsupported", json!({"errors": [{"code": 131051, "title": "Unsupported"}]})),
                msg("order", json!({"order": {"catalog_id": "c1", "text": "note",
                    "product_items": [{"product_retailer_id": "SKU", "quantity": 2, "item_price": 9.5, "currency": "EUR"}]}})),
                msg("system", json!({"system": {"body": "changed number", "new_wa_id": "1", "type": "user_changed_number"}})),
                msg("interactive", json!({"interactive": {"type": "nfm_reply",
                    "nfm_reply": {"name": "flow", "body": "Sent", "response_json": "{}"}}})),
                msg("text", json!({"text": {"body": "in context"},
                    "context": {"from": "15550783881", "id": "wamid.prev", "forwarded": true},
                    "referral": {"source_url": "https://x.test/ad", "source_type": "ad", "source_id": "1"}})),
            ]),
        )
        .bytes(
            "no wa_id",
            envelope(json!({
                "messaging_product": "whatsapp",
                "metadata": {"phone_number_id": PHONE_ID},
                "contacts": [{"profile": {"name": "Ann", "username": "@ann"}, "user_id": "US.1"}],
                "messages": [{"from_user_id": "US.1", "id": "wamid.u1", "timestamp": "1749416383",
                              "type": "text", "text": {"body": "hi"}}]
            })),
        )
        .bytes("statuses", statuses)
}

fn case(case: &mut Case) -> Verdict {
    let host = host();
    let forged = case.one_in(20);
    let secret = if forged { "not-the-secret" } else { SECRET };
    let req = HttpRequest::new("POST", "/webhooks/whatsapp")
        .with_header("content-type", "application/json")
        .with_header("x-hub-signature-256", meta_signature(secret, &case.bytes))
        .with_body(case.bytes.clone());
    let out = WhatsApp
        .handle_webhook(req)
        .map_err(|e| format!("handle_webhook failed: {e:?}"))?;
    acknowledged(&out, forged, &case.bytes, &host.logs())
}

#[test]
fn fuzz_whatsapp_webhook() {
    let report = fuzz("whatsapp_webhook", corpus(), case);
    assert!(report.reached("200 with events", 0.1), "{report:?}");
    assert!(report.reached("forged: 401", 0.0), "{report:?}");
}

// ---------------------------------------------------------------- found by fuzzing

/// A message without `from` whose only contact has an empty `user_id` became a message
/// in a thread without id (the host would merge every such customer into one); it is
/// left out like any message without a sender.
#[test]
fn a_message_whose_sender_ids_are_empty_is_left_out() {
    let host = host();
    let body = envelope(json!({
        "messaging_product": "whatsapp",
        "metadata": {"phone_number_id": PHONE_ID},
        "contacts": [{"profile": {"name": "Ann"}, "wa_id": "", "user_id": " "}],
        "messages": [{"id": "wamid.u1", "timestamp": "1749416383", "type": "text", "text": {"body": "hi"}}]
    }));
    let req = HttpRequest::new("POST", "/webhooks/whatsapp")
        .with_header(
            "x-hub-signature-256",
            meta_signature(SECRET, body.as_bytes()),
        )
        .with_body(body);
    let out = WhatsApp.handle_webhook(req).unwrap();
    assert_eq!(out.response.status, 200);
    assert!(out.events.is_empty(), "{:?}", out.events);
    assert!(logged_at_least(&host.logs(), Level::Warn));
}
