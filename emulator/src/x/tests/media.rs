//! Photos, videos, GIFs, links and quoted or shared tweets sent by customers (v2 and
//! v1.1 shapes, downloads), and the business's uploads used in tweets and direct messages.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{api, next, search_url, start, tweet, x_receiver};
use crate::tests::{control, http};

async fn dm(base: &str, body: Value) -> Value {
    let (status, body) = control(base, "/_emulator/x/dms", body).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn download(url: &str, token: Option<&str>) -> (StatusCode, Vec<u8>) {
    let mut req = http().get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    (res.status(), res.bytes().await.unwrap().to_vec())
}

/// A multipart upload as the plugin's host makes it.
async fn upload(
    base: &str,
    token: &str,
    fields: &[(&str, &str)],
    file: &[u8],
) -> (StatusCode, Value) {
    let boundary = "sbBOUNDARY42";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"media\"; filename=\"f\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let res = http()
        .post(format!("{base}/2/media/upload"))
        .bearer_auth(token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn customer_tweets_carry_media_links_and_quotes_in_v2_shapes() {
    let (_em, base) = start().await;
    let quoted = tweet(
        &base,
        json!({"author_handle": "bob", "text": "acmecorp boots"}),
    )
    .await;
    let t = tweet(
        &base,
        json!({"author_handle": "ann", "text": "acmecorp look", "quote_of": quoted["tweet_id"],
               "media": [{"type": "photo", "alt_text": "torn sole"}],
               "urls": [{"url": "https://shop.example/boots", "title": "Boots"}]}),
    )
    .await;
    tweet(
        &base,
        json!({"author_handle": "cy", "text": "acmecorp video", "media": [{"type": "video"}]}),
    )
    .await;
    tweet(
        &base,
        json!({"author_handle": "di", "text": "acmecorp gif", "media": [{"type": "animated_gif"}]}),
    )
    .await;
    tweet(
        &base,
        json!({"author_handle": "ed", "text": "acmecorp odd", "media": [{"type": "hologram"}]}),
    )
    .await;

    let (status, _, body) = api("GET", &search_url(&base, "acmecorp"), "app", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let data = body["data"].as_array().unwrap();
    let item = data.iter().find(|d| d["id"] == t["tweet_id"]).unwrap();
    assert!(
        item["text"]
            .as_str()
            .unwrap()
            .starts_with("acmecorp look https://t.co/")
    );
    assert_eq!(
        item["referenced_tweets"],
        json!([{"type": "quoted", "id": quoted["tweet_id"]}])
    );
    let key = item["attachments"]["media_keys"][0].as_str().unwrap();
    assert!(key.starts_with("3_"), "{key}");
    let urls = item["entities"]["urls"].as_array().unwrap();
    assert_eq!(urls.len(), 3, "link, quote link, media link: {urls:?}");
    assert_eq!(urls[0]["expanded_url"], "https://shop.example/boots");
    assert_eq!(urls[0]["title"], "Boots");
    assert!(
        urls[1]["expanded_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/status/{}", quoted["tweet_id"].as_str().unwrap()))
    );
    assert_eq!(urls[2]["media_key"], key);

    let media = body["includes"]["media"].as_array().unwrap();
    let photo = media.iter().find(|m| m["media_key"] == key).unwrap();
    assert_eq!(photo["type"], "photo");
    assert_eq!(photo["alt_text"], "torn sole");
    let (status, bytes) = download(photo["url"].as_str().unwrap(), None).await;
    assert_eq!(status, StatusCode::OK, "tweet media is public");
    assert!(bytes.starts_with(b"\x89PNG"));
    let video = media.iter().find(|m| m["type"] == "video").unwrap();
    let mp4 = video["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["content_type"] == "video/mp4")
        .unwrap();
    let (status, bytes) = download(mp4["url"].as_str().unwrap(), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&bytes[4..8], b"ftyp");
    let (status, bytes) = download(video["preview_image_url"].as_str().unwrap(), None).await;
    assert!(status == StatusCode::OK && bytes.starts_with(b"\x89PNG"));
    assert!(
        media
            .iter()
            .any(|m| m["type"] == "animated_gif" && m["variants"][0]["bit_rate"] == 0)
    );
    assert!(
        media.iter().any(|m| m["type"] == "hologram"),
        "any type a test names"
    );
    let tweets = body["includes"]["tweets"].as_array().unwrap();
    assert!(
        tweets
            .iter()
            .any(|q| q["id"] == quoted["tweet_id"] && q["text"] == "acmecorp boots")
    );
}

#[tokio::test]
async fn dm_media_is_private_to_the_conversation() {
    let (_em, base) = start().await;
    let shared = tweet(
        &base,
        json!({"author_handle": "bob", "text": "look at this"}),
    )
    .await;
    let photo = dm(
        &base,
        json!({"from_handle": "ann", "to_handle": "acme", "media": [{"type": "photo"}],
               "shared_tweet": shared["tweet_id"], "urls": [{"url": "https://order.example/42"}]}),
    )
    .await;
    assert_eq!(photo["media_keys"].as_array().unwrap().len(), 1);
    dm(&base, json!({"from_handle": "ann", "to_handle": "acme", "text": "and a clip", "media": [{"type": "video"}]})).await;
    let (status, _) = control(
        &base,
        "/_emulator/x/dms",
        json!({"from_handle": "ann", "to_handle": "acme", "media": [{"type": "photo"}, {"type": "photo"}]}),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "one media item per direct message"
    );

    let (status, _, body) = api("GET", &format!("{base}/2/dm_events"), "tok-acme", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let event = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == photo["dm_event_id"])
        .unwrap();
    assert_eq!(
        event["referenced_tweets"],
        json!([{"id": shared["tweet_id"]}])
    );
    assert!(
        event["entities"]["urls"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["expanded_url"] == "https://order.example/42")
    );
    let key = event["attachments"]["media_keys"][0].as_str().unwrap();
    let media = body["includes"]["media"].as_array().unwrap();
    let item = media.iter().find(|m| m["media_key"] == key).unwrap();
    let url = item["url"].as_str().unwrap();
    let dm_id = photo["dm_event_id"].as_str().unwrap();
    let prefix = format!("https://ton.twitter.com/1.1/ton/data/dm/{dm_id}/");
    assert!(url.starts_with(&prefix), "{url}");
    assert!(
        body["includes"]["tweets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == shared["tweet_id"])
    );

    // The ton URL's parts, asked of the v2 download endpoint with a participant's token.
    let rest = &url[prefix.len()..];
    let download_url = format!("{base}/2/dm_conversations/media/{dm_id}/{rest}");
    let (status, bytes) = download(&download_url, Some("tok-acme")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(bytes.starts_with(b"\x89PNG"));
    assert_eq!(
        download(&download_url, Some("tok-help")).await.0,
        StatusCode::FORBIDDEN,
        "not a participant"
    );
    assert_eq!(
        download(&download_url, None).await.0,
        StatusCode::UNAUTHORIZED
    );

    let video = media.iter().find(|m| m["type"] == "video").unwrap();
    let mp4 = video["variants"][0]["url"].as_str().unwrap();
    assert!(mp4.contains("/dm_video/"), "{mp4}");
    assert_eq!(download(mp4, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        download(mp4, Some("tok-help")).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, bytes) = download(mp4, Some("tok-acme")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&bytes[4..8], b"ftyp");
}

#[tokio::test]
async fn webhooks_carry_media_links_and_quotes_in_v1_shapes() {
    let (em, base) = start().await;
    let (url, mut rx) = x_receiver().await;
    em.subscribe_x(&url).await.unwrap();
    let quoted = tweet(&base, json!({"author_handle": "bob", "text": "original"})).await;
    tweet(
        &base,
        json!({"author_handle": "ann", "text": "@acme see", "quote_of": quoted["tweet_id"],
               "media": [{"type": "photo"}, {"type": "photo"}],
               "urls": [{"url": "https://shop.example/x", "title": "Shop"}]}),
    )
    .await;
    let hook = next(&mut rx).await;
    let t = &hook["tweet_create_events"][0];
    assert_eq!(t["extended_entities"]["media"].as_array().unwrap().len(), 2);
    assert_eq!(t["entities"]["media"].as_array().unwrap().len(), 1);
    assert_eq!(t["entities"]["media"][0]["type"], "photo");
    let urls = t["entities"]["urls"].as_array().unwrap();
    assert_eq!(
        urls.len(),
        2,
        "the link and the quote link, not the media link: {urls:?}"
    );
    assert_eq!(urls[0]["unwound"]["title"], "Shop");
    assert_eq!(t["quoted_status_id_str"], quoted["tweet_id"]);
    assert_eq!(t["quoted_status"]["text"], "original");

    dm(&base, json!({"from_handle": "ann", "to_handle": "acme", "text": "gif", "media": [{"type": "animated_gif"}]})).await;
    let hook = next(&mut rx).await;
    let data = &hook["direct_message_events"][0]["message_create"]["message_data"];
    assert_eq!(data["attachment"]["type"], "media");
    let media = &data["attachment"]["media"];
    assert_eq!(media["type"], "animated_gif");
    assert!(
        media["video_info"]["variants"][0]["url"]
            .as_str()
            .unwrap()
            .contains("/dm_gif/")
    );
}

#[tokio::test]
async fn uploads_are_sent_in_dms_and_tweets_and_recorded() {
    let (em, base) = start().await;
    let png = crate::x::media::PNG;
    let ann = dm(
        &base,
        json!({"from_handle": "ann", "to_handle": "acme", "text": "hi"}),
    )
    .await;
    let ann_id = ann["sender_id"].as_str().unwrap().to_string();

    let (status, up) = upload(
        &base,
        "tok-acme",
        &[("media_category", "dm_image"), ("media_type", "image/png")],
        &png,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{up}");
    let media_id = up["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(up["data"]["media_key"], format!("3_{media_id}"));
    assert_eq!(up["data"]["size"], png.len());

    let send = format!("{base}/2/dm_conversations/with/{ann_id}/messages");
    let (status, _, sent) = api(
        "POST",
        &send,
        "tok-acme",
        Some(json!({"text": "here", "attachments": [{"media_id": media_id}]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    let dm_id = sent["data"]["dm_event_id"].as_str().unwrap().to_string();
    let outbound = em.outbound();
    let n = outbound.len();
    assert_eq!(outbound[n - 2].kind, "dm");
    assert_eq!(outbound[n - 2].text.as_deref(), Some("here"));
    assert_eq!(outbound[n - 1].kind, "dm_media");
    assert_eq!(outbound[n - 1].target_id.as_deref(), Some(dm_id.as_str()));
    assert_eq!(outbound[n - 1].id, media_id);
    assert!(
        outbound
            .iter()
            .any(|o| o.kind == "media_upload" && o.id == media_id)
    );

    // Tweets take `tweet_` uploads, up to four; a DM upload is refused there.
    let (_, _, body) = api(
        "POST",
        &format!("{base}/2/tweets"),
        "tok-acme",
        Some(json!({"media": {"media_ids": [media_id]}})),
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("media_category"),
        "{body}"
    );
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (status, up) = upload(
            &base,
            "tok-acme",
            &[("media_category", "tweet_image")],
            &png,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{up}");
        ids.push(up["data"]["id"].as_str().unwrap().to_string());
    }
    let (status, _, created) = api(
        "POST",
        &format!("{base}/2/tweets"),
        "tok-acme",
        Some(json!({"media": {"media_ids": ids}})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "a tweet of media alone: {created}"
    );
    let tweet_id = created["data"]["id"].as_str().unwrap();
    let recorded: Vec<_> = em
        .outbound()
        .into_iter()
        .filter(|o| o.kind == "tweet_media")
        .collect();
    assert_eq!(
        recorded.iter().map(|o| o.id.clone()).collect::<Vec<_>>(),
        ids
    );
    assert!(
        recorded
            .iter()
            .all(|o| o.target_id.as_deref() == Some(tweet_id))
    );
    let (_, look) = crate::tests::get_json(&format!("{base}/_emulator/x/tweets/{tweet_id}")).await;
    assert_eq!(look["media_ids"], json!(ids));

    // Someone else's upload, a video, a lying media type, no media field.
    let (_, _, body) = api(
        "POST",
        &send,
        "tok-help",
        Some(json!({"attachments": [{"media_id": ids[0]}]})),
    )
    .await;
    assert_eq!(body["status"], 400, "{body}");
    let (status, _) = upload(
        &base,
        "tok-acme",
        &[("media_category", "dm_video")],
        &crate::x::media::MP4,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = upload(
        &base,
        "tok-acme",
        &[("media_category", "dm_image"), ("media_type", "image/jpeg")],
        &png,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = upload(
        &base,
        "tok-acme",
        &[("media_category", "dm_image")],
        b"not an image",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = upload(&base, "app", &[("media_category", "dm_image")], &png).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "uploads need a user token");
}
