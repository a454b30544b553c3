//! Native unit tests against the SDK's mock host.

use serde_json::{Value, json};
use switchboard_sdk::testing::MockHost;
use switchboard_sdk::{
    Capability, Connector, ConnectorError, Event, HttpRequest, HttpResponse, ListItem, Message,
    Outbound, Visibility,
};

use crate::jwt::{self, JwtError};
use crate::{Apple, send};

const BUSINESS: &str = "acme-biz";
const PROVIDER: &str = "demo-provider";
const SECRET: &[u8] = b"demo-apple-secret";
/// base64 of `demo-apple-secret`.
const SECRET_B64: &str = "ZGVtby1hcHBsZS1zZWNyZXQ=";
const BASE: &str = "http://apple.test";
const NOW_MS: i64 = 1_800_000_000_000;
const NOW_S: i64 = NOW_MS / 1000;
const CUSTOMER: &str = "urn:mbid:AQAAY5cHOpaque";

fn host() -> MockHost {
    let host = MockHost::new();
    host.set_config("business_id", BUSINESS)
        .set_config("provider_id", PROVIDER)
        .set_config("apple_base_url", BASE)
        .set_secret("secret", SECRET_B64)
        .set_now_millis(NOW_MS);
    host
}

fn token(claims: Value) -> String {
    jwt::sign(SECRET, &claims)
}

fn good_token() -> String {
    token(json!({"aud": PROVIDER, "iat": NOW_S, "exp": NOW_S + 3600}))
}

fn inbound(body: Value, auth: Option<String>) -> HttpRequest {
    let mut req = HttpRequest::new("POST", "/webhooks/apple")
        .with_header("content-type", "application/json")
        .with_header("id", body["id"].as_str().unwrap_or("").to_string())
        .with_header(
            "source-id",
            body["sourceId"].as_str().unwrap_or("").to_string(),
        )
        .with_header(
            "destination-id",
            body["destinationId"].as_str().unwrap_or("").to_string(),
        )
        .with_header("device-agent", "iPhone15,2")
        .with_header("capability-list", "LIST,TIME,QUICK")
        .with_body(body.to_string());
    if let Some(auth) = auth {
        req = req.with_header("authorization", auth);
    }
    req
}

fn text_body(id: &str, text: &str) -> Value {
    json!({"v": 1, "type": "text", "id": id, "sourceId": CUSTOMER, "destinationId": BUSINESS,
        "body": text, "locale": "en_US"})
}

fn messages(events: &[Event]) -> Vec<&Message> {
    events
        .iter()
        .map(|e| match e {
            Event::Message(m) => m,
            other => panic!("expected a message, got {other:?}"),
        })
        .collect()
}

fn handle(req: HttpRequest) -> (u16, Vec<Event>) {
    let out = Apple.handle_webhook(req).unwrap();
    (out.response.status, out.events)
}

// ---------------------------------------------------------------- describe / configure

#[test]
fn describe_lists_settings_and_capabilities() {
    let d = Apple.describe();
    assert_eq!(d.platform, "apple");
    assert_eq!(
        d.capabilities,
        vec![Capability::Webhook, Capability::ReplyPrivate]
    );
    let names: Vec<_> = d.config_keys.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(
        names,
        ["business_id", "provider_id", "apple_base_url", "secret"]
    );
    let key = |n: &str| d.config_keys.iter().find(|k| k.name == n).unwrap();
    assert!(key("secret").secret && key("secret").required);
    assert_eq!(
        key("apple_base_url").default_value.as_deref(),
        Some("https://mspgw.push.apple.com")
    );
}

#[test]
fn configure_checks_settings() {
    let host = host();
    assert_eq!(Apple.configure(), Ok(()));
    host.set_secret("secret", "not base64 !!");
    assert!(matches!(
        Apple.configure(),
        Err(ConnectorError::InvalidConfig(m)) if m.contains("secret")
    ));
    host.remove_secret("secret");
    assert!(matches!(
        Apple.configure(),
        Err(ConnectorError::InvalidConfig(m)) if m.contains("secret")
    ));
    let host = self::host();
    host.remove_config("provider_id");
    assert!(matches!(
        Apple.configure(),
        Err(ConnectorError::InvalidConfig(m)) if m.contains("provider_id")
    ));
    let host = self::host();
    host.set_config("apple_base_url", "apple.test");
    assert!(matches!(
        Apple.configure(),
        Err(ConnectorError::InvalidConfig(m)) if m.contains("apple_base_url")
    ));
}

// ---------------------------------------------------------------- JWT

