//! Native unit tests against the SDK's mock host.

use serde_json::json;
use switchboard_sdk::HttpError;
use switchboard_sdk::meta::signature as meta_signature;
use switchboard_sdk::testing::MockHost;
use switchboard_sdk::{
    Capability, Connector, ConnectorError, Event, HttpRequest, HttpResponse, Message, Outbound,
    Visibility,
};

use crate::Facebook;

const PAGE: &str = "448242228374517";
const SECRET: &str = "app-secret-1";
const GRAPH: &str = "http://graph.test/v19.0";

fn host() -> MockHost {
    let host = MockHost::new();
    host.set_config("page_id", PAGE)
        .set_config("graph_base_url", GRAPH)
        .set_secret("verify_token", "verify-me")
        .set_secret("app_secret", SECRET)
        .set_secret("access_token", "tok en")
        .set_now_millis(1_800_000_000_000);
    host
}

fn signed_post(body: &str) -> HttpRequest {
    HttpRequest::new("POST", "/webhooks/facebook")
        .with_header("content-type", "application/json")
        .with_header(
            "x-hub-signature-256",
            meta_signature(SECRET, body.as_bytes()),
        )
        .with_body(body)
}

fn feed(changes: &[serde_json::Value]) -> String {
    let changes: Vec<_> = changes
        .iter()
        .map(|v| json!({"field": "feed", "value": v}))
        .collect();
    json!({"object": "page", "entry": [{"id": PAGE, "time": 1742667607, "changes": changes}]})
        .to_string()
}

fn comment(comment_id: &str, parent: &str, from: (&str, &str), text: &str) -> serde_json::Value {
    json!({
        "from": {"id": from.0, "name": from.1},
        "message": text,
        "post_id": format!("{PAGE}_1001"),
        "comment_id": comment_id,
        "parent_id": parent,
        "created_time": 1742667604,
        "item": "comment",
        "verb": "add"
    })
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

// ---------------------------------------------------------------- describe / configure

#[test]
fn describe_lists_settings_and_capabilities() {
    let d = Facebook.describe();
    assert_eq!(d.platform, "facebook");
    assert_eq!(
        d.capabilities,
        vec![
            Capability::Webhook,
            Capability::Poll,
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
            "page_id",
            "graph_base_url",
            "verify_token",
            "app_secret",
            "access_token",
            "post_limit"
        ]
    );
    let key = |n: &str| d.config_keys.iter().find(|k| k.name == n).unwrap();
    assert!(key("page_id").required && !key("page_id").secret);
    assert!(key("app_secret").secret && key("verify_token").secret && key("access_token").secret);
    assert_eq!(
        key("graph_base_url").default_value.as_deref(),
        Some("https://graph.facebook.com/v19.0")
    );
    assert_eq!(key("post_limit").default_value.as_deref(), Some("100"));
}

#[test]
fn configure_checks_settings() {
    let host = host();
    assert_eq!(Facebook.configure(), Ok(()));
    host.remove_config("page_id");
    assert!(matches!(
        Facebook.configure(),
        Err(ConnectorError::InvalidConfig(m)) if m.contains("page_id")
    ));
    let host = self::host();
    host.set_config("post_limit", "lots");
    assert!(matches!(
        Facebook.configure(),
        Err(ConnectorError::InvalidConfig(m)) if m.contains("post_limit")
    ));
    host.set_config("post_limit", "0");
    assert!(matches!(
        Facebook.configure(),
        Err(ConnectorError::InvalidConfig(_))
    ));
    host.set_config("post_limit", "10")
        .set_config("graph_base_url", "graph.test");
    assert!(matches!(
        Facebook.configure(),
        Err(ConnectorError::InvalidConfig(m)) if m.contains("graph_base_url")
    ));
}

#[test]
fn default_graph_url_is_used_when_unset() {
    let host = host();
    host.remove_config("graph_base_url");
    host.on_http(|_| Ok(HttpResponse::json(200, &json!({"data": []}))));
    Facebook.poll(None, 10).unwrap();
    assert!(
        host.requests()[0]
            .url
            .starts_with("https://graph.facebook.com/v19.0/448242228374517/feed?")
    );
}

// ---------------------------------------------------------------- verification handshake

fn handshake(query: &str) -> HttpResponse {
    let req = HttpRequest::new("GET", format!("/webhooks/facebook?{query}"));
    let out = Facebook.handle_webhook(req).unwrap();
    assert!(out.events.is_empty());
    out.response
}

#[test]
fn verification_handshake_echoes_the_challenge() {
    let _host = host();
    let r = handshake("hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=verify-me");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"1158201444");
}

