//! Instagram media and comments: customers' comments and mentions as `changes` webhooks,
//! the Graph reads, the business's replies, hides and deletes, and its replies to mentions.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{
    IG, SECRET, TOKEN, account, assert_graph_error, call, change, start, start_with, subscribe,
};
use crate::tests::{control, get_json, next_hook};
use crate::{EmulatorConfig, FacebookPage, OutboundRecord, instagram_seeded_media_id};

/// A customer comment (a reply when `parent` is given); returns the comment id.
async fn comment(base: &str, username: &str, text: &str, parent: Option<&str>) -> String {
    let mut request = json!({ "username": username, "text": text });
    if let Some(parent) = parent {
        request["parent_id"] = json!(parent);
    }
    let (status, body) = control(base, "/_emulator/instagram/comments", request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["comment_id"].as_str().unwrap().to_string()
}

async fn get(base: &str, path: &str) -> (StatusCode, Value) {
    call("GET", &format!("{base}/v21.0/{path}"), TOKEN, None).await
}

#[tokio::test]
async fn customer_comments_are_comments_webhooks() {
    let (em, base) = start().await;
    let mut rx = subscribe(&em).await;
    let media = instagram_seeded_media_id(IG);
    let (status, body) = control(
        &base,
        "/_emulator/instagram/comments",
        json!({ "from": "6940612372631916", "username": "zoe", "text": "Jolie couleur 😍" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["media_id"], media.as_str());
    assert_eq!(body["igsid"], "6940612372631916");
    let top = body["comment_id"].as_str().unwrap().to_string();
    assert!(
        top.len() == 17 && top.chars().all(|c| c.is_ascii_digit()),
        "{top}"
    );
    let (field, value) = change(&next_hook(&mut rx).await);
    assert_eq!(field, "comments");
    assert_eq!(
        value,
        json!({
            "from": { "id": "6940612372631916", "username": "zoe" },
            "media": { "id": media, "media_product_type": "FEED" },
            "id": top,
            "text": "Jolie couleur 😍",
        })
    );

    // A reply names its parent; a reply to a reply is threaded under the top-level comment.
    let reply = comment(&base, "bob", "+1", Some(&top)).await;
    let (_, value) = change(&next_hook(&mut rx).await);
    assert_eq!(
        (value["id"].as_str(), value["parent_id"].as_str()),
        (Some(reply.as_str()), Some(top.as_str()))
    );
    assert_eq!(value["from"]["username"], "bob");
    comment(&base, "cy", "+2", Some(&reply)).await;
    let (_, value) = change(&next_hook(&mut rx).await);
    assert_eq!(value["parent_id"], top.as_str());

    // Live comments and redelivery.
    control(
        &base,
        "/_emulator/instagram/comments",
        json!({ "username": "dan", "text": "hello live", "live": true, "deliveries": 2 }),
    )
    .await;
    let (first, second) = (next_hook(&mut rx).await, next_hook(&mut rx).await);
    assert_eq!(first.body, second.body);
    assert_eq!(change(&first).0, "live_comments");
    assert!(em.outbound().is_empty());
}

#[tokio::test]
async fn control_comments_and_media_are_validated() {
    let (_em, base) = start().await;
    let (status, body) = control(
        &base,
        "/_emulator/instagram/media",
        json!({ "caption": "New reel", "media_product_type": "REELS" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let reel = body["media_id"].as_str().unwrap().to_string();
    let top = comment(&base, "ann", "first", None).await; // on the seeded post
    let bad = [
        (json!({ "username": "a" }), StatusCode::BAD_REQUEST),
        (json!({ "text": "x" }), StatusCode::BAD_REQUEST),
        (
            json!({ "username": "a", "text": "x", "media_id": "1" }),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({ "username": "a", "text": "x", "parent_id": "1" }),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({ "username": "a", "text": "x", "media_id": reel, "parent_id": top }),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({ "username": "a", "text": "x", "account_id": "42" }),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({ "username": "a", "text": "x", "account_id": "42", "media_id": reel }),
            StatusCode::NOT_FOUND,
        ),
    ];
    for (request, expected) in bad {
        let (status, body) = control(&base, "/_emulator/instagram/comments", request.clone()).await;
        assert_eq!(status, expected, "{request}: {body}");
        assert!(body["error"].is_string());
    }
    let (status, _) = control(
        &base,
        "/_emulator/instagram/media",
        json!({ "media_product_type": "POSTCARD" }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = control(
        &base,
        "/_emulator/instagram/comments",
        json!({ "username": "a", "text": "on the reel", "media_id": reel }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["media_id"], reel.as_str());
    let (_, view) = get_json(&format!("{base}/_emulator/instagram/accounts/{IG}")).await;
    assert_eq!(view["media"][1]["media_product_type"], "REELS");
    assert_eq!(view["media"][1]["comments"][0]["text"], "on the reel");
}

#[tokio::test]
async fn graph_reads_media_and_comments() {
    let (_em, base) = start().await;
    let seeded = instagram_seeded_media_id(IG);
    let (_, body) = control(
        &base,
        "/_emulator/instagram/media",
        json!({ "caption": "Summer sale" }),
    )
    .await;
    let newer = body["media_id"].as_str().unwrap().to_string();
    let first = comment(&base, "ann", "first", None).await;
    let second = comment(&base, "bob", "second", None).await;
    let reply = comment(&base, "cy", "a reply", Some(&first)).await;

    // The account's media, newest first; only `id` without `fields`, as Graph.
    let (status, list) = get(&base, "me/media").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["data"], json!([{ "id": newer }, { "id": seeded }]));
    let (_, list) = get(
        &base,
        &format!("{IG}/media?fields=caption,media_product_type,comments_count,username&limit=1"),
    )
    .await;
    assert_eq!(
        list["data"],
        json!([{ "id": newer, "caption": "Summer sale", "media_product_type": "FEED", "comments_count": 0, "username": "acme" }])
    );
    let after = list["paging"]["cursors"]["after"].as_str().unwrap();
    assert!(list["paging"]["next"].is_string());
    let (_, rest) = get(&base, &format!("me/media?after={after}")).await;
    assert_eq!(rest["data"], json!([{ "id": seeded }]));
    assert!(rest["paging"].get("next").is_none());

    // Top-level comments, oldest first; default fields `id`, `text`, `timestamp`.
    let (_, comments) = get(&base, &format!("{seeded}/comments")).await;
    let data = comments["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[0]["id"], first.as_str());
    assert_eq!(data[0]["text"], "first");
    assert!(data[0]["timestamp"].as_str().unwrap().ends_with("+0000"));
    assert_eq!(data[0].as_object().unwrap().len(), 3);
    assert_eq!(data[1]["id"], second.as_str());
    let (_, comments) = get(
        &base,
        &format!("{seeded}/comments?fields=from,username,hidden,replies%7Btext,parent_id%7D"),
    )
    .await;
    assert_eq!(
        comments["data"][0],
        json!({
            "id": first, "from": { "id": comments["data"][0]["from"]["id"], "username": "ann" },
            "username": "ann", "hidden": false,
            "replies": { "data": [{ "id": reply, "text": "a reply", "parent_id": first }] },
        })
    );
    let (_, node) = get(
        &base,
        &format!("{seeded}?fields=caption,comments_count,comments%7Btext%7D"),
    )
    .await;
    assert_eq!(node["comments_count"], 3);
    assert_eq!(
        node["comments"]["data"],
        json!([{ "id": first, "text": "first" }, { "id": second, "text": "second" }])
    );

    // One comment, its replies.
    let (status, node) = get(
        &base,
        &format!("{reply}?fields=id,text,username,parent_id,media%7Bid%7D,like_count"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        node,
        json!({ "id": reply, "text": "a reply", "username": "cy", "parent_id": first, "media": { "id": seeded }, "like_count": 0 })
    );
    let (_, node) = get(&base, &format!("{first}?fields=media")).await;
    assert_eq!(
        node["media"],
        json!({ "id": seeded, "media_product_type": "FEED" })
    );
    let (_, replies) = get(&base, &format!("{first}/replies?fields=text")).await;
    assert_eq!(replies["data"], json!([{ "id": reply, "text": "a reply" }]));
    let (_, replies) = get(&base, &format!("{second}/replies")).await;
    assert_eq!(replies, json!({ "data": [] }));
}

#[tokio::test]
async fn business_replies_hides_and_deletes() {
    let (em, base) = start().await;
    let mut rx = subscribe(&em).await;
    let seeded = instagram_seeded_media_id(IG);
    let top = comment(&base, "ann", "where is my order?", None).await;
    let theirs = comment(&base, "bob", "same here", Some(&top)).await;
    let spam = comment(&base, "spammer", "buy followers", None).await;
    for _ in 0..3 {
        next_hook(&mut rx).await;
    }

    let post = |path: String, body: Value| {
        let base = base.clone();
        async move { call("POST", &format!("{base}/v21.0/{path}"), TOKEN, Some(body)).await }
    };
    let (status, body) = post(
        format!("{top}/replies"),
        json!({ "message": "We're on it 🙏" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ours = body["id"].as_str().unwrap().to_string();
    // The account's own reply is announced like any comment.
    let (_, value) = change(&next_hook(&mut rx).await);
    assert_eq!(value["id"], ours.as_str());
    assert_eq!(value["from"], json!({ "id": IG, "username": "acme" }));
    assert_eq!(value["parent_id"], top.as_str());
    assert_eq!(value["text"], "We're on it 🙏");
    // Replying to a reply threads under the top-level comment.
    let (_, body) = post(format!("{theirs}/replies"), json!({ "message": "you too" })).await;
    let threaded = body["id"].as_str().unwrap().to_string();
    assert_eq!(
        change(&next_hook(&mut rx).await).1["parent_id"],
        top.as_str()
    );
    // A comment on the media itself.
    let (status, body) = post(
        format!("{seeded}/comments"),
        json!({ "message": "Thanks all!" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let on_media = body["id"].as_str().unwrap().to_string();
    assert!(
        change(&next_hook(&mut rx).await)
            .1
            .get("parent_id")
            .is_none()
    );

    let (status, body) = post(spam.clone(), json!({ "hide": true })).await;
    assert_eq!((status, body), (StatusCode::OK, json!({ "success": true })));
    let (_, node) = get(&base, &format!("{spam}?fields=hidden")).await;
    assert_eq!(node["hidden"], true);
    let (status, _) = post(spam.clone(), json!({ "hide": "false" })).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = post(spam.clone(), json!({ "message": "edit?" })).await;
    assert_graph_error(status, &body, 100, None);

    let (status, body) = call("DELETE", &format!("{base}/v21.0/{top}"), TOKEN, None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({ "success": true })));
    // Gone, with its replies; calls on it are Graph's "does not exist".
    for id in [&top, &theirs, &ours] {
        let (status, body) = get(&base, id).await;
        assert_graph_error(status, &body, 100, Some(33));
    }
    let (status, body) = post(format!("{top}/replies"), json!({ "message": "hello?" })).await;
    assert_graph_error(status, &body, 100, Some(33));
    let (_, comments) = get(&base, &format!("{seeded}/comments")).await;
    let ids: Vec<&str> = comments["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [spam.as_str(), on_media.as_str()]);

    // Refused: no message, too long.
    let (status, body) = post(format!("{spam}/replies"), json!({})).await;
    assert_graph_error(status, &body, 100, None);
    let (status, body) = post(
        format!("{spam}/replies"),
        json!({ "message": "x".repeat(2201) }),
    )
    .await;
    assert_graph_error(status, &body, 100, None);

    let record = |kind: &str, target: &str, id: &str, text: Option<&str>| OutboundRecord {
        platform: "instagram".into(),
        kind: kind.into(),
        target_id: Some(target.into()),
        id: id.into(),
        text: text.map(Into::into),
    };
    assert_eq!(
        em.outbound(),
        vec![
            record("reply", &top, &ours, Some("We're on it 🙏")),
            record("reply", &theirs, &threaded, Some("you too")),
            record("comment", &seeded, &on_media, Some("Thanks all!")),
            record("hide", &spam, &spam, None),
            record("unhide", &spam, &spam, None),
            record("delete", &top, &top, None),
        ]
    );
    let (_, view) = get_json(&format!("{base}/_emulator/instagram/accounts/{IG}")).await;
    let flags: Vec<(bool, bool)> = view["media"][0]["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["hidden"].as_bool().unwrap(),
                c["removed"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        flags,
        [
            (false, true),
            (false, true),
            (false, false),
            (false, true),
            (false, true),
            (false, false)
        ]
    );
}

#[tokio::test]
async fn mentions_are_announced_and_readable() {
    let (em, base) = start().await;
    let mut rx = subscribe(&em).await;
    let (status, body) = control(
        &base,
        "/_emulator/instagram/mentions",
        json!({ "username": "fan", "text": "love @acme's jackets" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (media, mention) = (
        body["media_id"].as_str().unwrap().to_string(),
        body["comment_id"].as_str().unwrap().to_string(),
    );
    let (field, value) = change(&next_hook(&mut rx).await);
    assert_eq!(field, "mentions");
    assert_eq!(value, json!({ "media_id": media, "comment_id": mention }));
    let (status, node) = get(
        &base,
        &format!("{IG}?fields=mentioned_comment.comment_id({mention})%7Btext,username%7D"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{node}");
    assert_eq!(
        node,
        json!({ "id": IG, "mentioned_comment": { "id": mention, "text": "love @acme's jackets", "username": "fan" } })
    );

    let (_, body) = control(
        &base,
        "/_emulator/instagram/mentions",
        json!({ "username": "fan", "text": "wearing @acme today", "in_caption": true }),
    )
    .await;
    assert!(body["comment_id"].is_null());
    let captioned = body["media_id"].as_str().unwrap().to_string();
    let (_, value) = change(&next_hook(&mut rx).await);
    assert_eq!(value, json!({ "media_id": captioned }));
    let (_, node) = get(
        &base,
        &format!("me?fields=mentioned_media.media_id({captioned})%7Bcaption,username%7D"),
    )
    .await;
    assert_eq!(
        node["mentioned_media"],
        json!({ "id": captioned, "caption": "wearing @acme today", "username": "fan" })
    );
    // Another comment on the first mentioning media.
    let (status, body) = control(
        &base,
        "/_emulator/instagram/mentions",
        json!({ "username": "friend", "text": "@acme yes!", "media_id": media }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["media_id"], media.as_str());

    // Refused: unknown ids, our own media as a mention, replies on someone else's media.
    let (status, body) = get(
        &base,
        &format!("{IG}?fields=mentioned_comment.comment_id(123)%7Btext%7D"),
    )
    .await;
    assert_graph_error(status, &body, 100, None);
    let seeded = instagram_seeded_media_id(IG);
    let (status, _) = control(
        &base,
        "/_emulator/instagram/mentions",
        json!({ "username": "fan", "text": "@acme", "media_id": seeded }),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = control(
        &base,
        "/_emulator/instagram/mentions",
        json!({ "username": "fan" }),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = call(
        "POST",
        &format!("{base}/{mention}/replies"),
        TOKEN,
        Some(json!({ "message": "thanks!" })),
    )
    .await;
    assert_graph_error(status, &body, 100, Some(33));
    // Mentions are not the account's media.
    let (_, list) = get(&base, "me/media").await;
    assert_eq!(list["data"], json!([{ "id": seeded }]));
    let (_, view) = get_json(&format!("{base}/_emulator/instagram/accounts/{IG}")).await;
    assert_eq!(view["mentions"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn instagram_and_facebook_ids_do_not_collide() {
    const PAGE: &str = "448242228374517";
    let (em, base) = start_with(EmulatorConfig {
        facebook_pages: vec![FacebookPage {
            page_id: PAGE.into(),
            name: "Acme Support".into(),
            app_secret: SECRET.into(),
            access_token: Some("page-token".into()),
        }],
        instagram_accounts: vec![account(Some(TOKEN))],
        ..Default::default()
    })
    .await;
    let (_, fb) = control(
        &base,
        "/_emulator/facebook/comments",
        json!({ "page_id": PAGE, "author_name": "Ann", "text": "fb post" }),
    )
    .await;
    let fb_post = fb["post_id"].as_str().unwrap().to_string();
    let ig_comment = comment(&base, "ann", "ig comment", None).await;

    let (status, _) = call(
        "POST",
        &format!("{base}/v19.0/{fb_post}/comments"),
        "page-token",
        Some(json!({ "message": "fb reply" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(
        "POST",
        &format!("{base}/v19.0/{ig_comment}/replies"),
        TOKEN,
        Some(json!({ "message": "ig reply" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Each token reads only its own platform's objects.
    let (status, body) = call("GET", &format!("{base}/{ig_comment}"), "page-token", None).await;
    assert_graph_error(status, &body, 190, None);
    let (status, body) = call("GET", &format!("{base}/{fb_post}"), TOKEN, None).await;
    assert_graph_error(status, &body, 190, None);
    // `/me` names the token's owner.
    let (_, me) = call(
        "GET",
        &format!("{base}/me?fields=id,name"),
        "page-token",
        None,
    )
    .await;
    assert_eq!(me["id"], PAGE);
    let (_, me) = call("GET", &format!("{base}/me?fields=id,name"), TOKEN, None).await;
    assert_eq!(me, json!({ "id": IG, "name": "Acme Outfitters" }));
    let (status, me) = call("GET", &format!("{base}/me"), "nobody", None).await;
    assert_graph_error(status, &me, 190, None);

    let platforms: Vec<(String, String)> = em
        .outbound()
        .into_iter()
        .map(|r| (r.platform, r.kind))
        .collect();
    assert_eq!(
        platforms,
        [
            ("facebook".to_string(), "comment".to_string()),
            ("instagram".to_string(), "reply".to_string())
        ]
    );
}

/// Someone @mentions the account: in a comment (default) or in the caption. Returns
/// (media id, comment id).
async fn mention(base: &str, request: Value) -> (String, Option<String>) {
    let (status, body) = control(base, "/_emulator/instagram/mentions", request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (
        body["media_id"].as_str().unwrap().to_string(),
        body["comment_id"].as_str().map(str::to_string),
    )
}

#[tokio::test]
async fn the_account_replies_to_mentions_through_its_own_node() {
    let (em, base) = start().await;
    let mut rx = subscribe(&em).await;
    let (media, comment) = mention(
        &base,
        json!({ "username": "fan", "text": "love @acme's jackets" }),
    )
    .await;
    let comment = comment.unwrap();
    let (captioned, _) = mention(
        &base,
        json!({ "username": "fan", "text": "wearing @acme today", "in_caption": true }),
    )
    .await;
    for _ in 0..2 {
        assert_eq!(change(&next_hook(&mut rx).await).0, "mentions");
    }

    // Under the mentioning comment, as a form like the connector sends it.
    let response = crate::tests::http()
        .post(format!("{base}/v21.0/{IG}/mentions"))
        .bearer_auth(TOKEN)
        .form(&[
            ("media_id", media.as_str()),
            ("comment_id", comment.as_str()),
            ("message", "Thanks for the love! 🧡"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    let answer = body["id"].as_str().unwrap().to_string();
    assert!(
        answer.len() == 17 && answer.chars().all(|c| c.is_ascii_digit()),
        "{answer}"
    );
    // On the media whose caption mentions the account (no comment_id), by `/me` and JSON.
    let (status, body) = call(
        "POST",
        &format!("{base}/me/mentions"),
        TOKEN,
        Some(json!({ "media_id": captioned, "message": "Looking good!" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let on_caption = body["id"].as_str().unwrap().to_string();
    // Answering our own reply threads under the mentioning comment.
    let (status, body) = call(
        "POST",
        &format!("{base}/{IG}/mentions"),
        TOKEN,
        Some(json!({ "media_id": media, "comment_id": answer, "message": "See you soon" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let threaded = body["id"].as_str().unwrap().to_string();

    // The replies are the account's comments on those media, as Graph lists them.
    let (_, comments) = get(
        &base,
        &format!("{media}/comments?fields=text,username,replies%7Btext,username,parent_id%7D"),
    )
    .await;
    assert_eq!(
        comments["data"],
        json!([{
            "id": comment, "text": "love @acme's jackets", "username": "fan",
            "replies": { "data": [
                { "id": answer, "text": "Thanks for the love! 🧡", "username": "acme", "parent_id": comment },
                { "id": threaded, "text": "See you soon", "username": "acme", "parent_id": comment },
            ] },
        }])
    );
    let (_, comments) = get(&base, &format!("{captioned}/comments?fields=text,from")).await;
    assert_eq!(
        comments["data"],
        json!([{ "id": on_caption, "text": "Looking good!", "from": { "id": IG, "username": "acme" } }])
    );
    let (_, view) = get_json(&format!("{base}/_emulator/instagram/accounts/{IG}")).await;
    let texts: Vec<&str> = view["mentions"][0]["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "love @acme's jackets",
            "Thanks for the love! 🧡",
            "See you soon"
        ]
    );

    let record = |target: &str, id: &str, text: &str| OutboundRecord {
        platform: "instagram".into(),
        kind: "mention_reply".into(),
        target_id: Some(target.into()),
        id: id.into(),
        text: Some(text.into()),
    };
    assert_eq!(
        em.outbound(),
        vec![
            record(&comment, &answer, "Thanks for the love! 🧡"),
            record(&captioned, &on_caption, "Looking good!"),
            record(&answer, &threaded, "See you soon"),
        ]
    );
    // No `comments` webhook for comments on someone else's media: the next hook is the
    // next mention.
    mention(
        &base,
        json!({ "username": "friend", "text": "@acme yes!", "media_id": media }),
    )
    .await;
    assert_eq!(change(&next_hook(&mut rx).await).0, "mentions");
}

#[tokio::test]
async fn replies_to_mentions_are_checked() {
    let (em, base) = start().await;
    let (media, mentioning) =
        mention(&base, json!({ "username": "fan", "text": "@acme hi" })).await;
    let (_, elsewhere) = mention(&base, json!({ "username": "bob", "text": "@acme hey" })).await;
    let (captioned, _) = mention(
        &base,
        json!({ "username": "cy", "text": "@acme in caption", "in_caption": true }),
    )
    .await;
    let (mentioning, elsewhere) = (mentioning.unwrap(), elsewhere.unwrap());
    let seeded = instagram_seeded_media_id(IG);
    let own = comment(&base, "ann", "on our own post", None).await;
    let url = format!("{base}/v21.0/{IG}/mentions");

    let refused = [
        json!({ "message": "no media" }),
        json!({ "media_id": "", "message": "empty media" }),
        json!({ "media_id": "17800000000000000", "message": "unknown media" }),
        json!({ "media_id": seeded, "message": "our own media is no mention" }),
        json!({ "media_id": seeded, "comment_id": own, "message": "nor its comments" }),
        json!({ "media_id": media, "comment_id": elsewhere, "message": "comment on another media" }),
        json!({ "media_id": captioned, "comment_id": mentioning, "message": "nor here" }),
        json!({ "media_id": media, "comment_id": own, "message": "our own post's comment" }),
        json!({ "media_id": media, "comment_id": "17899999999999999", "message": "unknown comment" }),
        json!({ "media_id": media, "comment_id": mentioning }),
        json!({ "media_id": media, "comment_id": mentioning, "message": "" }),
        json!({ "media_id": media, "comment_id": mentioning, "message": "   " }),
        json!({ "media_id": captioned, "message": "x".repeat(2201) }),
    ];
    for body in refused {
        let (status, answer) = call("POST", &url, TOKEN, Some(body.clone())).await;
        assert_graph_error(status, &answer, 100, None);
        assert_eq!(
            answer["error"]["type"], "OAuthException",
            "{body}: {answer}"
        );
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("(#100)"),
            "{answer}"
        );
    }
    // The account's token, as for its other calls.
    let good = json!({ "media_id": media, "comment_id": mentioning, "message": "thanks!" });
    for (url, token, code) in [
        (url.as_str(), "wrong", 190),
        (url.as_str(), "", 190),
        (&format!("{base}/me/mentions"), "wrong", 190),
        (&format!("{base}/me/mentions"), "", 2500),
    ] {
        let (status, answer) = call("POST", url, token, Some(good.clone())).await;
        assert_graph_error(status, &answer, code, None);
    }

    // Nothing was made or recorded.
    assert!(em.outbound().is_empty());
    let (_, view) = get_json(&format!("{base}/_emulator/instagram/accounts/{IG}")).await;
    let counts: Vec<usize> = view["mentions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["comments"].as_array().unwrap().len())
        .collect();
    assert_eq!(counts, [1, 1, 0]);
    assert_eq!(view["media"][0]["comments"].as_array().unwrap().len(), 1);
    // The same call with the token goes through.
    let (status, answer) = call("POST", &url, TOKEN, Some(good)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(em.outbound().len(), 1);
}
