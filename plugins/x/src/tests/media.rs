//! Everything a customer attaches, read from saved payloads (`payloads/`); the downloads
//! the host makes (`media_request`); the files agents send (`file_limits`,
//! `upload_media`, `send` with the media ids).

use serde_json::{Value, json};
use switchboard_sdk::testing::MockHost;
use switchboard_sdk::{
    Attachment, Connector, ConnectorError, HttpResponse, Message, Outbound, OutboundFile,
    Visibility,
};

use super::{API, host, messages, sending_host, signed};
use crate::X;

const SEARCH: &str = include_str!("payloads/search_media.json");
const DMS: &str = include_str!("payloads/dm_events_media.json");
const WEBHOOK: &str = include_str!("payloads/webhook_media.json");

fn detail<'a>(a: &'a Attachment, key: &str) -> Option<&'a str> {
    a.detail(key)
}

fn find<'a>(msgs: &'a [&'a Message], id: &str) -> &'a Message {
    msgs.iter()
        .find(|m| m.platform_message_id == id)
        .unwrap_or_else(|| panic!("no message {id}"))
}

/// X answering the search with `search` and the direct messages of @AcmeHelp with `dms`.
fn payload_host(search: &'static str, dms: &'static str) -> MockHost {
    let host = host();
    host.on_http(move |req| {
        let path = req.path();
        if path.ends_with("/2/tweets/search/recent") {
            return Ok(
                HttpResponse::text(200, search).with_header("content-type", "application/json")
            );
        }
        if let Some(name) = path.strip_prefix(&format!("{API}/2/users/by/username/")) {
            let id = if name == "acme" { "1111" } else { "1112" };
            return Ok(HttpResponse::json(
                200,
                &json!({"data": {"id": id, "username": name}}),
            ));
        }
        if path.ends_with("/2/dm_events") && req.header("authorization") == Some("Bearer tok-help")
        {
            return Ok(HttpResponse::text(200, dms));
        }
        Ok(HttpResponse::json(
            200,
            &json!({"meta": {"result_count": 0}}),
        ))
    });
    host
}

#[test]
fn every_kind_a_tweet_carries_is_kept() {
    let host = payload_host(SEARCH, "{}");
    let result = X.poll(None, 10).unwrap();
    let msgs = messages(&result.events);
    assert_eq!(msgs.len(), 4);

    let photos = find(&msgs, "1880000000000000005");
    let kinds: Vec<&str> = photos.attachments.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["image", "image", "share", "share"],
        "{:?}",
        photos.attachments
    );
    let first = &photos.attachments[0];
    assert_eq!(
        first.url.as_deref(),
        Some("https://pbs.twimg.com/media/GhTorn1.jpg")
    );
    assert_eq!(first.mime_type.as_deref(), Some("image/jpeg"));
    assert_eq!(first.caption.as_deref(), Some("a torn sole"));
    assert_eq!(
        photos.attachments[1].mime_type.as_deref(),
        Some("image/png")
    );
    let quote = &photos.attachments[2];
    assert_eq!(detail(quote, "title"), Some("My Acme boots after one week"));
    assert_eq!(
        detail(quote, "url"),
        Some("https://twitter.com/ann/status/1879999999999999999")
    );
    assert_eq!(detail(quote, "tweet-id"), Some("1879999999999999999"));
    let link = &photos.attachments[3];
    assert_eq!(detail(link, "title"), Some("Order #42 - Acme Shop"));
    assert_eq!(detail(link, "url"), Some("https://shop.example/orders/42"));
    assert!(
        photos
            .metadata
            .contains(&("quote_of".into(), "1879999999999999999".into()))
    );

    let video = &find(&msgs, "1880000000000000004").attachments;
    assert_eq!(video.len(), 1);
    assert_eq!(video[0].kind, "video");
    assert_eq!(
        video[0].url.as_deref(),
        Some(
            "https://video.twimg.com/ext_tw_video/1880000000000000201/pu/vid/1280x720/High.mp4?tag=12"
        ),
        "the MP4 of the highest bit rate"
    );
    assert_eq!(video[0].mime_type.as_deref(), Some("video/mp4"));
    let gif = &find(&msgs, "1880000000000000003").attachments;
    assert_eq!(
        (gif[0].kind.as_str(), gif[0].url.as_deref()),
        (
            "video",
            Some("https://video.twimg.com/tweet_video/Gif1.mp4")
        )
    );

    let other = &find(&msgs, "1880000000000000002").attachments;
    let kinds: Vec<&str> = other.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["hologram", "media", "poll"],
        "nothing dropped: {other:?}"
    );
    assert_eq!(
        other[0].url.as_deref(),
        Some("https://pbs.twimg.com/hologram/H1.bin")
    );
    assert_eq!(
        detail(&other[1], "media-key"),
        Some("3_1880000000000000999")
    );
    assert_eq!(detail(&other[2], "options"), Some("Red / Blue"));

    let search = host
        .requests()
        .into_iter()
        .find(|r| r.path().ends_with("/search/recent"))
        .unwrap();
    let expansions = search.query_param("expansions").unwrap();
    assert!(
        expansions.contains("attachments.media_keys")
            && expansions.contains("referenced_tweets.id"),
        "{expansions}"
    );
    assert!(
        search
            .query_param("media.fields")
            .unwrap()
            .contains("variants")
    );
    assert!(
        search
            .query_param("tweet.fields")
            .unwrap()
            .contains("entities")
    );
}