#[test]
fn verification_handshake_refuses_wrong_token_or_mode() {
    let host = host();
    let bad = handshake("hub.mode=subscribe&hub.challenge=1&hub.verify_token=nope");
    assert_eq!(bad.status, 403);
    assert_ne!(bad.body, b"1");
    assert_eq!(handshake("hub.mode=subscribe&hub.challenge=1").status, 403);
    assert_eq!(
        handshake("hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=verify-me").status,
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

// ---------------------------------------------------------------- signatures

#[test]
fn good_signature_yields_a_comment_event() {
    let _host = host();
    let body = feed(&[comment(
        "1001_2001",
        &format!("{PAGE}_1001"),
        ("1234", "Ann"),
        "my order is late",
    )]);
    let out = Facebook.handle_webhook(signed_post(&body)).unwrap();
    assert_eq!(out.response.status, 200);
    assert_eq!(out.response.body, b"EVENT_RECEIVED");
    let msgs = messages(&out.events);
    assert_eq!(msgs.len(), 1);
    let m = msgs[0];
    assert_eq!(m.platform_message_id, "1001_2001");
    assert_eq!(m.thread_id, format!("{PAGE}_1001"));
    assert_eq!(
        m.parent_id.as_deref(),
        Some(format!("{PAGE}_1001").as_str())
    );
    assert_eq!(m.visibility, Visibility::Public);
    assert_eq!(m.author.id, "1234");
    assert_eq!(m.author.name, "Ann");
    assert_eq!(m.text, "my order is late");
    assert_eq!(m.created_at, 1_742_667_604_000);
    assert!(!m.from_business);
}

#[test]
fn missing_or_bad_signature_is_refused_without_events() {
    let host = host();
    let body = feed(&[comment("1001_2001", "p", ("1234", "Ann"), "hi")]);

    let missing = HttpRequest::new("POST", "/webhooks/facebook").with_body(body.clone());
    let out = Facebook.handle_webhook(missing).unwrap();
    assert_eq!(out.response.status, 401);
    assert!(out.events.is_empty());

    let wrong_key = HttpRequest::new("POST", "/webhooks/facebook")
        .with_header(
            "x-hub-signature-256",
            meta_signature("other", body.as_bytes()),
        )
        .with_body(body.clone());
    let out = Facebook.handle_webhook(wrong_key).unwrap();
    assert_eq!(out.response.status, 401);
    assert!(out.events.is_empty());

    // Signed, then the body was altered by one byte.
    let mut tampered = signed_post(&body);
    tampered.body = body.replace("hi", "ho").into_bytes();
    let out = Facebook.handle_webhook(tampered).unwrap();
    assert_eq!(out.response.status, 401);
    assert!(out.events.is_empty());

    let garbage = HttpRequest::new("POST", "/webhooks/facebook")
        .with_header("x-hub-signature-256", "sha1=abc")
        .with_body(body.clone());
    assert_eq!(
        Facebook.handle_webhook(garbage).unwrap().response.status,
        401
    );

    // No app secret configured: nothing can be verified, so nothing is accepted.
    host.remove_secret("app_secret");
    let out = Facebook.handle_webhook(signed_post(&body)).unwrap();
    assert_eq!(out.response.status, 401);
    assert!(out.events.is_empty());
}

#[test]
fn signature_is_checked_over_the_exact_raw_bytes() {
    let _host = host();
    // Whitespace and key order that a re-serialization would change.
    let body = format!(
        "{{ \"entry\" : [ {{\"changes\":[{{\"value\":{},\"field\":\"feed\"}}],\"id\":\"{PAGE}\"}} ],\n \"object\":\"page\" }}",
        comment("1001_2001", "p", ("1", "A"), "x")
    );
    let out = Facebook.handle_webhook(signed_post(&body)).unwrap();
    assert_eq!(out.response.status, 200);
    assert_eq!(out.events.len(), 1);
}

/// Meta delivers again whatever is not answered 2xx, and an authentic body that cannot be
/// read never will be: it is acknowledged, and dropped with an error in the log.
#[test]
fn an_unreadable_authentic_body_is_acknowledged_and_logged() {
    for body in [
        "{\"object\":\"page\",\"entry\":[",
        "not json",
        "[]",
        "\"page\"",
    ] {
        let host = host();
        let out = Facebook.handle_webhook(signed_post(body)).unwrap();
        assert_eq!(
            (out.response.status, out.response.body_text().as_str()),
            (200, "EVENT_RECEIVED"),
            "{body}"
        );
        assert!(out.events.is_empty());
        let logs = host.logs();
        assert!(
            logs.iter()
                .any(|(level, line)| *level == switchboard_sdk::Level::Error
                    && line.contains("could not be read and was dropped")),
            "{body}: {logs:?}"
        );
    }
}

/// One change or entry of a shape we cannot read costs only itself, with a warning.
#[test]
fn an_unreadable_part_leaves_the_rest_of_the_batch() {
    let host = host();
    let good = comment("1001_4000", "p", ("1", "Ann"), "kept");
    let body = json!({"object": "page", "entry": [
        {"id": PAGE, "time": {"odd": true}, "changes": [
            {"field": 7, "value": {}},
            {"field": "feed", "value": good},
            "not a change"
        ]},
        42,
        {"id": PAGE, "changes": {"field": "feed"}}
    ]})
    .to_string();
    let out = Facebook.handle_webhook(signed_post(&body)).unwrap();
    assert_eq!(out.response.status, 200);
    let got = messages(&out.events);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].text, "kept");
    let warnings: Vec<String> = host
        .logs()
        .into_iter()
        .filter(|(level, _)| *level == switchboard_sdk::Level::Warn)
        .map(|(_, line)| line)
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("1 unreadable entry left out")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("1 unreadable change left out")),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("expected a list, got an object")),
        "{warnings:?}"
    );
}

