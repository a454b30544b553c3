//! Each source of a poll on its own: failures, pages, partial errors, places that never
//! move backwards; group direct messages answered in the group; unreadable stream lines.

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::{Value, json};
use switchboard_sdk::testing::MockHost;
use switchboard_sdk::{
    Connector, ConnectorError, HttpRequest, HttpResponse, Outbound, PollResult, SourceStatus,
    Visibility,
};

use super::{API, NOW, host, messages, page, tweet, users};
use crate::X;

fn source<'a>(result: &'a PollResult, name: &str) -> &'a SourceStatus {
    result
        .sources
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no source {name} in {:?}", result.sources))
}

fn cursor(result: &PollResult) -> Value {
    serde_json::from_str(result.next_cursor.as_deref().unwrap()).unwrap()
}

fn ids(result: &PollResult) -> Vec<String> {
    messages(&result.events)
        .iter()
        .map(|m| m.platform_message_id.clone())
        .collect()
}

fn user_by_name(req: &HttpRequest) -> Option<HttpResponse> {
    let name = req
        .path()
        .strip_prefix(&format!("{API}/2/users/by/username/"))?;
    let id = if name == "acme" { "1111" } else { "1112" };
    Some(HttpResponse::json(
        200,
        &json!({"data": {"id": id, "username": name}}),
    ))
}

fn dm(id: u64, sender: &str) -> Value {
    json!({"id": id.to_string(), "event_type": "MessageCreate", "text": format!("dm {id}"),
           "sender_id": sender, "dm_conversation_id": format!("1111-{sender}"),
           "created_at": "2027-01-15T08:00:05.000Z"})
}

fn one_handle(host: &MockHost) {
    host.set_config("handles", "acme")
        .set_config("keywords", "acmecorp");
}