#[test]
fn jwt_round_trip_and_refusals() {
    let good = good_token();
    let claims = jwt::verify(&good, SECRET, PROVIDER, NOW_S).unwrap();
    assert_eq!(claims["aud"], PROVIDER);
    // An audience list naming us is fine too.
    let list = token(json!({"aud": ["other", PROVIDER]}));
    assert!(jwt::verify(&list, SECRET, PROVIDER, NOW_S).is_ok());

    assert_eq!(
        jwt::verify(&good, SECRET, "someone-else", NOW_S),
        Err(JwtError::Audience)
    );
    assert_eq!(
        jwt::verify(&token(json!({"iat": NOW_S})), SECRET, PROVIDER, NOW_S),
        Err(JwtError::Audience)
    );
    assert_eq!(
        jwt::verify(&good, b"other-secret", PROVIDER, NOW_S),
        Err(JwtError::Signature)
    );
    // A tampered payload no longer matches the signature.
    let parts: Vec<&str> = good.split('.').collect();
    let forged_payload = jwt::b64url(
        json!({"aud": PROVIDER, "admin": true})
            .to_string()
            .as_bytes(),
    );
    let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
    assert_eq!(
        jwt::verify(&forged, SECRET, PROVIDER, NOW_S),
        Err(JwtError::Signature)
    );
    // alg none with an empty signature.
    let none_header = jwt::b64url(br#"{"alg":"none","typ":"JWT"}"#);
    let none = format!("{none_header}.{}.", parts[1]);
    assert_eq!(
        jwt::verify(&none, SECRET, PROVIDER, NOW_S),
        Err(JwtError::Algorithm("none".into()))
    );
    // Other algorithms are refused even with a matching HMAC.
    let hs512_header = jwt::b64url(br#"{"alg":"HS512","typ":"JWT"}"#);
    let input = format!("{hs512_header}.{}", parts[1]);
    let sig = jwt::b64url(&switchboard_sdk::webhook::hmac_sha256(
        SECRET,
        input.as_bytes(),
    ));
    assert!(matches!(
        jwt::verify(&format!("{input}.{sig}"), SECRET, PROVIDER, NOW_S),
        Err(JwtError::Algorithm(_))
    ));
    // Expired beyond the leeway; not yet valid.
    let expired = token(json!({"aud": PROVIDER, "exp": NOW_S - 3600}));
    assert_eq!(
        jwt::verify(&expired, SECRET, PROVIDER, NOW_S),
        Err(JwtError::Expired)
    );
    let late = token(json!({"aud": PROVIDER, "exp": NOW_S - 10}));
    assert!(
        jwt::verify(&late, SECRET, PROVIDER, NOW_S).is_ok(),
        "leeway"
    );
    let future = token(json!({"aud": PROVIDER, "nbf": NOW_S + 3600}));
    assert_eq!(
        jwt::verify(&future, SECRET, PROVIDER, NOW_S),
        Err(JwtError::NotYetValid)
    );
    for garbage in ["", "a.b", "a.b.c.d", "!!.!!.!!", "e30.e30.AAAA"] {
        assert!(
            jwt::verify(garbage, SECRET, PROVIDER, NOW_S).is_err(),
            "{garbage}"
        );
    }
}

#[test]
fn secret_decoding_accepts_both_alphabets() {
    assert_eq!(jwt::decode_secret(SECRET_B64).unwrap(), SECRET);
    assert_eq!(
        jwt::decode_secret("ZGVtby1hcHBsZS1zZWNyZXQ").unwrap(),
        SECRET
    );
    assert_eq!(jwt::decode_secret("-_8").unwrap(), vec![0xfb, 0xff]);
    assert_eq!(jwt::decode_secret("***"), None);
}

#[test]
fn derived_ids_are_stable_uuids() {
    let a = jwt::uuid_from("key-1");
    assert_eq!(a, jwt::uuid_from("key-1"));
    assert_ne!(a, jwt::uuid_from("key-2"));
    assert_eq!(a.len(), 36);
    assert_eq!(a.as_bytes()[14], b'4');
    assert!(matches!(a.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
}

// ---------------------------------------------------------------- inbound

#[test]
fn text_message_becomes_a_private_message_in_the_customers_thread() {
    let _host = host();
    let (status, events) = handle(inbound(
        text_body(
            "0a1b2c3d-0000-4000-8000-000000000001",
            "Where is my order? 📦",
        ),
        Some(format!("Bearer {}", good_token())),
    ));
    assert_eq!(status, 200);
    let msgs = messages(&events);
    assert_eq!(msgs.len(), 1);
    let m = msgs[0];
    assert_eq!(
        m.platform_message_id,
        "0a1b2c3d-0000-4000-8000-000000000001"
    );
    assert_eq!(m.thread_id, CUSTOMER);
    assert_eq!(m.author.id, CUSTOMER);
    assert_eq!(m.visibility, Visibility::Private);
    assert_eq!(m.text, "Where is my order? 📦");
    assert_eq!(m.language.as_deref(), Some("en-US"));
    assert_eq!(m.created_at, NOW_MS);
    assert!(!m.from_business);
    assert!(
        m.metadata
            .contains(&("apple_device_agent".into(), "iPhone15,2".into()))
    );
    assert!(
        m.metadata
            .contains(&("apple_capability_list".into(), "LIST,TIME,QUICK".into()))
    );
}

#[test]
fn list_picker_reply_becomes_the_chosen_titles() {
    let _host = host();
    let body = json!({"v": 1, "type": "interactive", "id": "lp-1", "sourceId": CUSTOMER,
        "destinationId": BUSINESS, "locale": "en_US", "interactiveData": {
            "bid": send::LIST_PICKER_BID,
            "data": {"requestIdentifier": "req-1", "listPicker": {"sections": [
                {"order": 0, "title": "Stores", "items": [
                    {"identifier": "main", "title": "Main St", "order": 0},
                    {"identifier": "harbor", "title": "Harbor", "order": 1}]}]},
                "replyMessage": {"title": "Pick a store"}}}});
    let (status, events) = handle(inbound(body, Some(format!("Bearer {}", good_token()))));
    assert_eq!(status, 200);
    let m = messages(&events)[0];
    assert_eq!(m.text, "Main St, Harbor");
    assert!(
        m.metadata
            .contains(&("list_picker_selection".into(), "main,harbor".into()))
    );
    assert!(
        m.metadata
            .contains(&("interactive_type".into(), "list_picker".into()))
    );
    assert!(
        m.metadata
            .contains(&("apple_request_identifier".into(), "req-1".into()))
    );

    // When items carry `selected`, only those count.
    let body = json!({"v": 1, "type": "interactive", "id": "lp-2", "sourceId": CUSTOMER,
        "destinationId": BUSINESS, "interactiveData": {"data": {"listPicker": {"sections": [
            {"items": [{"identifier": "a", "title": "A", "selected": false},
                       {"identifier": "b", "title": "B", "selected": true}]}]}}}});
    let (_, events) = handle(inbound(body, Some(format!("Bearer {}", good_token()))));
    let m = messages(&events)[0];
    assert_eq!(m.text, "B");
    assert!(
        m.metadata
            .contains(&("list_picker_selection".into(), "b".into()))
    );
}

#[test]
fn typing_indicators_carry_no_event() {
    let _host = host();
    for kind in ["typing_start", "typing_end"] {
        let body = json!({"v": 1, "type": kind, "id": format!("ev-{kind}"), "sourceId": CUSTOMER,
            "destinationId": BUSINESS});
        let (status, events) = handle(inbound(body, Some(format!("Bearer {}", good_token()))));
        assert_eq!(status, 200, "{kind}");
        assert!(events.is_empty(), "{kind}: {events:?}");
    }
}

#[test]
fn another_business_is_acknowledged_and_dropped() {
    let host = host();
    let mut body = text_body("m-2", "hello");
    body["destinationId"] = json!("other-biz");
    let (status, events) = handle(inbound(body, Some(format!("Bearer {}", good_token()))));
    assert_eq!(status, 200);
    assert!(events.is_empty());
    assert!(host.logs().iter().any(|(_, l)| l.contains("other-biz")));
    // The urn prefix does not matter.
    let mut body = text_body("m-3", "hello");
    body["destinationId"] = json!(format!("urn:mbid:{BUSINESS}"));
    let (_, events) = handle(inbound(body, Some(format!("Bearer {}", good_token()))));
    assert_eq!(events.len(), 1);
}

#[test]
fn bad_tokens_are_refused_with_401_and_no_events() {
    let host = host();
    let body = text_body("m-4", "forged");
    let wrong_aud = token(json!({"aud": "someone-else", "iat": NOW_S}));
    let expired = token(json!({"aud": PROVIDER, "exp": NOW_S - 7200}));
    let wrong_key = jwt::sign(b"guess", &json!({"aud": PROVIDER}));
    let none = format!(
        "{}.{}.",
        jwt::b64url(br#"{"alg":"none"}"#),
        jwt::b64url(json!({"aud": PROVIDER}).to_string().as_bytes())
    );
    for auth in [
        None,
        Some("Basic abc".to_string()),
        Some(format!("Bearer {wrong_aud}")),
        Some(format!("Bearer {expired}")),
        Some(format!("Bearer {wrong_key}")),
        Some(format!("Bearer {none}")),
    ] {
        let (status, events) = handle(inbound(body.clone(), auth.clone()));
        assert_eq!(status, 401, "{auth:?}");
        assert!(events.is_empty());
    }
    // Without a configured secret nothing can be checked.
    host.remove_secret("secret");
    let (status, _) = handle(inbound(body, Some(format!("Bearer {}", good_token()))));
    assert_eq!(status, 401);
}

#[test]
fn malformed_bodies_and_other_methods() {
    let _host = host();
    let req = HttpRequest::new("POST", "/webhooks/apple")
        .with_header("authorization", format!("Bearer {}", good_token()))
        .with_body("{not json");
    assert_eq!(handle(req).0, 400);
    assert_eq!(handle(HttpRequest::new("GET", "/webhooks/apple")).0, 405);
}

// ---------------------------------------------------------------- outbound

fn reply(text: &str) -> Outbound {
    let mut out = Outbound::text(CUSTOMER, Visibility::Private, text);
    out.recipient_id = Some(CUSTOMER.into());
    out
}

#[test]
fn text_reply_is_signed_and_addressed() {
    let host = host();
    host.on_http(|_| Ok(HttpResponse::empty(200)));
    let sent = Apple
        .send(reply("Sorry, it ships today 🚚"), "key-1".into())
        .unwrap();
    let reqs = host.requests();
    assert_eq!(reqs.len(), 1);
    let req = &reqs[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.url, format!("{BASE}/v1/message"));
    assert_eq!(req.header("id"), Some(sent.platform_message_id.as_str()));
    assert_eq!(sent.platform_message_id, jwt::uuid_from("key-1"));
    assert_eq!(req.header("source-id"), Some(BUSINESS));
    assert_eq!(req.header("destination-id"), Some(CUSTOMER));
    assert_eq!(req.header("content-type"), Some("application/json"));
    let token = req
        .header("authorization")
        .unwrap()
        .strip_prefix("Bearer ")
        .unwrap();
    // Outbound tokens carry `iss`; check the signature and the claims by hand.
    let parts: Vec<&str> = token.split('.').collect();
    let claims: Value = serde_json::from_slice(&base64_url_decode(parts[1])).unwrap();
    assert_eq!(claims["iss"], PROVIDER);
    assert_eq!(claims["iat"], NOW_S);
    let header: Value = serde_json::from_slice(&base64_url_decode(parts[0])).unwrap();
    assert_eq!(header["alg"], "HS256");
    let sig = switchboard_sdk::webhook::hmac_sha256(
        SECRET,
        format!("{}.{}", parts[0], parts[1]).as_bytes(),
    );
    assert_eq!(jwt::b64url(&sig), parts[2]);

    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(
        body,
        json!({"v": 1, "type": "text", "id": sent.platform_message_id, "sourceId": BUSINESS,
            "destinationId": CUSTOMER, "body": "Sorry, it ships today 🚚", "locale": "en_US"})
    );
}

fn base64_url_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

#[test]
fn thread_id_is_the_destination_without_a_recipient() {
    let host = host();
    host.on_http(|_| Ok(HttpResponse::empty(200)));
    Apple
        .send(
            Outbound::text(CUSTOMER, Visibility::Public, "hi"),
            "k".into(),
        )
        .unwrap();
    assert_eq!(host.requests()[0].header("destination-id"), Some(CUSTOMER));
}

#[test]
fn list_picker_reply_body() {
    let host = host();
    host.on_http(|_| Ok(HttpResponse::empty(200)));
    let mut out = reply("Which store?");
    out.list_items = vec![
        ListItem {
            id: "main".into(),
            title: "Main St".into(),
        },
        ListItem {
            id: "harbor".into(),
            title: "Harbor".into(),
        },
    ];
    let sent = Apple.send(out, "key-lp".into()).unwrap();
    let body: Value = serde_json::from_slice(&host.requests()[0].body).unwrap();
    assert_eq!(body["type"], "interactive");
    assert_eq!(body["id"], sent.platform_message_id.as_str());
    assert_eq!(body["sourceId"], BUSINESS);
    assert_eq!(body["destinationId"], CUSTOMER);
    let data = &body["interactiveData"];
    assert_eq!(data["bid"], send::LIST_PICKER_BID);
    let items = &data["data"]["listPicker"]["sections"][0]["items"];
    assert_eq!(
        items,
        &json!([
            {"identifier": "main", "title": "Main St", "order": 0, "style": "default"},
            {"identifier": "harbor", "title": "Harbor", "order": 1, "style": "default"}
        ])
    );
    assert_eq!(data["data"]["receivedMessage"]["title"], "Which store?");
    assert_eq!(data["data"]["replyMessage"]["title"], "Which store?");
}

#[test]
fn retries_reuse_the_id_and_a_sent_reply_is_not_sent_again() {
    let host = host();
    let mut calls = 0;
    host.on_http(move |_| {
        calls += 1;
        Ok(if calls == 1 {
            HttpResponse::text(500, "oops")
        } else {
            HttpResponse::empty(200)
        })
    });
    assert!(matches!(
        Apple.send(reply("hi"), "key-r".into()),
        Err(ConnectorError::Transient(_))
    ));
    let sent = Apple.send(reply("hi"), "key-r".into()).unwrap();
    let again = Apple.send(reply("hi"), "key-r".into()).unwrap();
    assert_eq!(sent, again);
    let reqs = host.requests();
    assert_eq!(reqs.len(), 2, "the third call answers from the store");
    assert_eq!(reqs[0].header("id"), reqs[1].header("id"));
}

#[test]
fn error_mapping() {
    let host = host();
    type Check = fn(&ConnectorError) -> bool;
    let cases: Vec<(HttpResponse, Check)> = vec![
        (
            HttpResponse::text(400, "bad destination"),
            |e| matches!(e, ConnectorError::Rejected(m) if m.contains("400") && m.contains("bad destination")),
        ),
        (
            HttpResponse::empty(401),
            |e| matches!(e, ConnectorError::Rejected(m) if m.contains("401")),
        ),
        (
            HttpResponse::empty(502),
            |e| matches!(e, ConnectorError::Transient(m) if m.contains("502")),
        ),
        (HttpResponse::empty(503), |e| {
            matches!(e, ConnectorError::Transient(_))
        }),
        (
            HttpResponse::empty(503).with_header("retry-after", "7"),
            |e| matches!(e, ConnectorError::RateLimited(7000)),
        ),
        (
            HttpResponse::empty(429).with_header("retry-after", "2"),
            |e| matches!(e, ConnectorError::RateLimited(2000)),
        ),
        (HttpResponse::empty(429), |e| {
            matches!(e, ConnectorError::RateLimited(send::DEFAULT_RATE_LIMIT_MS))
        }),
    ];
    for (i, (resp, ok)) in cases.into_iter().enumerate() {
        host.on_http(move |_| Ok(resp.clone()));
        let err = Apple
            .send(reply("x"), format!("err-{i}").into())
            .unwrap_err();
        assert!(ok(&err), "case {i}: {err:?}");
    }
    host.on_http(|_| Err("connection refused".into()));
    assert!(matches!(
        Apple.send(reply("x"), "net".into()),
        Err(ConnectorError::Transient(m)) if m.contains("connection refused")
    ));
}

#[test]
fn empty_text_or_no_customer_is_refused_before_sending() {
    let host = host();
    host.on_http(|_| Ok(HttpResponse::empty(200)));
    assert!(matches!(
        Apple.send(reply("  "), "e1".into()),
        Err(ConnectorError::Rejected(_))
    ));
    assert!(matches!(
        Apple.send(Outbound::text("", Visibility::Private, "hi"), "e2".into()),
        Err(ConnectorError::Rejected(_))
    ));
    assert!(host.requests().is_empty());
}

// ---------------------------------------------------------------- check_credentials

#[test]
fn check_credentials_says_why_it_cannot() {
    let host = host();
    let err = Apple.check_credentials().unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Unsupported(m) if m.contains("first reply")),
        "{err:?}"
    );
    assert!(host.requests().is_empty(), "nothing is sent");
    assert!(!err.message().contains(SECRET_B64));

    // Settings are still checked.
    host.remove_secret("secret");
    assert!(matches!(
        Apple.check_credentials(),
        Err(ConnectorError::InvalidConfig(m)) if m.contains("secret")
    ));
}

#[test]
fn describe_labels_every_key() {
    for key in Apple.describe().config_keys {
        assert!(key.label.is_some(), "{}", key.name);
        assert!(key.where_to_find.is_some(), "{}", key.name);
    }
}

mod files;
mod fuzz;
mod kinds;
