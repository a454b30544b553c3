//! Facebook page tests, driven over real HTTP like the connector and the demo drive it.

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::http::StatusCode;
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::tests::{Hook, control, get_json, http, next_hook, receiver};
use crate::{Emulator, EmulatorConfig, FacebookPage, OutboundRecord};

const PAGE: &str = "448242228374517";
const SECRET: &str = "test-app-secret";

fn page(access_token: Option<&str>) -> FacebookPage {
    FacebookPage {
        page_id: PAGE.into(),
        name: "Acme Support".into(),
        app_secret: SECRET.into(),
        access_token: access_token.map(Into::into),
    }
}

async fn start(access_token: Option<&str>) -> (Emulator, String) {
    let emulator = Emulator::new(EmulatorConfig {
        facebook_pages: vec![page(access_token)],
        ..Default::default()
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(emulator.clone().serve(listener));
    (emulator, url)
}

/// Creates a post and returns its id.
async fn new_post(base: &str, author: &str, text: &str) -> String {
    let (status, body) = control(
        base,
        "/_emulator/facebook/comments",
        json!({ "page_id": PAGE, "author_name": author, "text": text, "deliveries": 0 }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["post_id"].as_str().unwrap().to_string()
}

/// Comments on `parent` (post or comment) of `post` and returns the comment id.
async fn new_comment(base: &str, post: &str, parent: &str, text: &str) -> String {
    let (status, body) = control(
        base,
        "/_emulator/facebook/comments",
        json!({ "page_id": PAGE, "post_id": post, "parent_id": parent, "author_name": "Ann", "text": text }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["comment_id"].as_str().unwrap().to_string()
}

/// The feed change inside a delivered webhook, after checking envelope and signature.
fn change(hook: &Hook) -> Value {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(&hook.body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(hook.headers["x-hub-signature-256"], expected.as_str());
    assert_eq!(hook.headers["content-type"], "application/json");
    let payload: Value = serde_json::from_slice(&hook.body).unwrap();
    assert_eq!(payload["object"], "page");
    assert_eq!(payload["entry"][0]["id"], PAGE);
    assert!(payload["entry"][0]["time"].is_i64());
    assert_eq!(payload["entry"][0]["changes"][0]["field"], "feed");
    payload["entry"][0]["changes"][0]["value"].clone()
}

#[tokio::test]
async fn post_comment_reply_ids_and_threading() {
    let (_em, base) = start(None).await;
    let post = new_post(&base, "Ann", "my order is late").await;
    let suffix = post
        .strip_prefix(&format!("{PAGE}_"))
        .expect("post id is {page}_{n}");
    assert!(suffix.len() >= 15 && suffix.chars().all(|c| c.is_ascii_digit()));

    let comment = new_comment(&base, &post, &post, "still waiting").await;
    assert!(comment.starts_with(&format!("{suffix}_")), "{comment}");
    let reply = new_comment(&base, &post, &comment, "hello?").await;
    assert!(reply.starts_with(&format!("{suffix}_")) && reply != comment);
    // A parent comment alone is enough to find the post.
    let (status, body) = control(
        &base,
        "/_emulator/facebook/comments",
        json!({ "page_id": PAGE, "parent_id": comment, "author_name": "Bob", "text": "me too" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["post_id"], post.as_str());

    let (status, view) = get_json(&format!("{base}/_emulator/facebook/pages/{PAGE}")).await;
    assert_eq!(status, StatusCode::OK);
    let comments = view["posts"][0]["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 3);
    assert_eq!(comments[0]["parent_id"], post.as_str());
    assert_eq!(comments[1]["parent_id"], comment.as_str());
    assert_eq!(comments[2]["parent_id"], comment.as_str());
    // The same name keeps one stable, numeric author id.
    assert_eq!(view["posts"][0]["from"], comments[0]["from"]);
    assert!(
        comments[0]["from"]["id"]
            .as_str()
            .unwrap()
            .chars()
            .all(|c| c.is_ascii_digit())
    );

    let bad = [
        (
            json!({ "page_id": "nope", "author_name": "A", "text": "x" }),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({ "page_id": PAGE, "author_name": "A", "text": " " }),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({ "page_id": PAGE, "author_name": "A" }),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({ "page_id": PAGE, "post_id": "1_2", "author_name": "A", "text": "x" }),
            StatusCode::NOT_FOUND,
        ),
    ];
    for (request, expected) in bad {
        let (status, body) = control(&base, "/_emulator/facebook/comments", request).await;
        assert_eq!(status, expected, "{body}");
        assert!(body["error"].is_string());
    }
}

#[tokio::test]
async fn feed_shape_order_and_limit() {
    let (_em, base) = start(None).await;
    let mut posts = Vec::new();
    for (i, text) in ["first", "second", "third"].iter().enumerate() {
        let (_, body) = control(
            &base,
            "/_emulator/facebook/comments",
            json!({ "page_id": PAGE, "author_name": "Ann", "text": text, "created_time": 1_705_320_180 + i as i64 }),
        )
        .await;
        posts.push(body["post_id"].as_str().unwrap().to_string());
    }
    let comment = new_comment(&base, &posts[2], &posts[2], "a comment").await;
    let reply = new_comment(&base, &posts[2], &comment, "a reply").await;

    let url = format!(
        "{base}/v19.0/{PAGE}/feed?fields=from,message,created_time,comments%7Bfrom,message,created_time,parent%7D&limit=2"
    );
    let (status, feed) = get_json(&url).await;
    assert_eq!(status, StatusCode::OK, "{feed}");
    let data = feed["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[0]["id"], posts[2].as_str());
    assert_eq!(data[1]["id"], posts[1].as_str());
    assert_eq!(data[0]["message"], "third");
    assert_eq!(data[0]["created_time"], "2024-01-15T12:03:02+0000");
    assert_eq!(data[0]["from"]["name"], "Ann");
    assert!(data[0]["from"]["id"].is_string());
    let comments = data[0]["comments"]["data"].as_array().unwrap();
    assert_eq!(comments.len(), 2);
    assert_eq!(comments[0]["id"], comment.as_str());
    assert_eq!(comments[0]["message"], "a comment");
    assert!(comments[0].get("parent").is_none());
    assert_eq!(comments[1]["id"], reply.as_str());
    assert_eq!(comments[1]["parent"]["id"], comment.as_str());
    assert!(
        comments[1]["created_time"]
            .as_str()
            .unwrap()
            .ends_with("+0000")
    );
    // Graph leaves out an empty edge.
    assert!(data[1].get("comments").is_none());

    let after = feed["paging"]["cursors"]["after"].as_str().unwrap();
    assert!(feed["paging"]["cursors"]["before"].is_string());
    let (_, rest) = get_json(&format!("{base}/{PAGE}/feed?limit=2&after={after}")).await;
    assert_eq!(rest["data"].as_array().unwrap().len(), 1);
    assert_eq!(rest["data"][0]["id"], posts[0].as_str());

    let (_, only_message) = get_json(&format!("{base}/{PAGE}/feed?fields=message")).await;
    assert_eq!(only_message["data"].as_array().unwrap().len(), 3);
    assert!(only_message["data"][0].get("from").is_none());
    assert!(only_message["data"][0]["id"].is_string());
}

#[tokio::test]
async fn business_calls_are_recorded_in_order() {
    let (em, base) = start(None).await;
    let post = new_post(&base, "Ann", "help").await;
    let comment = new_comment(&base, &post, &post, "hello").await;
    let other = new_comment(&base, &post, &post, "spam").await;
    let client = http();

    let response = client
        .post(format!("{base}/v19.0/{post}/comments"))
        .form(&[("message", "Thanks, on it!")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let on_post = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let response = client
        .post(format!("{base}/{comment}/comments"))
        .json(&json!({ "message": "Sorry about that 😀" }))
        .send()
        .await
        .unwrap();
    let on_comment = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let hide = client
        .post(format!("{base}/v19.0/{other}"))
        .form(&[("is_hidden", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        hide.json::<Value>().await.unwrap(),
        json!({ "success": true })
    );
    let delete = client
        .delete(format!("{base}/{other}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        delete.json::<Value>().await.unwrap(),
        json!({ "success": true })
    );
    let subscribed = client
        .post(format!(
            "{base}/{PAGE}/subscribed_apps?subscribed_fields=feed"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        subscribed.json::<Value>().await.unwrap(),
        json!({ "success": true })
    );

    let record = |kind: &str, target: &str, id: &str, text: Option<&str>| OutboundRecord {
        platform: "facebook".into(),
        kind: kind.into(),
        target_id: Some(target.into()),
        id: id.into(),
        text: text.map(Into::into),
    };
    let expected = vec![
        record("comment", &post, &on_post, Some("Thanks, on it!")),
        record(
            "comment",
            &comment,
            &on_comment,
            Some("Sorry about that 😀"),
        ),
        record("hide", &other, &other, None),
        record("delete", &other, &other, None),
    ];
    assert_eq!(em.outbound(), expected);
    let (_, listed) = get_json(&format!("{base}/_emulator/outbound")).await;
    assert_eq!(
        serde_json::from_value::<Vec<OutboundRecord>>(listed).unwrap(),
        expected
    );

    // The page's own comments are in the feed as written by the page; deleted ones are gone.
    let (_, feed) = get_json(&format!("{base}/{PAGE}/feed")).await;
    let comments = feed["data"][0]["comments"]["data"].as_array().unwrap();
    let ids: Vec<&str> = comments.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [comment.as_str(), on_post.as_str(), on_comment.as_str()]
    );
    assert_eq!(
        comments[1]["from"],
        json!({ "id": PAGE, "name": "Acme Support" })
    );
    assert_eq!(comments[2]["parent"]["id"], comment.as_str());

    // Replying to something that does not exist (or no longer does) is a Graph error.
    for target in ["123_456", other.as_str()] {
        let response = client
            .post(format!("{base}/{target}/comments"))
            .form(&[("message", "hi")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let error = &response.json::<Value>().await.unwrap()["error"];
        assert_eq!(error["code"], 100);
        assert_eq!(error["type"], "GraphMethodException");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .starts_with("Unsupported post request")
        );
        assert!(error["fbtrace_id"].is_string());
    }
    assert_eq!(em.outbound().len(), 4);

    let cleared = client
        .delete(format!("{base}/_emulator/outbound"))
        .send()
        .await
        .unwrap();
    assert_eq!(cleared.status(), StatusCode::OK);
    assert!(em.outbound().is_empty());
}

#[tokio::test]
async fn webhooks_are_signed_escaped_and_ordered() {
    let (em, base) = start(None).await;
    let (hook_url, _, mut rx) = receiver("verify-me", 0).await;
    em.subscribe_facebook(PAGE, &hook_url, "verify-me")
        .await
        .unwrap();

    let text = "late again 😀 — café";
    let (_, created) = control(
        &base,
        "/_emulator/facebook/comments",
        json!({ "page_id": PAGE, "author_name": "Zoë", "text": text }),
    )
    .await;
    let post = created["post_id"].as_str().unwrap();
    let hook = next_hook(&mut rx).await;
    let raw = std::str::from_utf8(&hook.body).unwrap();
    assert!(hook.body.is_ascii(), "non-ASCII must be escaped: {raw}");
    assert!(raw.contains(r"\ud83d\ude00"), "{raw}");
    assert!(raw.contains(r"caf\u00e9") && raw.contains(r"Zo\u00eb"));
    let value = change(&hook);
    assert_eq!(
        value["message"].as_str().unwrap().as_bytes(),
        text.as_bytes()
    );
    assert_eq!(value["item"], "post");
    assert_eq!(value["verb"], "add");
    assert_eq!(value["post_id"], post);
    assert_eq!(value["from"]["name"], "Zoë");
    assert!(value["created_time"].is_i64());
    assert!(value.get("comment_id").is_none());

    let comment = new_comment(&base, post, post, "first").await;
    let reply = new_comment(&base, post, &comment, "second").await;
    let response = http()
        .post(format!("{base}/{reply}/comments"))
        .form(&[("message", "our answer")])
        .send()
        .await
        .unwrap();
    let ours = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    let value = change(&next_hook(&mut rx).await);
    assert_eq!(
        (
            value["item"].as_str(),
            value["comment_id"].as_str(),
            value["parent_id"].as_str()
        ),
        (Some("comment"), Some(comment.as_str()), Some(post))
    );
    assert_eq!(value["post_id"], post);
    assert_eq!(value["message"], "first");
    let value = change(&next_hook(&mut rx).await);
    assert_eq!(value["comment_id"], reply.as_str());
    assert_eq!(value["parent_id"], comment.as_str());
    let value = change(&next_hook(&mut rx).await);
    assert_eq!(value["comment_id"], ours.as_str());
    assert_eq!(value["parent_id"], reply.as_str());
    assert_eq!(value["from"], json!({ "id": PAGE, "name": "Acme Support" }));
}

#[tokio::test]
async fn deliveries_two_delivers_twice() {
    let (em, base) = start(None).await;
    let (hook_url, _, mut rx) = receiver("t", 0).await;
    em.subscribe_facebook(PAGE, &hook_url, "t").await.unwrap();
    let post = new_post(&base, "Ann", "hi").await; // deliveries: 0
    let (_, body) = control(
        &base,
        "/_emulator/facebook/comments",
        json!({ "page_id": PAGE, "post_id": post, "author_name": "Ann", "text": "twice", "deliveries": 2 }),
    )
    .await;
    let first = next_hook(&mut rx).await;
    let second = next_hook(&mut rx).await;
    assert_eq!(first.body, second.body);
    assert_eq!(change(&first)["comment_id"], body["comment_id"]);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), rx.recv())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn failed_delivery_is_retried() {
    let (em, base) = start(None).await;
    let (hook_url, state, mut rx) = receiver("t", 1).await;
    em.subscribe_facebook(PAGE, &hook_url, "t").await.unwrap();
    let (_, body) = control(
        &base,
        "/_emulator/facebook/comments",
        json!({ "page_id": PAGE, "author_name": "Ann", "text": "retry me" }),
    )
    .await;
    let value = change(&next_hook(&mut rx).await);
    assert_eq!(value["post_id"], body["post_id"]);
    assert_eq!(state.attempts.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn edit_and_remove_webhooks() {
    let (em, base) = start(None).await;
    let (hook_url, _, mut rx) = receiver("t", 0).await;
    let post = new_post(&base, "Ann", "hi").await;
    let comment = new_comment(&base, &post, &post, "typo").await;
    let other = new_comment(&base, &post, &post, "bye").await;
    em.subscribe_facebook(PAGE, &hook_url, "t").await.unwrap();

    let (status, _) = control(
        &base,
        "/_emulator/facebook/edit",
        json!({ "comment_id": comment, "text": "fixed" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let value = change(&next_hook(&mut rx).await);
    assert_eq!(
        (value["verb"].as_str(), value["message"].as_str()),
        (Some("edited"), Some("fixed"))
    );

    let (status, _) = control(
        &base,
        "/_emulator/facebook/remove",
        json!({ "comment_id": comment }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let value = change(&next_hook(&mut rx).await);
    assert_eq!(value["verb"], "remove");
    assert_eq!(value["comment_id"], comment.as_str());
    assert!(value.get("message").is_none());

    // A delete by the business is announced the same way.
    http()
        .delete(format!("{base}/{other}"))
        .send()
        .await
        .unwrap();
    let value = change(&next_hook(&mut rx).await);
    assert_eq!(
        (value["verb"].as_str(), value["comment_id"].as_str()),
        (Some("remove"), Some(other.as_str()))
    );

    let (_, feed) = get_json(&format!("{base}/{PAGE}/feed")).await;
    assert!(feed["data"][0].get("comments").is_none(), "{feed}");
    let (status, _) = control(
        &base,
        "/_emulator/facebook/remove",
        json!({ "comment_id": comment }),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn subscription_handshake_failure_is_reported() {
    let (em, base) = start(None).await;
    let (hook_url, _, _rx) = receiver("right", 0).await;
    let err = em
        .subscribe_facebook(PAGE, &hook_url, "wrong")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("403"), "{err:#}");

    let (status, body) = control(
        &base,
        "/_emulator/facebook/subscriptions",
        json!({ "page_id": PAGE, "callback_url": hook_url, "verify_token": "wrong" }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(body["error"].as_str().unwrap().contains("403"));

    // Nobody listening at all.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    assert!(em.subscribe_facebook(PAGE, &dead, "right").await.is_err());
    assert!(
        em.subscribe_facebook("nope", &hook_url, "right")
            .await
            .is_err()
    );

    let (status, body) = control(
        &base,
        "/_emulator/facebook/subscriptions",
        json!({ "page_id": PAGE, "callback_url": hook_url, "verify_token": "right" }),
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, json!({ "ok": true })));
    let (_, view) = get_json(&format!("{base}/_emulator/facebook/pages/{PAGE}")).await;
    assert_eq!(view["subscribers"], json!([hook_url]));
}

#[tokio::test]
async fn failure_injection() {
    let (_em, base) = start(None).await;
    let (status, _) = control(
        &base,
        "/_emulator/facebook/failures",
        json!({ "status": 503, "code": 2, "message": "Service temporarily unavailable", "count": 2 }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let feed = format!("{base}/v19.0/{PAGE}/feed");
    for _ in 0..2 {
        let (status, body) = get_json(&feed).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["error"]["code"], 2);
        assert_eq!(body["error"]["message"], "Service temporarily unavailable");
        assert!(body["error"]["type"].is_string() && body["error"]["fbtrace_id"].is_string());
    }
    let (status, body) = get_json(&feed).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({ "data": [] }));

    // Control calls never consume injected failures.
    control(
        &base,
        "/_emulator/facebook/failures",
        json!({ "status": 400, "code": 4, "error_subcode": 1349210, "message": "Rate limited", "count": 1 }),
    )
    .await;
    new_post(&base, "Ann", "hi").await;
    let (status, body) = get_json(&feed).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["error_subcode"], 1349210);
}

#[tokio::test]
async fn access_token_is_enforced() {
    let (_em, base) = start(Some("page-token")).await;
    let post = new_post(&base, "Ann", "hi").await;
    let client = http();
    let feed = format!("{base}/v19.0/{PAGE}/feed");
    for request in [
        client.get(&feed),
        client.get(format!("{feed}?access_token=nope")),
        client.get(&feed).bearer_auth("nope"),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let error = &response.json::<Value>().await.unwrap()["error"];
        assert_eq!(
            (error["code"].as_i64(), error["type"].as_str()),
            (Some(190), Some("OAuthException"))
        );
    }
    let ok = [
        client.get(format!("{feed}?access_token=page-token")),
        client.get(&feed).bearer_auth("page-token"),
        client
            .post(format!("{base}/{post}/comments"))
            .form(&[("message", "hi"), ("access_token", "page-token")]),
    ];
    for request in ok {
        assert_eq!(request.send().await.unwrap().status(), StatusCode::OK);
    }
    let denied = client
        .post(format!("{base}/{post}/comments"))
        .form(&[("message", "hi")])
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn page_and_me_answer_the_credentials_check() {
    let emulator = Emulator::new(EmulatorConfig {
        facebook_pages: vec![
            page(Some("page-token")),
            FacebookPage {
                page_id: "999".into(),
                name: "Other Page".into(),
                app_secret: SECRET.into(),
                access_token: Some("other-token".into()),
            },
        ],
        ..Default::default()
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(emulator.clone().serve(listener));
    let client = http();
    let get = |path: String, token: &str| {
        let request = client.get(format!("{base}/v19.0/{path}"));
        let request = if token.is_empty() {
            request
        } else {
            request.bearer_auth(token)
        };
        async move {
            let response = request.send().await.unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        }
    };

    // `fields` selects; unknown fields are left out; `id` is always there.
    let (status, body) = get(format!("{PAGE}?fields=id,name"), "page-token").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({ "id": PAGE, "name": "Acme Support" }));
    let (_, body) = get(format!("{PAGE}?fields=name,fan_count"), "page-token").await;
    assert_eq!(body, json!({ "id": PAGE, "name": "Acme Support" }));
    let (_, body) = get(format!("{PAGE}?fields=id"), "page-token").await;
    assert_eq!(body, json!({ "id": PAGE }));
    let (status, body) = get(format!("{PAGE}?fields=id,name"), "nope").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], 190);

    // `/me` names the page the token belongs to.
    let (status, body) = get("me?fields=id,name".into(), "page-token").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({ "id": PAGE, "name": "Acme Support" }));
    let (_, body) = get("me?fields=id,name".into(), "other-token").await;
    assert_eq!(body, json!({ "id": "999", "name": "Other Page" }));
    let (status, body) = get("me".into(), "nope").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        (
            body["error"]["code"].as_i64(),
            body["error"]["type"].as_str()
        ),
        (Some(190), Some("OAuthException"))
    );
    let (status, body) = get("me".into(), "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], 2500);

    // A page without a token takes any: `/me` is that page.
    let (_em, open) = start(None).await;
    let (status, body) = get_json(&format!("{open}/me?access_token=anything")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["id"], PAGE);
}
