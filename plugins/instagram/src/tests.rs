//! Native unit tests against the SDK's mock host, from realistic payloads in `tests/`.

use serde_json::{Value, json};
use switchboard_sdk::meta::signature;
use switchboard_sdk::testing::MockHost;
use switchboard_sdk::{
    Capability, Connector, ConnectorError, DeliveryState, Event, HttpRequest, HttpResponse,
    Message, Outbound, Visibility,
};

use crate::Instagram;

mod media;

const IG: &str = "17841400000000001";
const SECRET: &str = "demo-app-secret";
const TOKEN: &str = "IGQ-secret-token";
const GRAPH: &str = "http://graph.test/v21.0";
const CUSTOMER: &str = "1234567890123456";
const NOW: i64 = 1_742_667_610_000;
const HOUR: i64 = 60 * 60 * 1000;

fn host() -> MockHost {
    let host = MockHost::new();
    host.set_config("ig_user_id", IG)
        .set_config("graph_base_url", GRAPH)
        .set_secret("verify_token", "demo-verify")
        .set_secret("app_secret", SECRET)
        .set_secret("access_token", TOKEN)
        .set_now_millis(NOW);
    host
}

/// Answers the profile lookup with a name and a username; anything else with `other`.
fn graph(host: &MockHost, other: impl Fn(&HttpRequest) -> HttpResponse + 'static) {
    host.on_http(move |req| {
        if req.method == "GET"
            && req
                .url
                .contains(&format!("/{CUSTOMER}?fields=name,username"))
        {
            return Ok(HttpResponse::json(
                200,
                &json!({"id": CUSTOMER, "name": "Jane Doe", "username": "jane.doe"}),
            ));
        }
        Ok(other(req))
    });
}

fn signed(body: &str) -> HttpRequest {
    HttpRequest::new("POST", "/webhooks/instagram")
        .with_header("content-type", "application/json")
        .with_header("x-hub-signature-256", signature(SECRET, body.as_bytes()))
        .with_body(body)
}

fn deliver(body: &str) -> Vec<Event> {
    let outcome = Instagram.handle_webhook(signed(body)).unwrap();
    assert_eq!(outcome.response.status, 200);
    assert_eq!(outcome.response.body, b"EVENT_RECEIVED");
    outcome.events
}

fn only_message(events: &[Event]) -> &Message {
    match events {
        [Event::Message(m)] => m,
        other => panic!("expected one message, got {other:?}"),
    }
}

fn meta(m: &Message, key: &str) -> Option<String> {
    m.metadata
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
}

fn not_found(_: &HttpRequest) -> HttpResponse {
    HttpResponse::json(
        404,
        &json!({"error": {"message": "unexpected", "code": 100}}),
    )
}

// ---------------------------------------------------------------- describe / configure

#[test]
fn describe_declares_the_settings_with_labels_and_where_to_find() {
    let d = Instagram.describe();
    assert_eq!(d.platform, "instagram");
    assert_eq!(
        d.capabilities,
        vec![
            Capability::Webhook,
            Capability::ReplyPublic,
            Capability::ReplyPrivate,
            Capability::Delete,
            Capability::Hide
        ]
    );
    let names: Vec<_> = d.config_keys.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "ig_user_id",
            "graph_base_url",
            "verify_token",
            "app_secret",
            "access_token"
        ]
    );
    for key in &d.config_keys {
        assert!(key.label.is_some(), "{} has a label", key.name);
        assert!(key.where_to_find.is_some(), "{} says where", key.name);
    }
    let key = |n: &str| d.config_keys.iter().find(|k| k.name == n).unwrap();
    assert!(key("ig_user_id").required && !key("ig_user_id").secret);
    assert!(key("access_token").secret && key("app_secret").secret);
    assert_eq!(
        key("graph_base_url").default_value.as_deref(),
        Some("https://graph.instagram.com/v21.0")
    );
    assert!(
        key("graph_base_url")
            .description
            .contains("https://graph.facebook.com/v21.0")
    );
    assert!(d.hosts.contains(&"https://graph.instagram.com".to_string()));
}

