//! Structured fuzzing of every parser the host reaches (see `tests/fuzz-kit`): the page
//! webhook (feed changes and Messenger events, signed over the mutated bytes so the
//! signature check and then the parsing run, with odd User Profile answers for the
//! Messenger senders) and the feed poll (odd answers, statuses and cursors), each fed
//! through the connector's real entry point. `SWITCHBOARD_FUZZ_CASES` sets the count.

use fuzz_kit::{Case, Corpus, Verdict, acknowledged, check_events, fuzz, is_object};
use serde_json::{Value, json};
use switchboard_sdk::meta::signature as meta_signature;
use switchboard_sdk::{Connector, HttpRequest, HttpResponse};

use super::{PAGE, SECRET, comment, feed, feed_page, host};
use crate::Facebook;

const PSID: &str = "6543210987654321";

fn messaging(events: Vec<Value>) -> Value {
    json!({"object": "page", "entry": [{"id": PAGE, "time": 1458692752478i64, "messaging": events}]})
}

fn webhook_corpus() -> Corpus {
    let post = json!({"item": "photo", "verb": "add", "post_id": format!("{PAGE}_9"),
        "from": {"id": 5, "name": "Ann"}, "message": "look", "created_time": "2024-01-15T12:03:00+0000",
        "photo": "https://x.test/p.jpg", "photos": ["https://x.test/a.jpg"], "video": "https://x.test/v.mp4"});
    let edit = json!({"item": "comment", "verb": "edited", "post_id": format!("{PAGE}_9"),
        "comment_id": "9_1", "message": "edited", "created_time": 1742667604});
    let remove = json!({"item": "comment", "verb": "remove", "post_id": format!("{PAGE}_9"),
        "comment_id": "9_2"});
    let customer = |message: Value| json!({"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": 1458692752478i64, "message": message});
    let referral =
        json!({"ref": "spring", "ad_id": 6045246247433i64, "source": "ADS", "type": "OPEN_THREAD"});
    Corpus::new()
        .bytes(
            "feed comment",
            feed(&[comment(
                "1001_4001",
                &format!("{PAGE}_1001"),
                ("1234", "Ann"),
                "my order is late",
            )]),
        )
        .bytes("feed batch", feed(&[post, edit, remove]))
        .bytes(
            "messenger fixture",
            include_str!("../../../../tests/fixtures/payloads/messenger_text.json"),
        )
        .bytes(
            "messenger every kind",
            include_str!("../messenger/tests/every_kind.json"),
        )
        .json(
            "messenger kinds",
            &messaging(vec![
                customer(json!({"mid": "m1", "text": "hi \u{1f600}", "reply_to": {"mid": "m0"},
                    "attachments": [{"type": "image", "payload": {"url": "https://x.test/i.png"}},
                                    {"type": "fallback", "payload": {"title": "a link"}}],
                    "referral": referral})),
                json!({"sender": {"id": PAGE}, "recipient": {"id": PSID}, "timestamp": 1458692752479i64,
                    "message": {"mid": "m2", "text": "our echo", "is_echo": true}}),
                json!({"sender": {"id": PSID}, "recipient": {"id": PAGE},
                    "postback": {"mid": "m3", "title": "Yes", "payload": "YES", "referral": referral}}),
                json!({"sender": {"id": PSID}, "recipient": {"id": PAGE}, "referral": referral}),
                json!({"sender": {"id": PSID}, "recipient": {"id": PAGE},
                    "delivery": {"mids": ["m2"], "watermark": 1458692752480i64}}),
            ]),
        )
}

/// What the User Profile API answers for a Messenger sender, decided by the case.
fn profile(case: &mut Case) -> HttpResponse {
    let answers = [
        (
            200,
            json!({"first_name": "Ann", "last_name": "Lee", "id": PSID}),
        ),
        (200, json!({"name": "Ann Lee"})),
        (200, json!({"name": 5, "first_name": ["A"]})),
        (200, json!([])),
        (400, json!({"error": {"message": "no", "code": 100}})),
        (500, json!("down")),
    ];
    let (status, body) = case.pick(&answers);
    HttpResponse::json(*status, body)
}

