//! The feed's pages: more new posts than one page holds are all taken, and a later page
//! that fails is continued next poll without skipping anything.

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::{Value, json};
use switchboard_sdk::{Connector, HttpRequest, HttpResponse};

use super::{PAGE, host, messages};
use crate::Facebook;

/// Post `n` was created at minute `n` after `BASE`.
const BASE: i64 = 1_705_320_000_000;

fn post(n: i64) -> Value {
    let secs = (BASE + n * 60_000) / 1000;
    let time = switchboard_sdk::time::format_iso8601_millis(secs * 1000);
    // Graph's form: `2024-01-15T12:03:00+0000`.
    let graph_time = format!("{}+0000", &time[..19]);
    json!({"id": format!("{PAGE}_{n}"), "message": format!("post {n}"),
           "from": {"id": "5", "name": "Ann"}, "created_time": graph_time})
}

/// A feed of posts `1..=count`, newest first, `per_page` a page, `after` = the last id.
fn feed(req: &HttpRequest, count: i64, per_page: usize) -> HttpResponse {
    let after: Option<i64> = req.query_param("after").map(|a| a.parse().unwrap());
    let rest: Vec<i64> = (1..=count)
        .rev()
        .filter(|n| after.is_none_or(|a| *n < a))
        .collect();
    let chunk: Vec<i64> = rest.iter().take(per_page).copied().collect();
    let mut body = json!({"data": chunk.iter().map(|n| post(*n)).collect::<Vec<_>>()});
    if let Some(last) = chunk.last() {
        body["paging"] = json!({"cursors": {"before": "b", "after": last.to_string()}});
    }
    HttpResponse::json(200, &body)
}

fn ids(result: &switchboard_sdk::PollResult) -> Vec<String> {
    messages(&result.events)
        .iter()
        .map(|m| m.platform_message_id.clone())
        .collect()
}

#[test]
fn more_new_posts_than_a_page_holds_are_all_taken() {
    let host = host();
    host.on_http(|req| Ok(feed(req, 12, 5)));
    // Posts 3..=12 are new (at or after minute 3).
    let since = BASE + 3 * 60_000;
    let result = Facebook.poll(Some(since.to_string()), 5).unwrap();
    let got = ids(&result);
    assert_eq!(got.len(), 10, "{got:?}");
    assert_eq!(got[0], format!("{PAGE}_3"));
    assert_eq!(result.next_cursor, Some((BASE + 12 * 60_000).to_string()));
    assert_eq!(
        host.requests().len(),
        3,
        "stops at the page reaching the cursor"
    );
    assert!(result.sources.iter().all(|s| s.error.is_none()));
}

#[test]
fn a_failed_later_page_keeps_the_time_and_is_continued() {
    let host = host();
    let fail = Rc::new(RefCell::new(true));
    let f = fail.clone();
    host.on_http(move |req| {
        if req.query_param("after").is_some() && *f.borrow() {
            return Ok(HttpResponse::json(
                500,
                &json!({"error": {"message": "An unexpected error has occurred.", "type": "OAuthException", "code": 2, "is_transient": true}}),
            ));
        }
        Ok(feed(req, 12, 5))
    });
    let since = BASE + 3 * 60_000;
    let first = Facebook.poll(Some(since.to_string()), 5).unwrap();
    assert_eq!(ids(&first).len(), 5);
    let source = &first.sources[0];
    assert!(
        source
            .error
            .as_deref()
            .is_some_and(|e| e.contains("later page")),
        "{source:?}"
    );
    let cursor: Value = serde_json::from_str(first.next_cursor.as_deref().unwrap()).unwrap();
    assert_eq!(cursor["since"], since, "the time waits for the older posts");
    assert_eq!(cursor["after"], "8");

    *fail.borrow_mut() = false;
    host.clear_requests();
    let second = Facebook.poll(first.next_cursor, 5).unwrap();
    let got = ids(&second);
    assert_eq!(got.len(), 5, "{got:?}");
    assert_eq!(got[0], format!("{PAGE}_3"));
    assert_eq!(
        host.requests()[0].query_param("after").as_deref(),
        Some("8")
    );
    assert_eq!(second.next_cursor, Some((BASE + 12 * 60_000).to_string()));
}