#[test]
fn direct_message_media_links_and_shared_tweets_are_kept_and_downloaded_as_the_handle() {
    let host = payload_host("{}", DMS);
    host.set_config("message_types", "private");
    let result = X.poll(None, 10).unwrap();
    let msgs = messages(&result.events);
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    let dm = find(&msgs, "1880000000000000701");
    let kinds: Vec<&str> = dm.attachments.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["image", "card", "share", "share"],
        "{:?}",
        dm.attachments
    );
    let photo = dm.attachments[0].clone();
    assert_eq!(detail(&dm.attachments[1], "card-id"), Some("card-77"));
    assert_eq!(
        detail(&dm.attachments[2], "url"),
        Some("https://x.com/ann/status/1879999999999999999")
    );
    assert_eq!(
        detail(&dm.attachments[2], "title"),
        Some("My Acme boots after one week")
    );
    assert_eq!(
        detail(&dm.attachments[3], "url"),
        Some("https://track.example/p/9")
    );
    let video = find(&msgs, "1880000000000000702").attachments[0].clone();
    assert_eq!(video.kind, "video");
    let dm_req = host
        .requests()
        .into_iter()
        .find(|r| r.path().ends_with("/2/dm_events"))
        .unwrap();
    assert!(
        dm_req
            .query_param("expansions")
            .unwrap()
            .contains("attachments.media_keys")
    );
    assert!(
        dm_req
            .query_param("dm_event.fields")
            .unwrap()
            .contains("attachments")
    );

    // The photo: X's v2 download endpoint, with the token of the handle that received it.
    let req = X.media_request(photo).unwrap().expect("a download").request;
    assert_eq!(req.method, "GET");
    assert_eq!(
        req.url,
        format!(
            "{API}/2/dm_conversations/media/1880000000000000701/1880000000000000801/WetBox.jpg"
        )
    );
    assert_eq!(req.header("authorization"), Some("Bearer tok-help"));
    // The video on video.twimg.com, with the same token.
    let req = X.media_request(video.clone()).unwrap().unwrap().request;
    assert_eq!(req.url, video.url.clone().unwrap());
    assert_eq!(req.header("authorization"), Some("Bearer tok-help"));
}

#[test]
fn tweet_media_is_a_plain_get_and_a_token_goes_only_to_x() {
    let _host = host();
    let get = |url: &str| {
        X.media_request(Attachment::at_url("image", url))
            .unwrap()
            .unwrap()
            .request
    };
    let public = get("https://pbs.twimg.com/media/GhTorn1.jpg");
    assert_eq!(public.url, "https://pbs.twimg.com/media/GhTorn1.jpg");
    assert!(public.headers.is_empty(), "{:?}", public.headers);
    assert!(
        get("https://evil.example/dm_video/1/a.mp4")
            .headers
            .is_empty()
    );
    assert!(
        get("https://video.twimg.com/ext_tw_video/1/pu/vid/a.mp4")
            .headers
            .is_empty()
    );
    // A direct message nobody remembered: the default handle's token.
    let dm = get("https://ton.twitter.com/1.1/ton/data/dm/5/6/x.png");
    assert_eq!(dm.url, format!("{API}/2/dm_conversations/media/5/6/x.png"));
    assert_eq!(dm.header("authorization"), Some("Bearer tok-acme"));
    // The emulator stands in for X's media hosts at the API's address.
    let emulated = get(&format!("{API}/_emulator/x/cdn/dm_video/7/c.mp4"));
    assert_eq!(emulated.header("authorization"), Some("Bearer tok-acme"));
    assert_eq!(
        X.media_request(Attachment::location("1", "2")).unwrap(),
        None
    );
}