#[test]
fn other_methods_are_refused() {
    let _host = host();
    let out = Facebook
        .handle_webhook(HttpRequest::new("PUT", "/webhooks/facebook"))
        .unwrap();
    assert_eq!(out.response.status, 405);
}

// ---------------------------------------------------------------- payloads

#[test]
fn batch_of_entries_and_changes() {
    let _host = host();
    let post = json!({
        "from": {"id": "777", "name": "Bob"},
        "message": "new post",
        "post_id": format!("{PAGE}_1002"),
        "created_time": 1742667000,
        "item": "status",
        "verb": "add"
    });
    let reaction = json!({
        "from": {"id": "888", "name": "Cy"},
        "post_id": format!("{PAGE}_1002"),
        "reaction_type": "like",
        "created_time": 1742667001,
        "item": "reaction",
        "verb": "add"
    });
    let reply = comment(
        "1001_2002",
        "1001_2001",
        ("999", "Dee"),
        "reply to a comment",
    );
    let body = json!({
        "object": "page",
        "entry": [
            {"id": PAGE, "time": 1742667607, "changes": [
                {"field": "feed", "value": post},
                {"field": "feed", "value": reaction},
                {"field": "mention", "value": {"post_id": "x", "verb": "add", "item": "post"}}
            ]},
            {"id": PAGE, "time": 1742667608, "changes": [
                {"field": "feed", "value": comment("1001_2001", &format!("{PAGE}_1001"), ("1234", "Ann"), "first")},
                {"field": "feed", "value": reply},
                {"field": "feed", "value": "not an object"}
            ]}
        ]
    })
    .to_string();
    let out = Facebook.handle_webhook(signed_post(&body)).unwrap();
    assert_eq!(out.response.status, 200);
    let msgs = messages(&out.events);
    let ids: Vec<_> = msgs
        .iter()
        .map(|m| m.platform_message_id.as_str())
        .collect();
    assert_eq!(
        ids,
        [format!("{PAGE}_1002").as_str(), "1001_2001", "1001_2002"]
    );

    // A post is its own thread, with no parent.
    assert_eq!(msgs[0].thread_id, format!("{PAGE}_1002"));
    assert_eq!(msgs[0].parent_id, None);
    assert_eq!(msgs[0].created_at, 1_742_667_000_000);
    // A reply to a comment keeps the post as thread and the comment as parent.
    assert_eq!(msgs[2].thread_id, format!("{PAGE}_1001"));
    assert_eq!(msgs[2].parent_id.as_deref(), Some("1001_2001"));
}

#[test]
fn the_pages_own_comment_is_flagged() {
    let _host = host();
    let body = feed(&[
        comment(
            "1001_3001",
            &format!("{PAGE}_1001"),
            (PAGE, "Acme"),
            "Sorry, we are on it",
        ),
        comment(
            "1001_3002",
            &format!("{PAGE}_1001"),
            ("55", "Eve"),
            "thanks",
        ),
    ]);
    let out = Facebook.handle_webhook(signed_post(&body)).unwrap();
    let msgs = messages(&out.events);
    assert!(msgs[0].from_business);
    assert!(!msgs[1].from_business);
}

#[test]
fn escaped_non_ascii_text_is_decoded_exactly() {
    let _host = host();
    // Meta escapes non-ASCII as \uXXXX (emoji as a surrogate pair) in the signed body.
    let body = feed(&[comment("1001_4001", "p", ("1", "Zo\u{eb}"), "PLACEHOLDER")])
        .replace("PLACEHOLDER", r"Caf\u00e9 \ud83d\ude00 \u65e5\u672c")
        .replace("Zo\u{eb}", r"Zo\u00eb");
    assert!(body.is_ascii());
    let out = Facebook.handle_webhook(signed_post(&body)).unwrap();
    let m = messages(&out.events)[0];
    assert_eq!(m.text, "Café 😀 日本");
    assert_eq!(m.author.name, "Zoë");
}

#[test]
fn raw_utf8_text_is_accepted_too() {
    let _host = host();
    let body = feed(&[comment("1001_4002", "p", ("1", "A"), "ça va 👍")]);
    let out = Facebook.handle_webhook(signed_post(&body)).unwrap();
    assert_eq!(messages(&out.events)[0].text, "ça va 👍");
}

