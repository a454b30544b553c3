//! Apple's encrypted files both ways: a customer's file through `preDownload` and the MMCS
//! download, a business's file through `preUpload`, the MMCS upload and `/v1/message`.

use axum::http::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::mmcs::{MAX_FILE, apply_ctr, key_field};
use super::tests::{BUSINESS, CUSTOMER, KEY, PROVIDER, business_token, send, start};
use super::{base64_decode, base64_encode};
use crate::tests::{control, get_json, http, next_hook, receiver};

const PNG: &[u8] = include_bytes!("../facebook/samples/photo.png");
const PDF: &[u8] = include_bytes!("../facebook/samples/document.pdf");
const MP4: &[u8] = include_bytes!("../facebook/samples/clip.mp4");

/// A `GET` on the gateway signed as the business (no token when `token` is `None`).
async fn gateway_get(
    base: &str,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
) -> (StatusCode, String) {
    let mut request = http()
        .get(format!("{base}{path}"))
        .header("source-id", format!("urn:mbid:{BUSINESS}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

/// The dictionary's hex `signature-base64` as the `signature` header wants it (base64).
fn hex_to_base64(hex_signature: &str) -> String {
    base64_encode(&hex::decode(hex_signature).unwrap())
}

/// The 32-byte key of a dictionary's `key` (`00` + hex).
fn key_of(field: &str) -> [u8; 32] {
    hex::decode(field.strip_prefix("00").unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

/// A customer sends `attachments`; answers the dictionaries the webhook got.
async fn customer_sends(base: &str, attachments: Value) -> Vec<Value> {
    let (url, _receiver, mut rx) = receiver("unused", 0).await;
    control(
        base,
        "/_emulator/apple/subscriptions",
        json!({"business_id": BUSINESS, "callback_url": url}),
    )
    .await;
    let (status, answer) = control(
        base,
        "/_emulator/apple/messages",
        json!({"business_id": BUSINESS, "source_id": CUSTOMER, "body": "look",
            "attachments": attachments}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let body: Value = serde_json::from_slice(&next_hook(&mut rx).await.body).unwrap();
    body["attachments"].as_array().unwrap().clone()
}

/// `preDownload` and the download of a customer's file; answers the decrypted bytes.
async fn fetch(base: &str, dictionary: &Value) -> Vec<u8> {
    let token = business_token(KEY, PROVIDER);
    let signature = hex_to_base64(dictionary["signature-base64"].as_str().unwrap());
    let (status, answer) = gateway_get(
        base,
        "/v1/preDownload",
        Some(&token),
        &[
            ("url", dictionary["url"].as_str().unwrap()),
            ("owner", dictionary["owner"].as_str().unwrap()),
            ("signature", &signature),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let answer: Value = serde_json::from_str(&answer).unwrap();
    let download = answer["download-url"].as_str().unwrap();
    assert!(
        download.starts_with(&format!("{base}/_emulator/apple/mmcs/download/")),
        "{download}"
    );
    let response = http().get(download).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "application/octet-stream"
    );
    let length: usize = response.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let mut bytes = response.bytes().await.unwrap().to_vec();
    assert_eq!(length, bytes.len());
    // The checksum (hex in the dictionary) is the SHA-256 of the ciphertext.
    assert_eq!(
        hex::encode_upper(Sha256::digest(&bytes)),
        dictionary["signature-base64"]
    );
    apply_ctr(&key_of(dictionary["key"].as_str().unwrap()), &mut bytes);
    bytes
}

/// `preUpload` and the upload of `plaintext` encrypted with `key`; answers the dictionary
/// a business puts in its message.
async fn upload(base: &str, name: &str, mime: &str, plaintext: &[u8], key: &[u8; 32]) -> Value {
    let token = business_token(KEY, PROVIDER);
    let mut ciphertext = plaintext.to_vec();
    apply_ctr(key, &mut ciphertext);
    let size = ciphertext.len().to_string();
    let (status, answer) =
        gateway_get(base, "/v1/preUpload", Some(&token), &[("size", &size)]).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["mmcs-owner"], "p56");
    let mmcs_url = answer["mmcs-url"].as_str().unwrap();
    assert!(mmcs_url.starts_with("https://p56-content.icloud.com/"));
    let upload_url = answer["upload-url"].as_str().unwrap();
    assert!(upload_url.starts_with(&format!("{base}/_emulator/apple/mmcs/upload/")));
    let response = http()
        .post(upload_url)
        .header("content-type", mime)
        .body(ciphertext.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let uploaded: Value = response.json().await.unwrap();
    let checksum = uploaded["singleFile"]["fileChecksum"].as_str().unwrap();
    assert_eq!(
        base64_decode(checksum).unwrap(),
        Sha256::digest(&ciphertext).to_vec()
    );
    assert_eq!(uploaded["singleFile"]["size"], ciphertext.len());
    json!({"name": name, "mimeType": mime, "size": plaintext.len(),
        "signature-base64": checksum, "url": mmcs_url, "owner": answer["mmcs-owner"],
        "key": key_field(key)})
}

fn text_with_files(id: &str, body: &str, attachments: Vec<Value>) -> Value {
    json!({"v": 1, "type": "text", "id": id, "sourceId": BUSINESS, "destinationId": CUSTOMER,
        "body": body, "locale": "en_US", "attachments": attachments})
}

async fn files_of(base: &str, business: &str) -> (StatusCode, Value) {
    get_json(&format!("{base}/_emulator/apple/files/{business}")).await
}

#[test]
fn ctr_is_aes256_with_a_zero_iv_and_a_big_endian_counter() {
    use aes::cipher::{BlockCipherEncrypt, KeyInit};
    let key = [7u8; 32];
    // The keystream (zeros encrypted) is AES-256 of the counter blocks 0, 1, 2, ...
    let mut keystream = vec![0u8; 48];
    apply_ctr(&key, &mut keystream);
    let aes = aes::Aes256::new_from_slice(&key).unwrap();
    for (i, chunk) in keystream.chunks(16).enumerate() {
        let mut block = aes::Block::default();
        block[15] = i as u8;
        aes.encrypt_block(&mut block);
        assert_eq!(chunk, &block[..], "block {i}");
    }
    // And it is its own inverse.
    let mut bytes = PNG.to_vec();
    apply_ctr(&key, &mut bytes);
    assert_ne!(bytes, PNG);
    apply_ctr(&key, &mut bytes);
    assert_eq!(bytes, PNG);
    assert_eq!(key_field(&[0xab; 32]), format!("00{}", "ab".repeat(32)));
}

#[tokio::test]
async fn a_customer_file_round_trips_through_pre_download() {
    let (_em, base) = start().await;
    let dictionaries = customer_sends(
        &base,
        json!([{"name": "photo.png", "mime_type": "image/png"},
            {"name": "note.txt", "mime_type": "text/plain", "content_base64": base64_encode(b"hello, agent")},
            {"name": "clip.mov", "mime_type": "video/quicktime", "size": 4096}]),
    )
    .await;
    let photo = &dictionaries[0];
    assert_eq!(photo["name"], "photo.png");
    assert_eq!(photo["mimeType"], "image/png");
    assert_eq!(photo["size"], PNG.len());
    assert_eq!(photo["owner"], "p56");
    let url = photo["url"].as_str().unwrap();
    assert!(url.starts_with("https://p56-content.icloud.com/"), "{url}");
    let key = photo["key"].as_str().unwrap();
    assert!(key.starts_with("00") && key.len() == 66, "{key}");
    let signature = photo["signature-base64"].as_str().unwrap();
    assert_eq!(signature.len(), 64, "hex of a SHA-256: {signature}");
    assert!(signature.bytes().all(|b| b.is_ascii_hexdigit()));
    // Every file has its own key.
    assert_ne!(dictionaries[1]["key"], photo["key"]);

    let bytes = fetch(&base, photo).await;
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert_eq!(bytes, PNG);
    assert_eq!(dictionaries[1]["size"], 12);
    assert_eq!(fetch(&base, &dictionaries[1]).await, b"hello, agent");
    // A given size is passed on as it is (the real length is the sample's).
    assert_eq!(dictionaries[2]["size"], 4096);
    assert_eq!(fetch(&base, &dictionaries[2]).await, MP4);

    // Bytes that are not base64 are refused.
    let (status, _) = control(
        &base,
        "/_emulator/apple/messages",
        json!({"business_id": BUSINESS, "source_id": CUSTOMER,
            "attachments": [{"name": "x", "content_base64": "***"}]}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn pre_download_refuses_strangers_and_wrong_checksums() {
    let (_em, base) = start().await;
    let dictionaries = customer_sends(
        &base,
        json!([{"name": "a.pdf", "mime_type": "application/pdf"}]),
    )
    .await;
    let file = &dictionaries[0];
    let url = file["url"].as_str().unwrap();
    let signature = hex_to_base64(file["signature-base64"].as_str().unwrap());
    let token = business_token(KEY, PROVIDER);
    let ask = async |token: Option<&str>, url: &str, owner: &str, signature: &str| {
        gateway_get(
            &base,
            "/v1/preDownload",
            token,
            &[("url", url), ("owner", owner), ("signature", signature)],
        )
        .await
        .0
    };
    assert_eq!(
        ask(None, url, "p56", &signature).await,
        StatusCode::UNAUTHORIZED
    );
    let stranger = business_token(b"wrong-key", PROVIDER);
    assert_eq!(
        ask(Some(&stranger), url, "p56", &signature).await,
        StatusCode::UNAUTHORIZED
    );
    let wrong = base64_encode(&[0u8; 32]);
    assert_eq!(
        ask(Some(&token), url, "p56", &wrong).await,
        StatusCode::FORBIDDEN
    );
    // The hex itself is not the base64 the header wants.
    let hex_signature = file["signature-base64"].as_str().unwrap();
    assert_eq!(
        ask(Some(&token), url, "p56", hex_signature).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        ask(Some(&token), url, "p99", &signature).await,
        StatusCode::FORBIDDEN
    );
    let unknown = "https://p56-content.icloud.com/nothing-here";
    assert_eq!(
        ask(Some(&token), unknown, "p56", &signature).await,
        StatusCode::NOT_FOUND
    );
    let (status, _) = gateway_get(&base, "/v1/preDownload", Some(&token), &[("url", url)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "no owner or signature");
    // Injected gateway failures are for /v1/message only.
    control(
        &base,
        "/_emulator/apple/failures",
        json!({"status": 503, "count": 1}),
    )
    .await;
    assert_eq!(
        ask(Some(&token), url, "p56", &signature).await,
        StatusCode::OK
    );
    let (status, _, _) = send(
        &base,
        &token,
        "m-1",
        json!({"v": 1, "type": "text", "id": "m-1", "sourceId": BUSINESS,
            "destinationId": CUSTOMER, "body": "x"}),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let response = http()
        .get(format!("{base}/_emulator/apple/mmcs/download/nothing"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_business_file_arrives_decrypted_and_whole() {
    let (em, base) = start().await;
    let key: [u8; 32] = rand::random();
    let pdf = upload(&base, "invoice.pdf", "application/pdf", PDF, &key).await;
    let photo = upload(&base, "label.png", "image/png", PNG, &rand::random()).await;
    let token = business_token(KEY, PROVIDER);
    let message = text_with_files(
        "out-1",
        "Your documents \u{fffc}\u{fffc}",
        vec![pdf.clone(), photo],
    );
    let (status, body, _) = send(&base, &token, "out-1", message.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A retry of the same message records nothing twice.
    let (status, _, _) = send(&base, &token, "out-1", message).await;
    assert_eq!(status, StatusCode::OK);
    // A message that is only the placeholder.
    let again = upload(&base, "again.pdf", "application/pdf", PDF, &key).await;
    let (status, body, _) = send(
        &base,
        &token,
        "out-2",
        text_with_files("out-2", "\u{fffc}", vec![again]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, files) = files_of(&base, BUSINESS).await;
    assert_eq!(status, StatusCode::OK);
    let files = files.as_array().unwrap();
    assert_eq!(files.len(), 3, "{files:?}");
    assert_eq!(
        files[0],
        json!({"message_id": "out-1", "name": "invoice.pdf", "mime_type": "application/pdf",
            "size": PDF.len(), "sha256": hex::encode(Sha256::digest(PDF)),
            "head_hex": hex::encode(&PDF[..8])})
    );
    assert!(
        files[0]["head_hex"]
            .as_str()
            .unwrap()
            .starts_with(&hex::encode(b"%PDF"))
    );
    assert_eq!(files[1]["name"], "label.png");
    assert_eq!(files[1]["sha256"], hex::encode(Sha256::digest(PNG)));
    assert_eq!(files[1]["head_hex"], "89504e470d0a1a0a");
    assert_eq!(files[2]["message_id"], "out-2");

    // Past axum's default 2 MB body limit.
    let big: Vec<u8> = (0..3 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    let file = upload(&base, "big.bin", "application/octet-stream", &big, &key).await;
    let (status, body, _) = send(
        &base,
        &token,
        "out-3",
        text_with_files("out-3", "\u{fffc}", vec![file]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, files) = files_of(&base, BUSINESS).await;
    assert_eq!(files[3]["size"], big.len());
    assert_eq!(files[3]["sha256"], hex::encode(Sha256::digest(&big)));
    let out = em.outbound();
    assert_eq!(out.len(), 3, "{out:?}");
    assert_eq!(
        out[0].text.as_deref(),
        Some("Your documents \u{fffc}\u{fffc}")
    );

    let (status, _) = files_of(&base, "nobody").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn uploads_and_attachments_that_do_not_match_are_refused() {
    let (_em, base) = start().await;
    let token = business_token(KEY, PROVIDER);
    let pre_upload = async |token: Option<&str>, size: Option<&str>| {
        let headers: Vec<(&str, &str)> = size.map(|s| ("size", s)).into_iter().collect();
        gateway_get(&base, "/v1/preUpload", token, &headers).await
    };
    assert_eq!(
        pre_upload(None, Some("10")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        pre_upload(Some(&token), None).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        pre_upload(Some(&token), Some("ten")).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        pre_upload(Some(&token), Some("0")).await.0,
        StatusCode::BAD_REQUEST
    );
    let too_big = (MAX_FILE + 1).to_string();
    let (status, why) = pre_upload(Some(&token), Some(&too_big)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(why.contains("100 MiB"), "{why}");
    let (status, _) = pre_upload(Some(&token), Some("104857600")).await;
    assert_eq!(status, StatusCode::OK, "exactly 100 MiB is allowed");

    // The upload itself: unknown id, wrong length, twice.
    let response = http()
        .post(format!("{base}/_emulator/apple/mmcs/upload/nothing"))
        .body(vec![1u8; 4])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let (_, answer) = pre_upload(Some(&token), Some("4")).await;
    let answer: Value = serde_json::from_str(&answer).unwrap();
    let upload_url = answer["upload-url"].as_str().unwrap();
    let post = async |bytes: Vec<u8>| {
        http()
            .post(upload_url)
            .body(bytes)
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(post(vec![1u8; 5]).await, StatusCode::BAD_REQUEST);
    assert_eq!(post(vec![1u8; 4]).await, StatusCode::OK);
    assert_eq!(post(vec![1u8; 4]).await, StatusCode::CONFLICT);

    // Attachments that do not match the upload.
    let key: [u8; 32] = rand::random();
    let good = upload(&base, "a.pdf", "application/pdf", PDF, &key).await;
    let expect_400 = async |attachment: Value, body: &str, reason: &str| {
        let message = text_with_files("bad", body, vec![attachment]);
        let (status, why, _) = send(&base, &token, "bad", message).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{reason}: {why}");
        assert!(why.contains(reason), "{why} should say {reason}");
    };
    let with = |field: &str, value: Value| {
        let mut a = good.clone();
        a[field] = value;
        a
    };
    let pending = pre_upload(Some(&token), Some("9")).await.1;
    let pending: Value = serde_json::from_str(&pending).unwrap();
    expect_400(
        with("url", json!("https://p56-content.icloud.com/nothing")),
        "\u{fffc}",
        "attachment a.pdf: unknown file",
    )
    .await;
    expect_400(
        with("url", pending["mmcs-url"].clone()),
        "\u{fffc}",
        "attachment a.pdf: unknown file",
    )
    .await;
    expect_400(
        with("signature-base64", json!(base64_encode(&[0u8; 32]))),
        "\u{fffc}",
        "attachment a.pdf: signature-base64",
    )
    .await;
    expect_400(
        with("owner", json!("p99")),
        "\u{fffc}",
        "attachment a.pdf: owner",
    )
    .await;
    expect_400(
        with("key", json!(hex::encode(key))),
        "\u{fffc}",
        "attachment a.pdf: key",
    )
    .await;
    expect_400(
        with("key", json!(format!("00{}", hex::encode(&key[..16])))),
        "\u{fffc}",
        "attachment a.pdf: key",
    )
    .await;
    expect_400(
        with("size", json!(PDF.len() + 1)),
        "\u{fffc}",
        "attachment a.pdf: size",
    )
    .await;
    expect_400(
        with("url", json!(null)),
        "\u{fffc}",
        "attachment a.pdf: missing url",
    )
    .await;
    expect_400(good.clone(), "no placeholder", "placeholders").await;
    // Another uploaded file (the 4 bytes above) under this file's dictionary.
    expect_400(
        with("url", answer["mmcs-url"].clone()),
        "\u{fffc}",
        "attachment a.pdf: signature-base64",
    )
    .await;

    let (_, files) = files_of(&base, BUSINESS).await;
    assert_eq!(files, json!([]), "nothing refused is recorded");
}

/// CTR has no integrity check: a wrong key decrypts to garbage of the right length, which
/// neither Apple nor the emulator can tell. The gateway accepts it; the files route shows it.
#[tokio::test]
async fn a_wrong_key_is_accepted_and_the_file_is_garbage() {
    let (_em, base) = start().await;
    let mut attachment = upload(&base, "a.png", "image/png", PNG, &rand::random()).await;
    attachment["key"] = json!(key_field(&rand::random()));
    let token = business_token(KEY, PROVIDER);
    let message = text_with_files("wk-1", "\u{fffc}", vec![attachment]);
    let (status, body, _) = send(&base, &token, "wk-1", message).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, files) = files_of(&base, BUSINESS).await;
    assert_eq!(files[0]["size"], PNG.len());
    assert_ne!(files[0]["sha256"], hex::encode(Sha256::digest(PNG)));
    assert_ne!(files[0]["head_hex"], "89504e470d0a1a0a");
}
