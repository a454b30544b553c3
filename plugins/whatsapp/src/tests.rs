//! Native unit tests against the SDK's mock host.

use serde_json::{Value, json};
use switchboard_sdk::HttpError;
use switchboard_sdk::meta::signature as meta_signature;
use switchboard_sdk::testing::MockHost;
use switchboard_sdk::{
    Capability, Connector, ConnectorError, DeliveryState, Event, HttpRequest, HttpResponse,
    Message, Outbound, Template, Visibility,
};

use crate::WhatsApp;

const PHONE_ID: &str = "106540352242922";
const SECRET: &str = "app-secret-1";
const GRAPH: &str = "http://graph.test/v19.0";
const NOW: i64 = 1_800_000_000_000;
const HOUR: i64 = 3_600_000;

fn host() -> MockHost {
    let host = MockHost::new();
    host.set_config("phone_number_id", PHONE_ID)
        .set_config("graph_base_url", GRAPH)
        .set_secret("verify_token", "verify-me")
        .set_secret("app_secret", SECRET)
        .set_secret("access_token", "wa-token")
        .set_now_millis(NOW);
    host
}

fn signed_post(body: &str) -> HttpRequest {
    HttpRequest::new("POST", "/webhooks/whatsapp")
        .with_header("content-type", "application/json")
        .with_header(
            "x-hub-signature-256",
            meta_signature(SECRET, body.as_bytes()),
        )
        .with_body(body)
}

fn envelope(value: Value) -> String {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}]
    })
    .to_string()
}

fn inbound(messages: Vec<Value>) -> String {
    envelope(json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_ID},
        "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
        "messages": messages
    }))
}

fn msg(kind: &str, extra: Value) -> Value {
    let mut m = json!({
        "from": "16505551234",
        "id": format!("wamid.{kind}"),
        "timestamp": "1749416383",
        "type": kind
    });
    if let (Value::Object(m), Value::Object(extra)) = (&mut m, extra) {
        m.extend(extra);
    }
    m
}

fn parse(messages: Vec<Value>) -> Vec<Message> {
    let out = WhatsApp
        .handle_webhook(signed_post(&inbound(messages)))
        .unwrap();
    assert_eq!(out.response.status, 200);
    assert_eq!(out.response.body, b"EVENT_RECEIVED");
    out.events
        .into_iter()
        .map(|e| match e {
            Event::Message(m) => m,
            other => panic!("expected a message, got {other:?}"),
        })
        .collect()
}

fn one(kind: &str, extra: Value) -> Message {
    let _host = host();
    let mut all = parse(vec![msg(kind, extra)]);
    assert_eq!(all.len(), 1);
    all.remove(0)
}

fn meta(m: &Message, key: &str) -> Option<String> {
    m.metadata
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
}

// ---------------------------------------------------------------- describe / configure

#[test]
fn describe_lists_settings_and_capabilities() {
    let d = WhatsApp.describe();
    assert_eq!(d.platform, "whatsapp");
    assert_eq!(
        d.capabilities,
        vec![Capability::Webhook, Capability::ReplyPrivate]
    );
    let names: Vec<_> = d.config_keys.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "phone_number_id",
            "waba_id",
            "graph_base_url",
            "verify_token",
            "app_secret",
            "access_token",
            "profile_about",
            "profile_address",
            "profile_description",
            "profile_email",
            "profile_vertical",
            "profile_websites"
        ]
    );
    let key = |n: &str| d.config_keys.iter().find(|k| k.name == n).unwrap();
    assert!(key("phone_number_id").required);
    assert!(key("app_secret").secret && key("access_token").secret && key("verify_token").secret);
    assert_eq!(
        key("graph_base_url").default_value.as_deref(),
        Some("https://graph.facebook.com/v19.0")
    );
}

fn config_error(key: &str, value: &str) -> String {
    let host = host();
    host.set_config(key, value);
    match WhatsApp.configure() {
        Err(ConnectorError::InvalidConfig(m)) => m,
        other => panic!("{key}={value:?}: expected InvalidConfig, got {other:?}"),
    }
}

