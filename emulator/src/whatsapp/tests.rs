//! WhatsApp Cloud API tests, over real HTTP.

use axum::http::StatusCode;
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::tests::{Hook, control, get_json, http, next_hook, receiver};
use crate::{Emulator, EmulatorConfig, WhatsAppNumber};

pub(super) const NUMBER: &str = "106540352242922";
pub(super) const SECRET: &str = "wa-app-secret";
pub(super) const TOKEN: &str = "wa-token";
pub(super) const CUSTOMER: &str = "16505551234";

pub(super) async fn start() -> (Emulator, String) {
    let emulator = Emulator::new(EmulatorConfig {
        whatsapp_numbers: vec![WhatsAppNumber {
            phone_number_id: NUMBER.into(),
            display_phone_number: "15550783881".into(),
            app_secret: SECRET.into(),
            access_token: Some(TOKEN.into()),
        }],
        ..Default::default()
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(emulator.clone().serve(listener));
    (emulator, url)
}

/// The `value` of a delivered webhook, after checking the envelope and the signature.
pub(super) fn value(hook: &Hook) -> Value {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(&hook.body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(hook.headers["x-hub-signature-256"], expected.as_str());
    let payload: Value = serde_json::from_slice(&hook.body).unwrap();
    assert_eq!(payload["object"], "whatsapp_business_account");
    assert!(payload["entry"][0]["id"].is_string());
    let change = &payload["entry"][0]["changes"][0];
    assert_eq!(change["field"], "messages");
    let value = change["value"].clone();
    assert_eq!(value["messaging_product"], "whatsapp");
    assert_eq!(value["metadata"]["phone_number_id"], NUMBER);
    assert_eq!(value["metadata"]["display_phone_number"], "15550783881");
    value
}

pub(super) async fn customer_says(base: &str, body: Value) -> String {
    let mut body = body;
    body["phone_number_id"] = json!(NUMBER);
    body["from"] = body.get("from").cloned().unwrap_or(json!(CUSTOMER));
    let (status, answer) = control(base, "/_emulator/whatsapp/messages", body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let id = answer["wamid"].as_str().unwrap().to_string();
    assert_eq!(answer["messages"][0]["id"], id.as_str());
    assert!(id.starts_with("wamid."));
    id
}

pub(super) async fn send(base: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
    let mut req = http()
        .post(format!("{base}/v19.0/{NUMBER}/messages"))
        .json(&body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap())
}

pub(super) fn text(to: &str, body: &str) -> Value {
    json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "text", "text": {"body": body}})
}

#[tokio::test]
async fn inbound_messages_of_every_type_are_signed_webhooks() {
    let (em, base) = start().await;
    let (hook_url, _r, mut hooks) = receiver("vt", 0).await;
    em.subscribe_whatsapp(NUMBER, &hook_url, "vt")
        .await
        .unwrap();

    let id = customer_says(
        &base,
        json!({"name": "Sheena Nelson", "type": "text", "text": "Does it come in another color? 🎨", "timestamp": 1749416383}),
    )
    .await;
    let v = value(&next_hook(&mut hooks).await);
    assert_eq!(
        v["contacts"],
        json!([{"profile": {"name": "Sheena Nelson"}, "wa_id": CUSTOMER}])
    );
    let m = &v["messages"][0];
    assert_eq!(m["id"], id.as_str());
    assert_eq!(m["from"], CUSTOMER);
    assert_eq!(m["timestamp"], "1749416383");
    assert_eq!(m["type"], "text");
    assert_eq!(m["text"]["body"], "Does it come in another color? 🎨");

    customer_says(
        &base,
        json!({"type": "image", "caption": "this one", "media_id": "m-1", "context_id": id}),
    )
    .await;
    let m = value(&next_hook(&mut hooks).await)["messages"][0].clone();
    assert_eq!(m["image"]["id"], "m-1");
    assert_eq!(m["image"]["caption"], "this one");
    assert_eq!(m["image"]["mime_type"], "image/jpeg");
    assert!(m["image"]["sha256"].is_string());
    assert_eq!(m["context"]["id"], id.as_str());

    customer_says(
        &base,
        json!({"type": "location", "latitude": 38.9, "longitude": -77.0, "location_name": "Store", "address": "1 Main St"}),
    )
    .await;
    let m = value(&next_hook(&mut hooks).await)["messages"][0].clone();
    assert_eq!(
        m["location"],
        json!({"latitude": 38.9, "longitude": -77.0, "name": "Store", "address": "1 Main St"})
    );

    customer_says(
        &base,
        json!({"type": "reaction", "message_id": "wamid.ours", "emoji": "👍"}),
    )
    .await;
    let m = value(&next_hook(&mut hooks).await)["messages"][0].clone();
    assert_eq!(
        m["reaction"],
        json!({"message_id": "wamid.ours", "emoji": "👍"})
    );

    customer_says(
        &base,
        json!({"type": "interactive", "interactive_type": "list_reply", "reply_id": "size-m", "title": "Medium"}),
    )
    .await;
    let m = value(&next_hook(&mut hooks).await)["messages"][0].clone();
    assert_eq!(
        m["interactive"],
        json!({"type": "list_reply", "list_reply": {"id": "size-m", "title": "Medium"}})
    );

    customer_says(&base, json!({"type": "unsupported"})).await;
    let m = value(&next_hook(&mut hooks).await)["messages"][0].clone();
    assert_eq!(m["errors"][0]["code"], 131051);
    assert!(m.get("unsupported").is_none());

    customer_says(
        &base,
        json!({"type": "contacts", "content": [{"name": {"formatted_name": "Ann"}, "phones": [{"phone": "+1 555"}]}]}),
    )
    .await;
    let m = value(&next_hook(&mut hooks).await)["messages"][0].clone();
    assert_eq!(m["contacts"][0]["name"]["formatted_name"], "Ann");

    // Bad requests.
    for (body, expected) in [
        (
            json!({"phone_number_id": "nope", "from": "1", "text": "x"}),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"phone_number_id": NUMBER, "from": "1"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"phone_number_id": NUMBER, "from": "1", "type": "location"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"phone_number_id": NUMBER, "from": "", "text": "x"}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (status, answer) = control(&base, "/_emulator/whatsapp/messages", body).await;
        assert_eq!(status, expected, "{answer}");
        assert!(answer["error"].is_string());
    }
}

#[tokio::test]
async fn sends_inside_the_window_are_recorded_and_reported() {
    let (em, base) = start().await;
    let (hook_url, _r, mut hooks) = receiver("vt", 0).await;
    em.subscribe_whatsapp(NUMBER, &hook_url, "vt")
        .await
        .unwrap();
    let inbound = customer_says(&base, json!({"name": "Ann", "text": "hi"})).await;
    next_hook(&mut hooks).await;

    let mut body = text(CUSTOMER, "Hello Ann 👋");
    body["context"] = json!({"message_id": inbound});
    let (status, answer) = send(&base, Some(TOKEN), body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let id = answer["messages"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(answer["messaging_product"], "whatsapp");
    assert_eq!(
        answer["contacts"],
        json!([{"input": CUSTOMER, "wa_id": CUSTOMER}])
    );

    let out = em.outbound();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].platform, "whatsapp");
    assert_eq!(out[0].kind, "message");
    assert_eq!(out[0].target_id.as_deref(), Some(CUSTOMER));
    assert_eq!(out[0].id, id);
    assert_eq!(out[0].text.as_deref(), Some("Hello Ann 👋"));

    let mut states = Vec::new();
    for _ in 0..3 {
        let v = value(&next_hook(&mut hooks).await);
        let s = &v["statuses"][0];
        assert_eq!(s["id"], id.as_str());
        assert_eq!(s["recipient_id"], CUSTOMER);
        assert!(s["timestamp"].is_string());
        states.push(s["status"].as_str().unwrap().to_string());
    }
    assert_eq!(states, ["sent", "delivered", "read"]);

    let (_, view) = get_json(&format!("{base}/_emulator/whatsapp/numbers/{NUMBER}")).await;
    assert_eq!(view["sent"][0]["id"], id.as_str());
    assert_eq!(
        view["sent"][0]["request"]["context"]["message_id"],
        inbound.as_str()
    );
    assert_eq!(view["customers"][0]["name"], "Ann");
    assert_eq!(view["subscribers"][0], hook_url.as_str());

    // Mark read.
    let (status, answer) = send(
        &base,
        Some(TOKEN),
        json!({"messaging_product": "whatsapp", "status": "read", "message_id": inbound}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer, json!({"success": true}));
    assert_eq!(em.outbound().len(), 1, "mark-read is not a send");
}

#[tokio::test]
async fn free_text_after_24_hours_is_131047_but_templates_go_through() {
    let (em, base) = start().await;
    let long_ago = crate::unix_now() - 25 * 3600;
    customer_says(&base, json!({"text": "old message", "timestamp": long_ago})).await;

    let (status, answer) = send(&base, Some(TOKEN), text(CUSTOMER, "sorry for the wait")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"]["code"], 131047);
    assert_eq!(
        answer["error"]["message"],
        "(#131047) Re-engagement message"
    );
    assert!(
        answer["error"]["error_data"]["details"]
            .as_str()
            .unwrap()
            .contains("24 hours")
    );
    assert!(em.outbound().is_empty());

    // Someone who never wrote cannot get free text either.
    let (status, _) = send(&base, Some(TOKEN), text("4915112345678", "hi")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let template = json!({"messaging_product": "whatsapp", "to": CUSTOMER, "type": "template",
        "template": {"name": "issue_resolution", "language": {"code": "en_US"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ann"}]}]}});
    let (status, answer) = send(&base, Some(TOKEN), template).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["messages"][0]["message_status"], "accepted");
    let out = em.outbound();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].kind, "template");
    assert_eq!(out[0].text.as_deref(), Some("issue_resolution"));

    // The customer writes again: the window reopens.
    customer_says(&base, json!({"text": "yes please"})).await;
    let (status, _) = send(&base, Some(TOKEN), text(CUSTOMER, "great")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn fail_next_reports_a_failed_status() {
    let (em, base) = start().await;
    let (hook_url, _r, mut hooks) = receiver("vt", 0).await;
    let (status, _) = control(
        &base,
        "/_emulator/whatsapp/subscriptions",
        json!({"phone_number_id": NUMBER, "callback_url": hook_url, "verify_token": "vt"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    customer_says(&base, json!({"text": "hi"})).await;
    next_hook(&mut hooks).await;

    let (status, _) = control(
        &base,
        "/_emulator/whatsapp/fail-next",
        json!({"phone_number_id": NUMBER}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, answer) = send(&base, Some(TOKEN), text(CUSTOMER, "doomed")).await;
    assert_eq!(status, StatusCode::OK);
    let id = answer["messages"][0]["id"].as_str().unwrap().to_string();
    let v = value(&next_hook(&mut hooks).await);
    let s = &v["statuses"][0];
    assert_eq!(s["id"], id.as_str());
    assert_eq!(s["status"], "failed");
    assert_eq!(s["errors"][0]["code"], 131047);
    assert_eq!(s["errors"][0]["title"], "Re-engagement message");

    // Only the next one: the following send is reported normally.
    let (_, answer) = send(&base, Some(TOKEN), text(CUSTOMER, "fine")).await;
    let id2 = answer["messages"][0]["id"].as_str().unwrap().to_string();
    let v = value(&next_hook(&mut hooks).await);
    assert_eq!(v["statuses"][0]["id"], id2.as_str());
    assert_eq!(v["statuses"][0]["status"], "sent");
    let _ = em;
}

#[tokio::test]
async fn graph_errors_for_bad_sends() {
    let (_em, base) = start().await;
    customer_says(&base, json!({"text": "hi"})).await;
    let (status, answer) = send(&base, None, text(CUSTOMER, "x")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer["error"]["code"], 190);
    let (status, answer) = send(&base, Some("wrong"), text(CUSTOMER, "x")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer["error"]["type"], "OAuthException");

    for body in [
        json!({"to": CUSTOMER, "type": "text", "text": {"body": "no product"}}),
        json!({"messaging_product": "whatsapp", "type": "text", "text": {"body": "no to"}}),
        json!({"messaging_product": "whatsapp", "to": CUSTOMER, "type": "text", "text": {"body": " "}}),
        json!({"messaging_product": "whatsapp", "to": CUSTOMER, "type": "template", "template": {"name": "x"}}),
        json!({"messaging_product": "whatsapp", "status": "delivered", "message_id": "m"}),
    ] {
        let (status, answer) = send(&base, Some(TOKEN), body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(answer["error"]["code"], 100, "{body}: {answer}");
    }
    let (status, answer) = send(
        &base,
        Some(TOKEN),
        json!({"messaging_product": "whatsapp", "to": CUSTOMER, "type": "hologram"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"]["code"], 131051);

    // Unknown phone number ids fall through to the generic Graph error.
    let res = http()
        .post(format!("{base}/v19.0/999/messages"))
        .bearer_auth(TOKEN)
        .json(&text(CUSTOMER, "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["error"]["code"], 100);
}

/// Checks a Cloud API error body: the Graph shape with `error_data.details`.
fn assert_cloud_error(answer: &Value, code: i64, title: &str) {
    let error = &answer["error"];
    assert_eq!(error["code"], code, "{answer}");
    assert_eq!(error["type"], "OAuthException", "{answer}");
    assert_eq!(error["message"], format!("(#{code}) {title}").as_str());
    assert_eq!(error["error_data"]["messaging_product"], "whatsapp");
    assert!(
        error["error_data"]["details"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{answer}"
    );
    assert!(error["fbtrace_id"].is_string(), "{answer}");
}

#[tokio::test]
async fn limits_default_to_80_per_second_and_can_be_set() {
    let (_em, base) = start().await;
    let (status, limits) = get_json(&format!("{base}/_emulator/whatsapp/limits")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        limits,
        json!({"per_second": 80, "pair_interval_ms": 0, "app_per_minute": 0})
    );
    let (status, limits) = control(
        &base,
        "/_emulator/whatsapp/limits",
        json!({"pair_interval_ms": 6000}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        limits,
        json!({"per_second": 80, "pair_interval_ms": 6000, "app_per_minute": 0})
    );
    let (_, limits) = control(
        &base,
        "/_emulator/whatsapp/limits",
        json!({"reset": true, "per_second": 5}),
    )
    .await;
    assert_eq!(
        limits,
        json!({"per_second": 5, "pair_interval_ms": 0, "app_per_minute": 0})
    );
    let (status, answer) = control(
        &base,
        "/_emulator/whatsapp/limits",
        json!({"per_second": "many"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(answer["error"].is_string());
}

#[tokio::test]
async fn more_sends_per_second_than_allowed_are_130429() {
    let (em, base) = start().await;
    control(
        &base,
        "/_emulator/whatsapp/limits",
        json!({"per_second": 3}),
    )
    .await;
    let customers = ["15550000001", "15550000002", "15550000003", "15550000004"];
    for c in customers {
        customer_says(&base, json!({"from": c, "text": "hi"})).await;
    }
    let started = std::time::Instant::now();
    for c in &customers[..3] {
        let (status, answer) = send(&base, Some(TOKEN), text(c, "hello")).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let (status, answer) = send(&base, Some(TOKEN), text(customers[3], "hello")).await;
    if started.elapsed() < std::time::Duration::from_millis(900) {
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert_cloud_error(&answer, 130429, "Rate limit hit");
        assert_eq!(em.outbound().len(), 3, "a refused send is not recorded");
    }
    // A second later the number may send again.
    tokio::time::sleep(std::time::Duration::from_millis(1050)).await;
    let (status, answer) = send(&base, Some(TOKEN), text(customers[3], "hello")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    // Mark-read is not a message and is not throttled.
    for _ in 0..5 {
        let (status, _) = send(
            &base,
            Some(TOKEN),
            json!({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.x"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
}

#[tokio::test]
async fn a_second_message_to_the_same_customer_too_soon_is_131056() {
    let (em, base) = start().await;
    customer_says(&base, json!({"text": "hi"})).await;
    customer_says(&base, json!({"from": "15550000009", "text": "hi"})).await;
    // Off by default: two quick sends to one customer both go through.
    for body in ["one", "two"] {
        let (status, answer) = send(&base, Some(TOKEN), text(CUSTOMER, body)).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }

    control(
        &base,
        "/_emulator/whatsapp/limits",
        json!({"pair_interval_ms": 400}),
    )
    .await;
    // The last send was just now: too soon.
    let (status, answer) = send(&base, Some(TOKEN), text(CUSTOMER, "three")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_cloud_error(
        &answer,
        131056,
        "(Business Account, Consumer Account) pair rate limit hit",
    );
    // Templates count too.
    let template = json!({"messaging_product": "whatsapp", "to": CUSTOMER, "type": "template",
        "template": {"name": "issue_resolution", "language": {"code": "en_US"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "Ann"}]}]}});
    let (status, answer) = send(&base, Some(TOKEN), template).await;
    assert_eq!(answer["error"]["code"], 131056, "{answer}");
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Another customer is another pair.
    let (status, answer) = send(&base, Some(TOKEN), text("15550000009", "hello")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");

    tokio::time::sleep(std::time::Duration::from_millis(450)).await;
    let (status, answer) = send(&base, Some(TOKEN), text(CUSTOMER, "three")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let texts: Vec<_> = em
        .outbound()
        .iter()
        .map(|o| o.text.clone().unwrap_or_default())
        .collect();
    assert_eq!(texts, ["one", "two", "hello", "three"]);
}

#[tokio::test]
async fn too_many_app_calls_are_code_4_with_http_429() {
    let (em, base) = start().await;
    customer_says(&base, json!({"text": "hi"})).await;
    control(
        &base,
        "/_emulator/whatsapp/limits",
        json!({"app_per_minute": 2}),
    )
    .await;
    let (status, _) = send(&base, Some(TOKEN), text(CUSTOMER, "one")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = send(
        &base,
        Some(TOKEN),
        json!({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.x"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "mark-read is a call too");
    let (status, answer) = send(&base, Some(TOKEN), text(CUSTOMER, "two")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{answer}");
    assert_cloud_error(&answer, 4, "Application request limit reached");
    assert_eq!(em.outbound().len(), 1);

    control(&base, "/_emulator/whatsapp/limits", json!({"reset": true})).await;
    let (status, answer) = send(&base, Some(TOKEN), text(CUSTOMER, "two")).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

#[tokio::test]
async fn phone_number_answers_the_credentials_check() {
    let emulator = Emulator::new(EmulatorConfig {
        whatsapp_numbers: vec![
            WhatsAppNumber {
                phone_number_id: NUMBER.into(),
                display_phone_number: "15550783881".into(),
                app_secret: SECRET.into(),
                access_token: Some(TOKEN.into()),
            },
            WhatsAppNumber {
                phone_number_id: "200000000000001".into(),
                display_phone_number: "15550000001".into(),
                app_secret: SECRET.into(),
                access_token: Some("other-token".into()),
            },
        ],
        ..Default::default()
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(emulator.clone().serve(listener));
    let client = http();
    let url = format!("{base}/v19.0/{NUMBER}?fields=display_phone_number,verified_name");
    let ask = |token: Option<&'static str>| {
        let request = client.get(&url);
        let request = match token {
            Some(t) => request.bearer_auth(t),
            None => request,
        };
        async move {
            let response = request.send().await.unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        }
    };

    let (status, body) = ask(Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({ "id": NUMBER, "display_phone_number": "15550783881", "verified_name": crate::WHATSAPP_VERIFIED_NAME })
    );
    let (_, body) = get_json(&format!("{base}/{NUMBER}?access_token={TOKEN}")).await;
    assert_eq!(
        body["quality_rating"], "GREEN",
        "all fields without `fields`"
    );

    for token in [None, Some("nope")] {
        let (status, body) = ask(token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(
            (
                body["error"]["code"].as_i64(),
                body["error"]["type"].as_str()
            ),
            (Some(190), Some("OAuthException"))
        );
    }
    // The token of another number cannot see this one.
    let (status, body) = ask(Some("other-token")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        (
            body["error"]["code"].as_i64(),
            body["error"]["error_subcode"].as_i64()
        ),
        (Some(100), Some(33))
    );
    // Reading is not a send.
    assert!(emulator.outbound().is_empty());
}
