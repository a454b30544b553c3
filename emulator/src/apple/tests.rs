//! The Apple MSP gateway and the `/_emulator/apple` control API.

use std::sync::atomic::Ordering;

use axum::http::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::{
    AppleBusiness, LIST_PICKER_BID, base64_decode, base64_encode, base64url_encode, sign_jwt,
    verify_jwt,
};
use crate::tests::{control, get_json, http, next_hook, receiver};
use crate::{Emulator, EmulatorConfig, unix_now};

pub(super) const BUSINESS: &str = "acme-biz";
pub(super) const PROVIDER: &str = "demo-provider";
pub(super) const KEY: &[u8] = b"demo-apple-secret";
pub(super) const CUSTOMER: &str = "urn:mbid:customer-1";

pub(super) async fn start() -> (Emulator, String) {
    let emulator = Emulator::new(EmulatorConfig {
        apple_businesses: vec![AppleBusiness {
            business_id: BUSINESS.into(),
            provider_id: PROVIDER.into(),
            secret: base64_encode(KEY),
        }],
        ..Default::default()
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(emulator.clone().serve(listener));
    (emulator, url)
}

pub(super) fn business_token(key: &[u8], iss: &str) -> String {
    sign_jwt(key, &json!({ "iss": iss, "iat": unix_now() }))
}

pub(super) async fn send(
    base: &str,
    token: &str,
    id: &str,
    body: Value,
) -> (StatusCode, String, Option<String>) {
    let response = http()
        .post(format!("{base}/v1/message"))
        .bearer_auth(token)
        .header("id", id)
        .header("source-id", BUSINESS)
        .header("destination-id", CUSTOMER)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (status, response.text().await.unwrap(), retry)
}

fn text(id: &str, body: &str) -> Value {
    json!({"v": 1, "type": "text", "id": id, "sourceId": BUSINESS, "destinationId": CUSTOMER,
        "body": body, "locale": "en_US"})
}

#[test]
fn base64_round_trips() {
    for input in [
        &b""[..],
        b"f",
        b"fo",
        b"foo",
        b"foob",
        b"demo-apple-secret",
        &[0xfb, 0xff, 0xfe],
    ] {
        assert_eq!(base64_decode(&base64_encode(input)).unwrap(), input);
        assert_eq!(base64_decode(&base64url_encode(input)).unwrap(), input);
    }
    assert_eq!(
        base64_encode(b"demo-apple-secret"),
        "ZGVtby1hcHBsZS1zZWNyZXQ="
    );
    assert_eq!(base64url_encode(&[0xfb, 0xff]), "-_8");
    assert_eq!(base64_decode("***"), None);
    let token = sign_jwt(KEY, &json!({"aud": PROVIDER}));
    assert_eq!(verify_jwt(&token, KEY).unwrap()["aud"], PROVIDER);
    assert!(verify_jwt(&token, b"other").is_err());
}

#[tokio::test]
async fn gateway_accepts_signed_text_once_per_id() {
    let (em, base) = start().await;
    let token = business_token(KEY, PROVIDER);
    let (status, body, _) = send(&base, &token, "id-1", text("id-1", "Hello 👋")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "", "success is 200 with an empty body");
    // A retry with the same id is accepted and not delivered twice.
    let (status, _, _) = send(&base, &token, "id-1", text("id-1", "Hello 👋")).await;
    assert_eq!(status, StatusCode::OK);
    let out = em.outbound();
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].platform, "apple");
    assert_eq!(out[0].kind, "text");
    assert_eq!(out[0].target_id.as_deref(), Some(CUSTOMER));
    assert_eq!(out[0].id, "id-1");
    assert_eq!(out[0].text.as_deref(), Some("Hello 👋"));
    let (_, info) = get_json(&format!("{base}/_emulator/apple/businesses/{BUSINESS}")).await;
    assert_eq!(info["sent"][0]["body"], "Hello 👋");
}