#[test]
fn webhook_tweets_and_direct_messages_keep_every_kind() {
    let host = host();
    host.kv_set("user_id/acmehelp", "1112");
    let body = WEBHOOK
        .replace("\"for_user_id\": \"1111\"", "\"for_user_id\": \"1112\"")
        .replace("\"recipient_id\": \"1111\"", "\"recipient_id\": \"1112\"");
    let out = X.handle_webhook(signed(&body)).unwrap();
    assert_eq!(out.response.status, 200);
    let msgs = messages(&out.events);
    assert_eq!(msgs.len(), 4);
    let t = &msgs[0].attachments;
    let kinds: Vec<&str> = t.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(kinds, ["image", "video", "share", "share"], "{t:?}");
    assert_eq!(
        t[0].url.as_deref(),
        Some("https://pbs.twimg.com/media/W1.jpg")
    );
    assert_eq!(t[0].caption.as_deref(), Some("scuffed toe"));
    assert_eq!(
        t[1].url.as_deref(),
        Some("https://video.twimg.com/ext_tw_video/912/pu/vid/640x360/M.mp4")
    );
    assert_eq!(detail(&t[2], "tweet-id"), Some("1879999999999999999"));
    assert_eq!(detail(&t[2], "title"), Some("My Acme boots after one week"));
    assert_eq!(detail(&t[3], "title"), Some("Acme Boots"));
    assert_eq!(detail(&t[3], "url"), Some("https://shop.example/boots"));

    let photo_dm = &msgs[1];
    assert_eq!(photo_dm.attachments[0].kind, "image");
    assert_eq!(
        detail(&photo_dm.attachments[1], "url"),
        Some("https://receipts.example/r/5")
    );
    let req = X
        .media_request(photo_dm.attachments[0].clone())
        .unwrap()
        .unwrap()
        .request;
    assert_eq!(
        req.url,
        format!("{API}/2/dm_conversations/media/1880000000000000950/1880000000000000951/Rcpt.jpg")
    );
    assert_eq!(
        req.header("authorization"),
        Some("Bearer tok-help"),
        "the handle it was sent to"
    );

    let location = &msgs[2];
    assert_eq!(location.text, "", "an attachment alone is still a message");
    assert_eq!(location.attachments[0].kind, "location");
    assert_eq!(
        detail(&location.attachments[0], "latitude"),
        Some("40.7484")
    );
    assert_eq!(
        detail(&location.attachments[0], "longitude"),
        Some("-73.9857")
    );
    let sticker = &msgs[3];
    assert_eq!(sticker.attachments[0].kind, "sticker_pack", "X's own type");
    assert!(
        sticker
            .metadata
            .contains(&("quick_reply".into(), "pickup".into()))
    );
}

// ---------------------------------------------------------------- sending files

fn file(name: &str, mime: &str, size: u64, upload: Option<HttpResponse>) -> OutboundFile {
    OutboundFile {
        kind: mime.split('/').next().unwrap().into(),
        file_name: name.into(),
        mime_type: mime.into(),
        size,
        upload,
        link: None,
        upload_key: None,
        upload_state: None,
    }
}

fn uploaded(id: &str) -> Option<HttpResponse> {
    Some(HttpResponse::json(
        200,
        &json!({"data": {"id": id, "media_key": format!("3_{id}"), "size": 70}}),
    ))
}