#[test]
fn configure_checks_required_settings() {
    let host = host();
    assert_eq!(WhatsApp.configure(), Ok(()));
    host.remove_config("phone_number_id");
    assert!(matches!(
        WhatsApp.configure(),
        Err(ConnectorError::InvalidConfig(m)) if m.contains("phone_number_id")
    ));
    let m = config_error("graph_base_url", "graph.test");
    assert!(m.contains("graph_base_url"), "{m}");
}

#[test]
fn configure_checks_the_business_profile_limits() {
    let host = host();
    host.set_config("profile_about", &"a".repeat(139))
        .set_config("profile_address", &"é".repeat(256))
        .set_config("profile_description", &"d".repeat(256))
        .set_config("profile_email", "help@acme.example")
        .set_config("profile_vertical", &"v".repeat(128))
        .set_config(
            "profile_websites",
            "https://acme.example, https://shop.acme.example",
        );
    assert_eq!(WhatsApp.configure(), Ok(()));

    for (key, value, max) in [
        ("profile_about", "a".repeat(140), "139"),
        ("profile_address", "é".repeat(257), "256"),
        ("profile_description", "d".repeat(257), "256"),
        (
            "profile_email",
            format!("{}@acme.example", "e".repeat(120)),
            "128",
        ),
        ("profile_vertical", "v".repeat(129), "128"),
    ] {
        let m = config_error(key, &value);
        assert!(m.contains(key) && m.contains(max), "{key}: {m}");
    }
    let m = config_error("profile_email", "not an email");
    assert!(m.contains("profile_email"), "{m}");
    let m = config_error(
        "profile_websites",
        "https://a.example,https://b.example,https://c.example",
    );
    assert!(
        m.contains("profile_websites") && m.contains("at most 2"),
        "{m}"
    );
    let m = config_error(
        "profile_websites",
        &format!("https://{}.example", "w".repeat(250)),
    );
    assert!(m.contains("profile_websites") && m.contains("256"), "{m}");
    let m = config_error("profile_websites", "acme.example");
    assert!(m.contains("profile_websites"), "{m}");
}

// ---------------------------------------------------------------- handshake and signatures

fn handshake(query: &str) -> HttpResponse {
    let req = HttpRequest::new("GET", format!("/webhooks/whatsapp?{query}"));
    let out = WhatsApp.handle_webhook(req).unwrap();
    assert!(out.events.is_empty());
    out.response
}

#[test]
fn verification_handshake() {
    let host = host();
    let ok = handshake("hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=verify-me");
    assert_eq!(
        (ok.status, ok.body.as_slice()),
        (200, b"1158201444".as_slice())
    );
    assert_eq!(
        handshake("hub.mode=subscribe&hub.challenge=1&hub.verify_token=nope").status,
        403
    );
    assert_eq!(
        handshake("hub.mode=subscribe&hub.verify_token=verify-me").status,
        400
    );
    host.remove_secret("verify_token");
    assert_eq!(
        handshake("hub.mode=subscribe&hub.challenge=1&hub.verify_token=").status,
        403
    );
}

#[test]
fn unsigned_or_badly_signed_posts_are_refused() {
    let host = host();
    let body = inbound(vec![msg("text", json!({"text": {"body": "hi"}}))]);
    let unsigned = HttpRequest::new("POST", "/webhooks/whatsapp").with_body(body.clone());
    let out = WhatsApp.handle_webhook(unsigned).unwrap();
    assert_eq!(out.response.status, 401);
    assert!(out.events.is_empty());

    let wrong = HttpRequest::new("POST", "/webhooks/whatsapp")
        .with_header(
            "x-hub-signature-256",
            meta_signature("other", body.as_bytes()),
        )
        .with_body(body.clone());
    let out = WhatsApp.handle_webhook(wrong).unwrap();
    assert_eq!(out.response.status, 401);
    assert!(out.events.is_empty());

    let mut tampered = signed_post(&body);
    tampered.body = body.replace("hi", "ho").into_bytes();
    assert_eq!(
        WhatsApp.handle_webhook(tampered).unwrap().response.status,
        401
    );

    host.remove_secret("app_secret");
    let out = WhatsApp.handle_webhook(signed_post(&body)).unwrap();
    assert_eq!(out.response.status, 401);
    assert!(out.events.is_empty());
}

