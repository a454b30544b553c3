//! A Facebook page comment reaches an agent, and the agent's reply reaches the page.

use serde_json::{Value, json};

use crate::harness::{World, polling, wait_until};

/// Customer comment -> queued interaction -> offered -> picked up -> reply -> the reply
/// is a comment under the customer's comment on the emulated page.
async fn round_trip(world: &World, text: &str, reply: &str) {
    let agent = world.login("agent1").await;
    agent.available().await;
    let (post_id, comment_id) = world.post_and_comment("Ann Lee", text).await;

    let offered = agent.wait_for_state("alerting").await;
    assert_eq!(offered["media_type"], "social_conversation");
    assert_eq!(offered["channel"], "facebook");
    assert_eq!(offered["workgroup"], "Social");
    assert_eq!(offered["assigned_to"], "agent1");
    assert_eq!(offered["thread_id"], post_id.as_str());
    let id = offered["id"].as_i64().unwrap();

    let picked = agent
        .ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;
    assert_eq!(picked["state"], "connected");
    let detail = agent.ok("GET", &format!("/interactions/{id}"), None).await;
    let inbound: Vec<&Value> = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "inbound")
        .collect();
    assert_eq!(
        inbound.len(),
        1,
        "the page's own post is not customer work: {detail}"
    );
    assert_eq!(inbound[0]["text"], text, "text survives byte for byte");
    assert_eq!(inbound[0]["author"], "Ann Lee");
    assert_eq!(inbound[0]["platform_message_id"], comment_id.as_str());

    let sent = agent
        .ok(
            "POST",
            &format!("/interactions/{id}/reply"),
            Some(json!({ "text": reply, "visibility": "public" })),
        )
        .await;
    assert_eq!(sent["state"], "sent", "{sent}");
    let outbound = world.emulator.outbound();
    let ours: Vec<_> = outbound.iter().filter(|o| o.kind == "comment").collect();
    assert_eq!(ours.len(), 1, "exactly one reply on the page: {outbound:?}");
    assert_eq!(ours[0].platform, "facebook");
    assert_eq!(
        ours[0].target_id.as_deref(),
        Some(comment_id.as_str()),
        "reply goes under the customer's comment"
    );
    assert_eq!(ours[0].text.as_deref(), Some(reply));

    // The transcript holds the reply once, even after the page's own comment comes back
    // by webhook or poll.
    let reply_id = ours[0].id.clone();
    wait_until("the reply in the transcript", || async {
        let detail = agent.ok("GET", &format!("/interactions/{id}"), None).await;
        let mine: Vec<Value> = detail["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["direction"] == "outbound")
            .cloned()
            .collect();
        (mine.len() == 1
            && mine[0]["platform_message_id"] == reply_id.as_str()
            && mine[0]["text"] == reply)
            .then_some(())
    })
    .await;

    let done = agent
        .ok("POST", &format!("/interactions/{id}/disconnect"), None)
        .await;
    assert_eq!(done["state"], "disconnected");
    let (status, _) = agent
        .call(
            "POST",
            &format!("/interactions/{id}/reply"),
            Some(json!({ "text": "late" })),
        )
        .await;
    assert_eq!(status, 404, "a finished interaction takes no replies");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_comment_reaches_an_agent_and_the_reply_lands_under_it() {
    let world = World::start(|_| {}).await;
    round_trip(
        &world,
        "My order #1042 is late",
        "Sorry Ann, it ships today.",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polled_comment_reaches_an_agent_and_the_reply_lands_under_it() {
    let world = World::start(polling).await;
    round_trip(&world, "Polling works too?", "It does.").await;
    // Overlapping polls never duplicate: one message per platform id.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    assert_eq!(
        world
            .count("SELECT count(*) - count(DISTINCT platform_message_id) FROM messages")
            .await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emoji_and_other_scripts_survive_the_round_trip() {
    let world = World::start(|_| {}).await;
    round_trip(
        &world,
        "Zipper broke 😞 — la fermeture éclair est cassée; 拉链坏了; عذرًا 👩🏽‍💻🇨🇦",
        "Désolé! We'll replace it 🙏 — 马上处理 👍🏿",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_signatures_are_refused_and_redeliveries_stored_once() {
    let world = World::start(|_| {}).await;
    let body = json!({"object":"page","entry":[{"id":"1001","time":1742667607,"changes":[{"field":"feed","value":{
        "from":{"id":"77","name":"Mallory"},"message":"forged","post_id":"1001_9","comment_id":"9_1",
        "parent_id":"1001_9","created_time":1742667604,"item":"comment","verb":"add"}}]}]})
    .to_string();
    let url = format!("{}/webhooks/facebook", world.base);
    for signature in [
        None,
        Some("sha256=00ff"),
        Some("sha256=deadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeef"),
    ] {
        let mut req = world
            .http
            .post(&url)
            .header("content-type", "application/json")
            .body(body.clone());
        if let Some(s) = signature {
            req = req.header("x-hub-signature-256", s);
        }
        assert_eq!(
            req.send().await.unwrap().status(),
            401,
            "signature {signature:?}"
        );
    }
    assert_eq!(
        world.count("SELECT count(*) FROM messages").await,
        0,
        "nothing stored from forged webhooks"
    );

    // The emulator delivers the same event twice; the store keeps one.
    let post = world.customer_says(json!({ "page_id": "1001", "author_name": "Acme Outfitters", "author_id": "1001", "text": "Post" })).await;
    let post_id = post["post_id"].as_str().unwrap();
    let c = world
        .customer_says(json!({ "page_id": "1001", "post_id": post_id, "parent_id": post_id, "author_name": "Bo", "text": "twice", "deliveries": 2 }))
        .await;
    let comment_id = c["comment_id"].as_str().unwrap().to_owned();
    world
        .wait_count("SELECT count(*) FROM messages WHERE text = 'twice'", 1)
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        world
            .count("SELECT count(*) FROM messages WHERE text = 'twice'")
            .await,
        1,
        "{comment_id} stored once"
    );
    assert_eq!(
        world.count("SELECT count(*) FROM interactions").await,
        1,
        "and routed once"
    );

    // The verification handshake answers the challenge only for the right token.
    let ok = world
        .http
        .get(format!(
            "{url}?hub.mode=subscribe&hub.challenge=4242&hub.verify_token=demo-verify"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "4242");
    let bad = world
        .http
        .get(format!(
            "{url}?hub.mode=subscribe&hub.challenge=4242&hub.verify_token=wrong"
        ))
        .send()
        .await
        .unwrap();
    assert!(bad.status() == 403 || bad.status() == 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_join_the_live_interaction_of_their_post() {
    let world = World::start(|_| {}).await;
    let agent = world.login("agent1").await;
    agent.available().await;
    let (post_id, _) = world.post_and_comment("Ann", "first").await;
    let ix = agent.wait_for_state("alerting").await;
    let id = ix["id"].as_i64().unwrap();
    world.customer_says(json!({ "page_id": "1001", "post_id": post_id, "parent_id": post_id, "author_name": "Cy", "text": "me too" })).await;
    wait_until("second comment joined", || async {
        let d = agent.ok("GET", &format!("/interactions/{id}"), None).await;
        (d["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["direction"] == "inbound")
            .count()
            == 2)
            .then_some(())
    })
    .await;
    assert_eq!(world.count("SELECT count(*) FROM interactions").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_see_only_their_own_interactions_and_need_a_token() {
    let world = World::start(|_| {}).await;
    let a1 = world.login("agent1").await;
    let a2 = world.login("agent2").await;
    a1.available().await;
    world.post_and_comment("Ann", "hello").await;
    let ix = a1.wait_for_state("alerting").await;
    let id = ix["id"].as_i64().unwrap();
    assert_eq!(
        a2.call("GET", &format!("/interactions/{id}"), None).await.0,
        404
    );
    assert_eq!(
        a2.call("POST", &format!("/interactions/{id}/pickup"), None)
            .await
            .0,
        409
    );
    let sup = world.login("super").await;
    assert_eq!(
        sup.call("GET", &format!("/interactions/{id}"), None)
            .await
            .0,
        200
    );
    let anon = world
        .http
        .get(format!("{}/api/v1/me/interactions", world.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), 401);
    let (status, body) = a1
        .call("PUT", "/me/status", Some(json!({ "status": "sleeping" })))
        .await;
    assert_eq!(status, 400, "{body}");
    let spec = world
        .http
        .get(format!("{}/api/v1/openapi.json", world.base))
        .send()
        .await
        .unwrap();
    let spec: Value = spec.json().await.unwrap();
    assert!(
        spec["paths"]["/api/v1/interactions/{id}/reply"]["post"].is_object(),
        "OpenAPI documents reply"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_tells_the_agent_about_offers() {
    use futures::StreamExt;
    let world = World::start(|_| {}).await;
    let agent = world.login("agent1").await;
    agent.available().await;
    let token = agent.token().to_owned();
    let res = world
        .http
        .get(format!("{}/api/v1/events?token={token}", world.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut stream = res.bytes_stream();
    world.post_and_comment("Ann", "are you there?").await;
    let mut seen = String::new();
    let found = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Some(chunk) = stream.next().await {
            seen.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
            if seen.contains("event: offer")
                && seen.contains("\"state\":\"alerting\"")
                && seen.contains("\"assigned_to\":\"agent1\"")
            {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(found, Ok(true), "offer event on the stream: {seen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_update_and_removals_erase_the_stored_comment() {
    let world = World::start(|_| {}).await;
    let agent = world.login("agent1").await;
    agent.available().await;
    let (_, comment_id) = world.post_and_comment("Ann", "my phone is 555-0100").await;
    let id = agent.wait_for_state("alerting").await["id"]
        .as_i64()
        .unwrap();
    let control = |path: &str, body: Value| {
        let url = format!("http://{}/_emulator/facebook/{path}", world.emulator_addr);
        let http = world.http.clone();
        async move {
            assert!(
                http.post(url)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .is_success()
            )
        }
    };
    let comment = |detail: &Value| {
        detail["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["platform_message_id"] == comment_id.as_str())
            .cloned()
            .unwrap()
    };
    control(
        "edit",
        json!({ "comment_id": comment_id, "text": "never mind, found it" }),
    )
    .await;
    wait_until("edit applied", || async {
        let d = agent.ok("GET", &format!("/interactions/{id}"), None).await;
        (comment(&d)["text"] == "never mind, found it").then_some(())
    })
    .await;
    control("remove", json!({ "comment_id": comment_id })).await;
    wait_until("removal erased the content", || async {
        let d = agent.ok("GET", &format!("/interactions/{id}"), None).await;
        let c = comment(&d);
        (c["deleted"] == true && c["text"] == "").then_some(())
    })
    .await;
    assert_eq!(world.count("SELECT count(*) FROM messages WHERE text LIKE '%555-0100%' OR text LIKE '%found it%'").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_that_stores_no_personal_data_keeps_only_the_platform_id() {
    let world = World::start(|config| config.channels[0].do_not_store_personal_data = true).await;
    let (_, comment) = world
        .post_and_comment("Ann Lee", "where is my parcel?")
        .await;
    world
        .wait_count(
            "SELECT count(*) FROM interactions WHERE state = 'queued'",
            1,
        )
        .await;
    let store = world.host.as_ref().unwrap().app.store.clone();
    let (name, customer, text): (String, String, String) = store
        .read(move |c| {
            Ok(c.query_row(
                "SELECT m.author_name, i.customer_name, m.text FROM messages m
                 JOIN interactions i ON i.id = m.interaction_id WHERE m.platform_message_id = ?1",
                [comment],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?)
        })
        .await
        .unwrap();
    assert_eq!(name, "(not stored)");
    assert_eq!(customer, "(not stored)");
    assert_eq!(text, "where is my parcel?", "the work itself is kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_hides_then_deletes_a_customers_comment() {
    let world = World::start(|_| {}).await;
    let agent = world.login("agent1").await;
    agent.available().await;
    let (_, comment) = world
        .post_and_comment("Troll", "buy cheap watches at spam.example")
        .await;
    let id = agent.wait_for_state("alerting").await["id"]
        .as_i64()
        .unwrap();
    agent
        .ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;
    let shown = |detail: &serde_json::Value, field: &str| {
        detail["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["platform_message_id"] == comment.as_str())
            .map(|m| m[field].clone())
            .unwrap()
    };
    let before = agent.ok("GET", &format!("/interactions/{id}"), None).await;
    assert_eq!(shown(&before, "hidden"), false, "{before}");
    for action in ["hide", "delete"] {
        let (status, body) = agent
            .call(
                "POST",
                &format!("/interactions/{id}/messages/{comment}/{action}"),
                None,
            )
            .await;
        assert_eq!(status, 204, "{action}: {body}");
        if action == "hide" {
            let after = agent.ok("GET", &format!("/interactions/{id}"), None).await;
            assert_eq!(shown(&after, "hidden"), true, "the desktop shows it hidden");
        }
    }
    let kinds: Vec<String> = world
        .emulator
        .outbound()
        .into_iter()
        .filter(|o| o.target_id.as_deref() == Some(comment.as_str()))
        .map(|o| o.kind)
        .collect();
    assert_eq!(kinds, vec!["hide", "delete"]);
    let detail = agent.ok("GET", &format!("/interactions/{id}"), None).await;
    let stored = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["platform_message_id"] == comment.as_str())
        .cloned()
        .unwrap();
    assert_eq!(stored["deleted"], true, "{detail}");
}

/// The value of one metrics series (0 when it is not there yet).
async fn metric(world: &World, series: &str) -> f64 {
    let page = world
        .http
        .get(format!("{}/metrics", world.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    page.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

/// A signed body that is not JSON cannot be read now or on any redelivery: it is
/// acknowledged (Meta would redeliver anything else, then disable the subscription),
/// nothing is stored, and the operator sees it counted as an error of the channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_authentic_webhook_is_acknowledged_stored_nowhere_and_counted() {
    use hmac::{KeyInit, Mac};
    let world = World::start(|_| {}).await;
    let series = "switchboard_plugin_log_lines_total{channel=\"facebook\",level=\"error\"}";
    let before = metric(&world, series).await;
    let body = "{\"object\":\"page\",\"entry\":[{\"id\":\"1001\",\"changes\":[";
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"demo-app-secret").unwrap();
    mac.update(body.as_bytes());
    let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    let res = world
        .http
        .post(format!("{}/webhooks/facebook", world.base))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(metric(&world, series).await >= before + 1.0, "counted");
    assert_eq!(world.count("SELECT count(*) FROM messages").await, 0);
}
