//! Native unit tests against the SDK's mock host.

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::{Value, json};
use switchboard_sdk::HttpError;
use switchboard_sdk::testing::MockHost;
use switchboard_sdk::{
    Capability, Connector, ConnectorError, Event, HttpRequest, HttpResponse, Level, Message,
    Outbound, Visibility,
};

use crate::X;
use crate::api::{base64, x_signature};

const API: &str = "http://x.test";
const NOW: i64 = 1_800_000_000_000;

fn host() -> MockHost {
    let host = MockHost::new();
    host.set_config("handles", "acme, @AcmeHelp")
        .set_config("keywords", "acmecorp, acme boots")
        .set_config("api_base_url", API)
        .set_secret("token_acme", "tok-acme")
        .set_secret("token_AcmeHelp", "tok-help")
        .set_secret("consumer_secret", "cs")
        .set_now_millis(NOW);
    host
}

fn param(req: &HttpRequest, name: &str) -> Option<String> {
    req.query_param(name)
}

fn tweet(id: &str, author: &str, text: &str) -> Value {
    json!({"id": id, "text": text, "author_id": author, "conversation_id": id,
           "created_at": "2027-01-15T08:00:00.000Z", "lang": "en"})
}

fn users() -> Value {
    json!([
        {"id": "2222", "username": "ann", "name": "Ann Lee", "public_metrics": {"followers_count": 1234}},
        {"id": "1111", "username": "acme", "name": "Acme"}
    ])
}

fn page(data: Vec<Value>) -> HttpResponse {
    let newest = data.first().map(|t| t["id"].clone()).unwrap_or(Value::Null);
    HttpResponse::json(
        200,
        &json!({"data": data, "includes": {"users": users()}, "meta": {"newest_id": newest, "result_count": 1}}),
    )
}