#[test]
fn configure_requires_a_numeric_account_id() {
    let host = host();
    assert_eq!(Instagram.configure(), Ok(()));
    host.set_config("ig_user_id", "@acme");
    assert!(
        matches!(Instagram.configure(), Err(ConnectorError::InvalidConfig(m)) if m.contains("ig_user_id"))
    );
    host.remove_config("ig_user_id");
    assert!(
        matches!(Instagram.configure(), Err(ConnectorError::InvalidConfig(m)) if m.contains("ig_user_id"))
    );
}

// ---------------------------------------------------------------- webhook plumbing

#[test]
fn the_handshake_answers_the_challenge_with_the_verify_token_only() {
    let _host = host();
    let ok = Instagram
        .handle_webhook(HttpRequest::new(
            "GET",
            "/webhooks/instagram?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=demo-verify",
        ))
        .unwrap();
    assert_eq!(
        (ok.response.status, ok.response.body.as_slice()),
        (200, &b"1158201444"[..])
    );
    let bad = Instagram
        .handle_webhook(HttpRequest::new(
            "GET",
            "/webhooks/instagram?hub.mode=subscribe&hub.challenge=1&hub.verify_token=nope",
        ))
        .unwrap();
    assert_eq!(bad.response.status, 403);
}

#[test]
fn a_wrong_or_missing_signature_is_refused_without_events() {
    let _host = host();
    let body = include_str!("tests/dm_text.json");
    for req in [
        HttpRequest::new("POST", "/webhooks/instagram").with_body(body),
        HttpRequest::new("POST", "/webhooks/instagram")
            .with_header(
                "x-hub-signature-256",
                signature("another-secret", body.as_bytes()),
            )
            .with_body(body),
        // Signed, then changed.
        HttpRequest::new("POST", "/webhooks/instagram")
            .with_header("x-hub-signature-256", signature(SECRET, body.as_bytes()))
            .with_body(body.replace("green", "blue")),
    ] {
        let outcome = Instagram.handle_webhook(req).unwrap();
        assert_eq!(outcome.response.status, 401);
        assert!(outcome.events.is_empty());
    }
}

