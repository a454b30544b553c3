//! Messenger on the demo page: a customer's message reaches an agent as a direct message
//! and the reply goes back through the Send API inside Meta's windows; a public comment
//! answered privately continues as a linked direct-message interaction.

use serde_json::{Value, json};

use crate::harness::{Agent, World, wait_until};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A customer writes to page 1001 in Messenger; returns `{mid, psid}`.
pub(crate) async fn messenger_says(world: &World, body: Value) -> Value {
    let res = world
        .http
        .post(format!(
            "http://{}/_emulator/messenger/messages",
            world.emulator_addr
        ))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "emulator refused {body}");
    res.json().await.unwrap()
}

/// Every Send API call the emulator accepted.
async fn sent(world: &World) -> Vec<Value> {
    let url = format!("http://{}/_emulator/messenger/sent", world.emulator_addr);
    let list: Value = world
        .http
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list.as_array().cloned().unwrap_or_default()
}

/// Waits for an interaction of `media_type` offered to `agent`, picks it up, returns it.
async fn pick_up(agent: &Agent, media_type: &str) -> Value {
    let offered = wait_until(&format!("a {media_type} offered"), || async {
        agent
            .interactions()
            .await
            .into_iter()
            .find(|ix| ix["state"] == "alerting" && ix["media_type"] == media_type)
    })
    .await;
    let id = offered["id"].as_i64().unwrap();
    let picked = agent
        .ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;
    assert_eq!(picked["state"], "connected");
    offered
}

async fn reply(agent: &Agent, id: i64, text: &str, visibility: &str) -> (u16, Value) {
    agent
        .call(
            "POST",
            &format!("/interactions/{id}/reply"),
            Some(json!({ "text": text, "visibility": visibility })),
        )
        .await
}

