//! The feed's attachments: a comment's photo or video in webhooks, posts' and comments'
//! story attachments when polled (shapes from Meta's Graph "Story Attachment" reference and
//! feed webhooks seen in the wild), and a public reply with a photo by link.

use serde_json::json;
use switchboard_sdk::{Connector, ConnectorError, HttpResponse, OutboundFile, Visibility};

use super::{GRAPH, PAGE, comment, feed, host, messages, outbound, signed_post};
use crate::Facebook;

#[test]
fn a_comment_with_a_photo_or_a_video_keeps_it() {
    let _host = host();
    let mut photo = comment("1001_5", &format!("{PAGE}_1001"), ("7", "Ann"), "");
    photo["photo"] = json!("https://scontent-fra3-1.xx.fbcdn.net/v/t31.0-8/1_o.jpg?oh=1");
    let mut video = comment("1001_6", &format!("{PAGE}_1001"), ("7", "Ann"), "look");
    video["video"] = json!("https://video.xx.fbcdn.net/v/clip.mp4");
    let out = Facebook
        .handle_webhook(signed_post(&feed(&[photo, video])))
        .unwrap();
    let msgs = messages(&out.events);
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0].text, "", "a photo alone is still a comment");
    assert_eq!(msgs[0].attachments[0].kind, "image");
    assert!(
        msgs[0].attachments[0]
            .url
            .as_deref()
            .unwrap()
            .ends_with("oh=1")
    );
    assert_eq!(msgs[1].attachments[0].kind, "video");
}

#[test]
fn polled_posts_and_comments_keep_their_attachments() {
    let host = host();
    host.on_http(|_| {
        Ok(HttpResponse::json(200, &json!({"data": [{
            "id": format!("{PAGE}_9"),
            "message": "New arrivals",
            "created_time": "2024-01-15T12:00:00+0000",
            "from": {"id": PAGE, "name": "Acme"},
            "attachments": {"data": [{"type": "album", "title": "Spring", "subattachments": {"data": [
                {"type": "photo", "media": {"image": {"src": "https://scontent.xx.fbcdn.net/a.jpg", "height": 720, "width": 720}}},
                {"type": "photo", "media": {"image": {"src": "https://scontent.xx.fbcdn.net/b.jpg"}}}
            ]}}]},
            "comments": {"data": [
                {"id": "9_1", "created_time": "2024-01-15T12:01:00+0000", "from": {"id": "7", "name": "Ann"},
                 "attachment": {"type": "sticker", "media": {"image": {"src": "https://scontent.xx.fbcdn.net/s.png"}},
                                "target": {"id": "126361870881943", "url": "https://www.facebook.com/126361870881943"}}},
                {"id": "9_2", "created_time": "2024-01-15T12:02:00+0000", "from": {"id": "7", "name": "Ann"}, "message": "see",
                 "attachment": {"type": "video_inline", "media": {"image": {"src": "https://scontent.xx.fbcdn.net/thumb.jpg"}, "source": "https://video.xx.fbcdn.net/v.mp4"}}},
                {"id": "9_3", "created_time": "2024-01-15T12:03:00+0000", "from": {"id": "7", "name": "Ann"},
                 "attachment": {"type": "video_autoplay", "url": "https://www.facebook.com/watch/?v=1"}},
                {"id": "9_4", "created_time": "2024-01-15T12:04:00+0000", "from": {"id": "7", "name": "Ann"},
                 "attachment": {"type": "share", "title": "Our sale", "url": "https://shop.example/sale",
                                "media": {"image": {"src": "https://external.xx.fbcdn.net/safe_image.jpg"}}}},
                {"id": "9_5", "created_time": "2024-01-15T12:05:00+0000", "from": {"id": "7", "name": "Ann"},
                 "attachment": {"type": "hologram", "url": "https://www.facebook.com/h"}}
            ]}
        }]})))
    });
    let result = Facebook.poll(None, 10).unwrap();
    let msgs = messages(&result.events);
    let kinds = |i: usize| -> Vec<(String, Option<String>)> {
        msgs[i]
            .attachments
            .iter()
            .map(|a| (a.kind.clone(), a.url.clone()))
            .collect()
    };
    // The album's photos, each downloadable.
    assert_eq!(
        kinds(0),
        [
            (
                "image".into(),
                Some("https://scontent.xx.fbcdn.net/a.jpg".into())
            ),
            (
                "image".into(),
                Some("https://scontent.xx.fbcdn.net/b.jpg".into())
            )
        ]
    );
    assert_eq!(msgs[1].attachments[0].kind, "sticker");
    assert_eq!(
        msgs[1].attachments[0].detail("sticker-id"),
        Some("126361870881943")
    );
    assert_eq!(
        kinds(2),
        [(
            "video".into(),
            Some("https://video.xx.fbcdn.net/v.mp4".into())
        )]
    );
    // A video Graph gives no file for is kept as a link, never its thumbnail as a "video".
    assert_eq!(kinds(3), [("video".into(), None)]);
    assert_eq!(
        msgs[3].attachments[0].detail("url"),
        Some("https://www.facebook.com/watch/?v=1")
    );
    assert_eq!(msgs[4].attachments[0].kind, "share");
    assert_eq!(
        msgs[4].attachments[0].detail("url"),
        Some("https://shop.example/sale")
    );
    assert_eq!(msgs[4].attachments[0].caption.as_deref(), Some("Our sale"));
    assert_eq!(msgs[5].attachments[0].kind, "hologram");
    assert!(
        msgs[5].attachments[0]
            .caption
            .as_deref()
            .unwrap()
            .contains("cannot show")
    );
}