#[test]
fn another_object_is_acknowledged_and_ignored() {
    let _host = host();
    let events = deliver(r#"{"object":"page","entry":[{"id":"1","messaging":[]}]}"#);
    assert!(events.is_empty());
}

// ---------------------------------------------------------------- direct messages

#[test]
fn a_text_dm_is_a_private_message_with_the_customers_profile() {
    let host = host();
    graph(&host, not_found);
    let events = deliver(include_str!("tests/dm_text.json"));
    let m = only_message(&events);
    assert_eq!(
        m.platform_message_id,
        "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMDAxOjM0"
    );
    assert_eq!(m.thread_id, format!("igsid:{CUSTOMER}"));
    assert_eq!(m.visibility, Visibility::Private);
    assert_eq!(m.text, "Is the green jacket back in stock? 👀");
    assert_eq!(m.created_at, 1_742_667_604_000);
    assert_eq!(m.author.id, CUSTOMER);
    assert_eq!(m.author.name, "Jane Doe");
    assert_eq!(m.author.handle.as_deref(), Some("@jane.doe"));
    assert!(!m.from_business);
    // The profile is cached: a second message asks nothing.
    let asked = host.requests().len();
    deliver(include_str!("tests/dm_story_reply.json"));
    assert_eq!(host.requests().len(), asked);
    // The token went as a header, never in a URL.
    let req = &host.requests()[0];
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert!(!req.url.contains(TOKEN));
}

#[test]
fn every_attachment_kind_is_kept_and_an_unknown_one_is_explained() {
    let host = host();
    graph(&host, not_found);
    let events = deliver(include_str!("tests/dm_attachments.json"));
    let m = only_message(&events);
    let kinds: Vec<_> = m.attachments.iter().map(|a| a.kind.as_str()).collect();
    // Shares, reels and posts read as shares; a story mention is the host's own kind; the
    // unsupported one is labelled and an unknown one kept with its raw type.
    assert_eq!(
        kinds,
        [
            "image",
            "video",
            "audio",
            "file",
            "share",
            "story-mention",
            "share",
            "share",
            "unsupported_type",
            "hologram"
        ]
    );
    // Every file the host can download has its URL.
    for a in &m.attachments[..8] {
        assert!(
            a.url.as_deref().unwrap().starts_with("https://lookaside"),
            "{a:?}"
        );
    }
    assert_eq!(m.attachments[6].detail("shared"), Some("reel"));
    assert_eq!(m.attachments[6].caption.as_deref(), Some("Spring drop"));
    assert_eq!(m.attachments[7].detail("shared"), Some("post"));
    assert_eq!(
        m.attachments[7].detail("media-id"),
        Some("18000000000000008")
    );
    assert!(
        m.attachments[8]
            .caption
            .as_deref()
            .unwrap()
            .contains("open the conversation in Instagram")
    );
    let unknown = m.attachments[9].caption.as_deref().unwrap();
    assert!(unknown.contains("`hologram`"), "{unknown}");
    assert_eq!(meta(m, "story_mention").as_deref(), Some("true"));
    assert!(meta(m, "story_url").unwrap().contains("asset_id=6"));
}

#[test]
fn a_story_reply_says_which_story() {
    let host = host();
    graph(&host, not_found);
    let events = deliver(include_str!("tests/dm_story_reply.json"));
    let m = only_message(&events);
    assert_eq!(m.text, "Love this look!");
    assert_eq!(meta(m, "story_reply").as_deref(), Some("true"));
    assert_eq!(meta(m, "story_id").as_deref(), Some("17890000000000099"));
    assert!(meta(m, "story_url").unwrap().contains("asset_id=99"));
    // The story itself, for the host to keep while it lasts.
    let [story] = m.attachments.as_slice() else {
        panic!("{:?}", m.attachments)
    };
    assert_eq!(story.kind, "story-reply");
    assert!(story.url.as_deref().unwrap().contains("asset_id=99"));
    assert_eq!(story.detail("story-id"), Some("17890000000000099"));
}

#[test]
fn an_echo_is_the_business_own_message_in_the_customers_thread() {
    let host = host();
    graph(&host, not_found);
    let events = deliver(include_str!("tests/dm_echo.json"));
    let m = only_message(&events);
    assert!(m.from_business);
    assert_eq!(m.thread_id, format!("igsid:{CUSTOMER}"));
    assert_eq!(m.author.id, IG);
    assert!(
        host.requests().is_empty(),
        "no profile lookup for ourselves"
    );
}

#[test]
fn an_unsend_deletes_the_message() {
    let _host = host();
    let events = deliver(include_str!("tests/dm_unsend.json"));
    match events.as_slice() {
        [Event::Deleted(d)] => {
            assert_eq!(
                d.platform_message_id,
                "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMDAxOjM0"
            );
            assert_eq!(
                d.thread_id.as_deref(),
                Some(format!("igsid:{CUSTOMER}").as_str())
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_reaction_is_a_readable_message_about_the_reacted_one() {
    let host = host();
    graph(&host, not_found);
    let body = include_str!("tests/dm_reaction.json");
    let events = deliver(body);
    let m = only_message(&events);
    assert_eq!(m.text, "reacted ❤️ to a message");
    assert_eq!(m.parent_id.as_deref(), Some("aWdfecho1"));
    assert_eq!(meta(m, "reaction").as_deref(), Some("love"));
    assert_eq!(meta(m, "reaction_action").as_deref(), Some("react"));
    assert_eq!(meta(m, "reacted_mid").as_deref(), Some("aWdfecho1"));
    // A redelivery has the same id (stored once).
    let again = deliver(body);
    assert_eq!(
        only_message(&again).platform_message_id,
        m.platform_message_id
    );
    let unreact = body.replace(
        r#""action":"react","reaction":"love","emoji":"\u2764\ufe0f""#,
        r#""action":"unreact""#,
    );
    let events = deliver(&unreact);
    assert_eq!(
        only_message(&events).text,
        "removed their reaction to a message"
    );
}

#[test]
fn a_postback_is_a_message_with_its_title_and_a_read_is_a_receipt() {
    let host = host();
    graph(&host, not_found);
    let events = deliver(include_str!("tests/dm_postback_read.json"));
    assert_eq!(events.len(), 2);
    let Event::Message(m) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(m.text, "Track my order");
    assert_eq!(meta(m, "postback_payload").as_deref(), Some("TRACK_ORDER"));
    let Event::Delivery(d) = &events[1] else {
        panic!("{events:?}")
    };
    assert_eq!(
        (d.platform_message_id.as_str(), d.state),
        ("aWdfecho1", DeliveryState::Read)
    );
}

// ---------------------------------------------------------------- comments and mentions

#[test]
fn comments_are_public_messages_threaded_under_their_media() {
    let _host = host();
    let events = deliver(include_str!("tests/comments.json"));
    assert_eq!(events.len(), 3);
    let all: Vec<&Message> = events
        .iter()
        .map(|e| match e {
            Event::Message(m) => m,
            other => panic!("{other:?}"),
        })
        .collect();
    let c = all[0];
    assert_eq!(c.platform_message_id, "17865799348089039");
    assert_eq!(c.thread_id, "17983530433507045");
    assert_eq!(c.parent_id, None);
    assert_eq!(c.visibility, Visibility::Public);
    assert_eq!(c.text, "Do you ship to Canada? 🇨🇦");
    assert_eq!(c.author.handle.as_deref(), Some("@jane.doe"));
    assert_eq!(c.author.id, CUSTOMER);
    assert!(!c.from_business);
    assert_eq!(meta(c, "media_product_type").as_deref(), Some("FEED"));
    let ours = all[1];
    assert!(ours.from_business);
    assert_eq!(ours.parent_id.as_deref(), Some("17865799348089039"));
    let live = all[2];
    assert_eq!(meta(live, "live").as_deref(), Some("true"));
    assert_eq!(meta(live, "media_product_type").as_deref(), Some("LIVE"));
}

#[test]
fn mentions_fetch_the_comment_or_the_caption() {
    let host = host();
    host.on_http(|req| {
        let url = switchboard_sdk::http::percent_decode(&req.url);
        if url.contains("mentioned_comment.comment_id(17894227972186120)") {
            return Ok(HttpResponse::json(200, &json!({"id": IG, "mentioned_comment": {
                "id": "17894227972186120", "text": "@acme is the best", "username": "fan.one",
                "timestamp": "2025-03-22T18:20:04+0000", "from": {"id": "5555", "username": "fan.one"},
                "media": {"id": "17887498072083520", "media_product_type": "REELS"}}})));
        }
        if url.contains("mentioned_media.media_id(17887498072083521)") {
            return Ok(HttpResponse::json(200, &json!({"id": IG, "mentioned_media": {
                "id": "17887498072083521", "caption": "Outfit by @acme", "username": "fan.two",
                "timestamp": "2025-03-22T18:20:04+0000"}})));
        }
        Ok(not_found(req))
    });
    let events = deliver(include_str!("tests/mentions.json"));
    assert_eq!(events.len(), 2);
    let Event::Message(c) = &events[0] else {
        panic!()
    };
    assert_eq!(c.platform_message_id, "17894227972186120");
    assert_eq!(c.thread_id, "17887498072083520");
    assert_eq!(c.text, "@acme is the best");
    assert_eq!(c.author.handle.as_deref(), Some("@fan.one"));
    assert_eq!(meta(c, "mention").as_deref(), Some("true"));
    assert_eq!(c.visibility, Visibility::Public);
    let Event::Message(m) = &events[1] else {
        panic!()
    };
    assert_eq!(m.platform_message_id, "17887498072083521");
    assert_eq!(m.text, "Outfit by @acme");
    assert_eq!(meta(m, "mention_in").as_deref(), Some("caption"));
    assert!(host.kv_get("mention/17887498072083520").is_some());
}

#[test]
fn an_unreadable_mention_is_still_reported_without_the_token() {
    let host = host();
    host.on_http(|_| {
        Ok(HttpResponse::json(
            400,
            &json!({"error": {"code": 190, "message": format!("Malformed access token {TOKEN}")}}),
        ))
    });
    let events = deliver(include_str!("tests/mentions.json"));
    let Event::Message(m) = &events[0] else {
        panic!()
    };
    assert_eq!(meta(m, "mention_unreadable").as_deref(), Some("true"));
    assert!(!m.text.contains(TOKEN), "{}", m.text);
}

#[test]
fn a_saved_request_is_read_as_the_platform_sent_it() {
    let host = host();
    graph(&host, not_found);
    let saved: Value = serde_json::from_str(include_str!("tests/saved_request.json")).unwrap();
    let mut req = HttpRequest::new("POST", saved["path"].as_str().unwrap())
        .with_body(saved["body"].as_str().unwrap());
    for (k, v) in saved["headers"].as_object().unwrap() {
        req = req.with_header(k, v.as_str().unwrap());
    }
    let outcome = Instagram.handle_webhook(req).unwrap();
    assert_eq!(outcome.response.status, 200);
    let m = only_message(&outcome.events);
    assert_eq!(m.text, "Is the green jacket back in stock? 👀");
}

// ---------------------------------------------------------------- sending

fn dm(text: &str, last: Option<i64>) -> Outbound {
    let mut out = Outbound::text(format!("igsid:{CUSTOMER}"), Visibility::Private, text);
    out.last_customer_at = last;
    out
}

fn sent_ok(req: &HttpRequest) -> HttpResponse {
    if req.url.ends_with("/messages") {
        HttpResponse::json(
            200,
            &json!({"recipient_id": CUSTOMER, "message_id": "aWdfsent1"}),
        )
    } else {
        HttpResponse::json(200, &json!({"id": "17800000000000001"}))
    }
}

fn body(req: &HttpRequest) -> Value {
    serde_json::from_slice(&req.body).unwrap()
}

#[test]
fn a_dm_inside_24_hours_is_a_response() {
    let host = host();
    host.on_http(|r| Ok(sent_ok(r)));
    let sent = Instagram
        .send(dm("It is! 🧥", Some(NOW - HOUR)), "k1".into())
        .unwrap();
    assert_eq!(sent.platform_message_id, "aWdfsent1");
    let req = &host.requests()[0];
    assert_eq!(req.url, format!("{GRAPH}/{IG}/messages"));
    let b = body(req);
    assert_eq!(b["recipient"], json!({"id": CUSTOMER}));
    assert_eq!(b["messaging_type"], "RESPONSE");
    assert_eq!(b["message"]["text"], "It is! 🧥");
    // The same key again is not sent twice.
    Instagram
        .send(dm("It is! 🧥", Some(NOW - HOUR)), "k1".into())
        .unwrap();
    assert_eq!(host.requests().len(), 1);
}

#[test]
fn a_dm_after_24_hours_carries_the_human_agent_tag_and_after_7_days_is_refused() {
    let host = host();
    host.on_http(|r| Ok(sent_ok(r)));
    Instagram
        .send(dm("Sorry for the wait", Some(NOW - 48 * HOUR)), "k2".into())
        .unwrap();
    let b = body(&host.requests()[0]);
    assert_eq!(b["messaging_type"], "MESSAGE_TAG");
    assert_eq!(b["tag"], "HUMAN_AGENT");
    let err = Instagram
        .send(dm("Too late?", Some(NOW - 8 * 24 * HOUR)), "k3".into())
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Rejected(m) if m.contains("7 days")),
        "{err:?}"
    );
    assert_eq!(host.requests().len(), 1);

    let w = Instagram.reply_window(Visibility::Private, Some(NOW - HOUR), NOW);
    assert!(w.free_form && w.note.is_none());
    let w = Instagram.reply_window(Visibility::Private, Some(NOW - 48 * HOUR), NOW);
    assert_eq!(
        w.note.as_deref(),
        Some(switchboard_sdk::meta::HUMAN_AGENT_NOTE)
    );
    let w = Instagram.reply_window(Visibility::Private, Some(NOW - 8 * 24 * HOUR), NOW);
    assert!(!w.free_form);
    assert!(
        Instagram
            .reply_window(Visibility::Public, Some(0), NOW)
            .free_form
    );
}

#[test]
fn limits_are_1000_private_and_2200_public() {
    let _host = host();
    let limits = Instagram.reply_limits();
    let max = |v| limits.iter().find(|l| l.visibility == v).unwrap().max;
    assert_eq!(
        (max(Visibility::Private), max(Visibility::Public)),
        (1000, 2200)
    );
    let err = Instagram
        .send(dm(&"x".repeat(1001), None), "k".into())
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Rejected(m) if m.contains("1000")));
}

fn on_comment(visibility: Visibility, reply_to: Option<&str>) -> Outbound {
    let mut out = Outbound::text("17983530433507045", visibility, "Thanks!");
    out.reply_to = reply_to.map(str::to_string);
    out
}

#[test]
fn a_public_reply_goes_under_the_comment_or_on_the_media() {
    let host = host();
    host.on_http(|r| Ok(sent_ok(r)));
    let sent = Instagram
        .send(
            on_comment(Visibility::Public, Some("17865799348089039")),
            "p1".into(),
        )
        .unwrap();
    assert_eq!(sent.platform_message_id, "17800000000000001");
    let req = &host.requests()[0];
    assert_eq!(req.url, format!("{GRAPH}/17865799348089039/replies"));
    assert_eq!(req.body, b"message=Thanks%21");
    Instagram
        .send(on_comment(Visibility::Public, None), "p2".into())
        .unwrap();
    assert_eq!(
        host.requests()[1].url,
        format!("{GRAPH}/17983530433507045/comments")
    );
    // A DM thread takes no public reply.
    let err = Instagram.send(
        Outbound::text(format!("igsid:{CUSTOMER}"), Visibility::Public, "x"),
        "p3".into(),
    );
    assert!(matches!(err, Err(ConnectorError::Rejected(_))));
}

#[test]
fn a_public_reply_to_a_mention_goes_through_the_account() {
    let host = host();
    host.kv_set("mention/17887498072083520", "1");
    host.on_http(|r| Ok(sent_ok(r)));
    let mut out = Outbound::text("17887498072083520", Visibility::Public, "Thank you!");
    out.reply_to = Some("17894227972186120".into());
    Instagram.send(out, "m1".into()).unwrap();
    let req = &host.requests()[0];
    assert_eq!(req.url, format!("{GRAPH}/{IG}/mentions"));
    let form = switchboard_sdk::http::parse_form(std::str::from_utf8(&req.body).unwrap());
    assert!(form.contains(&("comment_id".into(), "17894227972186120".into())));
    assert!(form.contains(&("media_id".into(), "17887498072083520".into())));
}

#[test]
fn a_private_reply_to_a_comment_is_sent_once() {
    let host = host();
    host.on_http(|r| Ok(sent_ok(r)));
    Instagram
        .send(
            on_comment(Visibility::Private, Some("17865799348089039")),
            "r1".into(),
        )
        .unwrap();
    let b = body(&host.requests()[0]);
    assert_eq!(b["recipient"], json!({"comment_id": "17865799348089039"}));
    let err = Instagram
        .send(
            on_comment(Visibility::Private, Some("17865799348089039")),
            "r2".into(),
        )
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Rejected(m) if m.contains("already replied privately")),
        "{err:?}"
    );
    assert_eq!(host.requests().len(), 1);
    // Meta's own refusal (10900) reads the same.
    host.on_http(|_| {
        Ok(HttpResponse::json(
            400,
            &json!({"error": {"code": 10900, "message": "(#10900) Activity already replied to"}}),
        ))
    });
    let err = Instagram
        .send(
            on_comment(Visibility::Private, Some("17865799348089050")),
            "r3".into(),
        )
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Rejected(m) if m.contains("already replied privately")),
        "{err:?}"
    );
    // Only a comment takes a private reply.
    let err = Instagram
        .send(on_comment(Visibility::Private, None), "r4".into())
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Rejected(_)));
}

