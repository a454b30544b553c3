//! Messaging attachments of every kind, the CDN hosts and the upload helpers. Payload
//! shapes follow Meta's public webhook references for Messenger `messages` and Instagram
//! messaging (facts, not copied text).

use serde_json::json;

use super::*;
use crate::meta::{Platform, TokenPlacement};
use crate::testing::MockHost;

fn parse(raw: serde_json::Value) -> Attachment {
    messaging_attachment("Messenger", &raw)
}

#[test]
fn files_keep_their_kind_and_url_and_a_document_its_name() {
    for kind in ["image", "video", "audio"] {
        let a =
            parse(json!({"type": kind, "payload": {"url": "https://scontent.xx.fbcdn.net/v/1"}}));
        assert_eq!(a.kind, kind);
        assert_eq!(a.url.as_deref(), Some("https://scontent.xx.fbcdn.net/v/1"));
        assert_eq!(a.file_name, None);
    }
    let doc = parse(json!({"type": "file", "payload": {
        "url": "https://cdn.fbsbx.com/v/t59.2708-21/1_2_n.pdf/Invoice%201042.pdf?_nc_cat=1&oh=x"}}));
    assert_eq!(doc.kind, "file");
    assert_eq!(doc.file_name.as_deref(), Some("Invoice 1042.pdf"));
    // A file with no link is still kept, and says why it cannot be opened.
    let bare = parse(json!({"type": "audio", "payload": {}}));
    assert_eq!((bare.kind.as_str(), bare.url.as_deref()), ("audio", None));
    assert!(bare.caption.unwrap().contains("without a link"));
}

#[test]
fn a_location_carries_its_coordinates_name_and_map_link() {
    // Messenger puts the title and the map link on the item, the coordinates in the payload.
    let a = parse(json!({
        "type": "location", "title": "Ann's Location",
        "url": "https://l.facebook.com/l.php?u=https%3A%2F%2Fwww.bing.com%2Fmaps",
        "payload": {"coordinates": {"lat": 52.3676, "long": -4.9041}}
    }));
    assert_eq!(a.kind, "location");
    assert_eq!(a.url, None, "nothing to download");
    assert_eq!(a.detail("latitude"), Some("52.3676"));
    assert_eq!(a.detail("longitude"), Some("-4.9041"));
    assert_eq!(a.detail("name"), Some("Ann's Location"));
    assert!(
        a.detail("url")
            .unwrap()
            .starts_with("https://l.facebook.com/")
    );
    // Without coordinates it is still a location.
    let vague = parse(json!({"type": "location", "payload": null}));
    assert_eq!(vague.kind, "location");
    assert!(vague.details.is_empty());
}

#[test]
fn stickers_fallbacks_and_templates_are_readable() {
    let s = parse(json!({"type": "image", "payload": {
        "url": "https://scontent.xx.fbcdn.net/sticker.png", "sticker_id": 369239263222822u64}}));
    assert_eq!(s.kind, "sticker");
    assert_eq!(s.detail("sticker-id"), Some("369239263222822"));
    assert_eq!(
        s.url.as_deref(),
        Some("https://scontent.xx.fbcdn.net/sticker.png")
    );
    assert!(s.caption.unwrap().contains("like"));
    assert_eq!(sticker_attachment("42").caption, None);

    let f = parse(json!({"type": "fallback", "payload": null,
        "title": "Spring sale", "URL": "https://shop.example/sale"}));
    assert_eq!(f.kind, "fallback");
    assert_eq!(f.url, None, "a shared link is not a file");
    assert_eq!(f.detail("title"), Some("Spring sale"));
    assert_eq!(f.detail("url"), Some("https://shop.example/sale"));

    let product = parse(
        json!({"type": "template", "payload": {"product": {"elements": [{
        "id": "4211", "retailer_id": "sku-9", "image_url": "https://scontent.xx.fbcdn.net/p.jpg",
        "title": "Green parka", "subtitle": "€120"}]}}}),
    );
    assert_eq!(product.kind, "share");
    assert_eq!(
        product.url.as_deref(),
        Some("https://scontent.xx.fbcdn.net/p.jpg")
    );
    assert_eq!(product.detail("template-type"), Some("product"));
    assert_eq!(product.detail("product-id"), Some("4211"));
    assert_eq!(product.detail("retailer-id"), Some("sku-9"));
    assert_eq!(product.caption.as_deref(), Some("Green parka"));

    let post = parse(
        json!({"type": "template", "payload": {"template_type": "generic",
        "elements": [{"title": "Our new store", "default_action": {"url": "https://fb.com/p/1"}}]}}),
    );
    assert_eq!(post.detail("template-type"), Some("generic"));
    assert_eq!(post.detail("url"), Some("https://fb.com/p/1"));
    assert_eq!(post.url, None);
}