/// Meta delivers again whatever is not answered 2xx, and an authentic body that cannot be
/// read never will be: it is acknowledged, and dropped with an error in the log.
#[test]
fn malformed_bodies_and_other_objects() {
    let host = host();
    let out = WhatsApp
        .handle_webhook(signed_post("{\"object\":"))
        .unwrap();
    assert_eq!(
        (out.response.status, out.response.body_text().as_str()),
        (200, "EVENT_RECEIVED")
    );
    assert!(out.events.is_empty());
    assert!(
        host.logs()
            .iter()
            .any(|(l, m)| *l == switchboard_sdk::Level::Error && m.contains("was dropped")),
        "{:?}",
        host.logs()
    );
    let page = json!({"object": "page", "entry": []}).to_string();
    let out = WhatsApp.handle_webhook(signed_post(&page)).unwrap();
    assert_eq!(out.response.status, 200);
    assert!(out.events.is_empty());
    let out = WhatsApp
        .handle_webhook(HttpRequest::new("PUT", "/webhooks/whatsapp"))
        .unwrap();
    assert_eq!(out.response.status, 405);
}

#[test]
fn only_the_configured_phone_number_is_read() {
    let _host = host();
    let other = envelope(json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": "999"},
        "contacts": [{"profile": {"name": "X"}, "wa_id": "1"}],
        "messages": [msg("text", json!({"text": {"body": "not for us"}}))]
    }));
    let out = WhatsApp.handle_webhook(signed_post(&other)).unwrap();
    assert_eq!(out.response.status, 200);
    assert!(out.events.is_empty());
}

// ---------------------------------------------------------------- message types

#[test]
fn text_message_from_the_reference() {
    let m = one(
        "text",
        json!({"text": {"body": "Does it come in another color?"}}),
    );
    assert_eq!(m.platform_message_id, "wamid.text");
    assert_eq!(m.thread_id, "16505551234");
    assert_eq!(m.author.id, "16505551234");
    assert_eq!(m.author.name, "Sheena Nelson");
    assert_eq!(m.visibility, Visibility::Private);
    assert_eq!(m.text, "Does it come in another color?");
    assert_eq!(m.created_at, 1_749_416_383_000);
    assert_eq!(m.parent_id, None);
    assert!(!m.from_business);
    assert!(m.attachments.is_empty());
    assert_eq!(meta(&m, "message_type").as_deref(), Some("text"));
}

#[test]
fn escaped_emoji_are_decoded() {
    let _host = host();
    let body = inbound(vec![msg("text", json!({"text": {"body": "PLACEHOLDER"}}))])
        .replace("PLACEHOLDER", r"Caf\u00e9 \ud83d\ude00");
    assert!(body.is_ascii());
    let out = WhatsApp.handle_webhook(signed_post(&body)).unwrap();
    match &out.events[0] {
        Event::Message(m) => assert_eq!(m.text, "Café 😀"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn context_replies_and_referrals() {
    let m = one(
        "text",
        json!({
            "text": {"body": "about this one"},
            "context": {"from": "15550783881", "id": "wamid.earlier"},
            "referral": {"source_url": "https://fb.me/ad", "source_id": "120", "source_type": "ad", "headline": "Spring sale", "ctwa_clid": "clid-1"}
        }),
    );
    assert_eq!(m.parent_id.as_deref(), Some("wamid.earlier"));
    assert_eq!(meta(&m, "referral_source_type").as_deref(), Some("ad"));
    assert_eq!(
        meta(&m, "referral_headline").as_deref(),
        Some("Spring sale")
    );
    assert!(meta(&m, "referral").unwrap().contains("ctwa_clid"));
}

#[test]
fn newer_payloads_without_wa_id_are_accepted() {
    let _host = host();
    let body = envelope(json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_ID},
        "contacts": [{"profile": {"name": "Kim"}, "user_id": "US.13491208655302741918", "username": "@kim"}],
        "messages": [{"from_user_id": "US.13491208655302741918", "id": "wamid.bs", "timestamp": "1749416383", "type": "text", "text": {"body": "hi"}}]
    }));
    let out = WhatsApp.handle_webhook(signed_post(&body)).unwrap();
    let Event::Message(m) = &out.events[0] else {
        panic!("{:?}", out.events)
    };
    assert_eq!(m.thread_id, "US.13491208655302741918");
    assert_eq!(m.author.name, "Kim");
    assert_eq!(m.author.handle.as_deref(), Some("@kim"));
    assert_eq!(
        meta(m, "user_id").as_deref(),
        Some("US.13491208655302741918")
    );
}