#[test]
fn files_are_images_up_to_five_megabytes_in_both_kinds_of_reply() {
    let limits = X.file_limits();
    assert_eq!(limits.len(), 2);
    for l in &limits {
        assert_eq!((l.kind.as_str(), l.max_bytes), ("image", 5 * 1024 * 1024));
        assert_eq!(
            l.mime_types,
            ["image/jpeg", "image/png", "image/webp", "image/gif"]
        );
    }
    assert!(limits.iter().any(|l| l.visibility == Visibility::Private));
    assert!(limits.iter().any(|l| l.visibility == Visibility::Public));
    let hosts = X.describe().hosts;
    for h in [
        "https://api.x.com",
        "https://ton.twitter.com",
        "https://pbs.twimg.com",
        "https://video.twimg.com",
    ] {
        assert!(hosts.iter().any(|x| x == h), "{h} in {hosts:?}");
    }
}

#[test]
fn an_upload_is_one_multipart_request_as_the_sending_handle() {
    let _host = host();
    let mut dm = Outbound::text("1112-2222", Visibility::Private, "see");
    dm.from_handle = Some("acmehelp".into());
    let up = X
        .upload_media(file("photo.png", "image/png", 1000, None), dm.clone())
        .unwrap()
        .expect("an upload");
    assert_eq!(up.request.method, "POST");
    assert_eq!(up.request.url, format!("{API}/2/media/upload"));
    assert_eq!(up.request.header("authorization"), Some("Bearer tok-help"));
    assert_eq!(
        up.form,
        [
            ("media_category".to_string(), "dm_image".to_string()),
            ("media_type".into(), "image/png".into())
        ]
    );
    assert_eq!(up.file_field.as_deref(), Some("media"));

    let tweet = Outbound::text("500", Visibility::Public, "look");
    let gif = X
        .upload_media(file("a.gif", "image/gif", 10, None), tweet.clone())
        .unwrap()
        .unwrap();
    assert_eq!(
        gif.form[0],
        ("media_category".to_string(), "tweet_gif".to_string())
    );
    assert_eq!(gif.request.header("authorization"), Some("Bearer tok-acme"));

    let video = X.upload_media(file("clip.mp4", "video/mp4", 10, None), tweet.clone());
    assert!(
        matches!(video, Err(ConnectorError::Rejected(m)) if m.contains("chunked") && m.contains("clip.mp4"))
    );
    let big = X.upload_media(file("big.jpg", "image/jpeg", 6 * 1024 * 1024, None), tweet);
    assert!(matches!(big, Err(ConnectorError::Rejected(m)) if m.contains("5 MB")));
}

fn posted(host: &MockHost) -> Vec<(String, Value)> {
    host.requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .map(|r| (r.url.clone(), serde_json::from_slice(&r.body).unwrap()))
        .collect()
}

#[test]
fn a_direct_message_carries_one_file_each_the_text_with_the_first() {
    let host = sending_host();
    let mut out = Outbound::text("1111-2222", Visibility::Private, "see attached");
    out.files = vec![
        file("a.png", "image/png", 70, uploaded("555")),
        // X's v1.1 answer shape works too.
        file(
            "b.jpg",
            "image/jpeg",
            70,
            Some(HttpResponse::json(
                200,
                &json!({"media_id": 556, "media_id_string": "556"}),
            )),
        ),
    ];
    let sent = X.send(out, "k-dm".into()).unwrap();
    assert_eq!(sent.platform_message_id, "8001");
    let posts = posted(&host);
    assert_eq!(posts.len(), 2, "{posts:?}");
    let url = format!("{API}/2/dm_conversations/with/2222/messages");
    assert_eq!(
        posts[0],
        (
            url.clone(),
            json!({"text": "see attached", "attachments": [{"media_id": "555"}]})
        )
    );
    assert_eq!(
        posts[1],
        (url, json!({"attachments": [{"media_id": "556"}]}))
    );
    assert_eq!(host.kv_get("sent/k-dm"), Some(b"8001".to_vec()));
    assert!(
        host.kv_keys().iter().all(|k| !k.starts_with("sent_part/")),
        "parts forgotten once whole"
    );

    let mut refused = Outbound::text("1111-2222", Visibility::Private, "x");
    refused.files = vec![file(
        "c.png",
        "image/png",
        70,
        Some(HttpResponse::json(
            400,
            &json!({"title": "Invalid Request", "detail": "media type unrecognized."}),
        )),
    )];
    let err = X.send(refused.clone(), "k-bad".into()).unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Rejected(m) if m.contains("c.png") && m.contains("unrecognized")),
        "{err:?}"
    );
    refused.files[0].upload = None;
    assert!(
        matches!(X.send(refused, "k-none".into()), Err(ConnectorError::Rejected(m)) if m.contains("not uploaded"))
    );
}

