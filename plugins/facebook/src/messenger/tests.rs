//! Messenger: webhook parsing, reply windows, sends and private replies (mock host).
//!
//! Payload shapes follow Meta's public webhook references (facts, not copied text):
//! `messages` (https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/messages),
//! `messaging_referrals` (https://developers.facebook.com/documentation/business-messaging/messenger-platform/webhooks/webhook-events/messaging_referrals)
//! and ../shared/reference/platform-apis.md.

use serde_json::json;
use switchboard_sdk::meta::signature as meta_signature;
use switchboard_sdk::testing::MockHost;
use switchboard_sdk::{
    Connector, ConnectorError, DeliveryState, Event, HttpRequest, HttpResponse, Message, Outbound,
    Visibility,
};

use super::{DAY_MS, WEEK_MS};
use crate::Facebook;
use switchboard_sdk::meta::HUMAN_AGENT_NOTE;

mod media;

const PAGE: &str = "448242228374517";
const SECRET: &str = "app-secret-1";
const GRAPH: &str = "http://graph.test/v19.0";
const NOW: i64 = 1_800_000_000_000;
const PSID: &str = "6543210987654321";

fn host() -> MockHost {
    let host = MockHost::new();
    host.set_config("page_id", PAGE)
        .set_config("graph_base_url", GRAPH)
        .set_secret("app_secret", SECRET)
        .set_secret("access_token", "tok")
        .set_now_millis(NOW);
    host
}

/// A host whose Graph API knows the customer's profile.
fn host_with_profile() -> MockHost {
    let host = host();
    host.on_http(|req| {
        assert_eq!(req.method, "GET", "{}", req.url);
        Ok(HttpResponse::json(
            200,
            &json!({"first_name": "Ann", "last_name": "Lee", "id": PSID}),
        ))
    });
    host
}

fn webhook(messaging: &[serde_json::Value]) -> Vec<Event> {
    let body = json!({"object": "page", "entry": [{"id": PAGE, "time": 1458692752478i64, "messaging": messaging}]})
        .to_string();
    let req = HttpRequest::new("POST", "/webhooks/facebook")
        .with_header(
            "x-hub-signature-256",
            meta_signature(SECRET, body.as_bytes()),
        )
        .with_body(body);
    let out = Facebook.handle_webhook(req).unwrap();
    assert_eq!(out.response.status, 200);
    out.events
}