#[test]
fn batches_keep_one_thread_per_customer() {
    let _host = host();
    let body = envelope(json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_ID},
        "contacts": [{"profile": {"name": "Ann"}, "wa_id": "111"}, {"profile": {"name": "Bo"}, "wa_id": "222"}],
        "messages": [
            {"from": "111", "id": "wamid.1", "timestamp": "1749416383", "type": "text", "text": {"body": "a"}},
            {"from": "222", "id": "wamid.2", "timestamp": "1749416384", "type": "text", "text": {"body": "b"}},
            {"from": "111", "id": "wamid.3", "timestamp": "1749416385", "type": "text", "text": {"body": "c"}},
            {"timestamp": "1749416385", "type": "text"}
        ]
    }));
    let out = WhatsApp.handle_webhook(signed_post(&body)).unwrap();
    let got: Vec<_> = out
        .events
        .iter()
        .map(|e| match e {
            Event::Message(m) => (m.thread_id.clone(), m.author.name.clone(), m.text.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        got,
        [
            ("111".into(), "Ann".into(), "a".into()),
            ("222".into(), "Bo".into(), "b".into()),
            ("111".into(), "Ann".into(), "c".into())
        ]
    );
}

// ---------------------------------------------------------------- statuses

#[test]
fn statuses_become_delivery_events() {
    let _host = host();
    let status = |s: &str, extra: Value| {
        let mut v = json!({"id": "wamid.sent1", "status": s, "timestamp": "1749416400", "recipient_id": "16505551234",
            "conversation": {"id": "c1", "origin": {"type": "service"}}, "pricing": {"billable": true, "category": "service"}});
        if let (Value::Object(v), Value::Object(e)) = (&mut v, extra) {
            v.extend(e);
        }
        v
    };
    let body = envelope(json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_ID},
        "statuses": [
            status("sent", json!({})),
            status("delivered", json!({})),
            status("read", json!({})),
            status("failed", json!({"errors": [{"code": 131047, "title": "Re-engagement message", "message": "Re-engagement message",
                "error_data": {"details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."}}]})),
            status("deleted", json!({}))
        ]
    }));
    let out = WhatsApp.handle_webhook(signed_post(&body)).unwrap();
    assert_eq!(out.response.status, 200);
    let got: Vec<_> = out
        .events
        .iter()
        .map(|e| match e {
            Event::Delivery(d) => d.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(got.len(), 4);
    assert_eq!(
        got.iter().map(|d| d.state).collect::<Vec<_>>(),
        [
            DeliveryState::Sent,
            DeliveryState::Delivered,
            DeliveryState::Read,
            DeliveryState::Failed
        ]
    );
    assert!(got.iter().all(|d| d.platform_message_id == "wamid.sent1"));
    assert!(got.iter().all(|d| d.at == 1_749_416_400_000));
    assert_eq!(got[0].error, None);
    let error = got[3].error.as_deref().unwrap();
    assert!(
        error.starts_with("131047: Re-engagement message"),
        "{error}"
    );
    assert!(error.contains("24 hours"), "{error}");
}

// ---------------------------------------------------------------- send

fn reply(text: &str, last_customer_at: Option<i64>) -> Outbound {
    Outbound {
        reply_to: Some("wamid.in1".into()),
        recipient_id: Some("16505551234".into()),
        last_customer_at,
        ..Outbound::text("16505551234", Visibility::Private, text)
    }
}

fn accepted(id: &str) -> HttpResponse {
    HttpResponse::json(
        200,
        &json!({"messaging_product": "whatsapp", "contacts": [{"input": "16505551234", "wa_id": "16505551234"}], "messages": [{"id": id}]}),
    )
}

fn sent_body(host: &MockHost, i: usize) -> Value {
    serde_json::from_slice(&host.requests()[i].body).unwrap()
}

#[test]
fn text_reply_inside_the_window() {
    let host = host();
    host.on_http(|_| Ok(accepted("wamid.out1")));
    let sent = WhatsApp
        .send(reply("On its way 🚚", Some(NOW - 23 * HOUR)), "k1".into())
        .unwrap();
    assert_eq!(sent.platform_message_id, "wamid.out1");
    let req = &host.requests()[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.url, format!("{GRAPH}/{PHONE_ID}/messages"));
    assert_eq!(req.header("authorization"), Some("Bearer wa-token"));
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(
        sent_body(&host, 0),
        json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "16505551234",
            "type": "text",
            "text": {"preview_url": false, "body": "On its way 🚚"},
            "context": {"message_id": "wamid.in1"}
        })
    );
}