#[test]
fn a_window_refusal_from_instagram_is_rejected_in_its_words() {
    let host = host();
    host.on_http(|_| Ok(HttpResponse::json(400, &json!({"error": {"code": 10, "error_subcode": 2018278, "message": "(#10) This message is sent outside of allowed window."}}))));
    let err = Instagram.send(dm("hi", None), "w".into()).unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Rejected(m) if m.contains("outside of allowed window")),
        "{err:?}"
    );
}

#[test]
fn hide_and_delete_act_on_comments_only() {
    let host = host();
    host.on_http(|_| Ok(HttpResponse::json(200, &json!({"success": true}))));
    Instagram.hide("17865799348089039".into()).unwrap();
    Instagram.delete("17865799348089039".into()).unwrap();
    let reqs = host.requests();
    assert_eq!(
        (reqs[0].method.as_str(), reqs[0].url.as_str()),
        ("POST", &*format!("{GRAPH}/17865799348089039"))
    );
    assert_eq!(reqs[0].body, b"hide=true");
    assert_eq!(
        (reqs[1].method.as_str(), reqs[1].url.as_str()),
        ("DELETE", &*format!("{GRAPH}/17865799348089039"))
    );
    assert!(matches!(
        Instagram.delete("aWdfsent1".into()),
        Err(ConnectorError::Unsupported(_))
    ));
    assert_eq!(host.requests().len(), 2);
}

