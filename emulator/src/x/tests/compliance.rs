//! Customers deleting tweets and their account, and the lookups that tell.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{api, read_until, search_url, start, tweet};
use crate::XEndpoint;
use crate::tests::{control, http};

fn errors_for(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|e| {
            e.iter()
                .filter(|e| e["title"] == "Not Found Error")
                .map(|e| e["resource_id"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn data_ids(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .map(|d| {
            d.iter()
                .map(|i| i["id"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn lookups_say_which_tweets_and_accounts_were_deleted() {
    let (em, base) = start().await;
    let kept = tweet(
        &base,
        json!({"author_handle": "ann", "text": "acmecorp kept"}),
    )
    .await;
    let gone = tweet(
        &base,
        json!({"author_handle": "ann", "text": "acmecorp gone"}),
    )
    .await;
    let bobs = tweet(
        &base,
        json!({"author_handle": "bob", "text": "acmecorp by bob"}),
    )
    .await;
    control(
        &base,
        "/_emulator/x/dms",
        json!({"from_handle": "bob", "to_handle": "acme", "text": "bob writes"}),
    )
    .await;
    let (k, g, b) = (
        kept["tweet_id"].as_str().unwrap(),
        gone["tweet_id"].as_str().unwrap(),
        bobs["tweet_id"].as_str().unwrap(),
    );
    let (ann, bob) = (
        kept["author_id"].as_str().unwrap(),
        bobs["author_id"].as_str().unwrap(),
    );

    let (status, body) = control(&base, "/_emulator/x/delete_tweet", json!({"id": g})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = control(&base, "/_emulator/x/delete_user", json!({"handle": "bob"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user_id"], bob);
    assert_eq!(
        (
            body["tweets_deleted"].as_u64(),
            body["dms_deleted"].as_u64()
        ),
        (Some(1), Some(1))
    );

    let lookup = format!("{base}/2/tweets?ids={k},{g},{b},424242");
    let (status, headers, body) = api("GET", &lookup, "app", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(headers.contains_key("x-rate-limit-remaining"));
    assert_eq!(data_ids(&body), [k]);
    assert_eq!(errors_for(&body), [g, b, "424242"]);
    assert_eq!(body["errors"][0]["resource_type"], "tweet");

    let (status, _, body) = api(
        "GET",
        &format!("{base}/2/users?ids={ann},{bob},1111"),
        "tok-acme",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(data_ids(&body), [ann, "1111"]);
    assert_eq!(errors_for(&body), [bob]);
    assert_eq!(
        body["errors"][0]["detail"],
        format!("Could not find user with ids: [{bob}].")
    );

    // Gone from everything else too.
    let (_, _, body) = api("GET", &search_url(&base, "acmecorp"), "app", None).await;
    assert_eq!(data_ids(&body), [k]);
    let (_, _, body) = api("GET", &format!("{base}/2/dm_events"), "tok-acme", None).await;
    assert!(data_ids(&body).is_empty(), "{body}");
    let (_, _, body) = api(
        "GET",
        &format!("{base}/2/users/by/username/bob"),
        "app",
        None,
    )
    .await;
    assert_eq!(body["errors"][0]["title"], "Not Found Error");

    let (status, _, _) = api("GET", &format!("{base}/2/tweets"), "app", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "ids are required");
    let (status, _) = control(&base, "/_emulator/x/delete_user", json!({"id": "1111"})).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "not the business's own account"
    );
    let (status, _) = control(&base, "/_emulator/x/delete_user", json!({"id": bob})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "already deleted");
    let (status, _) = control(&base, "/_emulator/x/delete_tweet", json!({"tweet_id": g})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let endpoints: Vec<XEndpoint> = em.x_requests().iter().map(|r| r.endpoint).collect();
    assert!(
        endpoints.contains(&XEndpoint::TweetLookup) && endpoints.contains(&XEndpoint::UserLookup)
    );
}

#[tokio::test]
async fn deletions_can_be_written_on_the_open_stream_as_compliance_lines() {
    let (_em, base) = start().await;
    let t = tweet(&base, json!({"author_handle": "ann", "text": "bye"})).await;
    let mut res = http()
        .get(format!("{base}/2/tweets/search/stream"))
        .bearer_auth("app")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (_, body) = control(
        &base,
        "/_emulator/x/delete_tweet",
        json!({"id": t["tweet_id"], "stream": true}),
    )
    .await;
    assert_eq!(body["stream_lines"], 1);
    let mut text = String::new();
    read_until(&mut res, &mut text, |t| t.contains("\r\n")).await;
    let line: Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(line["data"]["delete"]["tweet"]["id"], t["tweet_id"]);
    assert_eq!(line["data"]["delete"]["tweet"]["author_id"], t["author_id"]);
    assert!(
        line["data"]["delete"]["event_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );

    let (_, body) = control(
        &base,
        "/_emulator/x/delete_user",
        json!({"handle": "ann", "stream": true}),
    )
    .await;
    assert_eq!(body["stream_lines"], 1);
    let mut text = String::new();
    tokio::time::sleep(Duration::from_millis(50)).await;
    read_until(&mut res, &mut text, |t| {
        t.contains("user_delete") && t.ends_with("\r\n")
    })
    .await;
    let line: Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(line["data"]["user_delete"]["user"]["id"], t["author_id"]);
}