#[test]
fn free_text_after_24_hours_is_refused_before_sending() {
    let host = host();
    host.on_http(|_| Ok(accepted("wamid.x")));
    let err = WhatsApp
        .send(reply("hello?", Some(NOW - 25 * HOUR)), "k".into())
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Rejected(m) if m.contains("only a template can be sent")),
        "{err:?}"
    );
    assert!(host.requests().is_empty(), "nothing was sent");
    // Exactly 24 h is already too late.
    assert!(
        WhatsApp
            .send(reply("x", Some(NOW - 24 * HOUR)), "k2".into())
            .is_err()
    );
}

#[test]
fn templates_are_sent_after_24_hours() {
    let host = host();
    host.on_http(|_| Ok(accepted("wamid.tpl")));
    let mut msg = reply("", Some(NOW - 72 * HOUR));
    msg.reply_to = None;
    msg.template = Some(Template {
        name: "issue_resolution".into(),
        language: "en_US".into(),
        parameters: vec!["Ann".into(), "#1042".into()],
    });
    let sent = WhatsApp.send(msg.clone(), "t1".into()).unwrap();
    assert_eq!(sent.platform_message_id, "wamid.tpl");
    assert_eq!(
        sent_body(&host, 0),
        json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "16505551234",
            "type": "template",
            "template": {
                "name": "issue_resolution",
                "language": {"code": "en_US"},
                "components": [{"type": "body", "parameters": [
                    {"type": "text", "text": "Ann"}, {"type": "text", "text": "#1042"}
                ]}]
            }
        })
    );
    // Without parameters there are no components.
    msg.template = Some(Template {
        name: "hello_world".into(),
        language: String::new(),
        parameters: vec![],
    });
    WhatsApp.send(msg, "t2".into()).unwrap();
    let body = sent_body(&host, 1);
    assert_eq!(
        body["template"],
        json!({"name": "hello_world", "language": {"code": "en_US"}})
    );
}

