//! WhatsApp media (download in two steps, multipart upload, sends by media id) and
//! message templates (the list, template sends checked against it), over real HTTP.

use axum::http::StatusCode;
use serde_json::{Value, json};
use sha2::Digest;

use super::tests::{CUSTOMER, NUMBER, TOKEN, customer_says, send, start};
use crate::tests::{get_json, http};

/// `GET url` with a bearer token: status and body bytes.
async fn get_with(url: &str, token: Option<&str>) -> (StatusCode, Vec<u8>, String) {
    let mut req = http().get(url);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, res.bytes().await.unwrap().to_vec(), content_type)
}

async fn media_info(base: &str, id: &str, token: Option<&str>) -> (StatusCode, Value) {
    let (status, body, _) = get_with(
        &format!("{base}/v19.0/{id}?phone_number_id={NUMBER}"),
        token,
    )
    .await;
    (status, serde_json::from_slice(&body).unwrap())
}

/// The customer sends a file of `kind`; its media id.
async fn customer_file(base: &str, kind: &str, extra: Value) -> String {
    let mut body = json!({ "type": kind });
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    customer_says(base, body).await;
    let (_, view) = get_json(&format!("{base}/_emulator/whatsapp/numbers/{NUMBER}")).await;
    view["media"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["uploaded"] == false)
        .map(|m| m["id"].as_str().unwrap().to_string())
        .max_by_key(|id| id.parse::<u64>().unwrap_or(0))
        .unwrap()
}

#[tokio::test]
async fn a_customer_s_photo_downloads_in_two_steps_with_the_token() {
    let (_em, base) = start().await;
    let id = customer_file(
        &base,
        "image",
        json!({"mime_type": "image/png", "caption": "broken"}),
    )
    .await;

    let (status, info) = media_info(&base, &id, Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{info}");
    assert_eq!(info["messaging_product"], "whatsapp");
    assert_eq!(info["id"], id.as_str());
    assert_eq!(info["mime_type"], "image/png");
    let url = info["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!(
            "{base}/whatsapp_business/attachments/?mid={id}&ext="
        )),
        "{url}"
    );

    let (status, bytes, content_type) = get_with(url, Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "image/png");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "a real PNG");
    assert_eq!(info["file_size"], bytes.len().to_string());
    assert_eq!(info["sha256"], hex::encode(sha2::Sha256::digest(&bytes)));

    // The download needs the token; an altered URL is no URL.
    assert_eq!(get_with(url, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        get_with(url, Some("stolen")).await.0,
        StatusCode::UNAUTHORIZED
    );
    let altered = url.replace("&hash=", "&hash=0");
    assert_eq!(
        get_with(&altered, Some(TOKEN)).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, _, _) = get_with(
        &format!("{base}/whatsapp_business/attachments/?mid={id}&ext=1&hash=x"),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "expired");
}

