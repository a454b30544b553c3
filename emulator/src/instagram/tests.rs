//! Instagram over real HTTP: the account and `/me` (credentials check), tokens, the
//! subscription handshake and the Facebook Login flavour. DMs are tested in
//! `tests/messaging.rs`, media and comments in `tests/comments.rs`.

mod comments;
mod media;
mod messaging;

use axum::http::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::tests::{Hook, control, get_json, http, next_hook, receiver};
use crate::{Emulator, EmulatorConfig, FacebookPage, InstagramAccount, meta_signature};

pub(super) const IG: &str = "17841400000000001";
pub(super) const TOKEN: &str = "ig-token";
pub(super) const SECRET: &str = "ig-app-secret";
pub(super) const VERIFY: &str = "ig-verify";
pub(super) const DAY_MS: i64 = 24 * 60 * 60 * 1000;

pub(super) fn account(token: Option<&str>) -> InstagramAccount {
    InstagramAccount {
        ig_id: IG.into(),
        username: "acme".into(),
        name: "Acme Outfitters".into(),
        access_token: token.map(Into::into),
        app_secret: SECRET.into(),
        verify_token: VERIFY.into(),
        page_id: None,
    }
}

pub(super) async fn start_with(config: EmulatorConfig) -> (Emulator, String) {
    let emulator = Emulator::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(emulator.clone().serve(listener));
    (emulator, url)
}

/// One account with token [`TOKEN`].
pub(super) async fn start() -> (Emulator, String) {
    start_with(EmulatorConfig {
        instagram_accounts: vec![account(Some(TOKEN))],
        ..Default::default()
    })
    .await
}

/// Subscribes a fresh receiver to [`IG`] and returns its queue.
pub(super) async fn subscribe(em: &Emulator) -> mpsc::UnboundedReceiver<Hook> {
    let (url, _, rx) = receiver(VERIFY, 0).await;
    em.subscribe_instagram(IG, &url, VERIFY).await.unwrap();
    rx
}

/// A Graph call with `token` as a Bearer header (none when empty); JSON body when given.
pub(super) async fn call(
    method: &str,
    url: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = http().request(method, url);
    if !token.is_empty() {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// The webhook body after checking the signature (with [`SECRET`]), the escaping and the
/// envelope (`object`, `entry[0].id`, `entry[0].time`).
pub(super) fn payload(hook: &Hook) -> Value {
    let signature = hook.headers["x-hub-signature-256"].to_str().unwrap();
    assert_eq!(signature, meta_signature(SECRET, &hook.body));
    assert_eq!(hook.headers["content-type"], "application/json");
    assert!(hook.body.is_ascii(), "non-ASCII is escaped like Meta does");
    let payload: Value = serde_json::from_slice(&hook.body).unwrap();
    assert_eq!(payload["object"], "instagram");
    assert_eq!(payload["entry"][0]["id"], IG);
    assert!(payload["entry"][0]["time"].is_i64());
    payload
}

/// The single `messaging` event of a delivered webhook.
pub(super) fn event(hook: &Hook) -> Value {
    payload(hook)["entry"][0]["messaging"][0].clone()
}

/// The single change of a delivered webhook: (field, value).
pub(super) fn change(hook: &Hook) -> (String, Value) {
    let payload = payload(hook);
    let change = &payload["entry"][0]["changes"][0];
    (
        change["field"].as_str().unwrap().to_string(),
        change["value"].clone(),
    )
}

pub(super) fn assert_graph_error(
    status: StatusCode,
    body: &Value,
    code: i64,
    subcode: Option<i64>,
) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["type"].is_string() && body["error"]["fbtrace_id"].is_string());
    match subcode {
        Some(sub) => assert_eq!(body["error"]["error_subcode"], sub, "{body}"),
        None => assert!(body["error"].get("error_subcode").is_none(), "{body}"),
    }
}