#[test]
fn blocked_regions_are_never_messaged() {
    let host = host();
    host.on_http(|_| Ok(accepted("wamid.x")));
    for (number, region) in [
        ("5352345678", "Cuba"),
        ("+989121234567", "Iran"),
        ("850191234567", "North Korea"),
        ("963944123456", "Syria"),
        ("79781234567", "Crimea"),
    ] {
        let mut msg = reply("hi", Some(NOW));
        msg.recipient_id = Some(number.into());
        msg.thread_id = number.into();
        let err = WhatsApp
            .send(msg, format!("k-{number}").into())
            .unwrap_err();
        assert!(
            matches!(&err, ConnectorError::Rejected(m) if m.contains(region) && m.contains("not allowed")),
            "{number}: {err:?}"
        );
        // Templates too.
        let mut tpl = reply("", Some(NOW));
        tpl.recipient_id = Some(number.into());
        tpl.template = Some(Template {
            name: "hello_world".into(),
            language: "en_US".into(),
            parameters: vec![],
        });
        assert!(WhatsApp.send(tpl, format!("t-{number}").into()).is_err());
    }
    assert!(host.requests().is_empty());
    // Russia outside Crimea and other numbers are fine.
    let mut ok = reply("hi", Some(NOW));
    ok.recipient_id = Some("79161234567".into());
    WhatsApp.send(ok, "ru".into()).unwrap();
    assert_eq!(host.requests().len(), 1);
}

#[test]
fn recipient_defaults_to_the_thread() {
    let host = host();
    host.on_http(|_| Ok(accepted("wamid.y")));
    let mut msg = reply("hi", None);
    msg.recipient_id = None;
    msg.reply_to = None;
    WhatsApp.send(msg, "k".into()).unwrap();
    let body = sent_body(&host, 0);
    assert_eq!(body["to"], "16505551234");
    assert!(body.get("context").is_none());
}

#[test]
fn send_is_idempotent_per_key() {
    let host = host();
    let mut n = 0;
    host.on_http(move |_| {
        n += 1;
        Ok(accepted(&format!("wamid.{n}")))
    });
    let a = WhatsApp
        .send(reply("once", Some(NOW)), "same".into())
        .unwrap();
    let b = WhatsApp
        .send(reply("once", Some(NOW)), "same".into())
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(host.requests().len(), 1);
    let c = WhatsApp
        .send(reply("once", Some(NOW)), "other".into())
        .unwrap();
    assert_eq!(c.platform_message_id, "wamid.2");
    assert_eq!(host.kv_keys(), ["sent/other", "sent/same"]);
}