/// A fake X answering search with `search`, mentions and DMs empty, users by name.
fn fake(host: &MockHost, search: Vec<Value>) {
    let search = Rc::new(RefCell::new(Some(search)));
    host.on_http(move |req| {
        let path = req.path().to_string();
        if path.ends_with("/2/tweets/search/recent") {
            return Ok(page(search.borrow_mut().take().unwrap_or_default()));
        }
        if let Some(name) = path.strip_prefix(&format!("{API}/2/users/by/username/")) {
            let id = if name == "acme" { "1111" } else { "1112" };
            return Ok(HttpResponse::json(
                200,
                &json!({"data": {"id": id, "username": name, "name": name}}),
            ));
        }
        if path.contains("/mentions") || path.ends_with("/2/dm_events") {
            return Ok(HttpResponse::json(
                200,
                &json!({"meta": {"result_count": 0}}),
            ));
        }
        Ok(HttpResponse::json(
            404,
            &json!({"title": "Not Found Error", "detail": path}),
        ))
    });
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

fn search_query(host: &MockHost) -> String {
    let req = host
        .requests()
        .into_iter()
        .find(|r| r.path().ends_with("/search/recent"))
        .expect("a search request");
    param(&req, "query").unwrap()
}

/// Users by name and empty listings.
fn other(req: &HttpRequest) -> HttpResponse {
    if req.path().contains("/users/by/username/") {
        HttpResponse::json(200, &json!({"data": {"id": "1111", "username": "acme"}}))
    } else {
        HttpResponse::json(200, &json!({"meta": {"result_count": 0}}))
    }
}

// ---------------------------------------------------------------- settings

#[test]
fn describe_lists_settings_and_capabilities() {
    let d = X.describe();
    assert_eq!(d.platform, "x");
    assert_eq!(
        d.capabilities,
        vec![
            Capability::Webhook,
            Capability::Poll,
            Capability::ReplyPublic,
            Capability::ReplyPrivate,
            Capability::Delete
        ]
    );
    let names: Vec<_> = d.config_keys.iter().map(|k| k.name.as_str()).collect();
    for n in [
        "handles",
        "keywords",
        "exclusions",
        "use_handles_as_keywords",
        "languages",
        "skip_retweets",
        "message_types",
        "api_base_url",
        "bearer_token",
        "consumer_secret",
    ] {
        assert!(names.contains(&n), "{n} in {names:?}");
    }
    let key = |n: &str| d.config_keys.iter().find(|k| k.name == n).unwrap();
    assert!(key("handles").required);
    assert!(key("bearer_token").secret && key("consumer_secret").secret);
    assert_eq!(
        key("api_base_url").default_value.as_deref(),
        Some("https://api.x.com")
    );
}

#[track_caller]
fn config_error() -> String {
    match X.configure() {
        Err(ConnectorError::InvalidConfig(m)) => m,
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
}

#[test]
fn configure_validates_every_setting() {
    let host = host();
    assert_eq!(X.configure(), Ok(()));

    host.remove_config("handles");
    assert!(config_error().contains("handles"));
    host.set_config("handles", "acme, not a handle");
    assert!(config_error().contains("not a handle"));
    host.set_config("handles", "acme,ACME");
    assert!(config_error().contains("twice"));
    host.set_config("handles", "acme,other");
    assert!(config_error().contains("token_other"));
    host.set_config("handles", "acme");

    host.set_config("use_handles_as_keywords", "maybe");
    assert!(config_error().contains("use_handles_as_keywords"));
    host.set_config("use_handles_as_keywords", "yes");
    host.set_config("skip_retweets", "2");
    assert!(config_error().contains("skip_retweets"));
    host.set_config("skip_retweets", "true");

    host.set_config("languages", "en, english");
    assert!(config_error().contains("english"));
    host.set_config("languages", "any, en");
    assert!(config_error().contains("any"));
    host.set_config("languages", "en,fr,pt-BR");
    assert_eq!(X.configure(), Ok(()));

    host.set_config("message_types", "public,email");
    assert!(config_error().contains("email"));
    host.set_config("message_types", "private,compliance");
    assert_eq!(X.configure(), Ok(()));

    host.set_config("keywords", "-acme");
    assert!(config_error().contains("keywords"));
    host.set_config("message_types", "public");
    host.set_config("keywords", &"k".repeat(600));
    assert!(config_error().contains("512"));
    host.set_config("keywords", "acmecorp");

    host.set_config("api_base_url", "ftp://x");
    assert!(config_error().contains("api_base_url"));
}

// ---------------------------------------------------------------- polling

#[test]
fn query_is_built_from_the_settings() {
    let host = host();
    host.set_config("exclusions", "spam, -free stuff")
        .set_config("use_handles_as_keywords", "true")
        .set_config("languages", "en")
        .set_config("skip_retweets", "true")
        .set_config("message_types", "public");
    fake(&host, vec![]);
    X.poll(None, 5).unwrap();
    assert_eq!(
        search_query(&host),
        "(acmecorp OR \"acme boots\" OR @acme OR @AcmeHelp) -spam -\"free stuff\" lang:en -is:retweet"
    );
    let req = host
        .requests()
        .into_iter()
        .find(|r| r.path().ends_with("/search/recent"))
        .unwrap();
    assert_eq!(
        param(&req, "max_results").as_deref(),
        Some("10"),
        "clamped up to 10"
    );
    assert_eq!(
        param(&req, "tweet.fields").as_deref(),
        Some(
            "created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets,lang,attachments,entities"
        )
    );
    assert_eq!(
        param(&req, "expansions").as_deref(),
        Some("author_id,attachments.media_keys,attachments.poll_ids,referenced_tweets.id")
    );
    assert_eq!(
        param(&req, "user.fields").as_deref(),
        Some("username,name,public_metrics")
    );
    assert_eq!(req.header("authorization"), Some("Bearer tok-acme"));
    assert_eq!(param(&req, "since_id"), None);

    // Several languages: no lang: operator (filtered on our side instead); max 100.
    let host = self::host();
    host.set_config("languages", "en,fr")
        .set_config("message_types", "public")
        .set_secret("bearer_token", "app-token");
    fake(&host, vec![]);
    X.poll(None, 500).unwrap();
    assert_eq!(search_query(&host), "(acmecorp OR \"acme boots\")");
    let req = host
        .requests()
        .into_iter()
        .find(|r| r.path().ends_with("/search/recent"))
        .unwrap();
    assert_eq!(param(&req, "max_results").as_deref(), Some("100"));
    assert_eq!(req.header("authorization"), Some("Bearer app-token"));
}

#[test]
fn tweets_become_threaded_public_messages() {
    let host = host();
    host.set_config("message_types", "public");
    let mut reply = tweet("1234567892", "2222", "@acme that's late");
    reply["conversation_id"] = json!("1234567890");
    reply["in_reply_to_user_id"] = json!("1111");
    reply["referenced_tweets"] = json!([{"type": "replied_to", "id": "1234567890"}]);
    let mut newer = tweet("1234567899", "1111", "acmecorp: we're on it");
    newer["created_at"] = json!("2027-01-15T08:01:00.000Z");
    newer["referenced_posts"] = json!([{"type": "replied_to", "id": "1234567892"}]);
    newer["conversation_id"] = json!("1234567890");
    fake(&host, vec![newer, reply]);
    let result = X.poll(None, 20).unwrap();
    let msgs = messages(&result.events);
    assert_eq!(msgs.len(), 2);
    let m = msgs[0];
    assert_eq!(m.platform_message_id, "1234567892", "oldest first");
    assert_eq!(m.thread_id, "1234567890");
    assert_eq!(m.parent_id.as_deref(), Some("1234567890"));
    assert_eq!(m.visibility, Visibility::Public);
    assert_eq!(m.author.id, "2222");
    assert_eq!(m.author.name, "Ann Lee");
    assert_eq!(m.author.handle.as_deref(), Some("@ann"));
    assert_eq!(m.author.followers, Some(1234));
    assert_eq!(m.language.as_deref(), Some("en"));
    assert_eq!(
        Some(m.created_at),
        switchboard_sdk::time::parse_iso8601_millis("2027-01-15T08:00:00Z")
    );
    assert!(!m.from_business);
    assert_eq!(
        msgs[1].parent_id.as_deref(),
        Some("1234567892"),
        "referenced_posts accepted"
    );
    assert!(msgs[1].from_business, "our own handle's tweet");

    let cursor: Value = serde_json::from_str(result.next_cursor.as_deref().unwrap()).unwrap();
    assert_eq!(cursor["search"], "1234567899");

    // The next poll asks since the newest id.
    host.clear_requests();
    X.poll(result.next_cursor, 20).unwrap();
    let req = host
        .requests()
        .into_iter()
        .find(|r| r.path().ends_with("/search/recent"))
        .unwrap();
    assert_eq!(param(&req, "since_id").as_deref(), Some("1234567899"));
}

#[test]
fn client_side_filters_languages_exclusions_and_retweets() {
    let host = host();
    host.set_config("message_types", "public")
        .set_config("languages", "en,fr")
        .set_config("exclusions", "spam")
        .set_config("skip_retweets", "true");
    let mut de = tweet("13", "2222", "acmecorp gut");
    de["lang"] = json!("de");
    let mut fr = tweet("12", "2222", "acmecorp bien");
    fr["lang"] = json!("fr");
    let mut rt = tweet("14", "2222", "RT @x: acmecorp");
    rt["referenced_tweets"] = json!([{"type": "retweeted", "id": "9"}]);
    let spam = tweet("15", "2222", "acmecorp SPAM here");
    let ok = tweet("11", "2222", "acmecorp fine");
    fake(&host, vec![spam, rt, de, fr, ok]);
    let result = X.poll(None, 10).unwrap();
    let ids: Vec<_> = messages(&result.events)
        .iter()
        .map(|m| m.platform_message_id.clone())
        .collect();
    assert_eq!(ids, ["11", "12"]);
}

#[test]
fn mentions_and_dms_are_polled_per_handle_with_their_tokens() {
    let host = host();
    host.set_config("keywords", "")
        .set_config("message_types", "public,private");
    host.on_http(|req| {
        let path = req.path();
        if let Some(name) = path.strip_prefix(&format!("{API}/2/users/by/username/")) {
            let id = if name == "acme" { "1111" } else { "1112" };
            return Ok(HttpResponse::json(200, &json!({"data": {"id": id, "username": name}})));
        }
        if path == format!("{API}/2/users/1111/mentions") {
            return Ok(page(vec![tweet("500", "2222", "@acme help")]));
        }
        if path.contains("/mentions") {
            return Ok(HttpResponse::json(200, &json!({"meta": {"result_count": 0}})));
        }
        if path == format!("{API}/2/dm_events") {
            let token = req.header("authorization").unwrap();
            if token == "Bearer tok-acme" {
                return Ok(HttpResponse::json(200, &json!({"data": [
                    {"id": "700", "event_type": "MessageCreate", "text": "psst", "sender_id": "2222",
                     "dm_conversation_id": "1111-2222", "created_at": "2027-01-15T08:00:05.000Z"},
                    {"id": "701", "event_type": "MessageCreate", "text": "our answer", "sender_id": "1111",
                     "dm_conversation_id": "1111-2222", "created_at": "2027-01-15T08:00:06.000Z"}
                ], "includes": {"users": users()}})));
            }
            return Ok(HttpResponse::json(200, &json!({"data": []})));
        }
        Ok(HttpResponse::empty(404))
    });
    let result = X.poll(None, 10).unwrap();
    let msgs = messages(&result.events);
    assert_eq!(msgs.len(), 3, "{msgs:?}");
    assert_eq!(msgs[0].platform_message_id, "500");
    assert_eq!(
        msgs[0].metadata[0],
        ("source".to_string(), "mention".to_string())
    );
    let dm = msgs[1];
    assert_eq!(dm.visibility, Visibility::Private);
    assert_eq!(dm.thread_id, "1111-2222");
    assert_eq!(dm.text, "psst");
    assert_eq!(dm.author.handle.as_deref(), Some("@ann"));
    assert!(!dm.from_business);
    assert!(msgs[2].from_business, "our own DM");
    assert!(
        !host
            .requests()
            .iter()
            .any(|r| r.path().ends_with("/search/recent")),
        "no keywords: no search"
    );
    let mention_reqs: Vec<_> = host
        .requests()
        .into_iter()
        .filter(|r| r.path().contains("/mentions"))
        .collect();
    assert_eq!(mention_reqs.len(), 2);
    assert_eq!(
        mention_reqs[1].header("authorization"),
        Some("Bearer tok-help")
    );

    let cursor: Value = serde_json::from_str(result.next_cursor.as_deref().unwrap()).unwrap();
    assert_eq!(cursor["mentions"]["acme"], "500");
    assert_eq!(cursor["dm"]["acme"], "701");
    assert_eq!(
        host.kv_get("user_id/acme"),
        Some(b"1111".to_vec()),
        "ids cached"
    );

    // Same answers again: the DMs are not reported twice, the mentions ask since 500.
    host.clear_requests();
    let again = X.poll(result.next_cursor, 10).unwrap();
    assert!(
        messages(&again.events)
            .iter()
            .all(|m| m.visibility == Visibility::Public)
    );
    assert!(
        !host
            .requests()
            .iter()
            .any(|r| r.path().contains("/users/by/username/"))
    );
    let req = host
        .requests()
        .into_iter()
        .find(|r| r.path().ends_with("/1111/mentions"))
        .unwrap();
    assert_eq!(param(&req, "since_id").as_deref(), Some("500"));
}

#[test]
fn next_token_pages_are_followed() {
    let host = host();
    host.set_config("message_types", "public")
        .set_config("handles", "acme");
    host.on_http(|req| {
        if req.path().ends_with("/search/recent") {
            return Ok(match req.query_param("next_token").as_deref() {
                None => HttpResponse::json(200, &json!({"data": [tweet("30", "2222", "acmecorp c")], "meta": {"newest_id": "30", "next_token": "p2"}})),
                Some("p2") => HttpResponse::json(200, &json!({"data": [tweet("20", "2222", "acmecorp b")], "meta": {}})),
                Some(_) => HttpResponse::empty(400),
            });
        }
        Ok(other(req))
    });
    let result = X.poll(None, 10).unwrap();
    assert_eq!(messages(&result.events).len(), 2);
    let cursor: Value = serde_json::from_str(result.next_cursor.as_deref().unwrap()).unwrap();
    assert_eq!(cursor["search"], "30");
}

// ---------------------------------------------------------------- rate limits and errors

#[test]
fn a_429_blocks_every_request_until_the_reset_time() {
    let host = host();
    host.set_config("message_types", "public")
        .set_config("handles", "acme");
    let reset_s = NOW / 1000 + 90;
    host.on_http(move |req| {
        if !req.path().contains("/users/by/") {
            return Ok(HttpResponse::json(429, &json!({"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429}))
                .with_header("x-rate-limit-limit", "450")
                .with_header("x-rate-limit-remaining", "0")
                .with_header("x-rate-limit-reset", reset_s.to_string()));
        }
        Ok(other(req))
    });
    // Search and mentions are both limited: each source reports the reset.
    let limited = |result: switchboard_sdk::PollResult| {
        assert_eq!(result.sources.len(), 2, "{:?}", result.sources);
        for s in &result.sources {
            assert_eq!(s.retry_at, Some(reset_s * 1000), "{s:?}");
            assert!(
                s.error
                    .as_deref()
                    .is_some_and(|e| e.contains("Too Many Requests")),
                "{s:?}"
            );
        }
    };
    limited(X.poll(None, 10).unwrap());
    assert_eq!(
        host.kv_get("rate_limit/search"),
        Some((reset_s * 1000).to_string().into_bytes())
    );
    host.clear_requests();
    host.advance_millis(30_000);
    limited(X.poll(None, 10).unwrap());
    assert!(
        host.requests().is_empty(),
        "no request before the reset time"
    );
    host.advance_millis(60_000);
    host.clear_requests();
    let _ = X.poll(None, 10);
    assert!(
        host.requests()
            .iter()
            .any(|r| r.path().ends_with("/search/recent")),
        "asks again after the reset"
    );
}

#[test]
fn one_limited_source_does_not_hold_back_the_others() {
    let host = host();
    host.set_config("message_types", "public")
        .set_config("handles", "acme");
    let reset_s = NOW / 1000 + 600;
    host.on_http(move |req| {
        if req.path().ends_with("/search/recent") {
            return Ok(
                HttpResponse::json(429, &json!({"title": "Too Many Requests"}))
                    .with_header("x-rate-limit-reset", reset_s.to_string()),
            );
        }
        if req.path().ends_with("/mentions") {
            return Ok(page(vec![tweet("77", "2222", "@acme hi")]));
        }
        Ok(other(req))
    });
    let result = X.poll(None, 10).unwrap();
    assert_eq!(messages(&result.events).len(), 1);
    host.clear_requests();
    host.on_http(|req| Ok(other(req)));
    let again = X.poll(result.next_cursor, 10).unwrap();
    assert!(again.events.is_empty());
    assert!(
        host.requests()
            .iter()
            .all(|r| !r.path().ends_with("/search/recent"))
    );
    assert!(
        host.requests()
            .iter()
            .any(|r| r.path().ends_with("/mentions"))
    );
}

#[test]
fn remaining_zero_blocks_the_next_call_without_a_429() {
    let host = host();
    host.set_config("message_types", "public")
        .set_config("handles", "acme");
    let reset_s = NOW / 1000 + 10;
    host.on_http(move |req| {
        let resp = if req.path().ends_with("/search/recent") {
            page(vec![tweet("1", "2222", "acmecorp")])
        } else {
            other(req)
        };
        Ok(resp
            .with_header("x-rate-limit-remaining", "0")
            .with_header("x-rate-limit-reset", reset_s.to_string()))
    });
    let first = X.poll(None, 10).unwrap();
    assert_eq!(first.events.len(), 1);
    host.clear_requests();
    let second = X.poll(first.next_cursor, 10).unwrap();
    assert!(
        second
            .sources
            .iter()
            .all(|s| s.retry_at == Some(reset_s * 1000)),
        "{:?}",
        second.sources
    );
    assert!(host.requests().is_empty(), "{:?}", host.requests());
}

#[test]
fn errors_map_to_connector_errors() {
    let host = host();
    host.set_config("message_types", "public")
        .set_config("handles", "acme");
    let status = Rc::new(RefCell::new(401u16));
    let s = status.clone();
    host.on_http(move |_| {
        let code = *s.borrow();
        Ok(HttpResponse::json(code, &json!({"title": "Unauthorized", "detail": "Unauthorized", "type": "about:blank", "status": code})))
    });
    // Each source reports its error in plain words (the search is asked first).
    let search_error = || {
        let result = X.poll(None, 10).unwrap();
        let search = result.sources.iter().find(|s| s.name == "search").unwrap();
        search.error.clone().expect("the search failed")
    };
    let e = search_error();
    assert!(
        e.contains("refused the access token") && e.contains("Unauthorized"),
        "{e}"
    );
    *status.borrow_mut() = 503;
    assert!(search_error().contains("HTTP 503"));
    *status.borrow_mut() = 400;
    host.on_http(|_| Ok(HttpResponse::json(400, &json!({"title": "Invalid Request", "detail": "One or more parameters to your request was invalid.", "type": "https://api.twitter.com/2/problems/invalid-request"}))));
    let m = search_error();
    assert!(
        m.contains("Invalid Request")
            && m.contains("parameters")
            && m.contains("problems/invalid-request"),
        "{m}"
    );
    host.on_http(|_| Err("connection refused".into()));
    assert!(search_error().contains("connection refused"));
}

// ---------------------------------------------------------------- sending

fn sending_host() -> MockHost {
    let host = host();
    host.on_http(|req| {
        let path = req.path();
        if path == format!("{API}/2/tweets") && req.method == "POST" {
            let body: Value = serde_json::from_slice(&req.body).unwrap();
            let id = if req.header("authorization") == Some("Bearer tok-help") {
                "9002"
            } else {
                "9001"
            };
            return Ok(HttpResponse::json(
                201,
                &json!({"data": {"id": id, "text": body["text"]}}),
            ));
        }
        if path.starts_with(&format!("{API}/2/tweets/")) && req.method == "DELETE" {
            return Ok(HttpResponse::json(200, &json!({"data": {"deleted": true}})));
        }
        if let Some(name) = path.strip_prefix(&format!("{API}/2/users/by/username/")) {
            let id = if name == "acme" { "1111" } else { "1112" };
            return Ok(HttpResponse::json(200, &json!({"data": {"id": id}})));
        }
        if path.starts_with(&format!("{API}/2/dm_conversations/with/")) {
            return Ok(HttpResponse::json(
                201,
                &json!({"data": {"dm_conversation_id": "1111-2222", "dm_event_id": "8001"}}),
            ));
        }
        Ok(HttpResponse::empty(404))
    });
    host
}

#[test]
fn public_reply_threads_under_the_tweet_from_the_chosen_handle() {
    let host = sending_host();
    let mut out = Outbound::text("1234567890", Visibility::Public, "On it!");
    out.reply_to = Some("1234567892".into());
    let sent = X.send(out.clone(), "k1".into()).unwrap();
    assert_eq!(sent.platform_message_id, "9001");
    let req = &host.requests()[0];
    assert_eq!(req.url, format!("{API}/2/tweets"));
    assert_eq!(
        req.header("authorization"),
        Some("Bearer tok-acme"),
        "default handle"
    );
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(
        body,
        json!({"text": "On it!", "reply": {"in_reply_to_tweet_id": "1234567892"}})
    );

    // Same key again: not sent twice.
    host.clear_requests();
    assert_eq!(
        X.send(out.clone(), "k1".into())
            .unwrap()
            .platform_message_id,
        "9001"
    );
    assert!(host.requests().is_empty());

    out.from_handle = Some("@acmehelp".into());
    let sent = X.send(out.clone(), "k2".into()).unwrap();
    assert_eq!(sent.platform_message_id, "9002");
    assert_eq!(
        host.requests()[0].header("authorization"),
        Some("Bearer tok-help")
    );

    out.from_handle = Some("stranger".into());
    assert!(
        matches!(X.send(out, "k3".into()), Err(ConnectorError::Rejected(m)) if m.contains("stranger"))
    );
}

#[test]
fn private_reply_is_a_direct_message() {
    let host = sending_host();
    let out = Outbound::text("1111-2222", Visibility::Private, "Check your DMs");
    let sent = X.send(out, "k".into()).unwrap();
    assert_eq!(sent.platform_message_id, "8001");
    let req = host
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert_eq!(
        req.url,
        format!("{API}/2/dm_conversations/with/2222/messages")
    );
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(body, json!({"text": "Check your DMs"}));
}

#[test]
fn delete_uses_the_token_of_the_handle_that_sent() {
    let host = sending_host();
    let mut out = Outbound::text("1", Visibility::Public, "oops");
    out.from_handle = Some("AcmeHelp".into());
    let sent = X.send(out, "k".into()).unwrap();
    host.clear_requests();
    X.delete(sent.platform_message_id).unwrap();
    let req = &host.requests()[0];
    assert_eq!(req.method, "DELETE");
    assert_eq!(req.url, format!("{API}/2/tweets/9002"));
    assert_eq!(req.header("authorization"), Some("Bearer tok-help"));

    host.on_http(|_| {
        Ok(HttpResponse::json(
            200,
            &json!({"data": {"deleted": false}}),
        ))
    });
    assert!(matches!(
        X.delete("5".into()),
        Err(ConnectorError::Rejected(_))
    ));
    host.on_http(|_| Ok(HttpResponse::json(403, &json!({"title": "Forbidden", "detail": "You are not allowed to delete this Tweet.", "type": "about:blank"}))));
    assert!(
        matches!(X.delete("5".into()), Err(ConnectorError::Rejected(m)) if m.contains("not allowed"))
    );
}

#[test]
fn a_rate_limited_send_is_not_attempted_before_the_reset() {
    let host = host();
    let reset_s = NOW / 1000 + 5;
    host.on_http(move |_| {
        Ok(HttpResponse::json(
            429,
            &json!({"errors": [{"code": 88, "message": "Rate limit exceeded"}]}),
        )
        .with_header("x-rate-limit-reset", reset_s.to_string()))
    });
    let out = Outbound::text("1", Visibility::Public, "hi");
    assert_eq!(
        X.send(out.clone(), "a".into()),
        Err(ConnectorError::RateLimited(5_000))
    );
    host.clear_requests();
    assert_eq!(
        X.send(out, "a".into()),
        Err(ConnectorError::RateLimited(5_000))
    );
    assert!(host.requests().is_empty());
}

// ---------------------------------------------------------------- webhooks

#[test]
fn base64_and_crc() {
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foo"), "Zm9v");
    assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    let _host = host();
    let out = X
        .handle_webhook(HttpRequest::new("GET", "/webhooks/x?crc_token=abc%2B1"))
        .unwrap();
    assert_eq!(out.response.status, 200);
    let body: Value = out.response.json_body().unwrap();
    assert_eq!(body["response_token"], x_signature("cs", b"abc+1"));
    assert!(
        body["response_token"]
            .as_str()
            .unwrap()
            .starts_with("sha256=")
    );
    let missing = X
        .handle_webhook(HttpRequest::new("GET", "/webhooks/x"))
        .unwrap();
    assert_eq!(missing.response.status, 400);
}

fn signed(body: &str) -> HttpRequest {
    HttpRequest::new("POST", "/webhooks/x")
        .with_header("content-type", "application/json")
        .with_header(
            "x-twitter-webhooks-signature",
            x_signature("cs", body.as_bytes()),
        )
        .with_body(body)
}

fn activity() -> String {
    json!({
        "for_user_id": "1111",
        "tweet_create_events": [{
            "id_str": "600", "text": "@acme hello", "lang": "en", "timestamp_ms": "1800000000500",
            "in_reply_to_status_id_str": "599", "in_reply_to_user_id_str": "1111",
            "user": {"id_str": "2222", "name": "Ann Lee", "screen_name": "ann", "followers_count": 7}
        }],
        "direct_message_events": [{
            "type": "message_create", "id": "800", "created_timestamp": "1800000000600",
            "message_create": {"target": {"recipient_id": "1111"}, "sender_id": "2222", "message_data": {"text": "dm hi"}}
        }],
        "users": {"2222": {"id": "2222", "name": "Ann Lee", "screen_name": "ann"}},
        "tweet_delete_events": [{"status": {"id": "601", "user_id": "2222"}, "timestamp_ms": "1800000000700"}]
    })
    .to_string()
}

#[test]
fn signed_account_activity_events_become_events() {
    let host = host();
    host.kv_set("conversation/599", "598");
    let out = X.handle_webhook(signed(&activity())).unwrap();
    assert_eq!(out.response.status, 200);
    assert_eq!(out.events.len(), 3, "{:?}", out.events);
    let Event::Message(t) = &out.events[0] else {
        panic!()
    };
    assert_eq!(t.platform_message_id, "600");
    assert_eq!(t.thread_id, "598", "the parent's conversation");
    assert_eq!(t.parent_id.as_deref(), Some("599"));
    assert_eq!(t.author.handle.as_deref(), Some("@ann"));
    assert_eq!(t.author.followers, Some(7));
    assert_eq!(t.created_at, 1_800_000_000_500);
    let Event::Message(d) = &out.events[1] else {
        panic!()
    };
    assert_eq!(d.visibility, Visibility::Private);
    assert_eq!(d.thread_id, "1111-2222");
    assert_eq!(d.text, "dm hi");
    let Event::Deleted(del) = &out.events[2] else {
        panic!()
    };
    assert_eq!(del.platform_message_id, "601");
    assert_eq!(del.deleted_at, 1_800_000_000_700);
}

#[test]
fn webhook_events_follow_the_message_types() {
    let host = host();
    host.set_config("message_types", "public");
    let out = X.handle_webhook(signed(&activity())).unwrap();
    assert_eq!(out.events.len(), 1);
    host.set_config("message_types", "compliance");
    let out = X.handle_webhook(signed(&activity())).unwrap();
    assert!(matches!(out.events.as_slice(), [Event::Deleted(_)]));
}

#[test]
fn bad_or_missing_signatures_are_refused() {
    let host = host();
    let body = activity();
    let unsigned = HttpRequest::new("POST", "/webhooks/x").with_body(body.clone());
    assert_eq!(X.handle_webhook(unsigned).unwrap().response.status, 401);
    let forged = HttpRequest::new("POST", "/webhooks/x")
        .with_header(
            "x-twitter-webhooks-signature",
            x_signature("other", body.as_bytes()),
        )
        .with_body(body.clone());
    let out = X.handle_webhook(forged).unwrap();
    assert_eq!(out.response.status, 401);
    assert!(out.events.is_empty());
    host.remove_secret("consumer_secret");
    assert_eq!(
        X.handle_webhook(signed(&body)).unwrap().response.status,
        403
    );
}

// ---------------------------------------------------------------- keyword suspension

#[test]
fn a_flooding_keyword_is_suspended_for_three_days() {
    let host = host();
    host.set_config("message_types", "public")
        .set_config("handles", "acme");
    let next = Rc::new(RefCell::new(1000u64));
    let n = next.clone();
    host.on_http(move |req| {
        if !req.path().ends_with("/search/recent") {
            return Ok(other(req));
        }
        let q = req.query_param("query").unwrap();
        let word = if q.contains("acmecorp") {
            "acmecorp"
        } else {
            "acme boots"
        };
        let data: Vec<Value> = (0..100)
            .map(|_| {
                *n.borrow_mut() += 1;
                tweet(&n.borrow().to_string(), "2222", &format!("{word} flood"))
            })
            .rev()
            .collect();
        Ok(page(data))
    });
    // The first poll only sets the starting point; then 301 in a minute suspends.
    let mut cursor = X.poll(None, 100).unwrap().next_cursor;
    for _ in 0..3 {
        cursor = X.poll(cursor, 100).unwrap().next_cursor;
        host.advance_millis(1_000);
    }
    assert!(
        host.kv_get("suspended/acmecorp").is_none(),
        "300 is not more than 300"
    );
    cursor = X.poll(cursor, 100).unwrap().next_cursor;
    let until = host.kv_get("suspended/acmecorp").expect("suspended");
    let until: i64 = String::from_utf8(until).unwrap().parse().unwrap();
    assert_eq!(until, NOW + 3_000 + 3 * 24 * 3600 * 1000);
    assert!(host.logs().iter().any(|(l, m)| *l == Level::Error
        && m.contains("keyword suspended")
        && m.contains("acmecorp")));

    host.clear_requests();
    cursor = X.poll(cursor, 100).unwrap().next_cursor;
    assert_eq!(
        search_query(&host),
        "\"acme boots\"",
        "left out while suspended"
    );

    // An admin lifts it by deleting the key; it also expires after 3 days.
    host.kv_set("suspended/acmecorp", (NOW + 10_000).to_string());
    host.advance_millis(20_000);
    host.clear_requests();
    X.poll(cursor, 100).unwrap();
    assert_eq!(search_query(&host), "(acmecorp OR \"acme boots\")");
    assert!(host.kv_get("suspended/acmecorp").is_none());
}

#[test]
fn the_minute_slides() {
    let host = host();
    host.set_config("message_types", "public")
        .set_config("handles", "acme");
    let next = Rc::new(RefCell::new(1000u64));
    let n = next.clone();
    host.on_http(move |req| {
        if !req.path().ends_with("/search/recent") {
            return Ok(other(req));
        }
        let data: Vec<Value> = (0..100)
            .map(|_| {
                *n.borrow_mut() += 1;
                tweet(&n.borrow().to_string(), "2222", "acmecorp")
            })
            .collect();
        Ok(page(data))
    });
    let mut cursor = X.poll(None, 100).unwrap().next_cursor;
    for _ in 0..8 {
        cursor = X.poll(cursor, 100).unwrap().next_cursor;
        host.advance_millis(20_000);
    }
    assert!(
        host.kv_get("suspended/acmecorp").is_none(),
        "300 per 60 s at most"
    );
    // A sliding minute: 200 in one minute's last seconds and 200 in the next's first.
    host.set_now_millis(NOW + 3_600_000 - 2_000);
    cursor = X.poll(cursor, 100).unwrap().next_cursor;
    cursor = X.poll(cursor, 100).unwrap().next_cursor;
    host.advance_millis(3_000);
    cursor = X.poll(cursor, 100).unwrap().next_cursor;
    assert!(host.kv_get("suspended/acmecorp").is_none());
    X.poll(cursor, 100).unwrap();
    assert!(
        host.kv_get("suspended/acmecorp").is_some(),
        "400 within 4 s across a minute boundary"
    );
}

// ---------------------------------------------------------------- filtered stream

/// A fake X holding the stream rules `rules` (id, value, tag); answers GET/POST rules.
fn fake_rules(host: &MockHost, rules: Vec<(&str, &str, &str)>) -> Rc<RefCell<Vec<Value>>> {
    let store: Rc<RefCell<Vec<Value>>> = Rc::new(RefCell::new(
        rules
            .into_iter()
            .map(|(id, value, tag)| json!({"id": id, "value": value, "tag": tag}))
            .collect(),
    ));
    let s = store.clone();
    host.on_http(move |req| {
        if !req.path().ends_with("/2/tweets/search/stream/rules") {
            return Ok(other(req));
        }
        if req.method == "GET" {
            let data = s.borrow().clone();
            return Ok(HttpResponse::json(
                200,
                &json!({"data": data, "meta": {"sent": "2027-01-15T08:00:00.000Z", "result_count": data.len()}}),
            ));
        }
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        if let Some(ids) = body["delete"]["ids"].as_array() {
            s.borrow_mut().retain(|r| !ids.contains(&r["id"]));
        }
        if let Some(add) = body["add"].as_array() {
            for r in add {
                let mut r = r.clone();
                r["id"] = json!("9000");
                s.borrow_mut().push(r);
            }
        }
        Ok(HttpResponse::json(200, &json!({"data": [], "meta": {"summary": {}}})))
    });
    store
}

fn streaming_host() -> MockHost {
    let host = host();
    host.set_config("use_stream", "true")
        .set_config("exclusions", "spam")
        .set_config("skip_retweets", "true")
        .set_secret("bearer_token", "app-bearer");
    host
}

fn rule_posts(host: &MockHost) -> Vec<Value> {
    host.requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path().ends_with("/stream/rules"))
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

const WANTED: &str = "(acmecorp OR \"acme boots\") -spam -is:retweet";

#[test]
fn stream_open_is_none_without_use_stream() {
    let host = host();
    fake_rules(&host, vec![]);
    assert_eq!(X.stream_open(), Ok(None));
    assert!(host.requests().is_empty());
}

#[test]
fn stream_open_adds_the_missing_rule_and_returns_the_stream_request() {
    let host = streaming_host();
    let store = fake_rules(&host, vec![("1", "other app", "theirs")]);
    let req = X.stream_open().unwrap().expect("a stream request");
    assert_eq!(req.method, "GET");
    assert_eq!(req.path(), format!("{API}/2/tweets/search/stream"));
    assert_eq!(
        param(&req, "expansions").as_deref(),
        Some("author_id,attachments.media_keys,attachments.poll_ids,referenced_tweets.id")
    );
    assert!(param(&req, "media.fields").unwrap().contains("variants"));
    assert_eq!(
        param(&req, "user.fields").as_deref(),
        Some("username,name,public_metrics")
    );
    assert!(
        param(&req, "tweet.fields")
            .unwrap()
            .contains("conversation_id")
    );
    assert_eq!(req.header("authorization"), Some("Bearer app-bearer"));
    let rules_get = &host.requests()[0];
    assert_eq!(rules_get.method, "GET");
    assert_eq!(rules_get.header("authorization"), Some("Bearer app-bearer"));
    assert_eq!(
        rule_posts(&host),
        vec![json!({"add": [{"value": WANTED, "tag": "switchboard"}]})]
    );
    let values: Vec<_> = store.borrow().iter().map(|r| r["value"].clone()).collect();
    assert_eq!(values, vec![json!("other app"), json!(WANTED)]);
}

#[test]
fn stream_open_deletes_stale_rules_and_leaves_an_identical_one() {
    let host = streaming_host();
    fake_rules(
        &host,
        vec![
            ("1", "old query", "switchboard"),
            ("2", WANTED, "switchboard"),
            ("3", "x", "theirs"),
        ],
    );
    X.stream_open().unwrap().unwrap();
    assert_eq!(
        rule_posts(&host),
        vec![json!({"delete": {"ids": ["1"]}})],
        "identical rule kept, nothing added"
    );
    host.clear_requests();
    X.stream_open().unwrap().unwrap();
    assert!(rule_posts(&host).is_empty(), "in line: no change");

    // Settings change: the old rule goes, the new one comes.
    host.set_config("keywords", "acmecorp");
    host.clear_requests();
    X.stream_open().unwrap().unwrap();
    assert_eq!(
        rule_posts(&host),
        vec![
            json!({"delete": {"ids": ["2"]}}),
            json!({"add": [{"value": "acmecorp -spam -is:retweet", "tag": "switchboard"}]})
        ]
    );
}

#[test]
fn stream_rules_leave_out_suspended_keywords_and_honour_rate_limits() {
    let host = streaming_host();
    host.kv_set("suspended/acmecorp", (NOW + 1_000).to_string());
    fake_rules(&host, vec![]);
    X.stream_open().unwrap().unwrap();
    assert_eq!(
        rule_posts(&host),
        vec![json!({"add": [{"value": "\"acme boots\" -spam -is:retweet", "tag": "switchboard"}]})]
    );

    host.on_http(|req| {
        let mut resp =
            HttpResponse::json(429, &json!({"title": "Too Many Requests", "status": 429}));
        if req.path().ends_with("/stream/rules") {
            resp.headers
                .push(("x-rate-limit-reset".into(), ((NOW / 1000) + 60).to_string()));
        }
        Ok(resp)
    });
    assert!(matches!(
        X.stream_open(),
        Err(ConnectorError::RateLimited(_))
    ));
    host.clear_requests();
    match X.stream_open() {
        Err(ConnectorError::RateLimited(ms)) => assert_eq!(ms, 60_000),
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert!(host.requests().is_empty(), "nothing sent before the reset");
}

#[test]
fn use_stream_skips_the_search_but_not_mentions() {
    let host = streaming_host();
    fake(&host, vec![tweet("5000", "2222", "acmecorp")]);
    X.poll(None, 10).unwrap();
    let paths: Vec<String> = host
        .requests()
        .iter()
        .map(|r| r.path().to_string())
        .collect();
    assert!(!paths.iter().any(|p| p.contains("/search/")), "{paths:?}");
    assert!(paths.iter().any(|p| p.contains("/mentions")), "{paths:?}");
}

fn line(tweet: Value, tag: &str) -> String {
    json!({"data": tweet, "includes": {"users": users()},
           "matching_rules": [{"id": "9000", "tag": tag}]})
    .to_string()
}

#[test]
fn stream_lines_become_messages_with_the_search_filters() {
    let host = streaming_host();
    fake_rules(&host, vec![]);
    let mut reply = tweet("5002", "2222", "acmecorp thanks");
    reply["conversation_id"] = json!("5001");
    reply["referenced_tweets"] = json!([{"type": "replied_to", "id": "5001"}]);
    let mut retweet = tweet("5003", "2222", "RT acmecorp");
    retweet["referenced_tweets"] = json!([{"type": "retweeted", "id": "5001"}]);
    let events = X
        .stream_lines(vec![
            line(tweet("5001", "2222", "acmecorp boots are great"), "switchboard"),
            line(reply, "switchboard"),
            line(retweet, "switchboard"),
            line(tweet("5004", "2222", "acmecorp spam offer"), "switchboard"),
            line(tweet("5005", "2222", "acmecorp elsewhere"), "theirs"),
            r#"{"errors":[{"title":"operational-disconnect","detail":"This stream has been disconnected for operational reasons."}]}"#.into(),
        ])
        .unwrap();
    let msgs = messages(&events);
    let ids: Vec<_> = msgs
        .iter()
        .map(|m| m.platform_message_id.as_str())
        .collect();
    assert_eq!(ids, vec!["5001", "5002"]);
    assert_eq!(msgs[0].author.handle.as_deref(), Some("@ann"));
    assert_eq!(msgs[0].author.followers, Some(1234));
    assert_eq!(msgs[0].visibility, Visibility::Public);
    assert_eq!(msgs[1].thread_id, "5001");
    assert_eq!(msgs[1].parent_id.as_deref(), Some("5001"));
    assert!(
        msgs[0]
            .metadata
            .contains(&("source".into(), "stream".into()))
    );
    assert!(
        host.logs()
            .iter()
            .any(|(l, m)| *l == Level::Warn && m.contains("operational-disconnect"))
    );
    assert!(host.requests().is_empty());
}

#[test]
fn a_flooding_keyword_on_the_stream_is_suspended_and_leaves_the_rule() {
    let host = streaming_host();
    let store = fake_rules(&host, vec![("2", WANTED, "switchboard")]);
    let lines: Vec<String> = (0..301)
        .map(|i| {
            line(
                tweet(&(6000 + i).to_string(), "2222", "acmecorp flood"),
                "switchboard",
            )
        })
        .collect();
    let events = X.stream_lines(lines).unwrap();
    assert_eq!(events.len(), 301);
    assert!(host.kv_get("suspended/acmecorp").is_some());
    let values: Vec<_> = store.borrow().iter().map(|r| r["value"].clone()).collect();
    assert_eq!(values, vec![json!("\"acme boots\" -spam -is:retweet")]);
}

// ---------------------------------------------------------------- check_credentials

const TOKEN: &str = "tok-acme-SECRET-42";

fn credentials_host(answer: Result<HttpResponse, HttpError>) -> MockHost {
    let host = host();
    host.set_secret("token_acme", TOKEN);
    host.on_http(move |_| answer.clone());
    host
}

fn assert_no_secret(err: &ConnectorError) {
    assert!(!err.message().contains(TOKEN), "secret leaked: {err:?}");
}

fn me(id: &str, username: &str) -> HttpResponse {
    HttpResponse::json(
        200,
        &json!({"data": {"id": id, "name": "Acme Corp", "username": username}}),
    )
}

#[test]
fn check_credentials_reads_the_default_handle() {
    let host = credentials_host(Ok(me("1111", "Acme")));
    let account = X.check_credentials().unwrap();
    assert_eq!(account.id, "1111");
    assert_eq!(account.name, "@Acme");
    // The second handle's token was not checked: the administrator is told so.
    assert_eq!(account.warnings.len(), 1, "{:?}", account.warnings);
    assert!(account.warnings[0].contains("@AcmeHelp"));
    let asked = host.requests();
    assert_eq!(asked.len(), 1, "one call");
    assert_eq!(asked[0].method, "GET", "only reads");
    assert_eq!(asked[0].url, format!("{API}/2/users/me"));
    assert_eq!(
        asked[0].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );

    // One handle: nothing left unchecked.
    let host = credentials_host(Ok(me("1111", "acme")));
    host.set_config("handles", "acme");
    let account = X.check_credentials().unwrap();
    assert!(account.warnings.is_empty(), "{:?}", account.warnings);
}

#[test]
fn check_credentials_reports_a_refused_token() {
    let _host = credentials_host(Ok(HttpResponse::json(
        401,
        &json!({"title": "Unauthorized", "type": "about:blank", "status": 401,
                "detail": format!("Unauthorized token {TOKEN}")}),
    )));
    let err = X.check_credentials().unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Unauthorized(m) if m.contains("`token_acme`") && m.contains("@acme")),
        "{err:?}"
    );
    assert_no_secret(&err);

    // The app-only bearer token pasted as a user token: 403 Unsupported Authentication.
    let _host = credentials_host(Ok(HttpResponse::json(
        403,
        &json!({"title": "Unsupported Authentication", "status": 403,
                "detail": "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.",
                "type": "https://api.twitter.com/2/problems/unsupported-authentication"}),
    )));
    let err = X.check_credentials().unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Unauthorized(m) if m.contains("Application-Only")),
        "{err:?}"
    );
    assert_no_secret(&err);
}

#[test]
fn check_credentials_refuses_another_account_token() {
    let _host = credentials_host(Ok(me("9999", "somebody_else")));
    let err = X.check_credentials().unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InvalidConfig(m)
            if m.contains("`token_acme`") && m.contains("@somebody_else") && m.contains("`handles`")),
        "{err:?}"
    );
    assert_no_secret(&err);

    // Swapped tokens: the default handle's secret holds the other handle's token.
    let _host = credentials_host(Ok(me("1112", "AcmeHelp")));
    let err = X.check_credentials().unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InvalidConfig(m) if m.contains("swapped")),
        "{err:?}"
    );
}

#[test]
fn check_credentials_without_a_token_or_a_network() {
    let host = credentials_host(Err("connection refused".into()));
    let err = X.check_credentials().unwrap_err();
    assert!(matches!(err, ConnectorError::Transient(_)), "{err:?}");

    host.remove_secret("token_acme").clear_requests();
    let err = X.check_credentials().unwrap_err();
    assert!(
        matches!(&err, ConnectorError::InvalidConfig(m) if m.contains("token_acme")),
        "{err:?}"
    );
    assert!(host.requests().is_empty());
}

#[test]
fn describe_labels_every_key() {
    for key in X.describe().config_keys {
        let label = key.label.as_deref().unwrap_or_default();
        assert!(
            !label.is_empty() && label.split(' ').count() <= 4,
            "{}",
            key.name
        );
    }
}

mod compliance;
mod fuzz;
mod media;
mod sources;