#[test]
fn edits_and_removals() {
    let _host = host();
    let mut edited = comment("1001_2001", "p", ("1234", "Ann"), "my order is VERY late");
    edited["verb"] = json!("edited");
    let removed = json!({
        "post_id": format!("{PAGE}_1001"),
        "comment_id": "1001_2002",
        "parent_id": format!("{PAGE}_1001"),
        "from": {"id": "1234", "name": "Ann"},
        "created_time": 1742667610,
        "item": "comment",
        "verb": "remove"
    });
    let removed_post = json!({
        "post_id": format!("{PAGE}_1003"),
        "item": "post",
        "verb": "remove"
    });
    let hidden = json!({"post_id": "x", "comment_id": "y", "item": "comment", "verb": "hide"});
    let body = feed(&[edited, removed, removed_post, hidden]);
    let out = Facebook.handle_webhook(signed_post(&body)).unwrap();
    assert_eq!(out.events.len(), 3);
    match &out.events[0] {
        Event::Edited(e) => {
            assert_eq!(e.platform_message_id, "1001_2001");
            assert_eq!(
                e.thread_id.as_deref(),
                Some(format!("{PAGE}_1001").as_str())
            );
            assert_eq!(e.text, "my order is VERY late");
            assert_eq!(e.edited_at, 1_742_667_607_000);
        }
        other => panic!("expected an edit, got {other:?}"),
    }
    match &out.events[1] {
        Event::Deleted(d) => {
            assert_eq!(d.platform_message_id, "1001_2002");
            assert_eq!(
                d.thread_id.as_deref(),
                Some(format!("{PAGE}_1001").as_str())
            );
            assert_eq!(d.deleted_at, 1_742_667_607_000);
        }
        other => panic!("expected a deletion, got {other:?}"),
    }
    match &out.events[2] {
        Event::Deleted(d) => assert_eq!(d.platform_message_id, format!("{PAGE}_1003")),
        other => panic!("expected a deletion, got {other:?}"),
    }
}

#[test]
fn iso_created_time_and_numeric_ids_are_accepted() {
    let _host = host();
    let value = json!({
        "from": {"id": 1234, "name": "Ann"},
        "message": "iso",
        "post_id": format!("{PAGE}_1001"),
        "comment_id": "1001_5001",
        "created_time": "2024-01-15T12:03:00+0000",
        "item": "comment",
        "verb": "add"
    });
    let out = Facebook
        .handle_webhook(signed_post(&feed(&[value])))
        .unwrap();
    let m = messages(&out.events)[0];
    assert_eq!(m.created_at, 1_705_320_180_000);
    assert_eq!(m.author.id, "1234");
    // No parent_id on a comment: it is a top-level comment of the post.
    assert_eq!(
        m.parent_id.as_deref(),
        Some(format!("{PAGE}_1001").as_str())
    );
}

#[test]
fn photo_posts_carry_attachments() {
    let _host = host();
    let value = json!({
        "from": {"id": "7", "name": "Al"},
        "post_id": format!("{PAGE}_1009"),
        "photo": "https://scontent.test/p.jpg",
        "created_time": 1742667000,
        "item": "photo",
        "verb": "add"
    });
    let out = Facebook
        .handle_webhook(signed_post(&feed(&[value])))
        .unwrap();
    let m = messages(&out.events)[0];
    assert_eq!(m.text, "");
    assert_eq!(m.attachments.len(), 1);
    assert_eq!(m.attachments[0].kind, "image");
    assert_eq!(
        m.attachments[0].url.as_deref(),
        Some("https://scontent.test/p.jpg")
    );
}

#[test]
fn non_page_objects_are_acknowledged_and_ignored() {
    let _host = host();
    let body = json!({"object": "instagram", "entry": [{"changes": [{"field": "feed", "value": comment("a", "b", ("1", "A"), "x")}]}]}).to_string();
    let out = Facebook.handle_webhook(signed_post(&body)).unwrap();
    assert_eq!(out.response.status, 200);
    assert!(out.events.is_empty());
}

// ---------------------------------------------------------------- polling

fn feed_page() -> serde_json::Value {
    json!({
        "data": [
            {
                "id": format!("{PAGE}_2"),
                "message": "second post",
                "from": {"id": PAGE, "name": "Acme"},
                "created_time": "2024-01-15T12:10:00+0000",
                "comments": {"data": [
                    {"id": "2_21", "from": {"id": "5", "name": "Ann"}, "message": "late comment \u{1f600}",
                     "created_time": "2024-01-15T12:20:00+0000"}
                ], "paging": {"cursors": {"before": "a", "after": "b"}}}
            },
            {
                "id": format!("{PAGE}_1"),
                "message": "first post",
                "from": {"id": PAGE, "name": "Acme"},
                "created_time": "2024-01-15T12:00:00+0000",
                "comments": {"data": [
                    {"id": "1_11", "from": {"id": "5", "name": "Ann"}, "message": "top level",
                     "created_time": "2024-01-15T12:03:00+0000"},
                    {"id": "1_12", "from": {"id": PAGE, "name": "Acme"}, "message": "answer",
                     "created_time": "2024-01-15T12:05:00+0000", "parent": {"id": "1_11"}}
                ]}
            }
        ],
        "paging": {"next": "https://graph.test/next"}
    })
}