#[test]
fn a_tweet_takes_four_images_and_the_rest_follow_in_the_thread() {
    let host = sending_host();
    let mut out = Outbound::text("500", Visibility::Public, "Here you go");
    out.reply_to = Some("501".into());
    out.files = (1..=5)
        .map(|i| {
            file(
                &format!("{i}.png"),
                "image/png",
                70,
                uploaded(&format!("70{i}")),
            )
        })
        .collect();
    let sent = X.send(out, "k-tw".into()).unwrap();
    assert_eq!(sent.platform_message_id, "9001");
    let posts = posted(&host);
    assert_eq!(posts.len(), 2);
    assert_eq!(
        posts[0].1,
        json!({"text": "Here you go", "media": {"media_ids": ["701", "702", "703", "704"]},
               "reply": {"in_reply_to_tweet_id": "501"}})
    );
    assert_eq!(
        posts[1].1,
        json!({"media": {"media_ids": ["705"]}, "reply": {"in_reply_to_tweet_id": "9001"}}),
        "answers the first"
    );

    // A GIF goes alone; files without text are fine.
    host.clear_requests();
    let mut out = Outbound::text("500", Visibility::Public, "");
    out.files = vec![
        file("a.png", "image/png", 70, uploaded("801")),
        file("b.gif", "image/gif", 70, uploaded("802")),
    ];
    X.send(out, "k-gif".into()).unwrap();
    let bodies: Vec<Value> = posted(&host)
        .into_iter()
        .map(|(_, b)| b["media"]["media_ids"].clone())
        .collect();
    assert_eq!(bodies, [json!(["801"]), json!(["802"])]);
    assert_eq!(
        X.send(
            Outbound::text("500", Visibility::Public, " "),
            "k-empty".into()
        ),
        Err(ConnectorError::Rejected(
            "an X message needs text or a file".into()
        ))
    );
}

#[test]
fn a_retry_after_a_failed_part_sends_only_the_rest() {
    let host = host();
    host.kv_set("user_id/acme", "1111");
    let fail = std::rc::Rc::new(std::cell::Cell::new(true));
    let f = fail.clone();
    host.on_http(move |req| {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or_default();
        if body["attachments"][0]["media_id"] == "602" && f.get() {
            return Ok(HttpResponse::json(
                503,
                &json!({"title": "Service Unavailable"}),
            ));
        }
        let id = format!(
            "80{}",
            body["attachments"][0]["media_id"].as_str().unwrap_or("0")
        );
        Ok(HttpResponse::json(
            201,
            &json!({"data": {"dm_event_id": id}}),
        ))
    });
    let mut out = Outbound::text("1111-2222", Visibility::Private, "two files");
    out.files = vec![
        file("a.png", "image/png", 70, uploaded("601")),
        file("b.png", "image/png", 70, uploaded("602")),
    ];
    assert!(matches!(
        X.send(out.clone(), "k-r".into()),
        Err(ConnectorError::Transient(_))
    ));
    // Interrupted there, the reply counts as sent: its first part is on X.
    let found = X.find_sent(out.clone(), "k-r".into(), 0).unwrap();
    assert_eq!(
        found.map(|s| s.platform_message_id).as_deref(),
        Some("80601")
    );

    fail.set(false);
    host.clear_requests();
    let sent = X.send(out.clone(), "k-r".into()).unwrap();
    assert_eq!(sent.platform_message_id, "80601", "the first part's id");
    let posts = posted(&host);
    assert_eq!(posts.len(), 1, "only the part X lacked: {posts:?}");
    assert_eq!(posts[0].1, json!({"attachments": [{"media_id": "602"}]}));

    let mut only_files = out;
    only_files.text = String::new();
    assert!(matches!(
        X.find_sent(only_files, "other-key".into(), 0),
        Err(ConnectorError::Unsupported(_))
    ));
}