/// A customer DM; returns (mid, igsid).
pub(super) async fn dm(base: &str, username: &str, text: &str, age_ms: i64) -> (String, String) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let (status, body) = control(
        base,
        "/_emulator/instagram/messages",
        json!({ "username": username, "text": text, "timestamp": now - age_ms }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (
        body["mid"].as_str().unwrap().to_string(),
        body["igsid"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn me_and_the_account_answer_the_credentials_check() {
    let (_em, base) = start().await;
    for prefix in ["", "/v21.0"] {
        let (status, body) = call(
            "GET",
            &format!("{base}{prefix}/me?fields=id,username,name"),
            TOKEN,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(
            body,
            json!({ "id": IG, "username": "acme", "name": "Acme Outfitters" })
        );
    }
    // The token as a query parameter works too; `fields` selects (id always).
    let (_, body) = get_json(&format!("{base}/me?fields=username&access_token={TOKEN}")).await;
    assert_eq!(body, json!({ "id": IG, "username": "acme" }));
    let (_, body) = call(
        "GET",
        &format!("{base}/v21.0/me?fields=user_id,account_type,media_count"),
        TOKEN,
        None,
    )
    .await;
    assert_eq!(
        body,
        json!({ "id": IG, "user_id": IG, "account_type": "BUSINESS", "media_count": 1 })
    );
    // Facebook Login's read of the account.
    let (status, body) = call(
        "GET",
        &format!("{base}/v21.0/{IG}?fields=id,username,name"),
        TOKEN,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["username"], "acme");

    let (status, body) = call(
        "GET",
        &format!("{base}/me?fields=id,username"),
        "nope",
        None,
    )
    .await;
    assert_graph_error(status, &body, 190, None);
    assert_eq!(body["error"]["type"], "OAuthException");
    let (status, body) = call("GET", &format!("{base}/me"), "", None).await;
    assert_graph_error(status, &body, 2500, None);
    let (status, body) = call("GET", &format!("{base}/{IG}?fields=id"), "nope", None).await;
    assert_graph_error(status, &body, 190, None);
}

#[tokio::test]
async fn every_call_needs_the_token() {
    let (_em, base) = start().await;
    let (_mid, igsid) = dm(&base, "ann", "hi", 0).await;
    let (_, created) = control(
        &base,
        "/_emulator/instagram/comments",
        json!({ "username": "ann", "text": "nice" }),
    )
    .await;
    let comment = created["comment_id"].as_str().unwrap();
    let media = created["media_id"].as_str().unwrap();
    let message = json!({ "recipient": { "id": igsid }, "message": { "text": "hello" } });
    let calls = [
        ("POST", format!("{base}/me/messages"), Some(message.clone())),
        ("POST", format!("{base}/{IG}/messages"), Some(message)),
        ("GET", format!("{base}/me/media"), None),
        ("GET", format!("{base}/{media}"), None),
        ("GET", format!("{base}/{media}/comments"), None),
        ("GET", format!("{base}/{comment}?fields=text"), None),
        ("GET", format!("{base}/{comment}/replies"), None),
        (
            "POST",
            format!("{base}/{comment}/replies"),
            Some(json!({ "message": "thanks" })),
        ),
        (
            "POST",
            format!("{base}/{comment}"),
            Some(json!({ "hide": true })),
        ),
        ("DELETE", format!("{base}/{comment}"), None),
        ("GET", format!("{base}/{igsid}?fields=username"), None),
        ("POST", format!("{base}/me/subscribed_apps"), None),
    ];
    for (method, url, body) in &calls {
        for token in ["", "wrong"] {
            let (status, answer) = call(method, url, token, body.clone()).await;
            let code = if *url == format!("{base}/me/messages")
                || *url == format!("{base}/me/media")
                || *url == format!("{base}/me/subscribed_apps")
            {
                if token.is_empty() { 2500 } else { 190 }
            } else {
                190
            };
            assert_eq!(
                answer["error"]["code"], code,
                "{method} {url} {token:?}: {answer}"
            );
            assert_eq!(status, StatusCode::BAD_REQUEST);
        }
    }
    // Nothing was done; with the token, all of them pass.
    assert!(_em.outbound().is_empty());
    for (method, url, body) in calls {
        let (status, answer) = call(method, &url, TOKEN, body).await;
        assert_eq!(status, StatusCode::OK, "{method} {url}: {answer}");
    }
}

#[tokio::test]
async fn an_account_without_a_token_takes_any() {
    let (_em, base) = start_with(EmulatorConfig {
        instagram_accounts: vec![account(None)],
        ..Default::default()
    })
    .await;
    let (status, body) = get_json(&format!("{base}/me?fields=id,username&access_token=x")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({ "id": IG, "username": "acme" }));
    let (status, _) = get_json(&format!("{base}/me/media")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn subscriptions_perform_the_handshake() {
    let (em, base) = start().await;
    let (url, _, mut rx) = receiver(VERIFY, 0).await;
    // The account's verify token is the default.
    let (status, body) = control(
        &base,
        "/_emulator/instagram/subscriptions",
        json!({ "callback_url": url }),
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, json!({ "ok": true })));
    let (status, body) = control(
        &base,
        "/_emulator/instagram/subscriptions",
        json!({ "account_id": IG, "callback_url": url, "verify_token": "wrong" }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(body["error"].as_str().unwrap().contains("403"), "{body}");
    let (status, _) = control(
        &base,
        "/_emulator/instagram/subscriptions",
        json!({ "account_id": "42", "callback_url": url }),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(em.subscribe_instagram("42", &url, VERIFY).await.is_err());
    let (status, _) = control(&base, "/_emulator/instagram/subscriptions", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (_, view) = get_json(&format!("{base}/_emulator/instagram/accounts/{IG}")).await;
    assert_eq!(view["subscribers"], json!([url]));
    assert_eq!(view["username"], "acme");
    let (status, _) = get_json(&format!("{base}/_emulator/instagram/accounts/42")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The subscription delivers.
    dm(&base, "ann", "hi", 0).await;
    assert_eq!(event(&next_hook(&mut rx).await)["message"]["text"], "hi");
}

#[tokio::test]
async fn facebook_login_flavour_shares_the_linked_page() {
    const PAGE: &str = "448242228374517";
    let (em, base) = start_with(EmulatorConfig {
        facebook_pages: vec![FacebookPage {
            page_id: PAGE.into(),
            name: "Acme Support".into(),
            app_secret: SECRET.into(),
            access_token: Some("page-token".into()),
        }],
        instagram_accounts: vec![InstagramAccount {
            page_id: Some(PAGE.into()),
            ..account(Some("page-token"))
        }],
        ..Default::default()
    })
    .await;
    // The page names its Instagram account; the page's other reads stay Facebook's.
    let (status, body) = call(
        "GET",
        &format!("{base}/v21.0/{PAGE}?fields=instagram_business_account,name"),
        "page-token",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({ "id": PAGE, "name": "Acme Support", "instagram_business_account": { "id": IG } })
    );
    let (_, body) = call(
        "GET",
        &format!("{base}/v21.0/{PAGE}?fields=id,name"),
        "page-token",
        None,
    )
    .await;
    assert_eq!(body, json!({ "id": PAGE, "name": "Acme Support" }));
    // `/me` with the page token is the page, unless an Instagram field is asked for.
    let (_, body) = call(
        "GET",
        &format!("{base}/me?fields=id,name"),
        "page-token",
        None,
    )
    .await;
    assert_eq!(body["id"], PAGE);
    let (_, body) = call(
        "GET",
        &format!("{base}/me?fields=id,username"),
        "page-token",
        None,
    )
    .await;
    assert_eq!(body, json!({ "id": IG, "username": "acme" }));

    // `/{page-id}/messages` to an IGSID is an Instagram DM, to a PSID a Messenger one.
    let (_, igsid) = dm(&base, "ann", "hi", 0).await;
    let (_, messenger) = control(
        &base,
        "/_emulator/messenger/messages",
        json!({ "page_id": PAGE, "name": "Bob", "text": "hello" }),
    )
    .await;
    let psid = messenger["psid"].as_str().unwrap();
    for (recipient, platform) in [(igsid.as_str(), "instagram"), (psid, "messenger")] {
        let (status, body) = call(
            "POST",
            &format!("{base}/v21.0/{PAGE}/messages"),
            "page-token",
            Some(json!({ "recipient": { "id": recipient }, "message": { "text": "hey" } })),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["recipient_id"], recipient);
        assert_eq!(em.outbound().last().unwrap().platform, platform);
    }
    // So is `/{ig-id}/messages`.
    let (status, _) = call(
        "POST",
        &format!("{base}/v21.0/{IG}/messages"),
        "page-token",
        Some(json!({ "recipient": { "id": igsid }, "message": { "text": "again" } })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        em.outbound()
            .iter()
            .map(|r| r.platform.as_str())
            .collect::<Vec<_>>(),
        ["instagram", "messenger", "instagram"]
    );
}

#[tokio::test]
async fn a_linked_page_unknown_to_facebook_is_answered_by_instagram() {
    let (_em, base) = start_with(EmulatorConfig {
        instagram_accounts: vec![InstagramAccount {
            page_id: Some("1001".into()),
            ..account(Some(TOKEN))
        }],
        ..Default::default()
    })
    .await;
    let (status, body) = call("GET", &format!("{base}/v21.0/1001"), TOKEN, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({ "id": "1001", "name": "Acme Outfitters" }));
    let (status, body) = call(
        "GET",
        &format!("{base}/1001?fields=instagram_business_account"),
        "nope",
        None,
    )
    .await;
    assert_graph_error(status, &body, 190, None);
    let (status, body) = call("POST", &format!("{base}/1001/subscribed_apps"), TOKEN, None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({ "success": true })));
}

#[tokio::test]
async fn injected_failures_apply_to_instagram_calls() {
    let (_em, base) = start().await;
    let (status, _) = control(
        &base,
        "/_emulator/facebook/failures",
        json!({ "status": 503, "code": 2, "message": "Service temporarily unavailable" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = call("GET", &format!("{base}/me?fields=id"), TOKEN, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"]["code"], 2);
    let (status, _) = call("GET", &format!("{base}/me?fields=id"), TOKEN, None).await;
    assert_eq!(status, StatusCode::OK);
}
