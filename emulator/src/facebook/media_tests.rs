//! Files over real HTTP: the CDN's samples, every kind a Messenger customer sends, the
//! Attachment Upload API and sends by attachment id, and comments with a photo.

use axum::http::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::tests::{control, get_json, http, next_hook, receiver};
use crate::{Emulator, EmulatorConfig, FacebookPage};

const PAGE: &str = "448242228374517";
const TOKEN: &str = "page-token";

async fn start() -> (Emulator, String) {
    let emulator = Emulator::new(EmulatorConfig {
        facebook_pages: vec![FacebookPage {
            page_id: PAGE.into(),
            name: "Acme Support".into(),
            app_secret: "secret".into(),
            access_token: Some(TOKEN.into()),
        }],
        ..Default::default()
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(emulator.clone().serve(listener));
    (emulator, url)
}

async fn get_bytes(url: &str) -> (StatusCode, String, Vec<u8>) {
    let response = http().get(url).send().await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (
        status,
        content_type,
        response.bytes().await.unwrap().to_vec(),
    )
}

#[tokio::test]
async fn the_cdn_serves_a_real_file_of_each_kind() {
    let (_em, base) = start().await;
    let cases: [(&str, &str, &[u8]); 6] = [
        ("photo.png", "image/png", b"\x89PNG\r\n\x1a\n"),
        ("sticker.png", "image/png", b"\x89PNG\r\n\x1a\n"),
        ("story.png", "image/png", b"\x89PNG\r\n\x1a\n"),
        ("voice.mp3", "audio/mpeg", b"ID3"),
        ("document.pdf", "application/pdf", b"%PDF-"),
        ("clip.mp4", "video/mp4", b"\0\0\0\x20ftypisom"),
    ];
    for (name, content_type, magic) in cases {
        let (status, ct, bytes) =
            get_bytes(&format!("{base}/_emulator/meta-cdn/{name}?oh=x")).await;
        assert_eq!(status, StatusCode::OK, "{name}");
        assert_eq!(ct, content_type, "{name}");
        assert!(bytes.starts_with(magic), "{name} starts {:?}", &bytes[..8]);
    }
    let (status, _, _) = get_bytes(&format!("{base}/_emulator/meta-cdn/nothing.bin")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// The `message` of the webhook a customer message control call sends.
async fn customer_message(base: &str, em: &Emulator, body: Value) -> Value {
    let (hook_url, _, mut rx) = receiver("t", 0).await;
    em.subscribe_facebook(PAGE, &hook_url, "t").await.unwrap();
    let (status, answer) = control(base, "/_emulator/messenger/messages", body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let hook = next_hook(&mut rx).await;
    let payload: Value = serde_json::from_slice(&hook.body).unwrap();
    payload["entry"][0]["messaging"][0]["message"].clone()
}

#[tokio::test]
async fn a_customer_sends_every_kind_with_files_on_the_cdn() {
    let (em, base) = start().await;
    let message = customer_message(
        &base,
        &em,
        json!({"page_id": PAGE, "name": "Ann Lee", "quick_reply": "COLOR_RED", "attachments": [
            {"type": "image"}, {"type": "video"}, {"type": "audio"}, {"type": "file"},
            {"type": "location", "lat": 48.8584, "long": 2.2945, "title": "Eiffel Tower"},
            {"type": "sticker"}, {"type": "fallback", "title": "Sale", "url": "https://shop.example/"},
            {"type": "template"}, {"type": "ig_reel", "title": "Spring"}, {"type": "hologram"}
        ]}),
    )
    .await;
    let a = message["attachments"].as_array().unwrap();
    assert_eq!(a.len(), 10);
    // Files point at the emulator's CDN, and the CDN has them.
    for (i, sample) in [
        (0, "photo.png"),
        (1, "clip.mp4"),
        (2, "voice.mp3"),
        (3, "document.pdf"),
    ] {
        let url = a[i]["payload"]["url"].as_str().unwrap();
        assert!(
            url.starts_with(&format!("{base}/_emulator/meta-cdn/{sample}")),
            "{url}"
        );
        assert_eq!(get_bytes(url).await.0, StatusCode::OK);
    }
    assert_eq!(a[4]["type"], "location");
    assert_eq!(
        a[4]["payload"]["coordinates"],
        json!({"lat": 48.8584, "long": 2.2945})
    );
    assert_eq!(a[4]["title"], "Eiffel Tower");
    assert!(a[4]["url"].as_str().unwrap().contains("bing.com"));
    // A sticker is an image with its id, and the message says which sticker.
    assert_eq!(a[5]["type"], "image");
    assert_eq!(a[5]["payload"]["sticker_id"], 369_239_263_222_822u64);
    assert_eq!(message["sticker_id"], 369_239_263_222_822u64);
    assert_eq!(
        a[6],
        json!({"type": "fallback", "payload": null, "title": "Sale", "url": "https://shop.example/"})
    );
    assert!(a[7]["payload"]["product"]["elements"][0]["image_url"].is_string());
    assert_eq!(a[8]["payload"]["title"], "Spring");
    assert!(a[8]["payload"]["reel_video_id"].is_string());
    assert_eq!(a[9]["type"], "hologram");
    assert_eq!(message["quick_reply"]["payload"], "COLOR_RED");
}

#[tokio::test]
async fn reactions_postbacks_and_edits_are_messaging_events() {
    let (em, base) = start().await;
    let (hook_url, _, mut rx) = receiver("t", 0).await;
    em.subscribe_facebook(PAGE, &hook_url, "t").await.unwrap();
    let event = |hook: crate::tests::Hook| -> Value {
        let payload: Value = serde_json::from_slice(&hook.body).unwrap();
        payload["entry"][0]["messaging"][0].clone()
    };
    let (_, body) = control(
        &base,
        "/_emulator/messenger/postbacks",
        json!({"page_id": PAGE, "name": "Ann Lee", "title": "Track my order", "payload": "TRACK"}),
    )
    .await;
    let psid = body["psid"].as_str().unwrap().to_string();
    let postback = event(next_hook(&mut rx).await);
    assert_eq!(postback["postback"]["payload"], "TRACK");
    assert_eq!(postback["postback"]["mid"], body["mid"]);

    // The postback opened the window: the page may answer, and the customer reacts to it.
    let send = http()
        .post(format!("{base}/v19.0/{PAGE}/messages?access_token={TOKEN}"))
        .json(&json!({"recipient": {"id": psid}, "messaging_type": "RESPONSE", "message": {"text": "On its way"}}))
        .send().await.unwrap();
    let sent: Value = send.json().await.unwrap();
    let echo = event(next_hook(&mut rx).await);
    assert_eq!(echo["message"]["is_echo"], true);
    let (status, _) = control(
        &base,
        "/_emulator/messenger/reactions",
        json!({"page_id": PAGE, "mid": sent["message_id"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let reaction = event(next_hook(&mut rx).await);
    assert_eq!(
        reaction["sender"]["id"],
        psid.as_str(),
        "the recipient of the page's send reacts"
    );
    assert_eq!(reaction["reaction"]["action"], "react");
    assert_eq!(reaction["reaction"]["mid"], sent["message_id"]);

    let (status, _) = control(
        &base,
        "/_emulator/messenger/edits",
        json!({"page_id": PAGE, "psid": psid, "mid": "m_1", "text": "fixed"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        event(next_hook(&mut rx).await)["message_edit"]["text"],
        "fixed"
    );
    let (status, _) = control(
        &base,
        "/_emulator/messenger/reactions",
        json!({"page_id": PAGE, "mid": "m_unknown"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "no customer to react");
}

/// A `multipart/form-data` body as a browser or reqwest writes it.
fn multipart(fields: &[(&str, &str)], file: Option<(&str, &str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "----switchboard-test-7d93";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some((name, content_type, bytes)) = file {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"filedata\"; filename=\"{name}\"\r\nContent-Type: {content_type}\r\n\r\n").as_bytes());
        body.extend(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(
    base: &str,
    token: &str,
    kind: &str,
    file: Option<(&str, &str, &[u8])>,
) -> (StatusCode, Value) {
    let message =
        json!({"attachment": {"type": kind, "payload": {"is_reusable": true}}}).to_string();
    let (content_type, body) = multipart(&[("message", &message)], file);
    let response = http()
        .post(format!("{base}/v19.0/{PAGE}/message_attachments"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

const PNG: &[u8] = include_bytes!("samples/photo.png");

#[tokio::test]
async fn an_upload_then_a_send_by_attachment_id() {
    let (em, base) = start().await;
    let psid = {
        let (_, body) = control(
            &base,
            "/_emulator/messenger/messages",
            json!({"page_id": PAGE, "name": "Ann Lee", "text": "hi"}),
        )
        .await;
        body["psid"].as_str().unwrap().to_string()
    };
    let (status, body) = upload(&base, TOKEN, "image", Some(("label.png", "image/png", PNG))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = body["attachment_id"].as_str().unwrap().to_string();
    let (_, uploads) = get_json(&format!("{base}/_emulator/messenger/uploads")).await;
    assert_eq!(uploads[0]["attachment_id"], id.as_str());
    assert_eq!(uploads[0]["file_name"], "label.png");
    assert_eq!(uploads[0]["content_type"], "image/png");
    assert_eq!(uploads[0]["size"], PNG.len());
    // The bytes arrived whole, and are served back at the upload's CDN URL.
    let (_, _, served) = get_bytes(uploads[0]["url"].as_str().unwrap()).await;
    assert_eq!(served, PNG);

    let (hook_url, _, mut rx) = receiver("t", 0).await;
    em.subscribe_facebook(PAGE, &hook_url, "t").await.unwrap();
    let send = |attachment: Value| {
        let base = base.clone();
        let psid = psid.clone();
        async move {
            let response = http()
                .post(format!("{base}/v19.0/{PAGE}/messages"))
                .header("authorization", format!("Bearer {TOKEN}"))
                .json(&json!({"recipient": {"id": psid}, "messaging_type": "RESPONSE", "message": {"attachment": attachment}}))
                .send().await.unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let (status, sent) = send(json!({"type": "image", "payload": {"attachment_id": id}})).await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    let record = em.outbound().into_iter().last().unwrap();
    assert_eq!(
        (record.platform.as_str(), record.kind.as_str()),
        ("messenger", "image")
    );
    assert_eq!(record.target_id.as_deref(), Some(psid.as_str()));
    assert_eq!(record.text, None);
    let echo: Value = serde_json::from_slice(&next_hook(&mut rx).await.body).unwrap();
    let echoed = &echo["entry"][0]["messaging"][0]["message"]["attachments"][0];
    assert_eq!(echoed["type"], "image");
    assert_eq!(echoed["payload"]["url"], uploads[0]["url"]);

    // An id nobody uploaded, or a payload with neither an id nor a URL, is refused.
    let (status, body) = send(json!({"type": "file", "payload": {"attachment_id": "999"}})).await;
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (StatusCode::BAD_REQUEST, Some(100))
    );
    let (status, _) = send(json!({"type": "file", "payload": {}})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) =
        send(json!({"type": "file", "payload": {"url": "https://files.example/a.pdf"}})).await;
    assert_eq!(status, StatusCode::OK, "by URL too");
    assert_eq!(em.outbound().last().unwrap().kind, "file");
}

#[tokio::test]
async fn an_upload_is_refused_like_meta_refuses_it() {
    let (em, base) = start().await;
    let (status, body) = upload(&base, "wrong", "image", Some(("a.png", "image/png", PNG))).await;
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (StatusCode::BAD_REQUEST, Some(190))
    );
    let (status, body) = upload(
        &base,
        TOKEN,
        "image",
        Some(("a.pdf", "application/pdf", b"%PDF-1.4")),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "an image that is not one");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not an image")
    );
    let (status, _) = upload(&base, TOKEN, "sticker", Some(("a.png", "image/png", PNG))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = upload(&base, TOKEN, "file", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "no filedata");
    let (status, body) = upload(
        &base,
        TOKEN,
        "file",
        Some(("a.pdf", "application/pdf", b"%PDF-1.4")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    em.inject_failures(serde_json::from_value(json!({"status": 503, "code": 2})).unwrap())
        .unwrap();
    let (status, body) = upload(
        &base,
        TOKEN,
        "file",
        Some(("a.pdf", "application/pdf", b"%PDF-1.4")),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_i64()),
        (StatusCode::SERVICE_UNAVAILABLE, Some(2))
    );
    // A JSON body (an upload by URL) is not what the emulator takes: said plainly.
    let response = http()
        .post(format!("{base}/{PAGE}/message_attachments?access_token={TOKEN}"))
        .json(&json!({"message": {"attachment": {"type": "image", "payload": {"url": "https://x/a.png"}}}}))
        .send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn comments_carry_a_photo_both_ways() {
    let (em, base) = start().await;
    let (hook_url, _, mut rx) = receiver("t", 0).await;
    em.subscribe_facebook(PAGE, &hook_url, "t").await.unwrap();
    let (_, post) = control(
        &base,
        "/_emulator/facebook/comments",
        json!({"page_id": PAGE, "author_name": "Ann", "text": "New arrivals?"}),
    )
    .await;
    let post_id = post["post_id"].as_str().unwrap().to_string();
    next_hook(&mut rx).await;
    let (status, body) = control(&base, "/_emulator/facebook/comments",
        json!({"page_id": PAGE, "post_id": post_id, "author_name": "Ann", "attachment": {"type": "photo"}})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let comment_id = body["comment_id"].as_str().unwrap().to_string();
    let hook: Value = serde_json::from_slice(&next_hook(&mut rx).await.body).unwrap();
    let value = &hook["entry"][0]["changes"][0]["value"];
    let photo = value["photo"].as_str().unwrap();
    assert!(photo.contains("/_emulator/meta-cdn/photo.png"), "{photo}");
    assert_eq!(value["message"], "");

    // Polled, the comment's attachment reads as Graph's story attachment.
    let (_, feed) = get_json(&format!(
        "{base}/v19.0/{PAGE}/feed?fields=from,message,comments%7Bfrom,message,attachment%7D&access_token={TOKEN}"
    )).await;
    let polled = &feed["data"][0]["comments"]["data"][0];
    assert_eq!(polled["id"], comment_id.as_str());
    assert_eq!(polled["attachment"]["type"], "photo");
    assert_eq!(polled["attachment"]["media"]["image"]["src"], photo);

    // The page answers with a photo by URL, no text needed.
    let response = http()
        .post(format!(
            "{base}/v19.0/{comment_id}/comments?access_token={TOKEN}"
        ))
        .form(&[("attachment_url", "https://sb.example/files/1?sig=a")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (_, page) = get_json(&format!("{base}/_emulator/facebook/pages/{PAGE}")).await;
    let reply = page["posts"][0]["comments"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        reply["attachment"],
        json!({"type": "photo", "url": "https://sb.example/files/1?sig=a"})
    );
    assert_eq!(em.outbound().last().unwrap().kind, "comment");
    let response = http()
        .post(format!(
            "{base}/v19.0/{comment_id}/comments?access_token={TOKEN}"
        ))
        .form(&[("attachment_url", "not a url")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}
