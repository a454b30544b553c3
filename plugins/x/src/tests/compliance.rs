//! Deleted tweets and accounts in every ingest mode: compliance lines on a stream, and the
//! polling check that looks up what was taken (saved payloads in `payloads/`).

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::{Value, json};
use switchboard_sdk::testing::MockHost;
use switchboard_sdk::{
    AuthorErased, Connector, ConnectorError, Deleted, Event, HttpRequest, HttpResponse, PollResult,
};

use super::{API, NOW, host, line, tweet, users};
use crate::X;

const STREAM: &str = include_str!("payloads/stream_compliance.jsonl");
const TWEETS_LOOKUP: &str = include_str!("payloads/tweets_lookup.json");
const USERS_LOOKUP: &str = include_str!("payloads/users_lookup.json");
const HOUR: i64 = 60 * 60 * 1000;

fn deleted(id: &str, at: i64) -> Event {
    Event::Deleted(Deleted {
        platform_message_id: id.into(),
        thread_id: None,
        deleted_at: at,
    })
}

fn erased(id: &str, at: i64) -> Event {
    Event::AuthorErased(AuthorErased {
        author_id: id.into(),
        at,
    })
}

#[test]
fn compliance_lines_on_a_stream_become_deletions_and_erasures() {
    let host = host();
    let lines: Vec<String> = STREAM.lines().map(str::to_string).collect();
    let events = X.stream_lines(lines.clone()).unwrap();
    assert_eq!(
        events,
        [
            deleted("1880000000000001001", time("2027-01-15T08:05:00.000Z")),
            erased("3333", time("2027-01-15T08:06:00.000Z")),
            deleted("1880000000000001002", 1_800_000_000_900),
        ],
        "withheld and suspended accounts erase nothing"
    );
    assert!(host.requests().is_empty());

    // A tweet and its deletion in one batch: the message first, then its erasure.
    let mut batch = vec![line(
        tweet("1880000000000001001", "2222", "acmecorp oops"),
        "switchboard",
    )];
    batch.push(lines[0].clone());
    let events = X.stream_lines(batch.clone()).unwrap();
    assert!(
        matches!(events.as_slice(), [Event::Message(m), Event::Deleted(d)]
        if m.platform_message_id == d.platform_message_id)
    );

    host.set_config("message_types", "public");
    let events = X.stream_lines(batch).unwrap();
    assert!(
        matches!(events.as_slice(), [Event::Message(_)]),
        "compliance not taken: {events:?}"
    );
}

fn time(iso: &str) -> i64 {
    switchboard_sdk::time::parse_iso8601_millis(iso).unwrap()
}

/// A fake X: the search brings `search` once, DMs from 5555 once, lookups answer from the
/// saved payloads (or fail with `lookup_status`).
struct Fake {
    lookups: Rc<RefCell<Vec<HttpRequest>>>,
    lookup_status: Rc<RefCell<u16>>,
}

fn fake(host: &MockHost, search: Vec<Value>) -> Fake {
    let lookups = Rc::new(RefCell::new(Vec::new()));
    let lookup_status = Rc::new(RefCell::new(200));
    let (l, s) = (lookups.clone(), lookup_status.clone());
    let search = RefCell::new(Some(search));
    let dms = RefCell::new(true);
    host.on_http(move |req| {
        let path = req.path();
        if path == format!("{API}/2/tweets") || path == format!("{API}/2/users") {
            l.borrow_mut().push(req.clone());
            let status = *s.borrow();
            if status != 200 {
                return Ok(HttpResponse::json(status, &json!({"title": "Service Unavailable"})));
            }
            let body = if path.ends_with("/tweets") { TWEETS_LOOKUP } else { USERS_LOOKUP };
            return Ok(HttpResponse::text(200, body));
        }
        if path.ends_with("/search/recent") {
            let data = search.borrow_mut().take().unwrap_or_default();
            return Ok(HttpResponse::json(200, &json!({"data": data, "includes": {"users": users()}})));
        }
        if let Some(name) = path.strip_prefix(&format!("{API}/2/users/by/username/")) {
            let id = if name == "acme" { "1111" } else { "1112" };
            return Ok(HttpResponse::json(200, &json!({"data": {"id": id}})));
        }
        if path.ends_with("/2/dm_events") && req.header("authorization") == Some("Bearer tok-acme") && dms.replace(false) {
            return Ok(HttpResponse::json(200, &json!({"data": [
                {"id": "1880000000000000600", "event_type": "MessageCreate", "text": "hi", "sender_id": "5555",
                 "dm_conversation_id": "1111-5555", "created_at": "2027-01-15T08:00:00.000Z"}]})));
        }
        Ok(HttpResponse::json(200, &json!({"meta": {"result_count": 0}})))
    });
    Fake {
        lookups,
        lookup_status,
    }
}

fn asked(req: &HttpRequest) -> Vec<String> {
    let mut ids: Vec<String> = req
        .query_param("ids")
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    ids.sort();
    ids
}

fn compliance_events(result: &PollResult) -> Vec<Event> {
    result
        .events
        .iter()
        .filter(|e| !matches!(e, Event::Message(_)))
        .cloned()
        .collect()
}

