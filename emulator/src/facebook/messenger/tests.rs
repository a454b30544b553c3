//! Messenger over real HTTP: customers' messages as signed webhooks, the Send API's
//! windows, private replies, echoes and the profile API.

use axum::http::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::tests::{control, get_json, http, next_hook, receiver};
use crate::{Emulator, EmulatorConfig, FacebookPage, meta_signature};

const PAGE: &str = "448242228374517";
const SECRET: &str = "test-app-secret";
const TOKEN: &str = "page-token";
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

async fn start() -> (Emulator, String) {
    let emulator = Emulator::new(EmulatorConfig {
        facebook_pages: vec![FacebookPage {
            page_id: PAGE.into(),
            name: "Acme Support".into(),
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

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A customer message; returns the PSID.
async fn customer(base: &str, name: &str, text: &str, age_ms: i64) -> String {
    let (status, body) = control(
        base,
        "/_emulator/messenger/messages",
        json!({ "page_id": PAGE, "name": name, "text": text, "timestamp": now_ms() - age_ms }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["mid"].as_str().unwrap().starts_with("m_"));
    body["psid"].as_str().unwrap().to_string()
}

async fn send(base: &str, body: Value) -> (StatusCode, Value) {
    let response = http()
        .post(format!("{base}/v19.0/{PAGE}/messages?access_token={TOKEN}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

fn reply(psid: &str, text: &str) -> Value {
    json!({ "recipient": { "id": psid }, "messaging_type": "RESPONSE", "message": { "text": text } })
}

fn tagged(psid: &str, text: &str) -> Value {
    json!({ "recipient": { "id": psid }, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT", "message": { "text": text } })
}

fn assert_graph_error(status: StatusCode, body: &Value, code: i64, subcode: Option<i64>) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert_eq!(body["error"]["type"], "OAuthException");
    assert!(body["error"]["fbtrace_id"].is_string());
    match subcode {
        Some(sub) => assert_eq!(body["error"]["error_subcode"], sub, "{body}"),
        None => assert!(body["error"].get("error_subcode").is_none(), "{body}"),
    }
}

#[tokio::test]
async fn a_customer_message_is_a_signed_messaging_webhook() {
    let (em, base) = start().await;
    let (hook_url, _, mut rx) = receiver("t", 0).await;
    em.subscribe_facebook(PAGE, &hook_url, "t").await.unwrap();
    let (status, body) = control(
        &base,
        "/_emulator/messenger/messages",
        json!({
            "page_id": PAGE, "name": "Zoë Lee", "text": "où est ma commande 📦",
            "timestamp": 1_458_692_752_478i64, "reply_to": "m_0",
            "attachments": [{ "type": "image", "url": "https://cdn.test/a.jpg" }],
            "referral": { "ref": "spring", "ad_id": "6045", "source": "ADS", "type": "OPEN_THREAD" }
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let hook = next_hook(&mut rx).await;
    let signature = hook.headers["x-hub-signature-256"].to_str().unwrap();
    assert_eq!(signature, meta_signature(SECRET, &hook.body));
    assert!(hook.body.is_ascii(), "non-ASCII is escaped like Meta does");
    let payload: Value = serde_json::from_slice(&hook.body).unwrap();
    assert_eq!(payload["object"], "page");
    let event = &payload["entry"][0]["messaging"][0];
    assert_eq!(event["sender"]["id"], body["psid"]);
    assert_eq!(event["recipient"]["id"], PAGE);
    assert_eq!(event["timestamp"], 1_458_692_752_478i64);
    assert_eq!(event["message"]["mid"], body["mid"]);
    assert_eq!(event["message"]["text"], "où est ma commande 📦");
    assert_eq!(event["message"]["reply_to"]["mid"], "m_0");
    assert_eq!(
        event["message"]["attachments"][0],
        json!({ "type": "image", "payload": { "url": "https://cdn.test/a.jpg" } })
    );
    assert_eq!(event["message"]["referral"]["ad_id"], "6045");

    // The profile API knows the customer.
    let psid = body["psid"].as_str().unwrap();
    let (status, profile) = get_json(&format!(
        "{base}/v19.0/{psid}?fields=first_name,last_name&access_token={TOKEN}"
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{profile}");
    assert_eq!(
        profile,
        json!({ "id": psid, "first_name": "Zoë", "last_name": "Lee" })
    );
}

#[tokio::test]
async fn replies_follow_the_24_hour_and_7_day_windows() {
    let (em, base) = start().await;
    let (hook_url, _, mut rx) = receiver("t", 0).await;
    em.subscribe_facebook(PAGE, &hook_url, "t").await.unwrap();

    let fresh = customer(&base, "Ann", "hi", 0).await;
    next_hook(&mut rx).await;
    let (status, body) = send(&base, reply(&fresh, "hello")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["recipient_id"], fresh.as_str());
    let mid = body["message_id"].as_str().unwrap().to_string();
    // The page's own send is echoed.
    let echo: Value = serde_json::from_slice(&next_hook(&mut rx).await.body).unwrap();
    let event = &echo["entry"][0]["messaging"][0];
    assert_eq!(event["sender"]["id"], PAGE);
    assert_eq!(event["recipient"]["id"], fresh.as_str());
    assert_eq!(event["message"]["is_echo"], true);
    assert_eq!(event["message"]["mid"], mid.as_str());
    assert_eq!(event["message"]["text"], "hello");

    let old = customer(&base, "Bob", "hi", 2 * DAY_MS).await;
    let (status, body) = send(&base, reply(&old, "late")).await;
    assert_graph_error(status, &body, 10, Some(2_018_278));
    let (status, body) = send(&base, tagged(&old, "late, by a human")).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let stale = customer(&base, "Cy", "hi", 8 * DAY_MS).await;
    let (status, body) = send(&base, tagged(&stale, "too late")).await;
    assert_graph_error(status, &body, 10, Some(2_018_278));

    let (status, body) = send(&base, reply("999", "who?")).await;
    assert_graph_error(status, &body, 100, Some(2_018_001));
    let (status, body) = send(&base, reply(&fresh, &"x".repeat(2001))).await;
    assert_graph_error(status, &body, 100, None);

    // A wrong token is refused like every Graph call.
    let response = http()
        .post(format!("{base}/{PAGE}/messages?access_token=nope"))
        .json(&reply(&fresh, "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    let outbound = em.outbound();
    let kinds: Vec<_> = outbound
        .iter()
        .map(|r| (r.platform.as_str(), r.kind.as_str(), r.text.as_deref()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("messenger", "message", Some("hello")),
            ("messenger", "message", Some("late, by a human"))
        ]
    );
    let (_, sent) = get_json(&format!("{base}/_emulator/messenger/sent")).await;
    assert_eq!(sent[0]["messaging_type"], "RESPONSE");
    assert_eq!(sent[1]["messaging_type"], "MESSAGE_TAG");
    assert_eq!(sent[1]["tag"], "HUMAN_AGENT");
}

#[tokio::test]
async fn a_private_reply_once_per_comment_within_7_days() {
    let (em, base) = start().await;
    let post = control(
        &base,
        "/_emulator/facebook/comments",
        json!({ "page_id": PAGE, "author_name": "Acme Support", "author_id": PAGE, "text": "New!", "deliveries": 0 }),
    )
    .await
    .1["post_id"]
        .as_str()
        .unwrap()
        .to_string();
    let comment = |created: Option<i64>| {
        let (base, post) = (base.clone(), post.clone());
        async move {
            let mut body = json!({ "page_id": PAGE, "post_id": post, "author_name": "Ann", "text": "late order", "deliveries": 0 });
            if let Some(t) = created {
                body["created_time"] = json!(t);
            }
            control(&base, "/_emulator/facebook/comments", body).await.1["comment_id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let fresh = comment(None).await;
    let private =
        json!({ "recipient": { "comment_id": fresh }, "message": { "text": "Let's talk here" } });
    let (status, body) = send(&base, private.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let psid = body["recipient_id"].as_str().unwrap().to_string();
    assert!(body["message_id"].as_str().unwrap().starts_with("m_"));
    // The same person writing in Messenger has the same PSID.
    assert_eq!(customer(&base, "Ann", "ok", 0).await, psid);

    let (status, body) = send(&base, private).await;
    assert_graph_error(status, &body, 10900, None);

    let old = comment(Some(now_ms() / 1000 - 8 * 24 * 3600)).await;
    let (status, body) = send(
        &base,
        json!({ "recipient": { "comment_id": old }, "message": { "text": "x" } }),
    )
    .await;
    assert_graph_error(status, &body, 10, Some(2_018_278));

    let (status, body) = send(
        &base,
        json!({ "recipient": { "comment_id": "nope" }, "message": { "text": "x" } }),
    )
    .await;
    assert_graph_error(status, &body, 100, Some(33));

    let records: Vec<_> = em
        .outbound()
        .into_iter()
        .map(|r| (r.kind, r.target_id))
        .collect();
    assert_eq!(records, [("private_reply".to_string(), Some(fresh))]);
}

#[tokio::test]
async fn a_private_reply_does_not_open_the_24_hour_window() {
    let (_em, base) = start().await;
    let post = control(
        &base,
        "/_emulator/facebook/comments",
        json!({ "page_id": PAGE, "author_name": "Eve", "text": "post", "deliveries": 0 }),
    )
    .await
    .1["post_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, c) = control(
        &base,
        "/_emulator/facebook/comments",
        json!({ "page_id": PAGE, "post_id": post, "author_name": "Dee", "text": "help", "deliveries": 0 }),
    )
    .await;
    let (status, body) = send(
        &base,
        json!({ "recipient": { "comment_id": c["comment_id"] }, "message": { "text": "DM us" } }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let psid = body["recipient_id"].as_str().unwrap();
    let (status, body) = send(&base, reply(psid, "more")).await;
    assert_graph_error(status, &body, 10, Some(2_018_278));
}

#[tokio::test]
async fn control_api_refuses_bad_input() {
    let (_em, base) = start().await;
    let (status, _) = control(
        &base,
        "/_emulator/messenger/messages",
        json!({ "page_id": "nope", "name": "A", "text": "x" }),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = control(
        &base,
        "/_emulator/messenger/messages",
        json!({ "page_id": PAGE, "name": "A" }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = control(
        &base,
        "/_emulator/messenger/messages",
        json!({ "page_id": PAGE, "text": "x" }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