fn only_message(events: &[Event]) -> &Message {
    assert_eq!(events.len(), 1, "{events:?}");
    match &events[0] {
        Event::Message(m) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

fn from_customer(message: serde_json::Value) -> serde_json::Value {
    json!({"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": 1458692752478i64, "message": message})
}

// ---------------------------------------------------------------- inbound

#[test]
fn a_text_message_is_a_private_message_in_the_psid_thread() {
    let host = host_with_profile();
    let events = webhook(&[from_customer(
        json!({"mid": "mid.1457764197618:41d1", "text": "hello \u{1f600}"}),
    )]);
    let m = only_message(&events);
    assert_eq!(m.platform_message_id, "mid.1457764197618:41d1");
    assert_eq!(m.thread_id, format!("psid:{PSID}"));
    assert_eq!(m.visibility, Visibility::Private);
    assert_eq!(m.author.id, PSID);
    assert_eq!(m.author.name, "Ann Lee");
    assert_eq!(m.text, "hello 😀");
    assert_eq!(m.created_at, 1_458_692_752_478);
    assert_eq!(m.parent_id, None);
    assert!(!m.from_business);
    assert!(m.metadata.is_empty());
    // The profile was asked once, then cached.
    let reqs = host.requests();
    assert_eq!(
        reqs[0].url,
        format!("{GRAPH}/{PSID}?fields=first_name,last_name,name")
    );
    assert_eq!(reqs[0].header("authorization"), Some("Bearer tok"));
    webhook(&[from_customer(json!({"mid": "m2", "text": "again"}))]);
    assert_eq!(host.requests().len(), 1);
}

#[test]
fn attachments_and_reply_to() {
    let _host = host_with_profile();
    let events = webhook(&[from_customer(json!({
        "mid": "m_2",
        "reply_to": {"mid": "m_1"},
        "attachments": [
            {"type": "image", "payload": {"url": "https://scontent.test/a.jpg"}},
            {"type": "video", "payload": {"url": "https://video.test/b.mp4"}},
            {"type": "audio", "payload": {"url": "https://cdn.test/c.mp4"}},
            {"type": "file", "payload": {"url": "https://cdn.test/d.pdf"}},
            {"type": "fallback"}
        ]
    }))]);
    let m = only_message(&events);
    assert_eq!(m.parent_id.as_deref(), Some("m_1"));
    assert_eq!(m.text, "");
    let kinds: Vec<_> = m
        .attachments
        .iter()
        .map(|a| (a.kind.as_str(), a.url.as_deref()))
        .collect();
    // A fallback without a payload is kept too: nothing the customer sent is dropped.
    assert_eq!(
        kinds,
        [
            ("image", Some("https://scontent.test/a.jpg")),
            ("video", Some("https://video.test/b.mp4")),
            ("audio", Some("https://cdn.test/c.mp4")),
            ("file", Some("https://cdn.test/d.pdf")),
            ("fallback", None)
        ]
    );
    assert_eq!(m.attachments[3].file_name.as_deref(), Some("d.pdf"));
}

#[test]
fn an_echo_of_our_own_send_is_from_the_business_in_the_customers_thread() {
    let host = host();
    let events = webhook(&[json!({
        "sender": {"id": PAGE}, "recipient": {"id": PSID}, "timestamp": 1458692752478i64,
        "message": {"mid": "m_echo", "text": "we are on it", "is_echo": true, "app_id": 1517776481860111i64}
    })]);
    let m = only_message(&events);
    assert!(m.from_business);
    assert_eq!(m.thread_id, format!("psid:{PSID}"));
    assert_eq!(m.author.id, PAGE);
    assert_eq!(m.platform_message_id, "m_echo");
    // No profile lookup for our own messages.
    assert!(host.requests().is_empty());
}

#[test]
fn ad_referrals_become_metadata_on_the_message_and_on_the_next_one() {
    let _host = host_with_profile();
    let referral =
        json!({"ref": "spring", "ad_id": 6045246247433i64, "source": "ADS", "type": "OPEN_THREAD"});
    let mut msg = from_customer(json!({"mid": "m_ad", "text": "is it in stock?"}));
    msg["message"]["referral"] = referral.clone();
    let events = webhook(&[msg]);
    let expected = vec![
        ("referral_ref".to_string(), "spring".to_string()),
        ("referral_ad_id".to_string(), "6045246247433".to_string()),
        ("referral_source".to_string(), "ADS".to_string()),
        ("referral_type".to_string(), "OPEN_THREAD".to_string()),
    ];
    assert_eq!(only_message(&events).metadata, expected);

    // The referral next to the message (messaging level) is taken too.
    let mut msg = from_customer(json!({"mid": "m_ad2", "text": "hi"}));
    msg["referral"] = referral.clone();
    assert_eq!(only_message(&webhook(&[msg])).metadata, expected);

    // A referral event on its own (an existing thread reopened from an ad) yields no
    // event; the customer's next message carries it, once.
    let events = webhook(&[json!({
        "sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": 1458692752478i64,
        "referral": referral
    })]);
    assert!(events.is_empty());
    let next = webhook(&[from_customer(json!({"mid": "m_3", "text": "hello"}))]);
    assert_eq!(only_message(&next).metadata, expected);
    let after = webhook(&[from_customer(json!({"mid": "m_4", "text": "again"}))]);
    assert!(only_message(&after).metadata.is_empty());
}

#[test]
fn deliveries_reads_and_postbacks() {
    let _host = host_with_profile();
    let events = webhook(&[
        json!({"sender": {"id": PSID}, "recipient": {"id": PAGE}, "delivery": {"mids": ["m_a", "m_b"], "watermark": 1458668856253i64}}),
        json!({"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": 1458668856463i64, "read": {"watermark": 1458668856253i64}}),
        json!({"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": 1458668856463i64, "postback": {"mid": "m_pb", "title": "Talk to an agent", "payload": "AGENT"}}),
    ]);
    assert_eq!(events.len(), 3);
    for (event, mid) in events[..2].iter().zip(["m_a", "m_b"]) {
        match event {
            Event::Delivery(d) => {
                assert_eq!(d.platform_message_id, mid);
                assert_eq!(d.state, DeliveryState::Delivered);
                assert_eq!(d.at, 1_458_668_856_253);
            }
            other => panic!("expected a delivery, got {other:?}"),
        }
    }
    match &events[2] {
        Event::Message(m) => {
            assert_eq!(m.text, "Talk to an agent");
            assert_eq!(m.thread_id, format!("psid:{PSID}"));
        }
        other => panic!("expected a message, got {other:?}"),
    }
}

#[test]
fn feed_changes_and_messaging_in_one_batch() {
    let _host = host_with_profile();
    let body = json!({"object": "page", "entry": [
        {"id": PAGE, "time": 1742667607, "changes": [{"field": "feed", "value": {
            "from": {"id": "1234", "name": "Ann"}, "message": "late", "post_id": format!("{PAGE}_1"),
            "comment_id": "1_2", "parent_id": format!("{PAGE}_1"), "created_time": 1742667604,
            "item": "comment", "verb": "add"}}]},
        {"id": PAGE, "time": 1742667608, "messaging": [
            {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": 1742667608000i64,
             "message": {"mid": "m_x", "text": "dm"}}
        ]}
    ]})
    .to_string();
    let req = HttpRequest::new("POST", "/webhooks/facebook")
        .with_header(
            "x-hub-signature-256",
            meta_signature(SECRET, body.as_bytes()),
        )
        .with_body(body);
    let events = Facebook.handle_webhook(req).unwrap().events;
    let kinds: Vec<_> = events
        .iter()
        .map(|e| match e {
            Event::Message(m) => (m.platform_message_id.clone(), m.visibility),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("1_2".to_string(), Visibility::Public),
            ("m_x".to_string(), Visibility::Private)
        ]
    );
}

#[test]
fn messaging_with_a_bad_signature_is_refused() {
    let _host = host();
    let body = json!({"object": "page", "entry": [{"messaging": [from_customer(json!({"mid": "m", "text": "x"}))]}]}).to_string();
    let req = HttpRequest::new("POST", "/webhooks/facebook")
        .with_header(
            "x-hub-signature-256",
            meta_signature("nope", body.as_bytes()),
        )
        .with_body(body);
    let out = Facebook.handle_webhook(req).unwrap();
    assert_eq!(out.response.status, 401);
    assert!(out.events.is_empty());
}

// ---------------------------------------------------------------- reply windows

#[test]
fn reply_window_tiers() {
    let _host = host();
    let w = |last: Option<i64>, vis| Facebook.reply_window(vis, last, NOW);
    let fresh = w(Some(NOW - 60_000), Visibility::Private);
    assert!(fresh.free_form && fresh.note.is_none());
    assert_eq!(fresh.until, Some(NOW - 60_000 + DAY_MS));

    let tagged = w(Some(NOW - 2 * DAY_MS), Visibility::Private);
    assert!(tagged.free_form);
    assert_eq!(tagged.until, Some(NOW - 2 * DAY_MS + WEEK_MS));
    assert_eq!(tagged.note.as_deref(), Some(HUMAN_AGENT_NOTE));

    let closed = w(Some(NOW - 8 * DAY_MS), Visibility::Private);
    assert!(!closed.free_form && !closed.templates);
    assert!(closed.note.unwrap().contains("7 days"));

    let public = w(Some(NOW - 30 * DAY_MS), Visibility::Public);
    assert!(public.free_form && public.until.is_none() && public.note.is_none());
    assert!(w(None, Visibility::Private).free_form);
}

// ---------------------------------------------------------------- sending to a PSID

fn dm(text: &str, last: Option<i64>) -> Outbound {
    Outbound {
        recipient_id: Some(PSID.into()),
        reply_to: Some("m_1".into()),
        last_customer_at: last,
        ..Outbound::text(format!("psid:{PSID}"), Visibility::Private, text)
    }
}

fn sent_ok(host: &MockHost) {
    let mut n = 0;
    host.on_http(move |_| {
        n += 1;
        Ok(HttpResponse::json(
            200,
            &json!({"recipient_id": PSID, "message_id": format!("m_sent{n}")}),
        ))
    });
}

fn body_of(host: &MockHost, i: usize) -> serde_json::Value {
    serde_json::from_slice(&host.requests()[i].body).unwrap()
}

#[test]
fn a_reply_inside_24_hours_is_a_response() {
    let host = host();
    sent_ok(&host);
    let sent = Facebook
        .send(dm("On its way 🚚", Some(NOW - 3_600_000)), "k1".into())
        .unwrap();
    assert_eq!(sent.platform_message_id, "m_sent1");
    let req = &host.requests()[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.url, format!("{GRAPH}/{PAGE}/messages"));
    assert_eq!(req.header("authorization"), Some("Bearer tok"));
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(
        body_of(&host, 0),
        json!({"recipient": {"id": PSID}, "messaging_type": "RESPONSE", "message": {"text": "On its way 🚚"}})
    );
    // A retry with the same key is not sent again.
    let again = Facebook
        .send(dm("On its way 🚚", Some(NOW - 3_600_000)), "k1".into())
        .unwrap();
    assert_eq!(again, sent);
    assert_eq!(host.requests().len(), 1);
}

#[test]
fn a_reply_between_24_hours_and_7_days_carries_the_human_agent_tag() {
    let host = host();
    sent_ok(&host);
    Facebook
        .send(dm("sorry for the wait", Some(NOW - 2 * DAY_MS)), "k".into())
        .unwrap();
    assert_eq!(
        body_of(&host, 0),
        json!({"recipient": {"id": PSID}, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT", "message": {"text": "sorry for the wait"}})
    );
}

#[test]
fn a_reply_after_7_days_or_too_long_is_refused_before_sending() {
    let host = host();
    sent_ok(&host);
    let err = Facebook
        .send(dm("too late", Some(NOW - 8 * DAY_MS)), "k".into())
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Rejected(m) if m.contains("7 days")),
        "{err:?}"
    );
    let long = "x".repeat(2001);
    let err = Facebook
        .send(dm(&long, Some(NOW)), "k2".into())
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Rejected(m) if m.contains("2000")),
        "{err:?}"
    );
    // Exactly 2000 characters (multi-byte) is fine.
    Facebook
        .send(dm(&"é".repeat(2000), Some(NOW)), "k3".into())
        .unwrap();
    assert_eq!(host.requests().len(), 1);
    // A public reply in a Messenger thread makes no sense.
    let mut public = dm("x", Some(NOW));
    public.visibility = Visibility::Public;
    assert!(matches!(
        Facebook.send(public, "k4".into()),
        Err(ConnectorError::Rejected(_))
    ));
}