const T_1200: i64 = 1_705_320_000_000;
const T_1203: i64 = 1_705_320_180_000;
const T_1205: i64 = 1_705_320_300_000;
const T_1210: i64 = 1_705_320_600_000;
const T_1220: i64 = 1_705_321_200_000;

#[test]
fn poll_requests_the_feed_and_emits_posts_and_comments_oldest_first() {
    let host = host();
    host.on_http(|_| Ok(HttpResponse::json(200, &feed_page())));
    let result = Facebook.poll(None, 25).unwrap();

    let reqs = host.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].method, "GET");
    assert_eq!(
        reqs[0].url,
        format!(
            "{GRAPH}/{PAGE}/feed?fields=from,message,created_time,attachments{{type,media,url,title,description,target,subattachments}},comments{{from,message,created_time,parent,attachment}}&limit=25"
        )
    );
    assert_eq!(
        reqs[0].header("authorization"),
        Some("Bearer tok en"),
        "the token goes in a header, never in the URL"
    );

    let msgs = messages(&result.events);
    let ids: Vec<_> = msgs
        .iter()
        .map(|m| m.platform_message_id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            format!("{PAGE}_1").as_str(),
            "1_11",
            "1_12",
            &format!("{PAGE}_2"),
            "2_21"
        ]
    );
    let times: Vec<_> = msgs.iter().map(|m| m.created_at).collect();
    assert_eq!(times, [T_1200, T_1203, T_1205, T_1210, T_1220]);

    assert_eq!(msgs[0].thread_id, format!("{PAGE}_1"));
    assert_eq!(msgs[0].parent_id, None);
    assert!(msgs[0].from_business);
    assert_eq!(msgs[1].thread_id, format!("{PAGE}_1"));
    assert_eq!(
        msgs[1].parent_id.as_deref(),
        Some(format!("{PAGE}_1").as_str())
    );
    assert!(!msgs[1].from_business);
    assert_eq!(msgs[2].parent_id.as_deref(), Some("1_11"));
    assert!(msgs[2].from_business);
    assert_eq!(msgs[4].text, "late comment 😀");
    assert_eq!(result.next_cursor, Some(T_1220.to_string()));
}

#[test]
fn poll_cursor_advances_and_overlaps() {
    let host = host();
    host.on_http(|_| Ok(HttpResponse::json(200, &feed_page())));

    // Everything at or after the cursor is returned again: overlap is expected.
    let result = Facebook.poll(Some(T_1205.to_string()), 100).unwrap();
    let ids: Vec<_> = messages(&result.events)
        .iter()
        .map(|m| m.platform_message_id.clone())
        .collect();
    assert_eq!(
        ids,
        ["1_12".to_string(), format!("{PAGE}_2"), "2_21".to_string()]
    );
    assert_eq!(result.next_cursor, Some(T_1220.to_string()));

    // Polling again from the new cursor returns the newest item only (overlap).
    let again = Facebook.poll(result.next_cursor.clone(), 100).unwrap();
    assert_eq!(messages(&again.events)[0].platform_message_id, "2_21");
    assert_eq!(again.next_cursor, Some(T_1220.to_string()));

    // Nothing new: the cursor does not move.
    let later = (T_1220 + 1).to_string();
    let none = Facebook.poll(Some(later.clone()), 100).unwrap();
    assert!(none.events.is_empty());
    assert_eq!(none.next_cursor, Some(later));

    // Empty feed on the first poll: still no cursor.
    host.on_http(|_| Ok(HttpResponse::json(200, &json!({"data": []}))));
    let empty = Facebook.poll(None, 100).unwrap();
    assert!(empty.events.is_empty());
    assert_eq!(empty.next_cursor, None);
}

#[test]
fn poll_limit_is_capped_by_post_limit_and_token_is_optional() {
    let host = host();
    host.set_config("post_limit", "10")
        .remove_secret("access_token");
    host.on_http(|_| Ok(HttpResponse::json(200, &json!({"data": []}))));
    Facebook.poll(None, 500).unwrap();
    Facebook.poll(None, 0).unwrap();
    Facebook.poll(None, 3).unwrap();
    let urls: Vec<_> = host.requests().into_iter().map(|r| r.url).collect();
    assert!(urls[0].ends_with("&limit=10"), "{}", urls[0]);
    assert!(urls[1].ends_with("&limit=10"), "{}", urls[1]);
    assert!(urls[2].ends_with("&limit=3"), "{}", urls[2]);
    assert!(urls.iter().all(|u| !u.contains("access_token")));
    assert!(
        host.requests()
            .iter()
            .all(|r| r.header("authorization").is_none())
    );
}