#[tokio::test]
async fn gateway_refuses_wrong_tokens_and_bad_requests() {
    let (em, base) = start().await;
    let good = business_token(KEY, PROVIDER);
    let alg_none = format!(
        "{}.{}.",
        base64url_encode(br#"{"alg":"none"}"#),
        base64url_encode(json!({"iss": PROVIDER, "iat": 1}).to_string().as_bytes())
    );
    for token in [
        business_token(KEY, "someone-else"),
        business_token(b"wrong-key", PROVIDER),
        sign_jwt(KEY, &json!({"iss": PROVIDER})),
        alg_none,
        "garbage".to_string(),
    ] {
        let (status, _, _) = send(&base, &token, "id-2", text("id-2", "x")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token}");
    }
    // Body that does not match the headers, unknown types, empty text.
    let mut mismatched = text("other-id", "x");
    mismatched["destinationId"] = json!("someone");
    let (status, _, _) = send(&base, &good, "id-3", mismatched).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = send(&base, &good, "id-4", text("id-4", "")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let mut odd = text("id-5", "x");
    odd["type"] = json!("hologram");
    let (status, _, _) = send(&base, &good, "id-5", odd).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Unknown business.
    let response = http()
        .post(format!("{base}/v1/message"))
        .bearer_auth(&good)
        .header("id", "id-6")
        .header("source-id", "nobody")
        .header("destination-id", CUSTOMER)
        .json(&text("id-6", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // Typing indicators from the business are accepted and not recorded.
    let mut typing = text("id-7", "x");
    typing["type"] = json!("typing_start");
    let (status, _, _) = send(&base, &good, "id-7", typing).await;
    assert_eq!(status, StatusCode::OK);
    assert!(em.outbound().is_empty());
}

#[tokio::test]
async fn gateway_records_list_pickers() {
    let (em, base) = start().await;
    let body = json!({"v": 1, "type": "interactive", "id": "lp-1", "sourceId": BUSINESS,
        "destinationId": CUSTOMER, "interactiveData": {"bid": LIST_PICKER_BID, "data": {
            "listPicker": {"sections": [{"items": [{"identifier": "a", "title": "A"}]}]},
            "receivedMessage": {"title": "Pick one"}, "replyMessage": {"title": "Pick one"}}}});
    let (status, _, _) = send(&base, &business_token(KEY, PROVIDER), "lp-1", body).await;
    assert_eq!(status, StatusCode::OK);
    let out = em.outbound();
    assert_eq!(out[0].kind, "list_picker");
    assert_eq!(out[0].text.as_deref(), Some("Pick one"));
    // Without items it is refused.
    let body = json!({"v": 1, "type": "interactive", "id": "lp-2", "sourceId": BUSINESS,
        "destinationId": CUSTOMER, "interactiveData": {"bid": LIST_PICKER_BID, "data": {
            "listPicker": {"sections": [{"items": []}]}}}});
    let (status, _, _) = send(&base, &business_token(KEY, PROVIDER), "lp-2", body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn injected_failures_answer_with_retry_after() {
    let (em, base) = start().await;
    let (status, _) = control(
        &base,
        "/_emulator/apple/failures",
        json!({"status": 429, "count": 2, "retry_after": 3}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let token = business_token(KEY, PROVIDER);
    for _ in 0..2 {
        let (status, _, retry) = send(&base, &token, "f-1", text("f-1", "x")).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(retry.as_deref(), Some("3"));
    }
    let (status, _, _) = send(&base, &token, "f-1", text("f-1", "x")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(em.outbound().len(), 1);
}

#[tokio::test]
async fn customer_messages_reach_the_webhook_signed_like_apple() {
    let (em, base) = start().await;
    let (status, _) = control(
        &base,
        "/_emulator/apple/messages",
        json!({"business_id": BUSINESS, "source_id": CUSTOMER, "type": "text", "body": "hi"}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "nobody subscribed yet");

    let (url, _receiver, mut rx) = receiver("unused", 0).await;
    let (status, _) = control(
        &base,
        "/_emulator/apple/subscriptions",
        json!({"business_id": BUSINESS, "callback_url": url}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let (status, answer) = control(
        &base,
        "/_emulator/apple/messages",
        json!({"business_id": BUSINESS, "source_id": CUSTOMER, "type": "text", "body": "Où est ma commande? 📦"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["status"], 200);
    let id = answer["id"].as_str().unwrap().to_string();
    let hook = next_hook(&mut rx).await;
    let h = |name: &str| {
        hook.headers
            .get(name)
            .unwrap()
            .to_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(h("id"), id);
    assert_eq!(h("source-id"), CUSTOMER);
    assert_eq!(h("destination-id"), BUSINESS);
    let token = h("authorization")
        .strip_prefix("Bearer ")
        .unwrap()
        .to_string();
    let claims = verify_jwt(&token, KEY).unwrap();
    assert_eq!(claims["aud"], PROVIDER);
    let body: Value = serde_json::from_slice(&hook.body).unwrap();
    assert_eq!(
        body,
        json!({"v": 1, "type": "text", "id": id, "sourceId": CUSTOMER, "destinationId": BUSINESS,
            "body": "Où est ma commande? 📦", "locale": "en_US"})
    );

    // A list-picker reply, typing and close.
    let (_, _) = control(
        &base,
        "/_emulator/apple/messages",
        json!({"business_id": BUSINESS, "source_id": CUSTOMER, "type": "list_picker_reply",
            "items": [{"id": "main", "title": "Main St"}]}),
    )
    .await;
    let body: Value = serde_json::from_slice(&next_hook(&mut rx).await.body).unwrap();
    assert_eq!(body["type"], "interactive");
    assert_eq!(body["interactiveData"]["bid"], LIST_PICKER_BID);
    assert_eq!(
        body["interactiveData"]["data"]["listPicker"]["sections"][0]["items"][0]["identifier"],
        "main"
    );
    for kind in ["typing_start", "typing_end", "close"] {
        control(
            &base,
            "/_emulator/apple/messages",
            json!({"business_id": BUSINESS, "source_id": CUSTOMER, "type": kind}),
        )
        .await;
        let body: Value = serde_json::from_slice(&next_hook(&mut rx).await.body).unwrap();
        assert_eq!(body["type"], kind);
    }

    // bad_jwt: the token does not verify with the shared secret.
    control(
        &base,
        "/_emulator/apple/messages",
        json!({"business_id": BUSINESS, "source_id": CUSTOMER, "body": "forged", "bad_jwt": true}),
    )
    .await;
    let hook = next_hook(&mut rx).await;
    let auth = hook.headers.get("authorization").unwrap().to_str().unwrap();
    assert!(verify_jwt(auth.strip_prefix("Bearer ").unwrap(), KEY).is_err());

    // Bad requests.
    for bad in [
        json!({"business_id": BUSINESS, "source_id": CUSTOMER, "type": "text"}),
        json!({"business_id": BUSINESS, "source_id": CUSTOMER, "type": "list_picker_reply"}),
        json!({"business_id": BUSINESS, "source_id": CUSTOMER, "type": "interactive"}),
        json!({"business_id": BUSINESS, "source_id": CUSTOMER, "type": "rich_link"}),
        json!({"business_id": BUSINESS, "source_id": "", "body": "x"}),
    ] {
        let (status, _) = control(&base, "/_emulator/apple/messages", bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let (status, _) = control(
        &base,
        "/_emulator/apple/messages",
        json!({"business_id": "nobody", "source_id": CUSTOMER, "body": "x"}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    drop(em);
}

#[tokio::test]
async fn every_kind_a_customer_sends_can_be_played() {
    let (_em, base) = start().await;
    let (url, _receiver, mut rx) = receiver("unused", 0).await;
    control(
        &base,
        "/_emulator/apple/subscriptions",
        json!({"business_id": BUSINESS, "callback_url": url}),
    )
    .await;
    let mut say = async |body: Value| -> Value {
        let mut body = body;
        body["business_id"] = json!(BUSINESS);
        body["source_id"] = json!(CUSTOMER);
        let (status, answer) = control(&base, "/_emulator/apple/messages", body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        serde_json::from_slice(&next_hook(&mut rx).await.body).unwrap()
    };

    // Files: Apple's encrypted attachment dictionaries, a placeholder per file.
    let body = say(json!({"type": "text", "body": "photos",
        "attachments": [{"name": "a.jpg", "mime_type": "image/jpeg", "size": 2048}, {"name": "b.pdf", "mime_type": "application/pdf"}]}))
    .await;
    assert_eq!(body["body"], "photos \u{fffc}\u{fffc}");
    let first = &body["attachments"][0];
    assert_eq!(first["name"], "a.jpg");
    assert_eq!(first["mimeType"], "image/jpeg");
    assert_eq!(first["size"], 2048);
    for key in ["url", "key", "owner", "signature-base64"] {
        assert!(first[key].is_string(), "{key}");
    }
    let only_files =
        say(json!({"type": "text", "attachments": [{"name": "c.png", "mime_type": "image/png"}]}))
            .await;
    assert_eq!(only_files["body"], "\u{fffc}");

    let link =
        say(json!({"type": "rich_link", "url": "https://acme.example/o/1", "title": "Order 1"}))
            .await;
    assert_eq!(link["type"], "richLink");
    assert_eq!(
        link["richLinkData"],
        json!({"url": "https://acme.example/o/1", "title": "Order 1"})
    );

    let quick =
        say(json!({"type": "interactive", "data": {"quick-reply": {"selectedIdentifier": "2"}}}))
            .await;
    assert_eq!(
        quick["interactiveData"]["data"]["quick-reply"]["selectedIdentifier"],
        "2"
    );

    // Any other type, and any field, as given.
    let made_up = say(
        json!({"type": "fax", "body": "x", "content": {"interactiveDataRef": {"size": 20480}}}),
    )
    .await;
    assert_eq!(made_up["type"], "fax");
    assert_eq!(made_up["interactiveDataRef"]["size"], 20480);
}

#[tokio::test]
async fn deliveries_are_retried_on_server_errors() {
    let (em, base) = start().await;
    let (url, receiver, mut rx) = receiver("unused", 1).await;
    em.subscribe_apple(BUSINESS, &url).unwrap();
    let (status, answer) = control(
        &base,
        "/_emulator/apple/messages",
        json!({"business_id": BUSINESS, "source_id": CUSTOMER, "body": "again"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer["status"], 200);
    next_hook(&mut rx).await;
    assert_eq!(receiver.attempts.load(Ordering::SeqCst), 2);
    assert!(em.subscribe_apple("nobody", &url).is_err());
}