#[tokio::test]
async fn the_media_lookup_checks_the_token_like_the_cloud_api() {
    let (_em, base) = start().await;
    let id = customer_file(
        &base,
        "document",
        json!({"mime_type": "application/pdf", "filename": "a.pdf"}),
    )
    .await;
    let (status, answer) = media_info(&base, &id, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert_eq!(answer["error"]["code"], 190);
    let (status, answer) = media_info(&base, &id, Some("wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    // Another number's media id is refused; an unknown one is Graph's unknown object.
    let (status, body, _) = get_with(
        &format!("{base}/v19.0/{id}?phone_number_id=999"),
        Some(TOKEN),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let (status, answer) = media_info(&base, "424242", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"]["code"], 100);
}

#[tokio::test]
async fn every_kind_of_file_has_its_magic_bytes_and_the_size_asked_for() {
    let (_em, base) = start().await;
    for (kind, mime, magic_at, magic) in [
        ("image", "image/jpeg", 0, &b"\xff\xd8\xff"[..]),
        ("sticker", "image/webp", 8, b"WEBP"),
        ("document", "application/pdf", 0, b"%PDF-"),
        ("audio", "audio/ogg; codecs=opus", 0, b"OggS"),
        ("video", "video/mp4", 4, b"ftyp"),
    ] {
        let id = customer_file(&base, kind, json!({"mime_type": mime, "size": 70_000})).await;
        let (_, info) = media_info(&base, &id, Some(TOKEN)).await;
        assert_eq!(info["file_size"], "70000", "{kind}");
        let (status, bytes, _) = get_with(info["url"].as_str().unwrap(), Some(TOKEN)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(bytes.len(), 70_000, "{kind}");
        assert_eq!(&bytes[magic_at..magic_at + magic.len()], magic, "{kind}");
    }
}

/// A `multipart/form-data` body as the host's upload sends it.
fn multipart(fields: &[(&str, &str)], file: Option<(&str, &str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "----switchboard-test-boundary";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some((name, mime, bytes)) = file {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: {mime}\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(
    base: &str,
    token: Option<&str>,
    mime: &str,
    file: Option<(&str, &str, &[u8])>,
) -> (StatusCode, Value) {
    let (content_type, body) =
        multipart(&[("messaging_product", "whatsapp"), ("type", mime)], file);
    let mut req = http()
        .post(format!("{base}/v19.0/{NUMBER}/media"))
        .header("content-type", content_type)
        .body(body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap())
}

const LABEL: &[u8] = b"%PDF-1.4\nshipping label\n%%EOF\n";

#[tokio::test]
async fn an_uploaded_file_is_sent_by_its_id_and_recorded_with_its_media() {
    let (em, base) = start().await;
    customer_says(&base, json!({"text": "my label?"})).await;
    let (status, answer) = upload(
        &base,
        Some(TOKEN),
        "application/pdf",
        Some(("label.pdf", "application/pdf", LABEL)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let id = answer["id"].as_str().unwrap().to_string();

    let doc = json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": CUSTOMER,
        "type": "document", "document": {"id": id, "caption": "Your label", "filename": "label.pdf"}});
    let (status, answer) = send(&base, Some(TOKEN), doc).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let out = em.outbound();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].kind, "document");
    assert_eq!(out[0].text.as_deref(), Some("Your label"));
    assert_eq!(out[0].target_id.as_deref(), Some(CUSTOMER));

    let (_, view) = get_json(&format!("{base}/_emulator/whatsapp/numbers/{NUMBER}")).await;
    let media = &view["sent"][0]["media"];
    assert_eq!(media["id"], id.as_str());
    assert_eq!(media["mime_type"], "application/pdf");
    assert_eq!(media["file_name"], "label.pdf");
    assert_eq!(media["file_size"], LABEL.len());
    assert_eq!(media["sha256"], hex::encode(sha2::Sha256::digest(LABEL)));

    // The upload can be read back like any media.
    let (_, info) = media_info(&base, &id, Some(TOKEN)).await;
    let (_, bytes, _) = get_with(info["url"].as_str().unwrap(), Some(TOKEN)).await;
    assert_eq!(bytes, LABEL);

    // An id WhatsApp never gave out is refused, and nothing is recorded.
    let image = json!({"messaging_product": "whatsapp", "to": CUSTOMER, "type": "image", "image": {"id": "123"}});
    let (status, answer) = send(&base, Some(TOKEN), image).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"]["code"], 131053, "{answer}");
    assert_eq!(em.outbound().len(), 1);
}

#[tokio::test]
async fn uploads_are_checked_like_the_cloud_api_checks_them() {
    let (_em, base) = start().await;
    let png: &[u8] = b"\x89PNG\r\n\x1a\n";
    let (status, answer) =
        upload(&base, None, "image/png", Some(("a.png", "image/png", png))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    let (status, answer) = upload(
        &base,
        Some(TOKEN),
        "image/gif",
        Some(("a.gif", "image/gif", b"GIF89a")),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["error"]["code"], 100);
    let (status, answer) = upload(&base, Some(TOKEN), "image/png", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let big = vec![0u8; 5 * 1024 * 1024 + 1];
    let (status, answer) = upload(
        &base,
        Some(TOKEN),
        "image/jpeg",
        Some(("big.jpg", "image/jpeg", &big)),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["error"]["code"], 131053);

    // The media routes leave every other call to the Graph API as it was.
    let (status, answer) = get_json(&format!("{base}/v19.0/777/media")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["error"]["code"], 100);
}

async fn templates_page(
    base: &str,
    waba: &str,
    query: &str,
    token: Option<&str>,
) -> (StatusCode, Value) {
    let (status, body, _) = get_with(
        &format!("{base}/v19.0/{waba}/message_templates?{query}"),
        token,
    )
    .await;
    (status, serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn the_template_list_pages_like_the_graph_api() {
    let (_em, base) = start().await;
    let (_, view) = get_json(&format!("{base}/_emulator/whatsapp/numbers/{NUMBER}")).await;
    let waba = view["business_account_id"].as_str().unwrap().to_string();
    let number = crate::WhatsAppNumber {
        phone_number_id: NUMBER.into(),
        display_phone_number: String::new(),
        app_secret: String::new(),
        access_token: None,
    };
    assert_eq!(number.waba_id(), waba);

    let mut names = Vec::new();
    let mut query = "fields=name,language,status,category,components&limit=4".to_string();
    let mut pages = 0;
    loop {
        let (status, page) = templates_page(&base, &waba, &query, Some(TOKEN)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        pages += 1;
        for t in page["data"].as_array().unwrap() {
            names.push(t["name"].as_str().unwrap().to_string());
            assert!(t["components"].is_array() && t["status"].is_string());
        }
        if page["paging"]["next"].is_null() {
            break;
        }
        let after = page["paging"]["cursors"]["after"].as_str().unwrap();
        query = format!("fields=name,language,status,category,components&limit=4&after={after}");
    }
    assert_eq!(pages, 2);
    assert_eq!(
        names,
        [
            "hello_world",
            "order_update",
            "issue_resolution",
            "delivery_update",
            "parcel_photo",
            "spring_sale"
        ]
    );
    let (_, all) = templates_page(&base, &waba, "fields=name,status,components", Some(TOKEN)).await;
    let parcel = &all["data"][4];
    assert_eq!(
        parcel["components"][0],
        json!({"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW1hZ2UvanBlZw==:ARb"]}})
    );
    assert!(
        parcel.get("language").is_none(),
        "only the fields asked for"
    );
    assert_eq!(all["data"][5]["status"], "PENDING");

    let (status, _) = templates_page(&base, &waba, "limit=1", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, answer) = templates_page(&base, "999999", "limit=1", Some(TOKEN)).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "an unknown account: {answer}"
    );
}

fn template(name: &str, components: Value) -> Value {
    json!({"messaging_product": "whatsapp", "to": CUSTOMER, "type": "template",
        "template": {"name": name, "language": {"code": "en_US"}, "components": components}})
}

fn body_params(values: &[&str]) -> Value {
    let params: Vec<Value> = values
        .iter()
        .map(|v| json!({"type": "text", "text": v}))
        .collect();
    json!({"type": "body", "parameters": params})
}

#[tokio::test]
async fn template_sends_are_checked_and_recorded_with_parameters_and_header() {
    let (em, base) = start().await;
    let (status, answer) = send(
        &base,
        Some(TOKEN),
        template(
            "delivery_update",
            json!([body_params(&["Ann", "#1042", "tomorrow"])]),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");

    for (name, components, code) in [
        ("delivery_update", json!([body_params(&["Ann"])]), 132000),
        ("spring_sale", json!([body_params(&["Ann", "May"])]), 132001),
        ("no_such_template", json!([]), 132001),
        ("parcel_photo", json!([body_params(&["#1"])]), 132012),
    ] {
        let (status, answer) = send(&base, Some(TOKEN), template(name, components)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{name}: {answer}");
    }

    let png: &[u8] = include_bytes!("samples/sample.png");
    let (_, uploaded) = upload(
        &base,
        Some(TOKEN),
        "image/png",
        Some(("parcel.png", "image/png", png)),
    )
    .await;
    let media_id = uploaded["id"].as_str().unwrap();
    let header =
        json!({"type": "header", "parameters": [{"type": "image", "image": {"id": media_id}}]});
    let (status, answer) = send(
        &base,
        Some(TOKEN),
        template("parcel_photo", json!([header, body_params(&["#1042"])])),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");

    let out = em.outbound();
    let names: Vec<_> = out
        .iter()
        .map(|o| (o.kind.as_str(), o.text.as_deref()))
        .collect();
    assert_eq!(
        names,
        [
            ("template", Some("delivery_update")),
            ("template", Some("parcel_photo"))
        ]
    );
    let (_, view) = get_json(&format!("{base}/_emulator/whatsapp/numbers/{NUMBER}")).await;
    let first = &view["sent"][0]["template"];
    assert_eq!(first["parameters"], json!(["Ann", "#1042", "tomorrow"]));
    assert_eq!(
        first["rendered"],
        "Hello Ann, your order #1042 will arrive tomorrow."
    );
    let second = &view["sent"][1]["template"];
    assert_eq!(second["header"]["type"], "image");
    assert_eq!(second["header"]["id"], media_id);
    assert_eq!(second["header"]["mime_type"], "image/png");
    assert_eq!(view["templates"].as_array().unwrap().len(), 6);
}
