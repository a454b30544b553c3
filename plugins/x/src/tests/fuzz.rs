//! Structured fuzzing of every parser the host reaches (see `tests/fuzz-kit`): the
//! Account Activity webhook (signed over the mutated bytes, so the signature check and
//! then the parsing run), the filtered stream's lines, and the poll's answers (search,
//! mentions, direct messages, user lookups, errors and rate-limit headers), each fed
//! through the connector's real entry point. `SWITCHBOARD_FUZZ_CASES` sets the count.

use std::cell::RefCell;
use std::rc::Rc;

use fuzz_kit::{Case, Corpus, Verdict, acknowledged, check_events, fuzz};
use serde_json::{Value, json};
use switchboard_sdk::{Connector, ConnectorError, HttpRequest, HttpResponse};

use super::{activity, host, tweet, users};
use crate::X;
use crate::api::x_signature;

// ---------------------------------------------------------------- webhook

fn webhook_corpus() -> Corpus {
    Corpus::new()
        .bytes("account activity", activity())
        .json(
            "v1.1 shapes",
            &json!({
                "for_user_id": "1111",
                "tweet_create_events": [{
                    "id_str": "700", "text": "short", "full_text": "full",
                    "extended_tweet": {"full_text": "the extended text"}, "lang": "und",
                    "timestamp_ms": 1800000000500i64, "retweeted_status": {"id_str": "1"},
                    "user": {"id": 2222, "name": "Ann", "screen_name": "acme", "followers_count": 3}
                }],
                "direct_message_events": [{
                    "type": "message_create", "id": "801", "created_timestamp": 1800000000600i64,
                    "message_create": {"sender_id": "1111", "message_data": {"text": "our own DM"}}
                }],
                "tweet_delete_events": [{"status": {"id": 602, "user_id": 2222}, "timestamp_ms": 1800000000700i64}]
            }),
        )
}

fn webhook_case(case: &mut Case) -> Verdict {
    let host = host();
    host.kv_set("conversation/599", "598");
    let forged = case.one_in(20);
    let secret = if forged { "not-the-secret" } else { "cs" };
    let req = HttpRequest::new("POST", "/webhooks/x")
        .with_header("content-type", "application/json")
        .with_header(
            "x-twitter-webhooks-signature",
            x_signature(secret, &case.bytes),
        )
        .with_body(case.bytes.clone());
    let out = X
        .handle_webhook(req)
        .map_err(|e| format!("handle_webhook failed: {e:?}"))?;
    acknowledged(&out, forged, &case.bytes, &host.logs())
}

#[test]
fn fuzz_x_webhook() {
    let report = fuzz("x_webhook", webhook_corpus(), webhook_case);
    assert!(report.reached("200 with events", 0.1), "{report:?}");
    assert!(report.reached("forged: 401", 0.0), "{report:?}");
}

// ---------------------------------------------------------------- stream lines

fn line(tweet: Value, tag: &str) -> Value {
    json!({"data": tweet, "includes": {"users": users()}, "matching_rules": [{"id": "9", "tag": tag}]})
}

fn stream_corpus() -> Corpus {
    Corpus::new()
        .json(
            "stream tweet",
            &line(tweet("900", "2222", "acmecorp rocks"), "switchboard"),
        )
        .json(
            "stream reply",
            &line(
                json!({"id": "901", "text": "@acme boots?", "author_id": "2222", "conversation_id": "900",
                       "referenced_posts": [{"type": "replied_to", "id": "900"}], "lang": "fr",
                       "created_at": "2027-01-15T08:00:00.000Z", "in_reply_to_user_id": "1111"}),
                "switchboard",
            ),
        )
        .json(
            "stream errors",
            &json!({"errors": [{"title": "operational-disconnect", "detail": "reconnect"}]}),
        )
}

fn stream_case(case: &mut Case) -> Verdict {
    let host = host();
    host.set_config("use_stream", "true");
    // Rules are synced only after a keyword suspension; answer that too.
    host.on_http(|_| Ok(HttpResponse::json(200, &json!({"data": []}))));
    let text = case.text();
    let keep_alive = case.one_in(10);
    let lines = if keep_alive {
        vec![text, String::new()]
    } else {
        vec![text]
    };
    match X.stream_lines(lines) {
        Ok(events) => {
            check_events(&events)?;
            Ok(if events.is_empty() {
                "no events"
            } else {
                "events"
            })
        }
        // An unreadable line fails the call, naming it, so the host keeps it visible.
        Err(ConnectorError::Rejected(m)) if m.contains("unreadable stream line") => {
            Ok("unreadable line refused")
        }
        Err(e) => Err(format!("stream_lines failed: {e:?}")),
    }
}

#[test]
fn fuzz_x_stream_lines() {
    let report = fuzz("x_stream", stream_corpus(), stream_case);
    assert!(report.reached("events", 0.1), "{report:?}");
}

// ---------------------------------------------------------------- poll

fn listing(data: Vec<Value>) -> Value {
    let newest = data.first().map(|t| t["id"].clone()).unwrap_or(Value::Null);
    json!({"data": data, "includes": {"users": users()},
           "meta": {"newest_id": newest, "result_count": 2, "next_token": "page2"}})
}

