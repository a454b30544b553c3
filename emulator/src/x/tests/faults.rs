//! Injected failures, partial errors, direct-message pages and group conversations.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{api, start};
use crate::tests::control;

async fn dm(base: &str, from: &str, text: &str) -> Value {
    let (status, body) = control(
        base,
        "/_emulator/x/dms",
        json!({"from_handle": from, "to_handle": "acme", "text": text}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn a_failure_hits_only_its_endpoint_and_ends_when_cancelled() {
    let (em, base) = start().await;
    em.set_x_rate_limit(crate::XEndpoint::DmRead, 1000, 900);
    let (status, _) = control(
        &base,
        "/_emulator/x/failures",
        json!({"endpoint": "dm_read", "status": 403, "detail": "not permitted"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let dms = format!("{base}/2/dm_events");
    for _ in 0..2 {
        let (status, _, body) = api("GET", &dms, "tok-acme", None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "until cancelled");
        assert_eq!(body["detail"], "not permitted");
    }
    let mentions = format!("{base}/2/users/1111/mentions");
    let (status, _, _) = api("GET", &mentions, "tok-acme", None).await;
    assert_eq!(status, StatusCode::OK, "other endpoints answer");
    control(
        &base,
        "/_emulator/x/failures",
        json!({"endpoint": "dm_read", "count": 0}),
    )
    .await;
    let (status, _, _) = api("GET", &dms, "tok-acme", None).await;
    assert_eq!(status, StatusCode::OK);

    control(
        &base,
        "/_emulator/x/failures",
        json!({"endpoint": "search", "status": 400, "count": 1}),
    )
    .await;
    let search = format!("{base}/2/tweets/search/recent?query=acme");
    assert_eq!(
        api("GET", &search, "app", None).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        api("GET", &search, "app", None).await.0,
        StatusCode::OK,
        "count 1"
    );
    let logged: Vec<u16> = em.x_requests().iter().map(|r| r.status).collect();
    assert!(logged.contains(&403) && logged.contains(&400), "{logged:?}");
}

#[tokio::test]
async fn dm_events_come_in_pages_and_partial_errors_ride_along() {
    let (em, base) = start().await;
    em.set_x_rate_limit(crate::XEndpoint::DmRead, 1000, 900);
    for i in 0..5 {
        dm(&base, "ann", &format!("m{i}")).await;
    }
    let first = format!("{base}/2/dm_events?max_results=2");
    let (_, _, page1) = api("GET", &first, "tok-acme", None).await;
    let texts = |b: &Value| -> Vec<String> {
        b["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["text"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(texts(&page1), vec!["m4", "m3"]);
    let token = page1["meta"]["next_token"].as_str().unwrap().to_string();
    let (_, _, page2) = api(
        "GET",
        &format!("{first}&pagination_token={token}"),
        "tok-acme",
        None,
    )
    .await;
    assert_eq!(texts(&page2), vec!["m2", "m1"]);
    let token = page2["meta"]["next_token"].as_str().unwrap().to_string();
    let (_, _, page3) = api(
        "GET",
        &format!("{first}&pagination_token={token}"),
        "tok-acme",
        None,
    )
    .await;
    assert_eq!(texts(&page3), vec!["m0"]);
    assert!(page3["meta"].get("next_token").is_none());

    control(
        &base,
        "/_emulator/x/partial_errors",
        json!({"endpoint": "dm_read", "drop_author": true}),
    )
    .await;
    let (_, _, partial) = api("GET", &first, "tok-acme", None).await;
    assert_eq!(partial["errors"][0]["title"], "Not Found Error");
    assert!(partial["data"][0].get("sender_id").is_none());
    assert!(partial["data"][1].get("sender_id").is_some());
    let (_, _, after) = api("GET", &first, "tok-acme", None).await;
    assert!(after.get("errors").is_none(), "count 1 by default");
}

#[tokio::test]
async fn a_group_conversation_is_listed_to_its_members_and_answered_in_place() {
    let (em, base) = start().await;
    em.set_x_rate_limit(crate::XEndpoint::DmRead, 1000, 900);
    let (status, group) = control(
        &base,
        "/_emulator/x/group_dms",
        json!({"from_handle": "ann", "participants": ["acme", "bob"], "text": "hi all"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{group}");
    let conversation = group["dm_conversation_id"].as_str().unwrap().to_string();
    assert!(!conversation.contains('-'));
    let (_, _, listed) = api("GET", &format!("{base}/2/dm_events"), "tok-acme", None).await;
    assert_eq!(
        listed["data"][0]["dm_conversation_id"],
        conversation.as_str()
    );
    let (_, _, other) = api("GET", &format!("{base}/2/dm_events"), "tok-help", None).await;
    assert!(other.get("data").is_none(), "not a member: {other}");

    let url = format!("{base}/2/dm_conversations/{conversation}/messages");
    let (status, _, sent) = api(
        "POST",
        &url,
        "tok-acme",
        Some(json!({"text": "hello both"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    assert_eq!(sent["data"]["dm_conversation_id"], conversation.as_str());
    let out = em.outbound();
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].kind.as_str(), out[0].target_id.as_deref()),
        ("dm_conversation", Some(conversation.as_str()))
    );
    let (status, _, _) = api("POST", &url, "tok-help", Some(json!({"text": "intruder"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "not a member");
}

#[tokio::test]
async fn a_raw_line_is_written_on_the_open_stream() {
    let (_em, base) = start().await;
    let (_, state) = control(&base, "/_emulator/x/stream", json!({"raw_line": "oops"})).await;
    assert_eq!(state["written"], 0, "no stream open");
    let res = super::http()
        .get(format!("{base}/2/tweets/search/stream"))
        .bearer_auth("app")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (_, state) = control(
        &base,
        "/_emulator/x/stream",
        json!({"raw_line": "{\"data\":"}),
    )
    .await;
    assert_eq!(state["written"], 1);
    let mut res = res;
    let mut got = Vec::new();
    while !String::from_utf8_lossy(&got).contains("{\"data\":\r\n") {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(5), res.chunk())
            .await
            .expect("the line arrives")
            .unwrap()
            .expect("the stream stays open");
        got.extend_from_slice(&chunk);
    }
}