// ---------------------------------------------------------------- credentials

#[test]
fn check_credentials_names_the_account() {
    let host = host();
    host.on_http(|req| {
        assert_eq!(req.url, format!("{GRAPH}/me?fields=id,username,name"));
        Ok(HttpResponse::json(
            200,
            &json!({"id": IG, "username": "acme", "name": "Acme Outfitters"}),
        ))
    });
    let account = Instagram.check_credentials().unwrap();
    assert_eq!((account.id.as_str(), account.name.as_str()), (IG, "@acme"));
}

#[test]
fn a_refused_token_is_unauthorized_without_the_token() {
    let host = host();
    host.on_http(|_| {
        Ok(HttpResponse::json(400, &json!({"error": {"code": 190, "type": "OAuthException", "message": format!("Malformed access token {TOKEN}")}})))
    });
    let err = Instagram.check_credentials().unwrap_err();
    let ConnectorError::Unauthorized(m) = &err else {
        panic!("{err:?}")
    };
    assert!(!m.contains(TOKEN), "{m}");
    assert!(m.contains("access_token"), "{m}");
}

#[test]
fn a_token_of_another_account_is_invalid_config_naming_ig_user_id() {
    let host = host();
    host.on_http(|req| {
        if req.url.contains("/me?") {
            return Ok(HttpResponse::json(
                200,
                &json!({"id": "17841400000000999", "username": "other", "name": "Other"}),
            ));
        }
        Ok(HttpResponse::json(
            400,
            &json!({"error": {"code": 190, "message": "Invalid OAuth access token"}}),
        ))
    });
    let err = Instagram.check_credentials().unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InvalidConfig(m) if m.contains("ig_user_id") && m.contains("@other")),
        "{err:?}"
    );
}

#[test]
fn a_linked_page_token_works_for_its_account() {
    let host = host();
    host.on_http(|req| {
        if req.url.contains("/me?") {
            return Ok(HttpResponse::json(
                200,
                &json!({"id": "1001", "name": "Acme Outfitters"}),
            ));
        }
        Ok(HttpResponse::json(
            200,
            &json!({"id": IG, "username": "acme", "name": "Acme Outfitters"}),
        ))
    });
    let account = Instagram.check_credentials().unwrap();
    assert_eq!(account.name, "@acme");
    assert_eq!(account.warnings.len(), 1);
}