/// The stored metadata of one message, as JSON.
async fn stored_metadata(world: &World, mid: &str) -> Value {
    let store = world.host.as_ref().unwrap().app.store.clone();
    let mid = mid.to_owned();
    let text: String = store
        .read(move |c| {
            Ok(c.query_row(
                "SELECT metadata FROM messages WHERE platform_message_id = ?1",
                [mid],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_messenger_message_reaches_an_agent_and_the_reply_is_a_response() {
    let world = World::start(|_| {}).await;
    let agent = world.login("agent1").await;
    agent.available().await;
    let ids = messenger_says(
        &world,
        json!({
            "page_id": "1001", "name": "Ann Lee", "text": "Where is my parcel? 📦",
            "attachments": [{ "type": "image", "url": "https://scontent.example/receipt.jpg" }],
            "referral": { "ref": "spring", "ad_id": "6045246247433", "source": "ADS", "type": "OPEN_THREAD" }
        }),
    )
    .await;
    let (mid, psid) = (ids["mid"].as_str().unwrap(), ids["psid"].as_str().unwrap());

    let offered = pick_up(&agent, "social_direct_message").await;
    assert_eq!(offered["channel"], "facebook");
    assert_eq!(offered["thread_id"], format!("psid:{psid}"));
    let id = offered["id"].as_i64().unwrap();
    let detail = agent.ok("GET", &format!("/interactions/{id}"), None).await;
    let first = &detail["messages"][0];
    assert_eq!(first["text"], "Where is my parcel? 📦");
    assert_eq!(first["author"], "Ann Lee", "name from the profile API");
    assert_eq!(first["platform_message_id"], mid);
    let metadata = stored_metadata(&world, mid).await;
    assert_eq!(metadata["referral_ad_id"], "6045246247433");
    assert_eq!(metadata["referral_source"], "ADS");
    assert_eq!(
        detail["attributes"]["referral_ad_id"], "6045246247433",
        "the agent sees where the customer came from: {detail}"
    );

    let (status, answer) = reply(&agent, id, "It ships today 🚚", "private").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["state"], "sent", "{answer}");
    let calls = sent(&world).await;
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0]["recipient"], json!({ "id": psid }));
    assert_eq!(calls[0]["messaging_type"], "RESPONSE");
    assert_eq!(calls[0]["message"]["text"], "It ships today 🚚");
    let outbound = world.emulator.outbound();
    assert_eq!(outbound.len(), 1);
    assert_eq!(
        (outbound[0].platform.as_str(), outbound[0].kind.as_str()),
        ("messenger", "message")
    );

    // The echo of our own send does not duplicate the reply in the transcript.
    let reply_id = outbound[0].id.clone();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    wait_until("the reply once in the transcript", || async {
        let detail = agent.ok("GET", &format!("/interactions/{id}"), None).await;
        let mine: Vec<Value> = detail["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["direction"] == "outbound")
            .cloned()
            .collect();
        (mine.len() == 1 && mine[0]["platform_message_id"] == reply_id.as_str()).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_after_24_hours_carry_the_human_agent_tag_and_after_7_days_are_refused() {
    let world = World::start(|_| {}).await;
    let agent = world.login("agent1").await;
    agent.available().await;

    messenger_says(
        &world,
        json!({ "page_id": "1001", "name": "Bob Two-Days", "text": "hello?", "timestamp": now_ms() - 2 * DAY_MS }),
    )
    .await;
    let two_days = pick_up(&agent, "social_direct_message").await;
    let id = two_days["id"].as_i64().unwrap();
    let (status, answer) = reply(&agent, id, "Sorry for the wait", "private").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["state"], "sent", "{answer}");
    let calls = sent(&world).await;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["messaging_type"], "MESSAGE_TAG");
    assert_eq!(calls[0]["tag"], "HUMAN_AGENT");
    agent
        .ok("POST", &format!("/interactions/{id}/disconnect"), None)
        .await;

    messenger_says(
        &world,
        json!({ "page_id": "1001", "name": "Cy Eight-Days", "text": "anyone?", "timestamp": now_ms() - 8 * DAY_MS }),
    )
    .await;
    let stale = pick_up(&agent, "social_direct_message").await;
    let id = stale["id"].as_i64().unwrap();
    let (status, answer) = reply(&agent, id, "Too late?", "private").await;
    let refused = (status == 409 || status == 400 || status == 422)
        || (status == 200 && answer["state"] == "failed");
    assert!(refused, "{status} {answer}");
    assert!(answer.to_string().contains("7 days"), "{answer}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(sent(&world).await.len(), 1, "nothing more was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_reply_to_a_comment_continues_as_a_linked_direct_message() {
    let world = World::start(|_| {}).await;
    let agent = world.login("agent1").await;
    agent.available().await;
    let (post_id, comment_id) = world
        .post_and_comment("Dee Comment", "My order #77 never arrived")
        .await;
    let public = pick_up(&agent, "social_conversation").await;
    let id = public["id"].as_i64().unwrap();

    let (status, answer) = reply(
        &agent,
        id,
        "Sorry! Let's sort it out in private.",
        "private",
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["state"], "sent", "{answer}");
    let outbound = world.emulator.outbound();
    let private: Vec<_> = outbound
        .iter()
        .filter(|o| o.kind == "private_reply")
        .collect();
    assert_eq!(private.len(), 1, "{outbound:?}");
    assert_eq!(private[0].platform, "messenger");
    assert_eq!(private[0].target_id.as_deref(), Some(comment_id.as_str()));
    let calls = sent(&world).await;
    assert_eq!(calls[0]["recipient"], json!({ "comment_id": comment_id }));
    let psid = calls[0]["recipient_id"].as_str().unwrap().to_owned();

    // One private reply per comment.
    let (status, again) = reply(&agent, id, "Did you see my message?", "private").await;
    let refused = (status >= 400) || (status == 200 && again["state"] == "failed");
    assert!(refused, "{status} {again}");
    assert!(
        again.to_string().contains("already replied privately"),
        "{again}"
    );
    assert_eq!(sent(&world).await.len(), 1);

    // The customer answers in Messenger: a direct-message interaction linked to the comment.
    let ids = messenger_says(
        &world,
        json!({ "page_id": "1001", "name": "Dee Comment", "text": "Order 77, thanks" }),
    )
    .await;
    assert_eq!(ids["psid"], psid.as_str(), "the commenter's page-scoped id");
    let dm = pick_up(&agent, "social_direct_message").await;
    assert_eq!(dm["thread_id"], format!("psid:{psid}"));
    let metadata = stored_metadata(&world, ids["mid"].as_str().unwrap()).await;
    assert_eq!(metadata["linked_comment_id"], comment_id.as_str());
    assert_eq!(metadata["linked_post_id"], post_id.as_str());
    assert_eq!(
        dm["attributes"]["linked_comment_id"],
        comment_id.as_str(),
        "linked to the public interaction, as the agent sees it: {dm}"
    );

    // Inside the 24-hour window the conversation goes on as a normal response.
    let dm_id = dm["id"].as_i64().unwrap();
    let (status, answer) = reply(&agent, dm_id, "Found it, it ships today.", "private").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["state"], "sent", "{answer}");
    let calls = sent(&world).await;
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[1]["messaging_type"], "RESPONSE");
    assert_eq!(calls[1]["recipient"], json!({ "id": psid }));
}