fn graph_error(code: i64, subcode: Option<i64>, message: &str) -> HttpResponse {
    let mut error =
        json!({"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "Ax"});
    if let Some(sub) = subcode {
        error["error_subcode"] = json!(sub);
    }
    HttpResponse::json(400, &json!({ "error": error }))
}

#[test]
fn send_api_errors_are_mapped() {
    let host = host();
    type Check = fn(&ConnectorError) -> bool;
    let cases: Vec<(HttpResponse, Check)> = vec![
        (
            graph_error(
                10,
                Some(2018278),
                "(#10) This message is sent outside of allowed window.",
            ),
            |e| matches!(e, ConnectorError::Rejected(m) if m.contains("outside of allowed window") && m.contains("2018278")),
        ),
        (
            graph_error(551, None, "This person isn't available right now."),
            |e| matches!(e, ConnectorError::Rejected(m) if m.contains("isn't available")),
        ),
        (
            graph_error(368, None, "The action attempted has been deemed abusive"),
            |e| matches!(e, ConnectorError::Rejected(_)),
        ),
        (
            graph_error(4, None, "Application request limit reached"),
            |e| matches!(e, ConnectorError::RateLimited(_)),
        ),
        (
            graph_error(613, None, "Calls to this api have exceeded the rate limit."),
            |e| matches!(e, ConnectorError::RateLimited(_)),
        ),
    ];
    for (i, (resp, ok)) in cases.into_iter().enumerate() {
        host.on_http(move |_| Ok(resp.clone()));
        let err = Facebook
            .send(dm("x", Some(NOW)), format!("e{i}").into())
            .unwrap_err();
        assert!(ok(&err), "case {i}: {err:?}");
    }
    assert!(host.kv_keys().is_empty(), "failures are not remembered");
}

// ---------------------------------------------------------------- private replies

fn private_reply(comment: &str, last: Option<i64>) -> Outbound {
    Outbound {
        reply_to: Some(comment.into()),
        recipient_id: Some("1234".into()),
        last_customer_at: last,
        ..Outbound::text(
            format!("{PAGE}_1"),
            Visibility::Private,
            "Let's sort it out here",
        )
    }
}

#[test]
fn a_private_reply_goes_to_the_comment_once() {
    let host = host();
    sent_ok(&host);
    let sent = Facebook
        .send(private_reply("1_2", Some(NOW - DAY_MS)), "p1".into())
        .unwrap();
    assert_eq!(sent.platform_message_id, "m_sent1");
    assert_eq!(host.requests()[0].url, format!("{GRAPH}/{PAGE}/messages"));
    assert_eq!(
        host.requests()[0].header("authorization"),
        Some("Bearer tok")
    );
    assert_eq!(
        body_of(&host, 0),
        json!({"recipient": {"comment_id": "1_2"}, "message": {"text": "Let's sort it out here"}})
    );
    // The same reply retried: not sent again.
    assert_eq!(
        Facebook
            .send(private_reply("1_2", Some(NOW - DAY_MS)), "p1".into())
            .unwrap(),
        sent
    );
    // Another private reply to the same comment: refused before sending.
    let err = Facebook
        .send(private_reply("1_2", Some(NOW - DAY_MS)), "p2".into())
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Rejected(m) if m.contains("already replied privately")),
        "{err:?}"
    );
    assert_eq!(host.requests().len(), 1);
    // A private reply without a comment to answer is refused.
    let mut to_post = private_reply("x", None);
    to_post.reply_to = None;
    assert!(matches!(
        Facebook.send(to_post, "p3".into()),
        Err(ConnectorError::Rejected(_))
    ));
}