#[test]
fn instagram_shares_reels_and_story_mentions() {
    let ig = |raw| messaging_attachment("Instagram", &raw);
    let reel = ig(json!({"type": "ig_reel", "payload": {
        "url": "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=7", "title": "Spring drop",
        "reel_video_id": "18000000000000007"}}));
    assert_eq!(reel.kind, "share");
    assert_eq!(reel.detail("shared"), Some("reel"));
    assert_eq!(reel.detail("reel-video-id"), Some("18000000000000007"));
    assert_eq!(reel.caption.as_deref(), Some("Spring drop"));
    assert!(reel.url.is_some());
    let post =
        ig(json!({"type": "ig_post", "payload": {"url": "https://x/8", "ig_post_media_id": "18"}}));
    assert_eq!(
        (post.kind.as_str(), post.detail("media-id")),
        ("share", Some("18"))
    );
    assert_eq!(post.caption.as_deref(), Some("a shared Instagram post"));
    let mention = ig(json!({"type": "story_mention", "payload": {"url": "https://x/6"}}));
    assert_eq!(mention.kind, "story-mention");
    assert_eq!(mention.url.as_deref(), Some("https://x/6"));
    let unsupported = ig(json!({"type": "unsupported_type", "payload": {}}));
    assert_eq!(unsupported.kind, "unsupported_type");
    assert!(
        unsupported
            .caption
            .unwrap()
            .contains("open the conversation in Instagram")
    );
}

#[test]
fn an_unknown_type_is_kept_with_its_raw_type() {
    let a = parse(json!({"type": "hologram", "payload": {"url": "https://x/h", "title": "Hi"}}));
    assert_eq!(a.kind, "hologram");
    assert_eq!(a.url.as_deref(), Some("https://x/h"));
    let caption = a.caption.unwrap();
    assert!(
        caption.contains("`hologram`") && caption.contains("(Hi)"),
        "{caption}"
    );
    assert_eq!(parse(json!({})).kind, "unknown");
}

#[test]
fn reactions_read_as_sentences() {
    assert_eq!(
        reaction_text("react", Some("❤️"), Some("love")),
        "reacted ❤️ to a message"
    );
    assert_eq!(
        reaction_text("react", None, Some("wow")),
        "reacted (wow) to a message"
    );
    assert_eq!(
        reaction_text("unreact", Some("❤️"), None),
        "removed their reaction to a message"
    );
    assert_eq!(
        reaction_text("react", Some(" "), None),
        "reacted to a message"
    );
}

#[test]
fn cdn_hosts_are_valid_patterns() {
    for host in media_hosts() {
        let (scheme, rest) = host.split_once("://").unwrap();
        assert_eq!(scheme, "https");
        assert!(
            !rest.contains('/') && rest.split('.').all(|l| !l.is_empty()),
            "{host}"
        );
    }
}

const PLATFORM: Platform = Platform::new("facebook", "page", "https://graph.facebook.com/v19.0");

#[test]
fn the_upload_is_a_multipart_post_with_the_token_and_the_attachment_type() {
    let graph = Graph::new(&PLATFORM, "http://graph.test/v19.0", Some("tok"));
    let upload = graph.attachment_upload("1001", "image", None).unwrap();
    assert_eq!(upload.request.method, "POST");
    assert_eq!(
        upload.request.url,
        "http://graph.test/v19.0/1001/message_attachments"
    );
    assert_eq!(upload.request.header("authorization"), Some("Bearer tok"));
    assert_eq!(upload.file_field.as_deref(), Some("filedata"));
    let message: serde_json::Value = serde_json::from_str(&upload.form[0].1).unwrap();
    assert_eq!(upload.form[0].0, "message");
    assert_eq!(
        message,
        json!({"attachment": {"type": "image", "payload": {"is_reusable": true}}})
    );
    assert_eq!(upload.form.len(), 1);
    let ig = graph
        .attachment_upload("1001", "video", Some("instagram"))
        .unwrap();
    assert_eq!(ig.form[1], ("platform".into(), "instagram".into()));
    assert!(matches!(
        graph.attachment_upload("1001", "sticker", None),
        Err(ConnectorError::Rejected(_))
    ));
    // With the token in the query, it goes there.
    let mut query = PLATFORM;
    query.token_placement = TokenPlacement::QueryParameter;
    let upload = Graph::new(&query, "http://graph.test", Some("tok"))
        .attachment_upload("1001", "file", None)
        .unwrap();
    assert!(upload.request.url.ends_with("?access_token=tok"));
}

#[test]
fn the_upload_answer_gives_the_id_or_the_mapped_graph_error() {
    let _host = MockHost::new();
    let graph = Graph::new(&PLATFORM, "http://graph.test", Some("EAAG-secret"));
    let ok = HttpResponse::json(200, &json!({"attachment_id": "1857777774821032"}));
    assert_eq!(
        graph.uploaded_attachment_id(&ok).unwrap(),
        "1857777774821032"
    );
    let numeric = HttpResponse::json(200, &json!({"attachment_id": 42}));
    assert_eq!(graph.uploaded_attachment_id(&numeric).unwrap(), "42");
    let refused = HttpResponse::json(
        400,
        &json!({"error": {"message": "Bad token EAAG-secret", "code": 190}}),
    );
    let err = graph.uploaded_attachment_id(&refused).unwrap_err();
    assert!(matches!(&err.error, ConnectorError::Unauthorized(m) if !m.contains("EAAG-secret")));
    let limited = HttpResponse::json(400, &json!({"error": {"message": "slow down", "code": 4}}));
    assert!(matches!(
        graph.uploaded_attachment_id(&limited).unwrap_err().error,
        ConnectorError::RateLimited(_)
    ));
    let empty = HttpResponse::json(200, &json!({}));
    assert!(matches!(
        graph.uploaded_attachment_id(&empty).unwrap_err().error,
        ConnectorError::Rejected(_)
    ));
}