fn webhook_case(case: &mut Case) -> Verdict {
    let host = host();
    let answer = profile(case);
    host.on_http(move |_| Ok(answer.clone()));
    let forged = case.one_in(20);
    let secret = if forged { "not-the-secret" } else { SECRET };
    let req = HttpRequest::new("POST", "/webhooks/facebook")
        .with_header("content-type", "application/json")
        .with_header("x-hub-signature-256", meta_signature(secret, &case.bytes))
        .with_body(case.bytes.clone());
    let out = Facebook
        .handle_webhook(req)
        .map_err(|e| format!("handle_webhook failed: {e:?}"))?;
    acknowledged(&out, forged, &case.bytes, &host.logs())
}

#[test]
fn fuzz_facebook_webhook() {
    let report = fuzz("facebook_webhook", webhook_corpus(), webhook_case);
    assert!(report.reached("200 with events", 0.1), "{report:?}");
    assert!(report.reached("forged: 401", 0.0), "{report:?}");
}

fn poll_corpus() -> Corpus {
    let mut paged = feed_page();
    paged["paging"] = json!({"cursors": {"before": "a", "after": "next-page"}});
    Corpus::new()
        .json("feed page", &feed_page())
        .json("feed page with a next page", &paged)
        .json(
            "graph error",
            &json!({"error": {"message": "Please reduce the amount of data", "type": "OAuthException",
                "code": 1, "error_subcode": 99, "is_transient": true, "fbtrace_id": "A"}}),
        )
}

fn poll_case(case: &mut Case) -> Verdict {
    let host = host();
    let status = *case.pick(&[200, 200, 200, 200, 200, 400, 403, 429, 500]);
    let body = case.bytes.clone();
    // The fuzzed answer is the first page; later pages (when it names one) are empty.
    let mut served = false;
    host.on_http(move |_| {
        if std::mem::replace(&mut served, true) {
            return Ok(HttpResponse::json(200, &json!({"data": []})));
        }
        Ok(HttpResponse::empty(status)
            .with_header("content-type", "application/json")
            .with_body(body.clone()))
    });
    let cursor = case
        .pick(&[
            None,
            Some("1705320000000"),
            Some(r#"{"since":1705320000000,"after":"b","newest":1705320600000}"#),
            Some("-9223372036854775808"),
            Some("{\"since\":\"soon\"}"),
        ])
        .map(str::to_string);
    let limit = *case.pick(&[0, 1, 25, u32::MAX]);
    let object = is_object(&case.bytes);
    match Facebook.poll(cursor, limit) {
        Ok(result) => {
            check_events(&result.events)?;
            // The cursor it returns must be one the next poll reads (in some cases).
            if case.one_in(4) {
                host.on_http(|_| Ok(HttpResponse::json(200, &json!({"data": []}))));
                Facebook
                    .poll(result.next_cursor.clone(), 10)
                    .map_err(|e| format!("the next poll failed: {e:?}"))?;
            }
            Ok(if result.events.is_empty() {
                "no events"
            } else {
                "events"
            })
        }
        // The host shows a poll's error in the channel's status: it must say why.
        Err(e) if status == 200 && !object && !e.message().contains("unreadable") => Err(format!(
            "an unreadable answer failed the poll without saying so: {e:?}"
        )),
        Err(_) => Ok("poll failed"),
    }
}

#[test]
fn fuzz_facebook_poll() {
    let report = fuzz("facebook_poll", poll_corpus(), poll_case);
    assert!(report.reached("events", 0.1), "{report:?}");
    assert!(report.reached("poll failed", 0.0), "{report:?}");
}

// ---------------------------------------------------------------- found by fuzzing

/// `created_time: i64::MIN` panicked (`abs` overflowed in the SDK's `unix_to_millis`).
#[test]
fn the_most_negative_time_is_read() {
    let _host = host();
    let mut change = comment("1001_4009", "p", ("1", "Ann"), "old");
    change["created_time"] = json!(i64::MIN);
    let out = Facebook
        .handle_webhook(super::signed_post(&feed(&[change])))
        .unwrap();
    assert_eq!(out.response.status, 200);
    assert_eq!(out.events.len(), 1);
}

/// A 200 answer that is a list holding an error object was taken for a Graph error
/// (serde reads a struct from a list too); it is an unreadable answer.
#[test]
fn a_list_answer_is_unreadable_not_a_graph_error() {
    let host = host();
    host.on_http(|_| {
        Ok(HttpResponse::json(
            200,
            &json!([{"error": {"message": "x", "code": 1}}]),
        ))
    });
    let err = Facebook.poll(None, 10).unwrap_err();
    assert!(
        matches!(&err, switchboard_sdk::ConnectorError::Transient(m) if m.contains("unreadable Graph API feed response")),
        "{err:?}"
    );
}
