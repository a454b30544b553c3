//! Apple Messages for Business: a customer's message reaches an agent and the agent's
//! replies (text and a list picker) reach the emulated MSP gateway; tokens that do not
//! verify are refused and store nothing.

use serde_json::{Value, json};

use crate::harness::{World, wait_until};

const BUSINESS: &str = "acme-biz";

/// Emulator + host on the demo config, with the demo business's webhook subscribed.
async fn world() -> World {
    let world = World::start(|_| {}).await;
    world
        .emulator
        .subscribe_apple(BUSINESS, &format!("{}/webhooks/apple", world.base))
        .expect("apple webhook subscription");
    world
}

/// A customer message through the emulator's control API; returns `{id, status}`.
async fn customer(world: &World, body: Value) -> Value {
    let res = world
        .http
        .post(format!(
            "http://{}/_emulator/apple/messages",
            world.emulator_addr
        ))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "emulator refused {body}");
    res.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apple_message_reaches_an_agent_and_replies_reach_the_customer() {
    let world = world().await;
    let agent = world.login("agent1").await;
    agent.available().await;
    let source = "urn:mbid:AQAAY-e2e-customer";
    let text = "Hi! Où est ma commande? 📦";

    let sent = customer(
        &world,
        json!({ "business_id": BUSINESS, "source_id": source, "type": "text", "body": text }),
    )
    .await;
    assert_eq!(sent["status"], 200, "the webhook accepted it: {sent}");
    let message_id = sent["id"].as_str().unwrap().to_owned();

    let offered = agent.wait_for_state("alerting").await;
    assert_eq!(offered["media_type"], "social_direct_message");
    assert_eq!(offered["channel"], "apple");
    assert_eq!(offered["workgroup"], "Social");
    assert_eq!(offered["thread_id"], source);
    let id = offered["id"].as_i64().unwrap();
    agent
        .ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;
    let detail = agent.ok("GET", &format!("/interactions/{id}"), None).await;
    let inbound: Vec<&Value> = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "inbound")
        .collect();
    assert_eq!(inbound.len(), 1, "{detail}");
    assert_eq!(inbound[0]["text"], text);
    assert_eq!(inbound[0]["platform_message_id"], message_id.as_str());

    // Typing events are acknowledged and store nothing; the customer closing the
    // conversation is kept in its transcript (nothing a customer sends is dropped).
    for kind in ["typing_start", "typing_end", "close"] {
        let ack = customer(
            &world,
            json!({ "business_id": BUSINESS, "source_id": source, "type": kind }),
        )
        .await;
        assert_eq!(ack["status"], 200, "{kind}");
    }
    world.wait_count("SELECT count(*) FROM messages", 2).await;
    let detail = agent.ok("GET", &format!("/interactions/{id}"), None).await;
    let closed = detail["messages"].as_array().unwrap().iter().find(|m| {
        m["attachments"]
            .as_array()
            .is_some_and(|a| a.iter().any(|a| a["kind"] == "close"))
    });
    assert!(
        closed.is_some(),
        "the close is in the conversation: {detail}"
    );

    // A text reply.
    let reply = "Bonjour! It ships today 🚚";
    let answer = agent
        .ok(
            "POST",
            &format!("/interactions/{id}/reply"),
            Some(json!({ "text": reply, "visibility": "private" })),
        )
        .await;
    assert_eq!(answer["state"], "sent", "{answer}");
    let outbound = world.emulator.outbound();
    let texts: Vec<_> = outbound
        .iter()
        .filter(|o| o.platform == "apple" && o.kind == "text")
        .collect();
    assert_eq!(texts.len(), 1, "{outbound:?}");
    assert_eq!(texts[0].target_id.as_deref(), Some(source));
    assert_eq!(texts[0].text.as_deref(), Some(reply));

    // A list picker, and the customer's choice coming back into the same conversation.
    let answer = agent
        .ok(
            "POST",
            &format!("/interactions/{id}/reply"),
            Some(json!({ "text": "Which store suits you?", "visibility": "private",
                "list_items": [{"id": "main", "title": "Main St"}, {"id": "harbor", "title": "Harbor"}] })),
        )
        .await;
    assert_eq!(answer["state"], "sent", "{answer}");
    let outbound = world.emulator.outbound();
    let pickers: Vec<_> = outbound
        .iter()
        .filter(|o| o.platform == "apple" && o.kind == "list_picker")
        .collect();
    assert_eq!(pickers.len(), 1, "{outbound:?}");
    assert_eq!(pickers[0].target_id.as_deref(), Some(source));

    let chosen = customer(
        &world,
        json!({ "business_id": BUSINESS, "source_id": source, "type": "list_picker_reply",
            "items": [{"id": "harbor", "title": "Harbor"}] }),
    )
    .await;
    assert_eq!(chosen["status"], 200);
    wait_until("the customer's choice in the transcript", || async {
        let detail = agent.ok("GET", &format!("/interactions/{id}"), None).await;
        detail["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["direction"] == "inbound" && m["text"] == "Harbor")
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_with_a_wrong_jwt_is_refused_and_nothing_is_stored() {
    let world = world().await;
    let refused = customer(
        &world,
        json!({ "business_id": BUSINESS, "source_id": "urn:mbid:mallory", "type": "text",
            "body": "forged", "bad_jwt": true }),
    )
    .await;
    assert_eq!(refused["status"], 401, "{refused}");

    // No token at all, and a token for another provider.
    let url = format!("{}/webhooks/apple", world.base);
    let body = json!({"v": 1, "type": "text", "id": "0b5c1c6e-0000-4000-8000-00000000beef",
        "sourceId": "urn:mbid:mallory", "destinationId": BUSINESS, "body": "forged"});
    let res = world
        .http
        .post(&url)
        .header("id", "0b5c1c6e-0000-4000-8000-00000000beef")
        .header("source-id", "urn:mbid:mallory")
        .header("destination-id", BUSINESS)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = world
        .http
        .post(&url)
        .bearer_auth("eyJhbGciOiJub25lIn0.eyJhdWQiOiJkZW1vLXByb3ZpZGVyIn0.")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "alg none is refused");

    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(world.count("SELECT count(*) FROM messages").await, 0);
    assert_eq!(world.count("SELECT count(*) FROM interactions").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_reply_is_refused_before_the_connector_and_the_default_is_the_conversations_own() {
    let world = world().await;
    let agent = world.login("agent1").await;
    agent.available().await;
    let source = "urn:mbid:AQAAY-visibility";
    customer(
        &world,
        json!({ "business_id": BUSINESS, "source_id": source, "type": "text", "body": "hi" }),
    )
    .await;
    let id = agent.wait_for_state("alerting").await["id"]
        .as_i64()
        .unwrap();
    agent
        .ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;
    // The connector declares private replies only: the desktop is told before typing.
    let detail = agent.ok("GET", &format!("/interactions/{id}"), None).await;
    assert_eq!(
        detail["reply_window"]["public"]["free_form"], false,
        "{detail}"
    );

    let (status, refused) = agent
        .call(
            "POST",
            &format!("/interactions/{id}/reply"),
            Some(json!({ "text": "for all to see", "visibility": "public" })),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("takes no public replies"),
        "{refused}"
    );
    assert!(
        world
            .emulator
            .outbound()
            .iter()
            .all(|o| o.platform != "apple"),
        "nothing reached the platform"
    );

    // Without a visibility, a direct message is answered privately.
    let answer = agent
        .ok(
            "POST",
            &format!("/interactions/{id}/reply"),
            Some(json!({ "text": "answered in private" })),
        )
        .await;
    assert_eq!(answer["state"], "sent", "{answer}");
    assert_eq!(answer["visibility"], "private", "{answer}");
}

/// Apple keeps every file encrypted: a customer's photo and document are downloaded
/// through Apple's pre-download address and decrypted by the host, then served to the
/// agent like any other file; the agent's image is encrypted by the host with a key of
/// its own, uploaded, and reaches the customer whole. No address or key of Apple's ever
/// appears in what the agent's desktop reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypted_files_are_decrypted_coming_in_and_encrypted_going_out() {
    use sha2::Digest;

    use crate::attachments::{attachments, png, raw_get, reply_with_file};

    let world = world().await;
    let agent = world.login("agent1").await;
    agent.available().await;
    let source = "urn:mbid:AQAAY-e2e-files";
    let sent = customer(
        &world,
        json!({ "business_id": BUSINESS, "source_id": source, "type": "text",
                "body": "The parcel came like this",
                "attachments": [
                    { "name": "parcel.png", "mime_type": "image/png" },
                    { "name": "terms.pdf", "mime_type": "application/pdf" },
                ] }),
    )
    .await;
    assert_eq!(sent["status"], 200, "{sent}");
    let offered = agent.wait_for_state("alerting").await;
    let id = offered["id"].as_i64().unwrap();
    agent
        .ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;

    let files = attachments(&agent, id, true).await;
    let kinds: Vec<(&str, &str)> = files
        .iter()
        .map(|a| (a["kind"].as_str().unwrap(), a["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [("image", "stored"), ("file", "stored")],
        "{files:?}"
    );
    let photo = raw_get(
        &world,
        files[0]["url"].as_str().unwrap(),
        Some(agent.token()),
    )
    .await;
    assert_eq!(photo.status(), 200);
    assert_eq!(photo.headers()["content-type"], "image/png");
    let bytes = photo.bytes().await.unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "decrypted: a real PNG"
    );
    let document = raw_get(
        &world,
        files[1]["url"].as_str().unwrap(),
        Some(agent.token()),
    )
    .await;
    assert_eq!(document.status(), 200);
    assert!(document.bytes().await.unwrap().starts_with(b"%PDF"));
    // Without signing in, nothing.
    let anonymous = raw_get(&world, files[0]["url"].as_str().unwrap(), None).await;
    assert_eq!(anonymous.status(), 401);

    // What Apple takes is offered; the agent's image goes back encrypted.
    let detail = agent.ok("GET", &format!("/interactions/{id}"), None).await;
    assert!(
        detail["file_limits"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["visibility"] == "private" && l["kind"] == "image"),
        "{detail}"
    );
    let seen = detail.to_string();
    assert!(
        !seen.contains("icloud.com") && !seen.contains("p56"),
        "no address of Apple's reaches the desktop: {seen}"
    );
    let (status, reply) = reply_with_file(&world, &agent, id, "private", "label.png", png()).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["state"], "sent", "{reply}");
    let delivered: Value = world
        .emulator_json(&format!("/_emulator/apple/files/{BUSINESS}"))
        .await;
    let delivered = delivered.as_array().unwrap();
    assert_eq!(delivered.len(), 1, "sent once: {delivered:?}");
    assert_eq!(delivered[0]["name"], "label.png");
    assert_eq!(delivered[0]["mime_type"], "image/png");
    assert_eq!(
        delivered[0]["sha256"],
        hex::encode(sha2::Sha256::digest(png())),
        "Apple's customer opened the file whole with the key the host made"
    );
}