fn taken() -> Vec<Value> {
    vec![
        tweet("1880000000000000005", "2222", "acmecorp one"),
        tweet("1880000000000000004", "3333", "acmecorp two"),
        tweet("1880000000000000003", "4444", "acmecorp three"),
    ]
}

#[test]
fn polls_find_deleted_tweets_and_accounts_among_what_they_took() {
    let host = host();
    let fake = fake(&host, taken());
    let first = X.poll(None, 10).unwrap();
    assert_eq!(first.events.len(), 4, "three tweets and a DM");
    assert!(
        fake.lookups.borrow().is_empty(),
        "just read: nothing to check yet"
    );

    host.advance_millis(HOUR + 1);
    let second = X.poll(first.next_cursor.clone(), 10).unwrap();
    let now = NOW + HOUR + 1;
    assert_eq!(
        compliance_events(&second),
        [deleted("1880000000000000004", now), erased("3333", now)],
        "an Authorization Error or a suspension is not a deletion"
    );
    let status = second
        .sources
        .iter()
        .find(|s| s.name == "deleted tweets and accounts")
        .unwrap();
    assert!(status.error.is_none(), "{status:?}");
    {
        let lookups = fake.lookups.borrow();
        assert_eq!(lookups.len(), 2);
        assert_eq!(
            asked(&lookups[0]),
            [
                "1880000000000000003",
                "1880000000000000004",
                "1880000000000000005"
            ]
        );
        assert_eq!(asked(&lookups[1]), ["2222", "3333", "4444", "5555"]);
        assert_eq!(lookups[0].header("authorization"), Some("Bearer tok-acme"));
    }
    let cursor: Value = serde_json::from_str(second.next_cursor.as_deref().unwrap()).unwrap();
    assert_eq!(cursor["gone"], json!(["t:1880000000000000004", "u:3333"]));

    // The host did not store the second poll (it passes the first cursor again): what
    // was gone is found again by the next check.
    fake.lookups.borrow_mut().clear();
    host.advance_millis(HOUR);
    let retried = X.poll(first.next_cursor.clone(), 10).unwrap();
    assert_eq!(compliance_events(&retried).len(), 2, "{:?}", retried.events);
    // Stored this time. Not due again before the hour is up.
    fake.lookups.borrow_mut().clear();
    host.advance_millis(HOUR / 2);
    let quiet = X.poll(retried.next_cursor.clone(), 10).unwrap();
    assert!(fake.lookups.borrow().is_empty());
    // What was reported left the watch, the author with their tweets.
    host.advance_millis(HOUR);
    X.poll(quiet.next_cursor.clone(), 10).unwrap();
    let lookups = fake.lookups.borrow();
    assert_eq!(
        asked(&lookups[0]),
        ["1880000000000000003", "1880000000000000005"]
    );
    assert_eq!(asked(&lookups[1]), ["2222", "4444", "5555"]);
}

#[test]
fn a_failed_check_is_reported_and_tried_again() {
    let host = host();
    host.set_secret("bearer_token", "app-token");
    let fake = fake(&host, taken());
    let first = X.poll(None, 10).unwrap();
    *fake.lookup_status.borrow_mut() = 503;
    host.advance_millis(HOUR + 1);
    let failed = X.poll(first.next_cursor, 10).unwrap();
    assert!(compliance_events(&failed).is_empty());
    let status = failed
        .sources
        .iter()
        .find(|s| s.name == "deleted tweets and accounts")
        .unwrap();
    assert!(
        status.error.as_deref().unwrap().contains("503"),
        "{status:?}"
    );
    assert_eq!(
        fake.lookups.borrow()[0].header("authorization"),
        Some("Bearer app-token")
    );

    *fake.lookup_status.borrow_mut() = 200;
    host.advance_millis(HOUR + 1);
    let again = X.poll(failed.next_cursor, 10).unwrap();
    assert_eq!(compliance_events(&again).len(), 2);
}

#[test]
fn the_check_can_be_turned_off_and_follows_the_message_types() {
    let host = host();
    host.set_config("deletion_check_minutes", "0");
    let fake = fake(&host, taken());
    let first = X.poll(None, 10).unwrap();
    host.advance_millis(24 * HOUR);
    X.poll(first.next_cursor, 10).unwrap();
    assert!(fake.lookups.borrow().is_empty());
    assert!(
        host.kv_get("compliance/tweets").is_none(),
        "nothing watched"
    );

    let host = self::host();
    host.set_config("message_types", "public,private");
    let fake = self::fake(&host, taken());
    let first = X.poll(None, 10).unwrap();
    host.advance_millis(24 * HOUR);
    X.poll(first.next_cursor, 10).unwrap();
    assert!(fake.lookups.borrow().is_empty());

    for bad in ["-5", "soon", "20000"] {
        host.set_config("deletion_check_minutes", bad);
        assert!(
            matches!(X.configure(), Err(ConnectorError::InvalidConfig(m)) if m.contains("deletion_check_minutes"))
        );
    }
}
