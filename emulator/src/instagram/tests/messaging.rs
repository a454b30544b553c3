//! Instagram DMs: customers' messages and events as signed webhooks, the Send API's
//! windows, private replies, echoes, sender actions and the profile API.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{DAY_MS, IG, TOKEN, assert_graph_error, call, dm, event, start, subscribe};
use crate::OutboundRecord;
use crate::tests::{control, get_json, next_hook};

async fn send(base: &str, body: Value) -> (StatusCode, Value) {
    call(
        "POST",
        &format!("{base}/v21.0/me/messages"),
        TOKEN,
        Some(body),
    )
    .await
}

fn text_to(igsid: &str, text: &str) -> Value {
    json!({ "recipient": { "id": igsid }, "message": { "text": text } })
}

fn human_agent(igsid: &str, text: &str) -> Value {
    json!({ "recipient": { "id": igsid }, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT", "message": { "text": text } })
}

#[tokio::test]
async fn a_customer_message_is_a_signed_messaging_webhook() {
    let (em, base) = start().await;
    let mut rx = subscribe(&em).await;
    let (status, body) = control(
        &base,
        "/_emulator/instagram/messages",
        json!({
            "from": "6940612372631916", "username": "zoe.lee", "name": "Zoë Lee",
            "text": "où est ma commande 📦", "timestamp": 1_458_692_752_478i64,
            "reply_to": { "mid": "aWdfZAG1" },
            "attachments": [
                { "type": "image", "url": "https://cdn.test/a.jpg" },
                { "type": "ig_reel", "url": "https://cdn.test/r.mp4", "title": "Spring" }
            ],
            "referral": { "ref": "spring", "source": "ADS", "type": "OPEN_THREAD" }
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["igsid"], "6940612372631916");
    assert_eq!(body["account_id"], IG);
    let mid = body["mid"].as_str().unwrap();
    assert!(mid.starts_with("aWdf"), "{mid}");
    let hook = next_hook(&mut rx).await;
    let raw = std::str::from_utf8(&hook.body).unwrap();
    assert!(raw.contains(r"\ud83d\udce6"), "{raw}");
    let first = event(&hook);
    assert_eq!(first["sender"]["id"], "6940612372631916");
    assert_eq!(first["recipient"]["id"], IG);
    assert_eq!(first["timestamp"], 1_458_692_752_478i64);
    let message = &first["message"];
    assert_eq!(message["mid"], mid);
    assert_eq!(message["text"], "où est ma commande 📦");
    assert_eq!(message["reply_to"], json!({ "mid": "aWdfZAG1" }));
    assert_eq!(
        message["attachments"][0],
        json!({ "type": "image", "payload": { "url": "https://cdn.test/a.jpg" } })
    );
    let reel = &message["attachments"][1];
    assert_eq!(reel["type"], "ig_reel");
    assert_eq!(reel["payload"]["url"], "https://cdn.test/r.mp4");
    assert_eq!(reel["payload"]["title"], "Spring");
    assert!(reel["payload"]["reel_video_id"].is_string(), "{reel}");
    assert_eq!(message["referral"]["source"], "ADS");
    assert!(message.get("is_echo").is_none());

    // A story mention (no text) and a reply to a story.
    let (status, _) = control(
        &base,
        "/_emulator/instagram/messages",
        json!({ "from": "6940612372631916", "attachments": [{ "type": "story_mention", "url": "https://cdn.test/s.jpg" }] }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let message = &event(&next_hook(&mut rx).await)["message"];
    assert_eq!(message["attachments"][0]["type"], "story_mention");
    assert!(message.get("text").is_none());
    let story = json!({ "story": { "id": "17900000000000001", "url": "https://cdn.test/s.jpg" } });
    control(
        &base,
        "/_emulator/instagram/messages",
        json!({ "from": "6940612372631916", "text": "love it", "reply_to": story, "attachments": [{ "type": "share", "payload": { "url": "https://cdn.test/p" } }] }),
    )
    .await;
    let message = &event(&next_hook(&mut rx).await)["message"];
    assert_eq!(message["reply_to"], story);
    assert_eq!(
        message["attachments"][0],
        json!({ "type": "share", "payload": { "url": "https://cdn.test/p" } })
    );

    // The profile API knows the customer.
    let (status, profile) = get_json(&format!(
        "{base}/v21.0/6940612372631916?fields=name,username,is_user_follow_business&access_token={TOKEN}"
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{profile}");
    assert_eq!(
        profile,
        json!({ "id": "6940612372631916", "name": "Zoë Lee", "username": "zoe.lee", "is_user_follow_business": false })
    );
}

#[tokio::test]
async fn control_messages_are_validated() {
    let (_em, base) = start().await;
    let bad = [
        (json!({ "username": "ann" }), StatusCode::BAD_REQUEST),
        (json!({ "text": "hi" }), StatusCode::BAD_REQUEST),
        (
            json!({ "username": "ann", "attachments": [{ "type": "hologram", "url": "x" }] }),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({ "username": "ann", "text": "hi", "reply_to": 5 }),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({ "account_id": "42", "username": "ann", "text": "hi" }),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({ "username": "ann", "text": 3 }),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (request, expected) in bad {
        let (status, body) = control(&base, "/_emulator/instagram/messages", request.clone()).await;
        assert_eq!(status, expected, "{request}: {body}");
        assert!(body["error"].is_string());
    }
    // The same username keeps one IGSID.
    let (_, first) = dm(&base, "ann", "a", 0).await;
    let (_, second) = dm(&base, "ann", "b", 0).await;
    assert_eq!(first, second);
    assert_eq!(first.len(), 16);
}

#[tokio::test]
async fn replies_follow_the_24_hour_and_7_day_windows() {
    let (em, base) = start().await;
    let mut rx = subscribe(&em).await;

    let (_, fresh) = dm(&base, "ann", "hi", 0).await;
    next_hook(&mut rx).await;
    let (status, body) = send(&base, text_to(&fresh, "hello 👋")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["recipient_id"], fresh.as_str());
    let mid = body["message_id"].as_str().unwrap().to_string();
    // The account's own send is echoed.
    let echo = event(&next_hook(&mut rx).await);
    assert_eq!(echo["sender"]["id"], IG);
    assert_eq!(echo["recipient"]["id"], fresh.as_str());
    assert_eq!(echo["message"]["is_echo"], true);
    assert_eq!(echo["message"]["mid"], mid.as_str());
    assert_eq!(echo["message"]["text"], "hello 👋");
    // `/{ig-id}/messages` is the same Send API, attachments included.
    let (status, _) = call(
        "POST",
        &format!("{base}/{IG}/messages"),
        TOKEN,
        Some(json!({ "recipient": { "id": fresh }, "message": { "attachment": { "type": "image", "payload": { "url": "https://cdn.test/x.jpg" } } } })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let echo = event(&next_hook(&mut rx).await);
    assert_eq!(echo["message"]["attachments"][0]["type"], "image");

    // 2 days old: only HUMAN_AGENT; 8 days old: nothing.
    let (_, old) = dm(&base, "bob", "hi", 2 * DAY_MS).await;
    let (status, body) = send(&base, text_to(&old, "late")).await;
    assert_graph_error(status, &body, 10, Some(2_018_278));
    let (status, body) = send(&base, human_agent(&old, "late, by a human")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, older) = dm(&base, "cy", "hi", 8 * DAY_MS).await;
    let (status, body) = send(&base, human_agent(&older, "too late")).await;
    assert_graph_error(status, &body, 10, Some(2_018_278));
    // A newer message reopens the window.
    dm(&base, "cy", "again", 0).await;
    let (status, _) = send(&base, text_to(&older, "there you are")).await;
    assert_eq!(status, StatusCode::OK);

    // Text: 1000 characters at most; an unknown IGSID; MESSAGE_TAG without a tag.
    let (status, _) = send(&base, text_to(&fresh, &"é".repeat(1000))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = send(&base, text_to(&fresh, &"a".repeat(1001))).await;
    assert_graph_error(status, &body, 100, None);
    let (status, body) = send(&base, text_to("1234567890123456", "who?")).await;
    assert_graph_error(status, &body, 100, Some(2_018_001));
    let (status, body) = send(
        &base,
        json!({ "recipient": { "id": fresh }, "messaging_type": "MESSAGE_TAG", "message": { "text": "x" } }),
    )
    .await;
    assert_graph_error(status, &body, 100, None);
    let (status, body) = send(&base, json!({ "recipient": { "id": fresh } })).await;
    assert_graph_error(status, &body, 100, None);
    let (status, body) = send(
        &base,
        json!({ "recipient": { "id": fresh }, "message": {} }),
    )
    .await;
    assert_graph_error(status, &body, 100, None);

    // Sent as a form, like some clients do.
    let response = crate::tests::http()
        .post(format!("{base}/me/messages"))
        .form(&[
            ("recipient", format!("{{\"id\":\"{fresh}\"}}")),
            ("message", "{\"text\":\"by form\"}".to_string()),
            ("access_token", TOKEN.to_string()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let outbound = em.outbound();
    let texts: Vec<Option<&str>> = outbound.iter().map(|r| r.text.as_deref()).collect();
    assert_eq!(outbound.len(), 6, "{texts:?}");
    assert_eq!(
        outbound[0],
        OutboundRecord {
            platform: "instagram".into(),
            kind: "message".into(),
            target_id: Some(fresh.clone()),
            id: mid,
            text: Some("hello 👋".into()),
        }
    );
    // The send with an image is recorded under the file's type.
    let kinds: Vec<&str> = outbound.iter().map(|r| r.kind.as_str()).collect();
    assert!(
        outbound.iter().all(|r| r.platform == "instagram")
            && kinds.iter().filter(|k| **k == "image").count() == 1
            && kinds.iter().all(|k| *k == "message" || *k == "image"),
        "{kinds:?}"
    );
    let (_, view) = get_json(&format!("{base}/_emulator/instagram/accounts/{IG}")).await;
    let sent = view["sent"].as_array().unwrap();
    assert_eq!(sent.len(), 6);
    assert_eq!(sent[2]["tag"], "HUMAN_AGENT");
    assert_eq!(sent[2]["messaging_type"], "MESSAGE_TAG");
    assert_eq!(view["customers"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn private_replies_once_per_comment_within_a_week() {
    let (em, base) = start().await;
    let mut rx = subscribe(&em).await;
    let comment = |username: &'static str, age_s: i64| {
        let base = base.clone();
        async move {
            let now = crate::unix_now();
            let (status, body) = control(
                &base,
                "/_emulator/instagram/comments",
                json!({ "username": username, "text": "price?", "created_time": now - age_s }),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            (
                body["comment_id"].as_str().unwrap().to_string(),
                body["igsid"].as_str().unwrap().to_string(),
            )
        }
    };
    let (fresh, commenter) = comment("dan", 60).await;
    next_hook(&mut rx).await;
    let private = |id: &str| json!({ "recipient": { "comment_id": id }, "message": { "text": "sent you the price" } });
    let (status, body) = send(&base, private(&fresh)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["recipient_id"], commenter.as_str());
    let echo = event(&next_hook(&mut rx).await);
    assert_eq!(echo["recipient"]["id"], commenter.as_str());
    assert_eq!(echo["message"]["is_echo"], true);
    // Once only.
    let (status, body) = send(&base, private(&fresh)).await;
    assert_graph_error(status, &body, 10900, None);
    // It does not open the window.
    let (status, body) = send(&base, text_to(&commenter, "and another thing")).await;
    assert_graph_error(status, &body, 10, Some(2_018_278));
    // Once they write, it is open.
    control(
        &base,
        "/_emulator/instagram/messages",
        json!({ "from": commenter, "text": "thanks" }),
    )
    .await;
    let (status, _) = send(&base, text_to(&commenter, "welcome")).await;
    assert_eq!(status, StatusCode::OK);

    let (old, _) = comment("eve", 8 * 24 * 3600).await;
    let (status, body) = send(&base, private(&old)).await;
    assert_graph_error(status, &body, 10, Some(2_018_278));
    let (status, body) = send(&base, private("17800000000000999")).await;
    assert_graph_error(status, &body, 100, Some(33));
    // Not on the account's own comment.
    let (_, reply) = call(
        "POST",
        &format!("{base}/{fresh}/replies"),
        TOKEN,
        Some(json!({ "message": "check your DMs" })),
    )
    .await;
    let (status, body) = send(&base, private(reply["id"].as_str().unwrap())).await;
    assert_graph_error(status, &body, 10903, None);

    let kinds: Vec<(String, Option<String>)> = em
        .outbound()
        .into_iter()
        .map(|r| (r.kind, r.target_id))
        .collect();
    assert_eq!(
        kinds,
        [
            ("private_reply".to_string(), Some(fresh.clone())),
            ("message".to_string(), Some(commenter)),
            ("reply".to_string(), Some(fresh.clone())),
        ]
    );
    let (_, view) = get_json(&format!("{base}/_emulator/instagram/accounts/{IG}")).await;
    assert_eq!(view["media"][0]["comments"][0]["private_reply"], true);
}

#[tokio::test]
async fn reactions_unsends_reads_and_postbacks() {
    let (em, base) = start().await;
    let mut rx = subscribe(&em).await;
    let (theirs, igsid) = dm(&base, "ann", "hi", 0).await;
    next_hook(&mut rx).await;
    let (_, sent) = send(&base, text_to(&igsid, "hello")).await;
    let ours = sent["message_id"].as_str().unwrap().to_string();
    next_hook(&mut rx).await; // the echo

    let (status, _) = control(
        &base,
        "/_emulator/instagram/reactions",
        json!({ "mid": ours }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let event_ = event(&next_hook(&mut rx).await);
    assert_eq!(event_["sender"]["id"], igsid.as_str());
    assert_eq!(
        event_["reaction"],
        json!({ "mid": ours, "action": "react", "reaction": "love", "emoji": "❤️" })
    );
    control(
        &base,
        "/_emulator/instagram/reactions",
        json!({ "mid": ours, "action": "unreact" }),
    )
    .await;
    assert_eq!(
        event(&next_hook(&mut rx).await)["reaction"],
        json!({ "mid": ours, "action": "unreact" })
    );

    let (status, _) = control(&base, "/_emulator/instagram/read", json!({ "mid": ours })).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        event(&next_hook(&mut rx).await)["read"],
        json!({ "mid": ours })
    );

    let (status, _) = control(
        &base,
        "/_emulator/instagram/unsend",
        json!({ "mid": theirs }),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let event_ = event(&next_hook(&mut rx).await);
    assert_eq!(
        event_["message"],
        json!({ "mid": theirs, "is_deleted": true })
    );
    assert_eq!(event_["sender"]["id"], igsid.as_str());

    let (status, body) = control(
        &base,
        "/_emulator/instagram/postbacks",
        json!({ "username": "ann", "title": "Track order", "payload": "TRACK" }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let postback = &event(&next_hook(&mut rx).await)["postback"];
    assert_eq!(postback["payload"], "TRACK");
    assert_eq!(postback["title"], "Track order");
    assert_eq!(postback["mid"], body["mid"]);

    // Refusals: unknown mids, unsending ours or twice, reading theirs, a bad action.
    let refused = [
        (
            "/_emulator/instagram/reactions",
            json!({ "mid": "nope" }),
            StatusCode::NOT_FOUND,
        ),
        (
            "/_emulator/instagram/reactions",
            json!({ "mid": ours, "action": "wave" }),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/_emulator/instagram/reactions",
            json!({}),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/_emulator/instagram/unsend",
            json!({ "mid": theirs }),
            StatusCode::NOT_FOUND,
        ),
        (
            "/_emulator/instagram/unsend",
            json!({ "mid": ours }),
            StatusCode::NOT_FOUND,
        ),
        (
            "/_emulator/instagram/read",
            json!({ "mid": theirs }),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/_emulator/instagram/read",
            json!({ "mid": "nope" }),
            StatusCode::NOT_FOUND,
        ),
        (
            "/_emulator/instagram/read",
            json!({ "account_id": "42", "mid": ours }),
            StatusCode::NOT_FOUND,
        ),
        (
            "/_emulator/instagram/postbacks",
            json!({ "payload": "X" }),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (path, request, expected) in refused {
        let (status, body) = control(&base, path, request.clone()).await;
        assert_eq!(status, expected, "{path} {request}: {body}");
    }
    // None of these are the business's doing.
    assert_eq!(em.outbound().len(), 1);
}

#[tokio::test]
async fn sender_actions_are_accepted_for_known_customers() {
    let (em, base) = start().await;
    let (_, igsid) = dm(&base, "ann", "hi", 0).await;
    let (status, body) = send(
        &base,
        json!({ "recipient": { "id": igsid }, "sender_action": "typing_on" }),
    )
    .await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({ "recipient_id": igsid }))
    );
    let (status, body) = send(
        &base,
        json!({ "recipient": { "id": "1234567890123456" }, "sender_action": "mark_seen" }),
    )
    .await;
    assert_graph_error(status, &body, 100, Some(2_018_001));
    let (status, body) = send(
        &base,
        json!({ "recipient": { "id": igsid }, "sender_action": "dance" }),
    )
    .await;
    assert_graph_error(status, &body, 100, None);
    assert!(em.outbound().is_empty());
}