#[test]
fn an_unreadable_cursor_is_treated_as_none() {
    let host = host();
    host.on_http(|_| Ok(HttpResponse::json(200, &feed_page())));
    let result = Facebook.poll(Some("garbage".into()), 100).unwrap();
    assert_eq!(result.events.len(), 5);
    assert_eq!(result.next_cursor, Some(T_1220.to_string()));
}

// ---------------------------------------------------------------- errors

fn graph_error(status: u16, code: i64, message: &str) -> HttpResponse {
    HttpResponse::json(
        status,
        &json!({"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "Ax"}}),
    )
}

fn poll_error(resp: Result<HttpResponse, HttpError>) -> ConnectorError {
    let host = host();
    host.on_http(move |_| resp.clone());
    Facebook.poll(None, 10).unwrap_err()
}

#[test]
fn graph_errors_are_mapped() {
    let err = poll_error(Ok(graph_error(400, 190, "Error validating access token")));
    assert!(
        matches!(&err, ConnectorError::Unauthorized(m) if m.contains("Error validating access token")),
        "{err:?}"
    );

    for code in [4, 17, 32, 613] {
        let err = poll_error(Ok(graph_error(
            400,
            code,
            "Application request limit reached",
        )));
        assert_eq!(err, ConnectorError::RateLimited(60_000), "code {code}");
    }

    let err = poll_error(Ok(graph_error(
        500,
        999,
        "An unexpected error has occurred",
    )));
    assert!(
        matches!(&err, ConnectorError::Transient(m) if m.contains("An unexpected error")),
        "{err:?}"
    );

    let err = poll_error(Ok(HttpResponse::text(503, "upstream unavailable")));
    assert!(
        matches!(&err, ConnectorError::Transient(m) if m.contains("503")),
        "{err:?}"
    );

    let err = poll_error(Err("connection refused".into()));
    assert!(
        matches!(&err, ConnectorError::Transient(m) if m.contains("connection refused")),
        "{err:?}"
    );

    let err = poll_error(Ok(graph_error(400, 100, "Invalid parameter")));
    assert!(
        matches!(&err, ConnectorError::Rejected(m) if m.contains("Invalid parameter")),
        "{err:?}"
    );

    let err = poll_error(Ok(graph_error(403, 200, "Permissions error")));
    assert!(
        matches!(&err, ConnectorError::Rejected(m) if m.contains("Permissions error")),
        "{err:?}"
    );

    // An error body with a 200 status is still an error.
    let err = poll_error(Ok(graph_error(200, 190, "expired")));
    assert!(matches!(err, ConnectorError::Unauthorized(_)));

    // A 200 that is not a feed.
    let err = poll_error(Ok(HttpResponse::text(200, "<html>")));
    assert!(matches!(err, ConnectorError::Transient(_)));
}

/// The mapping every Meta connector shares (`switchboard_sdk::meta::check`): a 401 is
/// unauthorized whatever its code, a bare 403 too, every business-use-case rate limit
/// waits, and as long as the answer asks.
#[test]
fn graph_errors_follow_the_shared_meta_mapping() {
    let err = poll_error(Ok(graph_error(401, 100, "Invalid OAuth access token")));
    assert!(
        matches!(&err, ConnectorError::Unauthorized(m) if m.contains("Invalid OAuth access token")),
        "{err:?}"
    );
    let err = poll_error(Ok(HttpResponse::text(403, "Forbidden")));
    assert!(matches!(err, ConnectorError::Unauthorized(_)), "{err:?}");
    for code in [80001, 80002, 80006] {
        let err = poll_error(Ok(graph_error(400, code, "There have been too many calls")));
        assert_eq!(err, ConnectorError::RateLimited(60_000), "code {code}");
    }
    let err =
        poll_error(Ok(graph_error(429, 4, "Application request limit reached")
            .with_header("Retry-After", "30")));
    assert_eq!(err, ConnectorError::RateLimited(30_000));
}

// ---------------------------------------------------------------- send / delete / hide

fn outbound(thread: &str, reply_to: Option<&str>, visibility: Visibility, text: &str) -> Outbound {
    Outbound {
        reply_to: reply_to.map(Into::into),
        ..Outbound::text(thread, visibility, text)
    }
}

#[test]
fn send_replies_under_the_comment_it_answers() {
    let host = host();
    host.on_http(|_| Ok(HttpResponse::json(200, &json!({"id": "1001_9001"}))));
    let sent = Facebook
        .send(
            outbound(
                &format!("{PAGE}_1001"),
                Some("1001_2001"),
                Visibility::Public,
                "On its way 🚚 & soon",
            ),
            "key-1".into(),
        )
        .unwrap();
    assert_eq!(sent.platform_message_id, "1001_9001");
    let req = &host.requests()[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.url, format!("{GRAPH}/1001_2001/comments"));
    assert_eq!(
        req.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let form = switchboard_sdk::http::parse_form(req.body_text().unwrap());
    assert_eq!(
        form,
        vec![("message".to_string(), "On its way 🚚 & soon".to_string()),]
    );
    assert_eq!(req.header("authorization"), Some("Bearer tok en"));
}

#[test]
fn send_without_reply_to_comments_on_the_post() {
    let host = host();
    host.on_http(|_| Ok(HttpResponse::json(200, &json!({"id": "1001_9002"}))));
    Facebook
        .send(
            outbound(&format!("{PAGE}_1001"), None, Visibility::Public, "hi"),
            "k".into(),
        )
        .unwrap();
    assert_eq!(
        host.requests()[0].url,
        format!("{GRAPH}/{PAGE}_1001/comments")
    );
}

#[test]
fn send_is_idempotent_per_key() {
    let host = host();
    let mut n = 0;
    host.on_http(move |_| {
        n += 1;
        Ok(HttpResponse::json(200, &json!({"id": format!("c{n}")})))
    });
    let msg = outbound("t", Some("c"), Visibility::Public, "once");
    let a = Facebook.send(msg.clone(), "same".into()).unwrap();
    let b = Facebook.send(msg.clone(), "same".into()).unwrap();
    assert_eq!(a, b);
    assert_eq!(host.requests().len(), 1);
    let c = Facebook.send(msg, "other".into()).unwrap();
    assert_eq!(c.platform_message_id, "c2");
}

#[test]
fn send_errors_and_private_replies() {
    let host = host();
    host.on_http(|_| Ok(graph_error(400, 100, "Invalid parameter")));
    let err = Facebook
        .send(outbound("t", None, Visibility::Public, "x"), "k".into())
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Rejected(m) if m.contains("Invalid parameter")));
    // A failed send is not remembered as sent.
    assert!(host.kv_keys().is_empty());

    // A private reply to a comment goes to the Send API; its errors are the platform's.
    let err = Facebook
        .send(
            outbound("t", Some("c"), Visibility::Private, "x"),
            "k2".into(),
        )
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Rejected(m) if m.contains("Invalid parameter")));
    assert!(host.kv_keys().is_empty());

    host.on_http(|_| Ok(HttpResponse::json(200, &json!({}))));
    let err = Facebook
        .send(outbound("t", None, Visibility::Public, "x"), "k3".into())
        .unwrap_err();
    assert!(matches!(err, ConnectorError::Rejected(_)));
}