fn poll_corpus() -> Corpus {
    Corpus::new()
        .json(
            "search",
            &listing(vec![
                tweet("1002", "2222", "acmecorp again"),
                json!({"id": "1001", "text": "RT acme boots", "author_id": "1111", "lang": "en",
                       "referenced_tweets": [{"type": "retweeted", "id": "10"}, {"type": "quoted", "id": "11"}],
                       "created_at": "2027-01-15T08:00:00Z"}),
            ]),
        )
        .json(
            "mentions",
            &listing(vec![tweet("2001", "2222", "@acme help")]),
        )
        .json(
            "dm",
            &json!({"data": [
                {"id": "3002", "event_type": "MessageCreate", "text": "hi", "sender_id": "2222",
                 "dm_conversation_id": "1111-2222", "created_at": "2027-01-15T08:00:00.000Z"},
                {"id": "3001", "event_type": "MessageCreate", "text": "group", "sender_id": "2223",
                 "dm_conversation_id": "98765"}
             ], "includes": {"users": users()}, "meta": {"result_count": 2, "next_token": "p2"},
             "errors": [{"title": "Not Found Error", "detail": "Could not find user 1"}]}),
        )
        .json(
            "users",
            &json!({"data": {"id": "1111", "username": "acme", "name": "Acme"}}),
        )
        .json(
            "problem",
            &json!({"title": "Too Many Requests", "detail": "Too Many Requests",
                    "type": "about:blank", "status": 429,
                    "errors": [{"code": 88, "message": "Rate limit exceeded"}]}),
        )
}

/// Which endpoint a corpus entry answers for.
fn endpoint_of(label: &str) -> &'static str {
    match label {
        "search" => "/2/tweets/search/recent",
        "mentions" => "/mentions",
        "dm" => "/2/dm_events",
        "users" => "/2/users/by/username/",
        // An error body, on any endpoint.
        _ => "/",
    }
}

/// A valid answer for the endpoints the case does not fuzz.
fn valid(req: &HttpRequest) -> HttpResponse {
    if req.path().contains("/users/by/username/") {
        HttpResponse::json(200, &json!({"data": {"id": "1111", "username": "acme"}}))
    } else {
        HttpResponse::json(200, &json!({"meta": {"result_count": 0}}))
    }
}

fn poll_case(case: &mut Case) -> Verdict {
    let host = host();
    let endpoint = endpoint_of(&case.label);
    let status = *case.pick(&[200, 200, 200, 200, 200, 400, 401, 429, 500, 503]);
    let reset: Option<&str> = *case.pick(&[
        None,
        Some("1800000900"),
        Some("99999999999999999999"),
        Some("-9223372036854775808"),
        Some("9223372036854775807"),
        Some("soon"),
    ]);
    let remaining: Option<&str> = *case.pick(&[None, Some("0"), Some("-1"), Some("x")]);
    let body = case.bytes.clone();
    // The fuzzed body answers its endpoint's first request (a second page, a retry, gets
    // the valid answer), so paging and rate limits are followed too.
    let served = Rc::new(RefCell::new(false));
    host.on_http(move |req| {
        if *served.borrow() || !req.path().contains(endpoint) {
            return Ok(valid(req));
        }
        *served.borrow_mut() = true;
        let mut resp = HttpResponse::empty(status)
            .with_header("content-type", "application/json")
            .with_body(body.clone());
        if let Some(r) = reset {
            resp = resp.with_header("x-rate-limit-reset", r);
        }
        if let Some(r) = remaining {
            resp = resp.with_header("x-rate-limit-remaining", r);
        }
        Ok(resp)
    });
    let cursor = case
        .pick(&[
            None,
            Some(r#"{"search":"1000","mentions":{"acme":"2000"},"dm":{"acme":"3000"}}"#),
            Some(r#"{"resume":{"search":{"token":"t","newest":"1003"}}}"#),
            Some("not a cursor"),
        ])
        .map(str::to_string);
    let result = X
        .poll(cursor, 10)
        .map_err(|e| format!("poll failed as a whole: {e:?}"))?;
    check_events(&result.events)?;
    // The cursor it returns must be one the next poll reads (checked in some cases: a
    // poll of every source is the costly part of a case).
    if case.one_in(8) {
        host.on_http(|req| Ok(valid(req)));
        X.poll(result.next_cursor.clone(), 10)
            .map_err(|e| format!("the next poll failed: {e:?}"))?;
    }
    let failed = result.sources.iter().any(|s| !s.is_ok());
    Ok(match (result.events.is_empty(), failed) {
        (false, _) => "events",
        (true, true) => "a source failed",
        (true, false) => "no events",
    })
}

#[test]
fn fuzz_x_poll() {
    let report = fuzz("x_poll", poll_corpus(), poll_case);
    assert!(report.reached("events", 0.1), "{report:?}");
    assert!(report.reached("a source failed", 0.0), "{report:?}");
}

// ---------------------------------------------------------------- found by fuzzing

/// A direct message event with an empty `id` became a message with no platform id (the
/// host would merge every such message into one); it is left out, with a warning in the
/// source's status.
#[test]
fn a_direct_message_without_id_is_left_out_with_a_warning() {
    let host = host();
    host.set_config("message_types", "private");
    host.on_http(|req| {
        if req.path().ends_with("/2/dm_events") {
            return Ok(HttpResponse::json(
                200,
                &json!({"data": [
                    {"id": "", "event_type": "MessageCreate", "text": "no id", "sender_id": "2222"},
                    {"id": "3001", "event_type": "MessageCreate", "text": "kept", "sender_id": "2222"}
                ]}),
            ));
        }
        Ok(valid(req))
    });
    let result = X.poll(None, 10).unwrap();
    let ids: Vec<String> = super::messages(&result.events)
        .iter()
        .map(|m| m.platform_message_id.clone())
        .collect();
    assert_eq!(ids, ["3001"]);
    let dm = result
        .sources
        .iter()
        .find(|s| s.name == "direct messages @acme")
        .unwrap();
    assert!(
        dm.warnings.iter().any(|w| w.contains("without its id")),
        "{:?}",
        result.sources
    );
}
