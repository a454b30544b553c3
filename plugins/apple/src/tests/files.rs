//! Files both ways: the download the host makes (preDownload, then the key), and the
//! upload it makes for an agent's file (preUpload, encrypted) before `send` names it.

use serde_json::{Value, json};
use switchboard_sdk::{
    Attachment, Cipher, Connector, ConnectorError, HttpResponse, OutboundFile, Visibility,
};

use super::{BASE, BUSINESS, CUSTOMER, host, reply};
use crate::Apple;
use crate::files::Handle;

fn handle() -> Handle {
    Handle::of(
        "https://p56-content.icloud.com/abc",
        "p56",
        "0a1b2c",
        &format!("00{}", "cd".repeat(32)),
    )
    .unwrap()
}

fn photo() -> Attachment {
    let mut a = Attachment::of_kind("image");
    a.media_id = Some(handle().to_media_id());
    a
}

#[test]
fn a_download_asks_apple_for_an_address_and_hands_the_host_the_key() {
    let host = host();
    host.on_http(|req| {
        assert_eq!(req.url, format!("{BASE}/v1/preDownload"));
        Ok(HttpResponse::json(
            200,
            &json!({"download-url": "https://p56-download.icloud.com/one-time"}),
        ))
    });
    let download = Apple.media_request(photo()).unwrap().expect("a download");
    let asked = &host.requests()[0];
    assert_eq!(asked.method, "GET");
    assert_eq!(asked.header("source-id"), Some(BUSINESS));
    assert_eq!(
        asked.header("url"),
        Some("https://p56-content.icloud.com/abc")
    );
    assert_eq!(asked.header("owner"), Some("p56"));
    // Apple's hex checksum, as the base64 preDownload takes.
    assert_eq!(asked.header("signature"), Some("Chss"));
    assert!(
        asked
            .header("authorization")
            .unwrap()
            .starts_with("Bearer ")
    );
    assert_eq!(download.request.method, "GET");
    assert_eq!(
        download.request.url,
        "https://p56-download.icloud.com/one-time"
    );
    // The content server needs no token: none is handed on.
    assert!(download.request.headers.is_empty());
    let key = download.decrypt.expect("the key");
    assert!(matches!(key.cipher, Cipher::Aes256Ctr));
    assert_eq!(key.key, vec![0xcd; 32]);
    assert!(key.iv.is_empty());
}

#[test]
fn a_download_apple_refuses_says_so_and_one_without_a_handle_is_none() {
    let host = host();
    host.on_http(|_| Ok(HttpResponse::text(404, "no such file")));
    match Apple.media_request(photo()) {
        Err(ConnectorError::Rejected(why)) => {
            assert!(why.contains("no download for this file"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    host.on_http(|_| Ok(HttpResponse::empty(503)));
    assert!(matches!(
        Apple.media_request(photo()),
        Err(ConnectorError::Transient(_))
    ));
    host.clear_requests();
    assert!(
        Apple
            .media_request(Attachment::of_kind("file"))
            .unwrap()
            .is_none()
    );
    assert!(host.requests().is_empty());
}

fn agent_file(name: &str, size: u64) -> OutboundFile {
    OutboundFile {
        kind: "image".into(),
        file_name: name.into(),
        mime_type: "image/png".into(),
        size,
        upload: None,
        link: None,
        upload_key: None,
        upload_state: None,
    }
}

#[test]
fn an_upload_is_encrypted_by_the_host_to_the_address_apple_gives() {
    let host = host();
    host.on_http(|req| {
        assert_eq!(req.url, format!("{BASE}/v1/preUpload"));
        Ok(HttpResponse::json(
            200,
            &json!({"upload-url": "https://p56-upload.icloud.com/u/1",
                    "mmcs-url": "https://p56-content.icloud.com/f1", "mmcs-owner": "p56"}),
        ))
    });
    let file = agent_file("parcel.png", 4242);
    let plan = Apple
        .upload_media(file, reply(""))
        .unwrap()
        .expect("an upload");
    let asked = &host.requests()[0];
    assert_eq!(asked.header("size"), Some("4242"));
    assert_eq!(asked.header("source-id"), Some(BUSINESS));
    assert_eq!(plan.request.method, "POST");
    assert_eq!(plan.request.url, "https://p56-upload.icloud.com/u/1");
    assert_eq!(plan.file_field, None);
    assert!(matches!(plan.encrypt, Some(Cipher::Aes256Ctr)));
    let state: Value = serde_json::from_str(plan.state.as_deref().unwrap()).unwrap();
    assert_eq!(
        state,
        json!({"url": "https://p56-content.icloud.com/f1", "owner": "p56"})
    );
}

fn uploaded(name: &str) -> OutboundFile {
    let mut f = agent_file(name, 4242);
    f.upload = Some(HttpResponse::json(
        200,
        &json!({"singleFile": {"fileChecksum": "AbCd", "size": 4242}}),
    ));
    f.upload_key = Some(switchboard_sdk::FileKey::aes256_ctr(vec![7; 32]));
    f.upload_state =
        Some(json!({"url": "https://p56-content.icloud.com/f1", "owner": "p56"}).to_string());
    f
}

#[test]
fn a_reply_with_files_names_each_by_address_checksum_and_key() {
    let host = host();
    host.on_http(|_| Ok(HttpResponse::empty(200)));
    let mut msg = reply("Here is the label");
    msg.files = vec![uploaded("label.png")];
    Apple.send(msg, "files-1".into()).unwrap();
    let body: Value = serde_json::from_slice(&host.requests()[0].body).unwrap();
    assert_eq!(body["type"], "text");
    assert_eq!(body["destinationId"], CUSTOMER);
    assert_eq!(body["body"], "Here is the label\n\u{fffc}");
    assert_eq!(
        body["attachments"],
        json!([{"name": "label.png", "mimeType": "image/png", "size": 4242,
                "signature-base64": "AbCd", "url": "https://p56-content.icloud.com/f1",
                "owner": "p56", "key": format!("00{}", "07".repeat(32))}])
    );

    // A file alone is a message too.
    host.clear_requests();
    let mut alone = reply("");
    alone.files = vec![uploaded("a.png"), uploaded("b.png")];
    Apple.send(alone, "files-2".into()).unwrap();
    let body: Value = serde_json::from_slice(&host.requests()[0].body).unwrap();
    assert_eq!(body["body"], "\u{fffc}\u{fffc}");
}

#[test]
fn a_file_not_uploaded_or_with_a_list_picker_is_not_sent() {
    let host = host();
    host.on_http(|_| Ok(HttpResponse::empty(200)));
    let mut msg = reply("x");
    msg.files = vec![agent_file("lost.png", 1)];
    match Apple.send(msg, "files-3".into()) {
        Err(ConnectorError::Transient(why)) => assert!(why.contains("lost.png"), "{why}"),
        other => panic!("{other:?}"),
    }
    let mut picker = reply("Pick one");
    picker.list_items = vec![switchboard_sdk::ListItem {
        id: "a".into(),
        title: "A".into(),
    }];
    picker.files = vec![uploaded("a.png")];
    assert!(matches!(
        Apple.send(picker, "files-4".into()),
        Err(ConnectorError::Rejected(_))
    ));
    assert!(host.requests().is_empty(), "nothing went to Apple");
}

#[test]
fn files_go_in_direct_messages_up_to_100_mb() {
    let limits = Apple.file_limits();
    assert_eq!(limits.len(), 4);
    for l in &limits {
        assert!(matches!(l.visibility, Visibility::Private));
        assert_eq!(l.max_bytes, 100 * 1024 * 1024);
    }
}