/// Search 400, direct messages 403, mentions fine: the mention is returned, each failure
/// is its own source's error, and only the mentions' place moves. Once the direct
/// messages recover, they come, from where they were.
#[test]
fn one_failing_source_keeps_its_place_while_the_others_go_on() {
    let host = host();
    one_handle(&host);
    let broken = Rc::new(RefCell::new(true));
    let b = broken.clone();
    host.on_http(move |req| {
        if let Some(r) = user_by_name(req) {
            return Ok(r);
        }
        let path = req.path();
        let broken = *b.borrow();
        if path.ends_with("/search/recent") {
            if broken {
                return Ok(HttpResponse::json(400, &json!({"title": "Invalid Request", "detail": "One or more parameters to your request was invalid.", "type": "https://api.twitter.com/2/problems/invalid-request"})));
            }
            return Ok(page(vec![tweet("610", "2222", "acmecorp hi")]));
        }
        if path.ends_with("/mentions") {
            return Ok(page(vec![tweet("600", "2222", "@acme help")]));
        }
        if path.ends_with("/2/dm_events") {
            if broken {
                return Ok(HttpResponse::json(403, &json!({"title": "Forbidden", "detail": "This app is not permitted to read direct messages.", "type": "about:blank"})));
            }
            return Ok(HttpResponse::json(
                200,
                &json!({"data": [dm(702, "2222"), dm(701, "2222")], "includes": {"users": users()}}),
            ));
        }
        Ok(HttpResponse::empty(404))
    });
    let first = X.poll(Some(r#"{"dm":{"acme":"700"}}"#.into()), 10).unwrap();
    assert_eq!(ids(&first), vec!["600"]);
    let search = source(&first, "search");
    assert!(
        search
            .error
            .as_deref()
            .is_some_and(|e| e.contains("Invalid Request")),
        "{search:?}"
    );
    let dms = source(&first, "direct messages @acme");
    assert!(
        dms.error
            .as_deref()
            .is_some_and(|e| e.contains("not permitted to read direct messages")),
        "{dms:?}"
    );
    assert!(source(&first, "mentions @acme").is_ok());
    let cur = cursor(&first);
    assert_eq!(cur["mentions"]["acme"], "600");
    assert_eq!(cur["dm"]["acme"], "700", "a failed source keeps its place");
    assert!(cur.get("search").is_none());
    assert!(
        !first
            .sources
            .iter()
            .any(|s| { s.error.as_deref().is_some_and(|e| e.contains("tok-acme")) })
    );

    *broken.borrow_mut() = false;
    let second = X.poll(first.next_cursor, 10).unwrap();
    assert_eq!(ids(&second), vec!["610", "701", "702"]);
    assert!(second.sources.iter().all(SourceStatus::is_ok));
    let cur = cursor(&second);
    assert_eq!(cur["dm"]["acme"], "702");
    assert_eq!(cur["search"], "610");
}

/// A fake `dm_events`: the events newest first, `per_page` a page, `next_token` the id
/// the next page starts below.
fn dm_listing(req: &HttpRequest, all: &[Value], per_page: usize) -> HttpResponse {
    let below = req
        .query_param("pagination_token")
        .map(|t| t.parse::<u64>().unwrap());
    let rest: Vec<Value> = all
        .iter()
        .filter(|d| below.is_none_or(|b| d["id"].as_str().unwrap().parse::<u64>().unwrap() < b))
        .cloned()
        .collect();
    let chunk: Vec<Value> = rest.iter().take(per_page).cloned().collect();
    let mut meta = json!({"result_count": chunk.len()});
    if rest.len() > per_page {
        meta["next_token"] = json!(chunk.last().unwrap()["id"]);
    }
    HttpResponse::json(
        200,
        &json!({"data": chunk, "includes": {"users": users()}, "meta": meta}),
    )
}

/// 150 direct messages since the last poll: both pages are read, all 150 come once.
#[test]
fn a_burst_of_direct_messages_is_read_page_by_page() {
    let host = host();
    one_handle(&host);
    host.set_config("message_types", "private");
    // 1000..=1149 new, 990..=999 already taken.
    let all: Vec<Value> = (990..1150).rev().map(|i| dm(i, "2222")).collect();
    host.on_http(move |req| {
        if let Some(r) = user_by_name(req) {
            return Ok(r);
        }
        Ok(dm_listing(req, &all, 100))
    });
    let result = X.poll(Some(r#"{"dm":{"acme":"999"}}"#.into()), 10).unwrap();
    let got = ids(&result);
    assert_eq!(got.len(), 150, "{got:?}");
    assert_eq!(got.first().map(String::as_str), Some("1000"));
    assert_eq!(cursor(&result)["dm"]["acme"], "1149");
    let pages = host
        .requests()
        .iter()
        .filter(|r| r.path().ends_with("/dm_events"))
        .count();
    assert_eq!(pages, 2, "stops at the page holding the place");
}

/// The second page fails: the first page's messages are kept, the place does not move
/// (the older ones would be skipped), and the next poll continues from the failed page.
#[test]
fn a_failed_later_page_is_resumed_without_skipping_anything() {
    let host = host();
    one_handle(&host);
    host.set_config("message_types", "private");
    let all: Vec<Value> = (990..1150).rev().map(|i| dm(i, "2222")).collect();
    let fail = Rc::new(RefCell::new(true));
    let f = fail.clone();
    host.on_http(move |req| {
        if let Some(r) = user_by_name(req) {
            return Ok(r);
        }
        if req.query_param("pagination_token").is_some() && *f.borrow() {
            return Ok(HttpResponse::json(
                503,
                &json!({"title": "Service Unavailable"}),
            ));
        }
        Ok(dm_listing(req, &all, 100))
    });
    let first = X.poll(Some(r#"{"dm":{"acme":"999"}}"#.into()), 10).unwrap();
    assert_eq!(ids(&first).len(), 100);
    let dms = source(&first, "direct messages @acme");
    assert!(
        dms.error
            .as_deref()
            .is_some_and(|e| e.contains("Service Unavailable")),
        "{dms:?}"
    );
    let cur = cursor(&first);
    assert_eq!(cur["dm"]["acme"], "999", "the place waits for the rest");
    assert_eq!(cur["resume"]["dm/acme"]["token"], "1050");

    *fail.borrow_mut() = false;
    host.clear_requests();
    let second = X.poll(first.next_cursor, 10).unwrap();
    let got = ids(&second);
    assert_eq!(got.len(), 50, "{got:?}");
    assert_eq!(got.first().map(String::as_str), Some("1000"));
    assert_eq!(
        host.requests()[0]
            .query_param("pagination_token")
            .as_deref(),
        Some("1050")
    );
    let cur = cursor(&second);
    assert_eq!(cur["dm"]["acme"], "1149");
    assert!(cur.get("resume").is_none());
}

/// A 200 with `errors[]` is reported on its source; a tweet without its author is left
/// out with a warning instead of becoming nobody's message; the rest is kept.
#[test]
fn partial_errors_and_authorless_items_are_reported() {
    let host = host();
    one_handle(&host);
    host.set_config("message_types", "public");
    host.on_http(|req| {
        if let Some(r) = user_by_name(req) {
            return Ok(r);
        }
        if req.path().ends_with("/search/recent") {
            let mut orphan = tweet("801", "2222", "acmecorp who am i");
            orphan.as_object_mut().unwrap().remove("author_id");
            return Ok(HttpResponse::json(
                200,
                &json!({
                "data": [tweet("802", "3333", "acmecorp suspended author"), orphan],
                "includes": {"users": users()},
                "errors": [{"value": "3333", "detail": "Could not find user with id: [3333].",
                            "title": "Not Found Error", "resource_type": "user",
                            "type": "https://api.twitter.com/2/problems/resource-not-found"}],
                "meta": {"newest_id": "802", "result_count": 2}}),
            ));
        }
        Ok(HttpResponse::json(
            200,
            &json!({"meta": {"result_count": 0}}),
        ))
    });
    let result = X.poll(None, 10).unwrap();
    assert_eq!(ids(&result), vec!["802"]);
    let m = messages(&result.events)[0];
    assert_eq!(
        m.author.id, "3333",
        "the customer is known even without a profile"
    );
    let search = source(&result, "search");
    assert!(search.is_ok());
    assert!(
        search
            .warnings
            .iter()
            .any(|w| w.contains("Could not find user with id: [3333]")),
        "{search:?}"
    );
    assert!(
        search
            .warnings
            .iter()
            .any(|w| w.contains("801") && w.contains("without its author")),
        "{search:?}"
    );
    assert!(host.logs().iter().any(|(_, l)| l.contains("3333")));
    assert_eq!(cursor(&result)["search"], "802");
}

/// An answer naming an older newest id than the stored place never moves it back.
#[test]
fn places_never_move_backwards() {
    let host = host();
    one_handle(&host);
    host.set_config("message_types", "public");
    host.on_http(|req| {
        if let Some(r) = user_by_name(req) {
            return Ok(r);
        }
        // A misbehaving answer: older than the place asked for.
        Ok(page(vec![tweet("400", "2222", "acmecorp old")]))
    });
    let result = X
        .poll(
            Some(r#"{"search":"500","mentions":{"acme":"500"}}"#.into()),
            10,
        )
        .unwrap();
    let cur = cursor(&result);
    assert_eq!(cur["search"], "500");
    assert_eq!(cur["mentions"]["acme"], "500");
}

/// A usage cap on the search shows its reason and reset on that source; mentions go on;
/// until the reset the search is not asked and still says why.
#[test]
fn a_usage_cap_shows_its_reason_and_reset_on_its_source() {
    let host = host();
    one_handle(&host);
    host.set_config("message_types", "public");
    let reset_s = NOW / 1000 + 900;
    host.on_http(move |req| {
        if let Some(r) = user_by_name(req) {
            return Ok(r);
        }
        if req.path().ends_with("/search/recent") {
            return Ok(HttpResponse::json(429, &json!({"title": "UsageCapExceeded", "detail": "Usage cap exceeded: Monthly product cap", "type": "https://api.twitter.com/2/problems/usage-capped"}))
                .with_header("x-rate-limit-reset", reset_s.to_string()));
        }
        Ok(page(vec![tweet("77", "2222", "@acme hi")]))
    });
    let first = X.poll(None, 10).unwrap();
    assert_eq!(ids(&first), vec!["77"]);
    let search = source(&first, "search");
    assert_eq!(search.retry_at, Some(reset_s * 1000));
    let error = search.error.clone().unwrap();
    assert!(
        error.contains("Usage cap exceeded") && error.contains("2027-"),
        "{error}"
    );
    host.clear_requests();
    host.advance_millis(60_000);
    let second = X.poll(first.next_cursor, 10).unwrap();
    assert!(
        !host
            .requests()
            .iter()
            .any(|r| r.path().ends_with("/search/recent"))
    );
    let search = source(&second, "search");
    assert!(
        search
            .error
            .as_deref()
            .is_some_and(|e| e.contains("Usage cap exceeded")),
        "{search:?}"
    );
    assert_eq!(search.retry_at, Some(reset_s * 1000));
}

/// Every source failing is still a result: each says why.
#[test]
fn every_source_failing_reports_each_one() {
    let host = host();
    one_handle(&host);
    host.on_http(|_| {
        Ok(HttpResponse::json(
            503,
            &json!({"title": "Service Unavailable"}),
        ))
    });
    let result = X.poll(Some(r#"{"search":"5"}"#.into()), 10).unwrap();
    assert!(result.events.is_empty());
    assert_eq!(result.sources.len(), 3, "{:?}", result.sources);
    assert!(result.sources.iter().all(|s| !s.is_ok()));
    assert_eq!(cursor(&result)["search"], "5");
}

/// A reply in a group conversation goes to the group, not to one participant.
#[test]
fn a_group_direct_message_is_answered_in_the_group() {
    let host = host();
    host.on_http(|req| {
        if let Some(r) = user_by_name(req) {
            return Ok(r);
        }
        if req.path() == format!("{API}/2/dm_conversations/1582103724607971328/messages") {
            return Ok(HttpResponse::json(
                201,
                &json!({"data": {"dm_conversation_id": "1582103724607971328", "dm_event_id": "8101"}}),
            ));
        }
        Ok(HttpResponse::empty(404))
    });
    let mut out = Outbound::text(
        "1582103724607971328",
        Visibility::Private,
        "Hello all of you",
    );
    out.recipient_id = Some("2222".into());
    let sent = X.send(out, "g1".into()).unwrap();
    assert_eq!(sent.platform_message_id, "8101");
    let post = host
        .requests()
        .into_iter()
        .find(|r| r.method == "POST")
        .unwrap();
    assert_eq!(
        post.url,
        format!("{API}/2/dm_conversations/1582103724607971328/messages")
    );
    assert_eq!(
        post.header("authorization"),
        Some("Bearer tok-acme"),
        "sent as the default handle"
    );
}

/// A group conversation's messages say so, for the desktop and workflows.
#[test]
fn group_direct_messages_are_marked() {
    let host = host();
    one_handle(&host);
    host.set_config("message_types", "private");
    host.on_http(|req| {
        if let Some(r) = user_by_name(req) {
            return Ok(r);
        }
        let mut group = dm(900, "2222");
        group["dm_conversation_id"] = json!("1582103724607971328");
        Ok(HttpResponse::json(
            200,
            &json!({"data": [group], "includes": {"users": users()}}),
        ))
    });
    let result = X.poll(None, 10).unwrap();
    let m = messages(&result.events)[0];
    assert_eq!(m.thread_id, "1582103724607971328");
    assert!(m.metadata.contains(&("dm_group".into(), "true".into())));
}

/// An unreadable stream line fails the call and names the line, before anything is
/// counted, so the host can keep it visible and retry it alone.
#[test]
fn an_unreadable_stream_line_fails_the_batch_and_is_named() {
    let host = host();
    host.set_config("use_stream", "true");
    let good = super::line(tweet("5001", "2222", "acmecorp ok"), "switchboard");
    match X.stream_lines(vec![good.clone(), "{\"data\":{\"id\":".into()]) {
        Err(ConnectorError::Rejected(m)) => {
            assert!(m.contains("line 2") && m.contains("{\"data\""), "{m}")
        }
        other => panic!("expected the batch to fail, got {other:?}"),
    }
    assert!(
        host.kv_keys()
            .iter()
            .all(|k| !k.starts_with("keyword_count"))
    );
    assert_eq!(X.stream_lines(vec![good]).unwrap().len(), 1);
}

/// After the stream reopens, the tweets posted while it was closed are read with the
/// search since the last streamed id; the gap is forgotten only once a poll that read it
/// came back as the stored cursor.
#[test]
fn a_reopened_stream_backfills_the_gap_with_the_search() {
    let host = super::streaming_host();
    host.set_config("message_types", "public")
        .set_config("handles", "acme");
    super::fake_rules(&host, vec![]);
    X.stream_lines(vec![super::line(
        tweet("5001", "2222", "acmecorp streamed"),
        "switchboard",
    )])
    .unwrap();
    assert!(X.stream_open().unwrap().is_some());
    assert_eq!(host.kv_get("stream/gap_since"), Some(b"5001".to_vec()));

    host.on_http(|req| {
        if let Some(r) = user_by_name(req) {
            return Ok(r);
        }
        if req.path().ends_with("/search/recent") {
            assert_eq!(req.query_param("since_id").as_deref(), Some("5001"));
            return Ok(page(vec![tweet("5002", "2222", "acmecorp while closed")]));
        }
        Ok(HttpResponse::json(
            200,
            &json!({"meta": {"result_count": 0}}),
        ))
    });
    let first = X.poll(None, 10).unwrap();
    assert_eq!(ids(&first), vec!["5002"]);
    assert_eq!(cursor(&first)["stream_gap_done"], "5001");
    assert!(source(&first, "stream gap (search)").is_ok());
    assert!(
        host.kv_get("stream/gap_since").is_some(),
        "kept until the poll is stored"
    );

    host.clear_requests();
    let second = X.poll(first.next_cursor, 10).unwrap();
    assert!(second.events.is_empty());
    assert!(
        !host
            .requests()
            .iter()
            .any(|r| r.path().ends_with("/search/recent")),
        "the gap is filled"
    );
    assert_eq!(host.kv_get("stream/gap_since"), None);
}