#[test]
fn delete_and_hide() {
    let host = host();
    host.on_http(|_| Ok(HttpResponse::json(200, &json!({"success": true}))));
    Facebook.delete("1001_2001".into()).unwrap();
    Facebook.hide("1001_2002".into()).unwrap();
    let reqs = host.requests();
    assert_eq!(reqs[0].method, "DELETE");
    assert_eq!(reqs[0].url, format!("{GRAPH}/1001_2001"));
    assert_eq!(reqs[1].method, "POST");
    assert_eq!(reqs[1].url, format!("{GRAPH}/1001_2002"));
    assert_eq!(reqs[1].body, b"is_hidden=true");
    for req in &reqs {
        assert_eq!(req.header("authorization"), Some("Bearer tok en"));
    }

    host.on_http(|_| Ok(HttpResponse::json(200, &json!({"success": false}))));
    assert!(matches!(
        Facebook.hide("x".into()),
        Err(ConnectorError::Rejected(_))
    ));
    host.on_http(|_| Ok(graph_error(400, 190, "bad token")));
    assert!(matches!(
        Facebook.delete("x".into()),
        Err(ConnectorError::Unauthorized(_))
    ));
}

#[test]
fn posts_carry_their_type_for_workflows_and_comments_carry_none() {
    let _host = host();
    let question = json!({
        "from": {"id": "777", "name": "Bob"},
        "message": "Which colour should we launch next?",
        "post_id": format!("{PAGE}_1003"),
        "created_time": 1742667000,
        "item": "question",
        "verb": "add"
    });
    let reply = comment("1001_3001", "1001_1001", ("999", "Dee"), "blue");
    let body = feed(&[question, reply]);
    let out = Facebook.handle_webhook(signed_post(&body)).unwrap();
    let msgs = messages(&out.events);
    assert_eq!(
        msgs[0].metadata,
        vec![("post_type".to_string(), "question".to_string())]
    );
    assert!(msgs[1].metadata.is_empty());
}

