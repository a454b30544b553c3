//! Files in Instagram DMs over real HTTP: a customer's attachments and stories point at the
//! emulator's CDN, and a file the account sends by URL is fetched as Instagram would.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{IG, TOKEN, call, dm, event, start, subscribe};
use crate::tests::{control, get_json, http, next_hook};

#[tokio::test]
async fn attachments_and_stories_without_a_url_point_at_the_cdn() {
    let (em, base) = start().await;
    let mut rx = subscribe(&em).await;
    let (status, body) = control(
        &base,
        "/_emulator/instagram/messages",
        json!({ "username": "zoe", "reply_to": { "story": { "id": "17890000000000099" } },
                "attachments": [{ "type": "image" }, { "type": "audio" }, { "type": "file" },
                                { "type": "story_mention" }, { "type": "ig_post", "title": "New store" },
                                { "type": "unsupported_type" }] }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let message = event(&next_hook(&mut rx).await)["message"].clone();
    let a = message["attachments"].as_array().unwrap();
    let url = |i: usize| a[i]["payload"]["url"].as_str().unwrap().to_string();
    assert!(url(0).contains("/_emulator/meta-cdn/photo.png"));
    assert!(url(1).contains("/_emulator/meta-cdn/voice.mp3"));
    assert!(url(2).contains("/_emulator/meta-cdn/document.pdf"));
    assert!(url(3).contains("/_emulator/meta-cdn/story.png"));
    assert!(a[4]["payload"]["ig_post_media_id"].is_string());
    assert_eq!(a[5]["payload"], json!({}), "unsupported: nothing to show");
    let story = message["reply_to"]["story"]["url"].as_str().unwrap();
    assert!(story.contains("/_emulator/meta-cdn/story.png"), "{story}");
    // The links work, without a token, as the CDN's do.
    for link in [url(0), url(2), story.to_string()] {
        let response = http().get(&link).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{link}");
    }
}

#[tokio::test]
async fn a_file_sent_by_url_is_recorded_and_fetched() {
    let (em, base) = start().await;
    let (_, igsid) = dm(&base, "ann", "hi", 0).await;
    let link = format!("{base}/_emulator/meta-cdn/document.pdf?sig=abc");
    let (status, body) = call(
        "POST",
        &format!("{base}/me/messages"),
        TOKEN,
        Some(json!({ "recipient": { "id": igsid }, "message": {
            "attachment": { "type": "file", "payload": { "url": link } } } })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let record = em.outbound().into_iter().last().unwrap();
    assert_eq!(
        (record.platform.as_str(), record.kind.as_str()),
        ("instagram", "file")
    );
    assert_eq!(record.target_id.as_deref(), Some(igsid.as_str()));
    // Instagram fetched the link: the account's view says what it got.
    let mut fetched = Value::Null;
    for _ in 0..50 {
        let (_, view) = get_json(&format!("{base}/_emulator/instagram/accounts/{IG}")).await;
        fetched = view["fetched"][0].clone();
        if !fetched.is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(fetched["url"], link.as_str());
    assert_eq!(fetched["status"], 200);
    assert_eq!(fetched["content_type"], "application/pdf");
    assert_eq!(fetched["message_id"], body["message_id"]);
    assert_eq!(
        fetched["size"],
        include_bytes!("../../facebook/samples/document.pdf").len()
    );

    // A file with no URL, or of a type Instagram does not send, is refused.
    for attachment in [
        json!({ "type": "image", "payload": { "attachment_id": "1" } }),
        json!({ "type": "sticker", "payload": { "url": link } }),
    ] {
        let (status, body) = call(
            "POST",
            &format!("{base}/me/messages"),
            TOKEN,
            Some(json!({ "recipient": { "id": igsid }, "message": { "attachment": attachment } })),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"]["code"], 100);
    }
}
