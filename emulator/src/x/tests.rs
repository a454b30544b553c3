//! X tests, driven over real HTTP like the connector drives the emulator.

use std::collections::HashMap;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::query;
use crate::tests::{control, get_json, http};
use crate::{Emulator, EmulatorConfig, XAccount, XConfig, XEndpoint, x_signature};

const SECRET: &str = "consumer-secret";

async fn start() -> (Emulator, String) {
    let emulator = Emulator::new(EmulatorConfig {
        x: XConfig {
            accounts: vec![
                XAccount {
                    handle: "acme".into(),
                    user_id: "1111".into(),
                    token: "tok-acme".into(),
                },
                XAccount {
                    handle: "acmehelp".into(),
                    user_id: "1112".into(),
                    token: "tok-help".into(),
                },
            ],
            consumer_secret: SECRET.into(),
            bearer_token: Some("app".into()),
        },
        ..Default::default()
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(emulator.clone().serve(listener));
    (emulator, url)
}

async fn tweet(base: &str, body: Value) -> Value {
    let (status, body) = control(base, "/_emulator/x/tweets", body).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn api(
    method: &str,
    url: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, HeaderMap, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = http().request(method, url).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    (status, headers, res.json().await.unwrap_or(Value::Null))
}

fn search_url(base: &str, query: &str) -> String {
    format!(
        "{base}/2/tweets/search/recent?query={}&max_results=10&tweet.fields=created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets,lang&expansions=author_id&user.fields=username,name,public_metrics",
        urlencoding::encode(query)
    )
}

fn ids(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|t| t["id"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn query_language() {
    use query::Node::*;
    assert_eq!(
        query::parse("(a OR \"b c\" OR @acme) -spam lang:en -is:retweet").unwrap(),
        And(vec![
            Or(vec![
                Word("a".into()),
                Word("b c".into()),
                Mention("acme".into())
            ]),
            Not(Box::new(Word("spam".into()))),
            Lang("en".into()),
            Not(Box::new(IsRetweet)),
        ])
    );
    assert_eq!(
        query::parse("a b OR c").unwrap(),
        Or(vec![
            And(vec![Word("a".into()), Word("b".into())]),
            Word("c".into())
        ])
    );
    for bad in ["(a", "a)", "OR a", "-a", "\"open", "bogus:op", ""] {
        assert!(query::parse(bad).is_err(), "{bad}");
    }
}

#[tokio::test]
async fn search_filters_threads_and_expands_authors() {
    let (_em, base) = start().await;
    let root = tweet(&base, json!({"author_handle": "ann", "text": "acmecorp my boots broke", "author_name": "Ann Lee", "followers": 4321})).await;
    let root_id = root["tweet_id"].as_str().unwrap().to_string();
    let reply = tweet(
        &base,
        json!({"author_handle": "bob", "text": "acmecorp same here", "in_reply_to": root_id}),
    )
    .await;
    tweet(
        &base,
        json!({"author_handle": "cid", "text": "acmecorp c'est cassé", "lang": "fr"}),
    )
    .await;
    tweet(
        &base,
        json!({"author_handle": "dee", "text": "acmecorp free spam"}),
    )
    .await;
    let rt = tweet(
        &base,
        json!({"author_handle": "eve", "retweet_of": root_id}),
    )
    .await;
    tweet(&base, json!({"author_handle": "fay", "text": "unrelated"})).await;

    let (status, headers, body) = api("GET", &search_url(&base, "acmecorp"), "app", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["meta"]["result_count"], 5);
    assert_eq!(headers["x-rate-limit-limit"], "450");
    assert_eq!(headers["x-rate-limit-remaining"], "449");
    assert!(headers.contains_key("x-rate-limit-reset"));

    let (_, _, body) = api(
        "GET",
        &search_url(&base, "acmecorp -spam lang:en -is:retweet"),
        "app",
        None,
    )
    .await;
    let reply_id = reply["tweet_id"].as_str().unwrap();
    assert_eq!(ids(&body), [reply_id, root_id.as_str()], "newest first");
    let r = &body["data"][0];
    assert_eq!(r["conversation_id"], root_id.as_str());
    assert_eq!(r["in_reply_to_user_id"], root["author_id"]);
    assert_eq!(
        r["referenced_tweets"],
        json!([{"type": "replied_to", "id": root_id}])
    );
    assert_eq!(r["lang"], "en");
    assert!(r["created_at"].as_str().unwrap().ends_with('Z'));
    let users = body["includes"]["users"].as_array().unwrap();
    let ann = users.iter().find(|u| u["username"] == "ann").unwrap();
    assert_eq!(ann["name"], "Ann Lee");
    assert_eq!(ann["public_metrics"]["followers_count"], 4321);

    let (_, _, body) = api("GET", &search_url(&base, "is:retweet"), "app", None).await;
    assert_eq!(ids(&body), [rt["tweet_id"].as_str().unwrap()]);
    assert!(
        body["data"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("RT @ann: ")
    );

    // since_id
    let (_, _, body) = api(
        "GET",
        &format!("{}&since_id={reply_id}", search_url(&base, "acmecorp")),
        "app",
        None,
    )
    .await;
    assert_eq!(body["meta"]["result_count"], 3);
    // Bad queries and parameters answer RFC 7807 problems.
    let (status, headers, body) = api("GET", &search_url(&base, "(acmecorp"), "app", None).await;
    assert_eq!(status, 400);
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(body["title"], "Invalid Request");
    assert!(
        body["type"]
            .as_str()
            .unwrap()
            .ends_with("/problems/invalid-request")
    );
    let (status, _, _) = api(
        "GET",
        &format!("{base}/2/tweets/search/recent?query=a&max_results=5"),
        "app",
        None,
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn pagination_with_next_token() {
    let (_em, base) = start().await;
    for i in 0..25 {
        tweet(
            &base,
            json!({"author_handle": "ann", "text": format!("acmecorp #{i}")}),
        )
        .await;
    }
    let (_, _, first) = api("GET", &search_url(&base, "acmecorp"), "app", None).await;
    assert_eq!(first["meta"]["result_count"], 10);
    let token = first["meta"]["next_token"].as_str().unwrap();
    let (_, _, second) = api(
        "GET",
        &format!("{}&next_token={token}", search_url(&base, "acmecorp")),
        "app",
        None,
    )
    .await;
    assert_eq!(second["meta"]["result_count"], 10);
    let mut all = ids(&first);
    all.extend(ids(&second));
    all.dedup();
    assert_eq!(all.len(), 20);
}

#[tokio::test]
async fn tokens_are_checked() {
    let (em, base) = start().await;
    let (status, _, body) = api("GET", &search_url(&base, "a"), "wrong", None).await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!({"title": "Unauthorized", "detail": "Unauthorized", "type": "about:blank", "status": 401})
    );
    let (status, _, body) = api(
        "POST",
        &format!("{base}/2/tweets"),
        "app",
        Some(json!({"text": "hi"})),
    )
    .await;
    assert_eq!(status, 403, "posting needs a user context");
    assert_eq!(body["title"], "Unsupported Authentication");
    assert!(em.outbound().is_empty());
    let statuses: Vec<u16> = em.x_requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [401, 403]);
}

#[tokio::test]
async fn replies_deletes_and_dms_are_recorded() {
    let (em, base) = start().await;
    let root = tweet(
        &base,
        json!({"author_handle": "ann", "text": "@acme where is my order"}),
    )
    .await;
    let root_id = root["tweet_id"].as_str().unwrap();

    let (status, headers, body) = api(
        "POST",
        &format!("{base}/2/tweets"),
        "tok-help",
        Some(json!({"text": "On it!", "reply": {"in_reply_to_tweet_id": root_id}})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(headers["x-rate-limit-limit"], "100");
    let ours = body["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(body["data"]["text"], "On it!");
    let (_, seen) = get_json(&format!("{base}/_emulator/x/tweets/{ours}")).await;
    assert_eq!(seen["in_reply_to"], root_id);
    assert_eq!(seen["author_handle"], "acmehelp");
    assert_eq!(seen["conversation_id"], root_id);

    // Same text again from the same account: duplicate content.
    let (status, _, body) = api(
        "POST",
        &format!("{base}/2/tweets"),
        "tok-help",
        Some(json!({"text": "On it!"})),
    )
    .await;
    assert_eq!(status, 403);
    assert!(body["detail"].as_str().unwrap().contains("duplicate"));

    // Someone else's tweet cannot be deleted; ours can.
    let (status, _, _) = api(
        "DELETE",
        &format!("{base}/2/tweets/{root_id}"),
        "tok-acme",
        None,
    )
    .await;
    assert_eq!(status, 403);
    let (status, _, body) = api(
        "DELETE",
        &format!("{base}/2/tweets/{ours}"),
        "tok-help",
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"data": {"deleted": true}}));
    let (status, _, _) = api(
        "DELETE",
        &format!("{base}/2/tweets/{ours}"),
        "tok-help",
        None,
    )
    .await;
    assert_eq!(status, 404);

    // Mentions of @acme, DMs.
    let (_, _, body) = api(
        "GET",
        &format!("{base}/2/users/1111/mentions"),
        "tok-acme",
        None,
    )
    .await;
    assert_eq!(ids(&body), [root_id]);
    let (_, _, body) = api(
        "GET",
        &format!("{base}/2/users/by/username/ACMEHELP"),
        "tok-acme",
        None,
    )
    .await;
    assert_eq!(body["data"]["id"], "1112");
    let (_, _, body) = api(
        "GET",
        &format!("{base}/2/users/by/username/nobody"),
        "tok-acme",
        None,
    )
    .await;
    assert_eq!(body["errors"][0]["title"], "Not Found Error");

    let (status, dm) = control(
        &base,
        "/_emulator/x/dms",
        json!({"from_handle": "ann", "to_handle": "acme", "text": "psst"}),
    )
    .await;
    assert_eq!(status, 200);
    let ann = dm["sender_id"].as_str().unwrap();
    assert_eq!(dm["dm_conversation_id"], format!("1111-{ann}"));
    let (_, _, body) = api(
        "GET",
        &format!("{base}/2/dm_events?event_types=MessageCreate"),
        "tok-acme",
        None,
    )
    .await;
    assert_eq!(body["data"][0]["text"], "psst");
    assert_eq!(body["data"][0]["event_type"], "MessageCreate");
    assert_eq!(
        body["data"][0]["dm_conversation_id"],
        dm["dm_conversation_id"]
    );
    let (_, _, body) = api("GET", &format!("{base}/2/dm_events"), "tok-help", None).await;
    assert_eq!(
        body["meta"]["result_count"], 0,
        "not acmehelp's conversation"
    );
    let (status, _, body) = api(
        "POST",
        &format!("{base}/2/dm_conversations/with/{ann}/messages"),
        "tok-acme",
        Some(json!({"text": "DM us your order number"})),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(body["data"]["dm_conversation_id"], dm["dm_conversation_id"]);
    let dm_id = body["data"]["dm_event_id"].as_str().unwrap();

    let outbound: Vec<(String, String, Option<String>, String)> = em
        .outbound()
        .into_iter()
        .map(|o| (o.platform, o.kind, o.target_id, o.id))
        .collect();
    assert_eq!(
        outbound,
        [
            (
                "x".into(),
                "tweet".into(),
                Some(root_id.to_string()),
                ours.clone()
            ),
            ("x".into(), "delete".into(), None, ours.clone()),
            (
                "x".into(),
                "dm".into(),
                Some(ann.to_string()),
                dm_id.to_string()
            ),
        ]
    );
}

#[tokio::test]
async fn rate_limits_answer_429_until_the_reset() {
    let (em, base) = start().await;
    let (status, _) = control(
        &base,
        "/_emulator/x/rate_limits",
        // Three seconds: the three requests below fit in the window even on a loaded
        // machine (with one second, a slow run saw the window reset before the third).
        json!({"endpoint": "search", "limit": 2, "window_s": 3}),
    )
    .await;
    assert_eq!(status, 200);
    for remaining in ["1", "0"] {
        let (status, headers, _) = api("GET", &search_url(&base, "a"), "app", None).await;
        assert_eq!(status, 200);
        assert_eq!(headers["x-rate-limit-remaining"], remaining);
    }
    let (status, headers, body) = api("GET", &search_url(&base, "a"), "app", None).await;
    assert_eq!(status, 429);
    assert_eq!(body["title"], "Too Many Requests");
    let reset: i64 = headers["x-rate-limit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    // Other endpoints and other tokens have their own windows.
    let (status, _, _) = api("GET", &search_url(&base, "a"), "tok-acme", None).await;
    assert_eq!(status, 200);
    let wait = reset * 1000 - super::now_ms() + 50;
    tokio::time::sleep(Duration::from_millis(wait.max(0) as u64)).await;
    let (status, _, _) = api("GET", &search_url(&base, "a"), "app", None).await;
    assert_eq!(status, 200, "a new window after the reset");
    let log: Vec<(XEndpoint, u16)> = em
        .x_requests()
        .iter()
        .map(|r| (r.endpoint, r.status))
        .collect();
    assert_eq!(log.iter().filter(|(_, s)| *s == 429).count(), 1);
}

#[derive(Clone)]
struct Hooks {
    tx: mpsc::UnboundedSender<(HeaderMap, Bytes)>,
}

async fn x_receiver() -> (String, mpsc::UnboundedReceiver<(HeaderMap, Bytes)>) {
    async fn crc(Query(q): Query<HashMap<String, String>>) -> axum::Json<Value> {
        let token = q.get("crc_token").cloned().unwrap_or_default();
        axum::Json(json!({ "response_token": x_signature(SECRET, token.as_bytes()) }))
    }
    async fn accept(State(h): State<Hooks>, headers: HeaderMap, body: Bytes) -> StatusCode {
        h.tx.send((headers, body)).unwrap();
        StatusCode::OK
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let app = Router::new()
        .route("/hook", get(crc).post(accept))
        .with_state(Hooks { tx });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<(HeaderMap, Bytes)>) -> Value {
    let (headers, body) = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("webhook within 5 s")
        .unwrap();
    assert_eq!(
        headers["x-twitter-webhooks-signature"].to_str().unwrap(),
        x_signature(SECRET, &body)
    );
    serde_json::from_slice(&body).unwrap()
}

#[tokio::test]
async fn account_activity_webhooks_after_the_crc() {
    let (em, base) = start().await;
    // A callback that answers the CRC wrongly is refused.
    let (status, _) = control(
        &base,
        "/_emulator/x/subscriptions",
        json!({"url": format!("{base}/_emulator/outbound")}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);

    let (url, mut rx) = x_receiver().await;
    em.subscribe_x(&url).await.unwrap();
    let t = tweet(&base, json!({"author_handle": "ann", "text": "hey @ACME"})).await;
    let hook = next(&mut rx).await;
    assert_eq!(hook["for_user_id"], "1111");
    let event = &hook["tweet_create_events"][0];
    assert_eq!(event["id_str"], t["tweet_id"]);
    assert_eq!(event["user"]["screen_name"], "ann");
    assert_eq!(event["text"], "hey @ACME");

    control(
        &base,
        "/_emulator/x/dms",
        json!({"from_handle": "ann", "to_handle": "acmehelp", "text": "dm"}),
    )
    .await;
    let hook = next(&mut rx).await;
    assert_eq!(hook["for_user_id"], "1112");
    assert_eq!(
        hook["direct_message_events"][0]["message_create"]["message_data"]["text"],
        "dm"
    );
    assert_eq!(
        hook["direct_message_events"][0]["message_create"]["target"]["recipient_id"],
        "1112"
    );

    let (status, body) = control(
        &base,
        "/_emulator/x/delete",
        json!({"tweet_id": t["tweet_id"]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let hook = next(&mut rx).await;
    assert_eq!(
        hook["tweet_delete_events"][0]["status"]["id"],
        t["tweet_id"]
    );
    let (_, _, body) = api("GET", &search_url(&base, "hey"), "app", None).await;
    assert_eq!(body["meta"]["result_count"], 0, "deleted tweets vanish");
}

#[test]
fn signature_is_base64_hmac() {
    // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), base64.
    assert_eq!(
        x_signature("key", b"The quick brown fox jumps over the lazy dog"),
        "sha256=97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg="
    );
}

// ---------------------------------------------------------------- filtered stream

async fn add_rule(base: &str, value: &str) -> Value {
    let (status, _, body) = api(
        "POST",
        &format!("{base}/2/tweets/search/stream/rules"),
        "app",
        Some(json!({"add": [{"value": value, "tag": "switchboard"}]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn stream_rules_are_added_listed_and_deleted() {
    let (_em, base) = start().await;
    let rules_url = format!("{base}/2/tweets/search/stream/rules");
    let (status, _, body) = api("GET", &rules_url, "app", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["meta"]["result_count"], 0);
    assert!(body.get("data").is_none());

    let added = add_rule(&base, "(acmecorp OR @acme) -spam").await;
    assert_eq!(added["meta"]["summary"]["created"], 1);
    assert_eq!(added["meta"]["summary"]["not_created"], 0);
    let id = added["data"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(added["data"][0]["value"], "(acmecorp OR @acme) -spam");
    assert_eq!(added["data"][0]["tag"], "switchboard");

    let dup = add_rule(&base, "(acmecorp OR @acme) -spam").await;
    assert_eq!(dup["meta"]["summary"]["created"], 0);
    assert_eq!(dup["errors"][0]["title"], "DuplicateRule");
    let bad = add_rule(&base, "(unbalanced").await;
    assert_eq!(bad["meta"]["summary"]["not_created"], 1);
    assert_eq!(bad["errors"][0]["title"], "UnprocessableEntity");

    let (_, headers, body) = api("GET", &rules_url, "app", None).await;
    assert!(headers.contains_key("x-rate-limit-remaining"));
    assert_eq!(body["meta"]["result_count"], 1);
    assert_eq!(body["data"][0]["id"], id.as_str());
    assert!(body["meta"]["sent"].is_string());

    let (status, _, body) = api(
        "POST",
        &rules_url,
        "app",
        Some(json!({"delete": {"ids": [id, "404"]}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["meta"]["summary"]["deleted"], 1);
    assert_eq!(body["meta"]["summary"]["not_deleted"], 1);
    let (_, _, body) = api("GET", &rules_url, "app", None).await;
    assert_eq!(body["meta"]["result_count"], 0);

    let (status, _, body) = api("POST", &rules_url, "app", Some(json!({}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _, _) = api("GET", &rules_url, "wrong", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Reads the stream until `until` holds in the text read so far (or 5 s pass).
async fn read_until(res: &mut reqwest::Response, text: &mut String, until: impl Fn(&str) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !until(text) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, res.chunk()).await {
            Ok(Ok(Some(chunk))) => text.push_str(&String::from_utf8_lossy(&chunk)),
            Ok(Ok(None)) => break,
            Ok(Err(e)) => panic!("stream error: {e}"),
            Err(_) => panic!("timed out; read so far: {text:?}"),
        }
    }
}

#[tokio::test]
async fn the_stream_sends_matching_tweets_keepalives_and_allows_one_connection() {
    let (em, base) = start().await;
    let rule = add_rule(&base, "acmecorp -spam").await;
    let rule_id = rule["data"][0]["id"].as_str().unwrap().to_string();
    let (status, body) = control(&base, "/_emulator/x/stream", json!({"keepalive_s": 1})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let stream_url = format!("{base}/2/tweets/search/stream?expansions=author_id");
    let mut res = http()
        .get(&stream_url)
        .bearer_auth("app")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let second = http()
        .get(&stream_url)
        .bearer_auth("app")
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), StatusCode::TOO_MANY_REQUESTS);
    let problem: Value = second.json().await.unwrap();
    assert_eq!(problem["connection_issue"], "TooManyConnections");
    assert_eq!(problem["title"], "ConnectionException");

    tweet(
        &base,
        json!({"author_handle": "ann", "text": "no match here"}),
    )
    .await;
    tweet(
        &base,
        json!({"author_handle": "ann", "text": "acmecorp spam"}),
    )
    .await;
    let hit = tweet(
        &base,
        json!({"author_handle": "ann", "text": "acmecorp is late", "followers": 42}),
    )
    .await;
    let id = hit["tweet_id"].as_str().unwrap().to_string();
    let mut text = String::new();
    read_until(&mut res, &mut text, |t| t.contains("acmecorp is late")).await;
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 1, "{text:?}");
    let line: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(line["data"]["id"], id.as_str());
    assert_eq!(line["data"]["text"], "acmecorp is late");
    assert_eq!(line["includes"]["users"][0]["username"], "ann");
    assert_eq!(
        line["includes"]["users"][0]["public_metrics"]["followers_count"],
        42
    );
    assert_eq!(
        line["matching_rules"],
        json!([{"id": rule_id, "tag": "switchboard"}])
    );

    // A bare keep-alive follows within the period.
    let mut more = String::new();
    read_until(&mut res, &mut more, |t| t.contains("\r\n")).await;
    assert_eq!(more, "\r\n");

    // Disconnect: an operational-disconnect line, then the end of the body.
    let (_, body) = control(&base, "/_emulator/x/stream", json!({"disconnect": true})).await;
    assert_eq!(body["closed"], 1);
    let mut rest = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, res.chunk())
            .await
            .expect("the stream ends")
        {
            Ok(Some(chunk)) => rest.push_str(&String::from_utf8_lossy(&chunk)),
            Ok(None) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(rest.contains("operational-disconnect"), "{rest:?}");

    // A new connection is accepted once the old one is gone.
    let res = http()
        .get(&stream_url)
        .bearer_auth("app")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        em.x_requests()
            .iter()
            .filter(|r| r.endpoint == XEndpoint::Stream)
            .count(),
        3
    );
}

#[tokio::test]
async fn users_me_names_the_caller() {
    let (em, base) = start().await;
    let url = format!("{base}/2/users/me");
    let (status, headers, body) = api("GET", &url, "tok-help", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({ "data": { "id": "1112", "name": "acmehelp", "username": "acmehelp" } })
    );
    assert_eq!(headers["x-rate-limit-limit"], "75");
    let (_, _, body) = api("GET", &url, "tok-acme", None).await;
    assert_eq!(body["data"]["username"], "acme");

    let (status, _, body) = api("GET", &url, "nope", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["title"], "Unauthorized");
    // The app-only token has no user behind it.
    let (status, _, body) = api("GET", &url, "app", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["title"], "Unsupported Authentication");

    let calls: Vec<u16> = em
        .x_requests()
        .iter()
        .filter(|r| r.endpoint == XEndpoint::UsersMe)
        .map(|r| r.status)
        .collect();
    assert_eq!(calls, [200, 200, 401, 403]);
    assert!(em.outbound().is_empty(), "a read, not an action");
}

mod compliance;
mod faults;
mod media;