#[test]
fn an_interrupted_public_reply_is_found_as_the_pages_own_comment_after_the_attempt() {
    let host = host();
    // Newest first: ours, a customer's with the same words, the page's same words long ago.
    host.on_http(|_| {
        Ok(HttpResponse::json(
            200,
            &json!({"data": [
                {"id": "1_30", "message": "On its way!", "created_time": "2024-01-15T12:05:01+0000",
                 "from": {"id": PAGE, "name": "Acme"}},
                {"id": "1_20", "message": "On its way!", "created_time": "2024-01-15T12:05:00+0000",
                 "from": {"id": "77", "name": "Ann"}},
                {"id": "1_10", "message": "On its way!", "created_time": "2024-01-15T11:00:00+0000",
                 "from": {"id": PAGE, "name": "Acme"}},
            ]}),
        ))
    });
    let reply = outbound(
        &format!("{PAGE}_1"),
        Some("1_5"),
        Visibility::Public,
        "On its way!",
    );
    let found = Facebook
        .find_sent(reply.clone(), "k".into(), T_1205)
        .unwrap();
    assert_eq!(
        found.map(|s| s.platform_message_id).as_deref(),
        Some("1_30")
    );
    let asked = host.requests();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].method, "GET", "only reads");
    assert!(asked[0].url.contains("/1_5/comments"), "{}", asked[0].url);

    host.on_http(|_| Ok(HttpResponse::json(200, &json!({"data": []}))));
    assert_eq!(Facebook.find_sent(reply, "k".into(), T_1205), Ok(None));
    // Messenger cannot tell.
    assert!(matches!(
        Facebook.find_sent(
            outbound("t", Some("1_5"), Visibility::Private, "x"),
            "k2".into(),
            T_1205
        ),
        Err(ConnectorError::Unsupported(_))
    ));
}

// ---------------------------------------------------------------- check_credentials

const TOKEN: &str = "EAAGsecretPageToken123";

fn credentials_host(answer: Result<HttpResponse, HttpError>) -> MockHost {
    let host = host();
    host.set_secret("access_token", TOKEN);
    host.on_http(move |_| answer.clone());
    host
}

fn assert_no_secret(err: &ConnectorError) {
    assert!(!err.message().contains(TOKEN), "secret leaked: {err:?}");
}

#[test]
fn check_credentials_reads_the_page_behind_the_token() {
    let host = credentials_host(Ok(HttpResponse::json(
        200,
        &json!({"id": PAGE, "name": "Acme Outfitters"}),
    )));
    let account = Facebook.check_credentials().unwrap();
    assert_eq!(account.id, PAGE);
    assert_eq!(account.name, "Acme Outfitters");
    assert!(account.warnings.is_empty());
    let asked = host.requests();
    assert_eq!(asked.len(), 1, "one call");
    assert_eq!(asked[0].method, "GET", "only reads");
    assert_eq!(asked[0].url, format!("{GRAPH}/me?fields=id,name"));
    assert_eq!(
        asked[0].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert!(
        !asked[0].url.contains(TOKEN),
        "the token stays out of the URL"
    );
}

#[test]
fn check_credentials_reports_a_refused_token() {
    // Graph quotes a malformed token in its message: it must not reach the administrator.
    let _host = credentials_host(Ok(graph_error(
        400,
        190,
        &format!("Malformed access token {TOKEN}"),
    )));
    let err = Facebook.check_credentials().unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Unauthorized(m) if m.contains("access_token") && m.contains("Malformed access token")),
        "{err:?}"
    );
    assert_no_secret(&err);

    let _host = credentials_host(Ok(HttpResponse::text(401, "no")));
    let err = Facebook.check_credentials().unwrap_err();
    assert!(matches!(err, ConnectorError::Unauthorized(_)), "{err:?}");
    assert_no_secret(&err);
}

#[test]
fn check_credentials_refuses_another_page_token() {
    let _host = credentials_host(Ok(HttpResponse::json(
        200,
        &json!({"id": "999", "name": "Other Page"}),
    )));
    let err = Facebook.check_credentials().unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InvalidConfig(m)
            if m.contains("`page_id`") && m.contains("999") && m.contains("Other Page") && m.contains(PAGE)),
        "{err:?}"
    );
    assert_no_secret(&err);
}

#[test]
fn check_credentials_without_a_token_or_a_network() {
    let host = credentials_host(Err("connection refused".into()));
    let err = Facebook.check_credentials().unwrap_err();
    assert!(matches!(err, ConnectorError::Transient(_)), "{err:?}");
    assert_no_secret(&err);

    host.remove_secret("access_token").clear_requests();
    let err = Facebook.check_credentials().unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InvalidConfig(m) if m.contains("access_token")),
        "{err:?}"
    );
    assert!(
        host.requests().is_empty(),
        "nothing to send without a token"
    );
}

#[test]
fn describe_labels_every_key() {
    for key in Facebook.describe().config_keys {
        let label = key.label.as_deref().unwrap_or_default();
        assert!(
            !label.is_empty() && label.split(' ').count() <= 4,
            "{}",
            key.name
        );
    }
}

mod attachments;
mod feed_pages;
mod fuzz;