fn photo(link: Option<&str>) -> OutboundFile {
    OutboundFile {
        kind: "image".into(),
        file_name: "parcel.jpg".into(),
        mime_type: "image/jpeg".into(),
        size: 4096,
        upload: None,
        link: link.map(str::to_string),
        upload_key: None,
        upload_state: None,
    }
}

#[test]
fn a_public_reply_takes_a_photo_by_link_one_per_comment() {
    let host = host();
    let mut n = 0;
    host.on_http(move |_| {
        n += 1;
        Ok(HttpResponse::json(
            200,
            &json!({"id": format!("1001_9{n}")}),
        ))
    });
    let mut reply = outbound(
        &format!("{PAGE}_1001"),
        Some("1001_5"),
        Visibility::Public,
        "Like this?",
    );
    assert_eq!(
        Facebook.upload_media(photo(None), reply.clone()).unwrap(),
        None,
        "by link"
    );
    reply.files = vec![
        photo(Some("https://sb.example/files/1?sig=a")),
        photo(Some("https://sb.example/files/2?sig=b")),
    ];
    let sent = Facebook.send(reply.clone(), "pub-1".into()).unwrap();
    assert_eq!(sent.platform_message_id, "1001_91");
    let reqs = host.requests();
    assert_eq!(reqs.len(), 2);
    assert!(
        reqs.iter()
            .all(|r| r.url == format!("{GRAPH}/1001_5/comments"))
    );
    let form = |i: usize| switchboard_sdk::http::parse_form(reqs[i].body_text().unwrap());
    assert_eq!(
        form(0),
        [
            ("message".to_string(), "Like this?".to_string()),
            (
                "attachment_url".to_string(),
                "https://sb.example/files/1?sig=a".to_string()
            )
        ]
    );
    assert_eq!(
        form(1),
        [(
            "attachment_url".to_string(),
            "https://sb.example/files/2?sig=b".to_string()
        )]
    );
    // Sent once.
    Facebook.send(reply, "pub-1".into()).unwrap();
    assert_eq!(host.requests().len(), 2);
}

#[test]
fn a_public_photo_without_a_link_or_a_document_is_refused_before_posting() {
    let host = host();
    host.on_http(|_| Ok(HttpResponse::json(200, &json!({"id": "x"}))));
    let mut reply = outbound(
        &format!("{PAGE}_1001"),
        Some("1001_5"),
        Visibility::Public,
        "here",
    );
    reply.files = vec![photo(None)];
    let err = Facebook.send(reply.clone(), "pub-2".into()).unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Rejected(m) if m.contains("public_url")),
        "{err:?}"
    );
    let mut doc = photo(Some("https://sb.example/f"));
    doc.kind = "file".into();
    reply.files = vec![doc];
    let err = Facebook.send(reply, "pub-3".into()).unwrap_err();
    assert!(
        matches!(&err, ConnectorError::Rejected(m) if m.contains("`file`")),
        "{err:?}"
    );
    assert!(host.requests().is_empty());
}