#[test]
fn a_private_reply_after_7_days_is_refused_before_sending() {
    let host = host();
    sent_ok(&host);
    let err = Facebook
        .send(private_reply("1_3", Some(NOW - 8 * DAY_MS)), "p".into())
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Rejected(m) if m.contains("7 days")),
        "{err:?}"
    );
    assert!(host.requests().is_empty());
}

#[test]
fn platform_already_replied_is_mapped_and_remembered() {
    let host = host();
    host.on_http(|_| Ok(graph_error(10900, None, "Activity already replied to")));
    let err = Facebook
        .send(private_reply("1_4", Some(NOW)), "p".into())
        .unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Rejected(m) if m.contains("already replied privately") && m.contains("10900")),
        "{err:?}"
    );
    let err = Facebook
        .send(private_reply("1_4", Some(NOW)), "p2".into())
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Rejected(_)));
    assert_eq!(host.requests().len(), 1);
}

#[test]
fn the_customers_answer_to_a_private_reply_is_linked_to_the_comment() {
    let host = host();
    sent_ok(&host);
    Facebook
        .send(private_reply("1_5", Some(NOW)), "p".into())
        .unwrap();
    assert_eq!(
        host.kv_get(&format!("linked/{PSID}")),
        Some(format!("1_5 {PAGE}_1").into_bytes())
    );
    host.on_http(|_| Ok(HttpResponse::json(200, &json!({"name": "Ann Lee"}))));
    // Our own echo does not consume the link.
    let echo = webhook(&[json!({
        "sender": {"id": PAGE}, "recipient": {"id": PSID}, "timestamp": NOW,
        "message": {"mid": "m_sent1", "text": "Let's sort it out here", "is_echo": true}
    })]);
    assert!(only_message(&echo).metadata.is_empty());
    let answer = webhook(&[from_customer(
        json!({"mid": "m_answer", "text": "ok, my order is 42"}),
    )]);
    let m = only_message(&answer);
    assert_eq!(m.thread_id, format!("psid:{PSID}"));
    assert_eq!(
        m.metadata,
        vec![
            ("linked_comment_id".to_string(), "1_5".to_string()),
            ("linked_post_id".to_string(), format!("{PAGE}_1"))
        ]
    );
    // The same webhook again (its events were not stored the first time): the same link.
    let again = webhook(&[from_customer(
        json!({"mid": "m_answer", "text": "ok, my order is 42"}),
    )]);
    assert_eq!(
        only_message(&again).metadata,
        m.metadata,
        "a redelivery is linked too"
    );
    let later = webhook(&[from_customer(json!({"mid": "m_later", "text": "?"}))]);
    assert!(only_message(&later).metadata.is_empty());
}

