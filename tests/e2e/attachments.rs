//! Attachments end to end on Messenger against the emulator: what a customer sends is kept
//! whole (a photo, a document, a location, a kind Switchboard does not know), files are
//! downloaded by the host and served only through it to those allowed to see them, a
//! download that fails shows why without holding the message back, and an agent's file
//! reaches the platform by the host's upload, refused first where the platform takes none.

use serde_json::{Value, json};
use sha2::Digest;

use crate::harness::{Agent, World, wait_until};
use crate::messenger::messenger_says;
use crate::whatsapp::customer_writes;

pub(crate) async fn picked_up(agent: &Agent) -> i64 {
    let offered = wait_until("a direct message offered", || async {
        agent
            .interactions()
            .await
            .into_iter()
            .find(|ix| ix["state"] == "alerting" && ix["media_type"] == "social_direct_message")
    })
    .await;
    let id = offered["id"].as_i64().unwrap();
    agent
        .ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;
    id
}

/// The attachments of the conversation's first customer message, once its files are no
/// longer pending (or `pending_ok`: as they are now).
pub(crate) async fn attachments(agent: &Agent, id: i64, settled: bool) -> Vec<Value> {
    wait_until("the attachments settle", || async {
        let detail = agent.ok("GET", &format!("/interactions/{id}"), None).await;
        let first = detail["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["direction"] == "inbound")?
            .clone();
        let list = first["attachments"].as_array().unwrap().clone();
        let pending = list.iter().any(|a| a["state"] == "pending");
        (!settled || !pending).then_some(list)
    })
    .await
}

pub(crate) async fn raw_get(world: &World, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut req = world.http.get(format!("{}{path}", world.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_is_kept_and_files_are_served_only_through_the_host() {
    let world = World::start(|_| {}).await;
    let agent = world.login("agent1").await;
    agent.available().await;
    messenger_says(
        &world,
        json!({
            "page_id": "1001", "name": "Ann Lee", "text": "the box arrived like this",
            "attachments": [
                {"type": "image"},
                {"type": "file"},
                {"type": "location", "lat": 52.3702, "long": 4.8952, "title": "Dam Square"},
                {"type": "holo_gram", "title": "something new"},
            ],
        }),
    )
    .await;
    let id = picked_up(&agent).await;
    let list = attachments(&agent, id, true).await;
    assert_eq!(list.len(), 4, "every item is kept: {list:?}");
    let text = serde_json::to_string(&list).unwrap();
    assert!(
        !text.contains("meta-cdn") && !text.contains(&world.emulator_addr.to_string()),
        "the platform's URL never reaches the desktop: {text}"
    );

    let image = &list[0];
    assert_eq!(image["kind"], "image");
    assert_eq!(image["label"], "Photo");
    assert_eq!(image["state"], "stored", "{image}");
    assert_eq!(image["mime_type"], "image/png");
    assert_eq!(image["inline"], true);
    let url = image["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("/api/v1/attachments/"), "{url}");

    // The bytes are the platform's, served by the host with their type.
    let original = world
        .http
        .get(format!(
            "http://{}/_emulator/meta-cdn/photo.png",
            world.emulator_addr
        ))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let served = raw_get(&world, &url, Some(agent.token())).await;
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.headers()["x-content-type-options"], "nosniff");
    assert_eq!(served.bytes().await.unwrap(), original);

    // A document is a download, never a page.
    let doc = &list[1];
    assert_eq!(doc["state"], "stored", "{doc}");
    assert_eq!(doc["mime_type"], "application/pdf");
    assert_eq!(doc["inline"], false);
    let served = raw_get(&world, doc["url"].as_str().unwrap(), Some(agent.token())).await;
    assert!(
        served.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;"),
        "{:?}",
        served.headers()
    );

    // Content without a file says what it is.
    let place = &list[2];
    assert_eq!(place["kind"], "location");
    assert!(place["id"].is_null(), "{place}");
    assert_eq!(place["details"]["latitude"], "52.3702", "{place}");
    assert_eq!(place["details"]["longitude"], "4.8952", "{place}");
    let unknown = &list[3];
    assert_eq!(unknown["kind"], "holo_gram", "{unknown}");
    assert_eq!(
        unknown["label"],
        "Content Switchboard cannot show yet (holo_gram)"
    );

    // Only those allowed to see the conversation get the bytes.
    assert_eq!(raw_get(&world, &url, None).await.status(), 401);
    let other = world.login("agent2").await;
    assert_eq!(
        raw_get(&world, &url, Some(other.token())).await.status(),
        403
    );
    let supervisor = world.login("super").await;
    assert_eq!(
        raw_get(&world, &url, Some(supervisor.token()))
            .await
            .status(),
        200
    );
    assert_eq!(
        raw_get(&world, "/api/v1/attachments/999999", Some(agent.token()))
            .await
            .status(),
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_that_fails_shows_why_and_never_holds_the_message_back() {
    let world = World::start(|_| {}).await;
    let agent = world.login("agent1").await;
    agent.available().await;
    let gone = format!(
        "http://{}/_emulator/meta-cdn/expired-link.png",
        world.emulator_addr
    );
    messenger_says(
        &world,
        json!({ "page_id": "1001", "name": "Bo", "text": "see photo",
                "attachments": [{"type": "image", "url": gone}] }),
    )
    .await;
    // Routed at once, whatever the file does.
    let id = picked_up(&agent).await;
    let list = wait_until("the failed try is shown", || async {
        let list = attachments(&agent, id, false).await;
        list[0]["error"].is_string().then_some(list)
    })
    .await;
    let image = &list[0];
    assert_eq!(image["state"], "pending", "tried again later: {image}");
    assert!(
        image["error"].as_str().unwrap().contains("404"),
        "the reason is shown: {image}"
    );
    let (status, body) = agent
        .call(
            "GET",
            image["url"].as_str().unwrap().trim_start_matches("/api/v1"),
            None,
        )
        .await;
    assert_eq!(status, 404);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("not yet available"),
        "{body}"
    );
}

/// A small PNG (the emulator's upload route checks that an image is one).
pub(crate) fn png() -> Vec<u8> {
    let mut bytes =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    bytes.extend_from_slice(
        b"\0\0\0\rIDATx\x9cc\xf8\x0f\0\0\x01\x01\0\x05\x18\xd8N\0\0\0\0IEND\xaeB`\x82",
    );
    bytes
}

pub(crate) async fn reply_with_file(
    world: &World,
    agent: &Agent,
    id: i64,
    visibility: &str,
    name: &str,
    bytes: Vec<u8>,
) -> (u16, Value) {
    let form = reqwest::multipart::Form::new()
        .text("text", "Here is the label")
        .text("visibility", visibility.to_owned())
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes)
                .file_name(name.to_owned())
                .mime_str("image/png")
                .unwrap(),
        );
    let res = world
        .http
        .post(format!("{}/api/v1/interactions/{id}/reply", world.base))
        .bearer_auth(agent.token())
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agents_file_reaches_the_platform_once_and_is_refused_where_it_cannot_go() {
    let world = World::start(|_| {}).await;
    let agent = world.login("agent1").await;
    agent.available().await;
    messenger_says(
        &world,
        json!({ "page_id": "1001", "name": "Cy", "text": "can you send the label?" }),
    )
    .await;
    let id = picked_up(&agent).await;

    // What Messenger takes is in the detail, for the desktop's Attach button.
    let detail = agent.ok("GET", &format!("/interactions/{id}"), None).await;
    let limits = detail["file_limits"].as_array().unwrap();
    assert!(
        limits
            .iter()
            .any(|l| l["visibility"] == "private" && l["kind"] == "image"),
        "{limits:?}"
    );

    // An image larger than Messenger takes is refused before anything is stored or sent.
    let before = world.emulator.outbound().len();
    let mut big = png();
    big.resize(26 << 20, 0);
    let (status, refused) = reply_with_file(&world, &agent, id, "private", "huge.png", big).await;
    assert_eq!(status, 400, "{refused}");
    let words = refused["error"].as_str().unwrap();
    assert!(
        words.starts_with("huge.png is 26 MB;") && words.contains("up to"),
        "{refused}"
    );
    assert_eq!(world.emulator.outbound().len(), before, "nothing was sent");

    let (status, sent) = reply_with_file(&world, &agent, id, "private", "label.png", png()).await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["state"], "sent", "{sent}");
    let uploads: Value = world.emulator_json("/_emulator/messenger/uploads").await;
    let uploads = uploads.as_array().unwrap();
    assert_eq!(uploads.len(), 1, "uploaded once: {uploads:?}");
    assert_eq!(
        uploads[0]["sha256"],
        hex::encode(sha2::Sha256::digest(png())),
        "the file arrived whole"
    );
    let outbound = world.emulator.outbound();
    assert!(
        outbound[before..]
            .iter()
            .any(|o| o.platform == "messenger" && o.kind == "image"),
        "the image was sent: {outbound:?}"
    );

    // The agent's file is in the transcript, served by the host.
    let detail = agent.ok("GET", &format!("/interactions/{id}"), None).await;
    let ours: Vec<&Value> = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "outbound")
        .flat_map(|m| m["attachments"].as_array().unwrap().iter())
        .filter(|a| a["state"] == "stored")
        .collect();
    assert!(!ours.is_empty(), "{detail}");
    let served = raw_get(
        &world,
        ours[0]["url"].as_str().unwrap(),
        Some(agent.token()),
    )
    .await;
    assert_eq!(served.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whatsapp_media_is_fetched_with_the_token_capped_in_size_and_a_document_goes_back() {
    let world = World::start(|c| c.media.max_mib = 1).await;
    world
        .emulator
        .subscribe_whatsapp(
            "2002",
            &format!("{}/webhooks/whatsapp", world.base),
            "demo-verify",
        )
        .await
        .expect("whatsapp webhook subscription handshake");
    let agent = world.login("agent1").await;
    agent.available().await;
    // A photo with a caption, then a document over the 1 MiB cap.
    customer_writes(
        &world,
        json!({ "from": "16505551234", "name": "Sheena", "type": "image",
                "caption": "the dent", "mime_type": "image/jpeg" }),
    )
    .await;
    let id = picked_up(&agent).await;
    customer_writes(
        &world,
        json!({ "from": "16505551234", "name": "Sheena", "type": "document",
                "mime_type": "application/pdf", "filename": "invoice.pdf", "size": 3_000_000 }),
    )
    .await;
    let files = wait_until("both files settled", || async {
        let detail = agent.ok("GET", &format!("/interactions/{id}"), None).await;
        let all: Vec<Value> = detail["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["direction"] == "inbound")
            .flat_map(|m| m["attachments"].as_array().unwrap().clone())
            .collect();
        (all.len() == 2 && all.iter().all(|a| a["state"] != "pending")).then_some(all)
    })
    .await;
    let photo = &files[0];
    assert_eq!(photo["state"], "stored", "{photo}");
    assert_eq!(photo["mime_type"], "image/jpeg");
    assert_eq!(photo["caption"], "the dent");
    let served = raw_get(&world, photo["url"].as_str().unwrap(), Some(agent.token())).await;
    assert_eq!(served.status(), 200);
    assert_eq!(
        &served.bytes().await.unwrap()[..3],
        b"\xff\xd8\xff",
        "a JPEG"
    );
    let invoice = &files[1];
    assert_eq!(invoice["state"], "failed", "over the cap: {invoice}");
    assert_eq!(invoice["file_name"], "invoice.pdf");
    assert!(
        invoice["error"].as_str().unwrap().contains("1 MiB limit"),
        "{invoice}"
    );

    // The agent sends a document back: uploaded to WhatsApp, then sent by its media id.
    let pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".to_vec();
    let form = reqwest::multipart::Form::new()
        .text("text", "Your corrected invoice")
        .part(
            "file",
            reqwest::multipart::Part::bytes(pdf.clone())
                .file_name("invoice-2.pdf")
                .mime_str("application/pdf")
                .unwrap(),
        );
    let res = world
        .http
        .post(format!("{}/api/v1/interactions/{id}/reply", world.base))
        .bearer_auth(agent.token())
        .multipart(form)
        .send()
        .await
        .unwrap();
    let sent: Value = res.json().await.unwrap();
    assert_eq!(sent["state"], "sent", "{sent}");
    let number: Value = world
        .emulator_json("/_emulator/whatsapp/numbers/2002")
        .await;
    let documents: Vec<&Value> = number["sent"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "document")
        .collect();
    assert_eq!(documents.len(), 1, "sent once: {number}");
    assert_eq!(
        documents[0]["media"]["sha256"],
        hex::encode(sha2::Sha256::digest(&pdf)),
        "the document arrived whole: {number}"
    );
}

/// A free port on loopback for a host whose public address must be known before it starts.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instagram_takes_an_agents_image_by_a_signed_link_that_works_for_it_alone() {
    let port = free_port();
    let world = World::start(|c| {
        c.server.listen = format!("127.0.0.1:{port}").parse().unwrap();
        c.media.public_url = Some(format!("http://127.0.0.1:{port}"));
    })
    .await;
    world
        .emulator
        .subscribe_instagram(
            "17841400000000001",
            &format!("{}/webhooks/instagram", world.base),
            "demo-verify",
        )
        .await
        .expect("instagram webhook subscription handshake");
    let agent = world.login("agent1").await;
    agent.available().await;
    let res = world
        .http
        .post(format!(
            "http://{}/_emulator/instagram/messages",
            world.emulator_addr
        ))
        .json(&json!({ "from": "marco_p", "name": "Marco", "text": "a photo of the label please" }))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let id = picked_up(&agent).await;
    let (status, sent) = reply_with_file(&world, &agent, id, "private", "label.png", png()).await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["state"], "sent", "{sent}");
    // Instagram fetched the file from the link it was given, whole.
    let fetched = wait_until("Instagram fetched the link", || async {
        let account: Value = world
            .emulator_json("/_emulator/instagram/accounts/17841400000000001")
            .await;
        account["fetched"]
            .as_array()
            .and_then(|f| f.first().cloned())
    })
    .await;
    assert_eq!(fetched["status"], 200, "{fetched}");
    assert_eq!(fetched["sha256"], hex::encode(sha2::Sha256::digest(png())));
    let link = fetched["url"].as_str().unwrap().to_owned();
    assert!(
        link.starts_with(&format!("http://127.0.0.1:{port}/media/")),
        "{link}"
    );
    // The link is the only way in without signing in, and only as signed.
    assert_eq!(world.http.get(&link).send().await.unwrap().status(), 200);
    let forged = format!("{}0", &link[..link.len() - 1]);
    let forged = if forged == link {
        format!("{}1", &link[..link.len() - 1])
    } else {
        forged
    };
    assert_eq!(world.http.get(&forged).send().await.unwrap().status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_x_direct_message_photo_is_downloaded_with_the_token_and_an_image_goes_back() {
    let world = World::start(|c| {
        let ch = c.channels.iter_mut().find(|c| c.name == "x").unwrap();
        ch.poll_interval_ms = 200;
        ch.settings.insert("message_types".into(), "private".into());
    })
    .await;
    let agent = world.login("agent1").await;
    agent.available().await;
    let res = world
        .http
        .post(format!("http://{}/_emulator/x/dms", world.emulator_addr))
        .json(
            &json!({"from_handle": "ann", "to_handle": "acme", "text": "the box",
                      "media": [{"type": "photo"}]}),
        )
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{:?}", res.text().await);
    let offered = agent.wait_for_state("alerting").await;
    let id = offered["id"].as_i64().unwrap();
    agent
        .ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;
    let list = attachments(&agent, id, true).await;
    assert_eq!(list[0]["kind"], "image", "{list:?}");
    assert_eq!(list[0]["state"], "stored", "{list:?}");
    let served = raw_get(
        &world,
        list[0]["url"].as_str().unwrap(),
        Some(agent.token()),
    )
    .await;
    assert_eq!(served.status(), 200);
    assert!(
        served.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("image/")
    );

    let (status, sent) = reply_with_file(&world, &agent, id, "private", "label.png", png()).await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["state"], "sent", "{sent}");
    let outbound = world.emulator.outbound();
    assert!(
        outbound
            .iter()
            .any(|o| o.platform == "x" && o.kind == "media_upload"),
        "uploaded: {outbound:?}"
    );
    assert!(
        outbound
            .iter()
            .any(|o| o.platform == "x" && o.kind == "dm_media"),
        "sent with the DM: {outbound:?}"
    );
}