fn cloud_error(status: u16, code: i64, message: &str, details: &str) -> HttpResponse {
    HttpResponse::json(
        status,
        &json!({"error": {"message": message, "type": "OAuthException", "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details}, "fbtrace_id": "Ax"}}),
    )
}

fn send_error(resp: Result<HttpResponse, HttpError>) -> ConnectorError {
    let host = host();
    host.on_http(move |_| resp.clone());
    let err = WhatsApp
        .send(reply("x", Some(NOW)), "k".into())
        .unwrap_err();
    assert!(host.kv_keys().is_empty(), "a failed send is not remembered");
    err
}

#[test]
fn graph_errors_are_mapped() {
    let err = send_error(Ok(cloud_error(
        400,
        131047,
        "(#131047) Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
    )));
    assert!(
        matches!(&err, ConnectorError::Rejected(m) if m.starts_with("131047: Re-engagement message") && m.contains("template")),
        "{err:?}"
    );
    for (code, ms) in [(130429, 1_000), (131056, 6_000), (4, 60_000)] {
        let err = send_error(Ok(cloud_error(400, code, "(#x) Rate limit hit", "")));
        assert_eq!(err, ConnectorError::RateLimited(ms), "code {code}");
    }
    // The app rate limit comes as HTTP 429 with code 4 (as the emulator answers it).
    let err = send_error(Ok(cloud_error(
        429,
        4,
        "(#4) Application request limit reached",
        "Too many API calls were made by this app in a short period of time. Wait and retry.",
    )));
    assert_eq!(err, ConnectorError::RateLimited(60_000));
    let err = send_error(Ok(cloud_error(
        401,
        190,
        "Error validating access token: Session has expired",
        "",
    )));
    assert!(
        matches!(&err, ConnectorError::Unauthorized(m) if m.contains("190")),
        "{err:?}"
    );
    let err = send_error(Ok(cloud_error(500, 131000, "Something went wrong", "")));
    assert!(matches!(err, ConnectorError::Transient(_)), "{err:?}");
    let err = send_error(Ok(HttpResponse::text(503, "unavailable")));
    assert!(matches!(err, ConnectorError::Transient(_)), "{err:?}");
    let err = send_error(Err("connection refused".into()));
    assert!(matches!(err, ConnectorError::Transient(_)), "{err:?}");
    let err = send_error(Ok(cloud_error(
        400,
        131026,
        "(#131026) Message Undeliverable",
        "",
    )));
    assert!(
        matches!(&err, ConnectorError::Rejected(m) if m.starts_with("131026: Message Undeliverable")),
        "{err:?}"
    );
    let err = send_error(Ok(HttpResponse::json(
        200,
        &json!({"messaging_product": "whatsapp"}),
    )));
    assert!(matches!(err, ConnectorError::Rejected(_)), "{err:?}");
}

/// The mapping every Meta connector shares (`switchboard_sdk::meta::check`): a bare 403
/// refuses the credentials, every business-use-case rate limit waits, and the token never
/// reaches an error.
#[test]
fn graph_errors_follow_the_shared_meta_mapping() {
    let err = send_error(Ok(HttpResponse::text(403, "Forbidden")));
    assert!(matches!(err, ConnectorError::Unauthorized(_)), "{err:?}");
    let err = send_error(Ok(cloud_error(401, 100, "Invalid OAuth access token", "")));
    assert!(matches!(err, ConnectorError::Unauthorized(_)), "{err:?}");
    for code in [80001, 80007, 80008] {
        let err = send_error(Ok(cloud_error(400, code, "(#80007) Rate limit hit", "")));
        assert_eq!(err, ConnectorError::RateLimited(60_000), "code {code}");
    }
    let err = send_error(Ok(cloud_error(
        400,
        190,
        "Malformed access token wa-token",
        "",
    )));
    assert!(
        matches!(&err, ConnectorError::Unauthorized(m) if !m.contains("wa-token") && m.contains("[the token]")),
        "{err:?}"
    );
}

#[test]
fn empty_or_oversized_text_is_refused() {
    let host = host();
    host.on_http(|_| Ok(accepted("wamid.x")));
    assert!(WhatsApp.send(reply("  ", Some(NOW)), "a".into()).is_err());
    assert!(
        WhatsApp
            .send(reply(&"x".repeat(4097), Some(NOW)), "b".into())
            .is_err()
    );
    assert!(host.requests().is_empty());
}

// ---------------------------------------------------------------- reply window

#[test]
fn reply_window_follows_the_24_hour_rule() {
    let _host = host();
    let open = WhatsApp.reply_window(Visibility::Private, Some(NOW - 2 * HOUR), NOW);
    assert!(open.free_form && open.templates);
    assert_eq!(open.until, Some(NOW + 22 * HOUR));
    assert_eq!(open.note, None);

    let closed = WhatsApp.reply_window(Visibility::Private, Some(NOW - 25 * HOUR), NOW);
    assert!(!closed.free_form && closed.templates);
    assert_eq!(closed.until, None);
    assert!(closed.note.unwrap().contains("template"));

    let edge = WhatsApp.reply_window(Visibility::Private, Some(NOW - 24 * HOUR), NOW);
    assert!(!edge.free_form);

    let never = WhatsApp.reply_window(Visibility::Private, None, NOW);
    assert!(!never.free_form && never.templates && never.note.is_some());
}

#[test]
fn describe_labels_every_key() {
    for key in WhatsApp.describe().config_keys {
        let label = key.label.as_deref().unwrap_or_default();
        assert!(
            !label.is_empty() && label.split(' ').count() <= 4,
            "{}",
            key.name
        );
        assert!(key.where_to_find.is_some(), "{}", key.name);
    }
}

mod credentials;
mod fuzz;
mod kinds;
mod media;
mod sending;
mod templates;