#[test]
fn choices_go_out_as_quick_replies_on_the_message_and_messengers_limits_are_kept() {
    let host = host();
    sent_ok(&host);
    let with_choices = |titles: &[&str]| Outbound {
        list_items: titles
            .iter()
            .enumerate()
            .map(|(i, t)| switchboard_sdk::ListItem {
                id: format!("choice-{}", i + 1),
                title: (*t).into(),
            })
            .collect(),
        ..dm("Which store suits you?", Some(NOW - 60_000))
    };
    Facebook
        .send(with_choices(&["Main Street", "Harbor"]), "q1".into())
        .unwrap();
    assert_eq!(
        body_of(&host, 0)["message"],
        json!({"text": "Which store suits you?", "quick_replies": [
            {"content_type": "text", "title": "Main Street", "payload": "choice-1"},
            {"content_type": "text", "title": "Harbor", "payload": "choice-2"}]})
    );
    // Messenger's limits, refused before anything is sent.
    let long = Facebook
        .send(
            with_choices(&["A title far longer than twenty"]),
            "q2".into(),
        )
        .unwrap_err();
    assert!(
        matches!(&long, ConnectorError::Rejected(m) if m.contains("1 to 20 characters")),
        "{long:?}"
    );
    let many: Vec<String> = (1..=14).map(|i| format!("Store {i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let err = Facebook.send(with_choices(&many), "q3".into()).unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Rejected(m) if m.contains("at most 13")),
        "{err:?}"
    );
    assert_eq!(host.requests().len(), 1, "only the valid reply went out");
}
