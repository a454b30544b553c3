//! Instagram on the demo account @acme: a DM reaches an agent as a direct message and the
//! reply goes back privately; a comment reaches an agent as a social conversation, is
//! answered publicly and once privately, hidden and deleted; a mention on someone else's
//! media is answered publicly through the account; echoes are stored, not routed; forged
//! webhooks store nothing; the credentials check names @acme.

use serde_json::{Value, json};

use crate::harness::{Agent, World, wait_until};

const IG: &str = "17841400000000001";

/// The demo world with the Instagram account's webhook subscribed.
async fn world() -> World {
    let world = World::start(|_| {}).await;
    world
        .emulator
        .subscribe_instagram(
            IG,
            &format!("{}/webhooks/instagram", world.base),
            "demo-verify",
        )
        .await
        .expect("instagram webhook subscription handshake");
    world
}

async fn control(world: &World, what: &str, body: Value) -> Value {
    let res = world
        .http
        .post(format!(
            "http://{}/_emulator/instagram/{what}",
            world.emulator_addr
        ))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "emulator refused {body}");
    res.json().await.unwrap()
}

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

fn instagram_outbound(world: &World) -> Vec<(String, Option<String>)> {
    world
        .emulator
        .outbound()
        .into_iter()
        .filter(|o| o.platform == "instagram")
        .map(|o| (o.kind, o.target_id))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dm_reaches_an_agent_and_the_reply_goes_back_privately_and_its_echo_is_not_routed() {
    let world = world().await;
    let agent = world.login("agent1").await;
    agent.available().await;
    let ids = control(
        &world,
        "messages",
        json!({ "username": "jane.doe", "name": "Jane Doe", "text": "Is the green jacket back? 👀" }),
    )
    .await;
    let igsid = ids["igsid"].as_str().unwrap();

    let offered = pick_up(&agent, "social_direct_message").await;
    assert_eq!(offered["channel"], "instagram");
    assert_eq!(offered["thread_id"], format!("igsid:{igsid}"));
    let id = offered["id"].as_i64().unwrap();
    let detail = agent.ok("GET", &format!("/interactions/{id}"), None).await;
    assert_eq!(
        detail["messages"][0]["text"],
        "Is the green jacket back? 👀"
    );
    assert_eq!(detail["messages"][0]["platform_message_id"], ids["mid"]);

    let (status, answer) = reply(&agent, id, "It is, in every size 🧥", "private").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["state"], "sent", "{answer}");
    assert_eq!(
        instagram_outbound(&world),
        vec![("message".to_string(), Some(igsid.to_string()))]
    );

    // The echo of our own send is stored once (as the reply) and routes nothing.
    let reply_id = world.emulator.outbound()[0].id.clone();
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
    assert_eq!(
        world.count("SELECT count(*) FROM interactions").await,
        1,
        "the echo started nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_is_answered_publicly_once_privately_then_hidden_and_deleted() {
    let world = world().await;
    let agent = world.login("agent1").await;
    agent.available().await;
    let ids = control(
        &world,
        "comments",
        json!({ "username": "jane.doe", "text": "Do you ship to Canada? 🇨🇦" }),
    )
    .await;
    let (media, comment) = (
        ids["media_id"].as_str().unwrap().to_owned(),
        ids["comment_id"].as_str().unwrap().to_owned(),
    );
    assert_eq!(media, "17983530433507045", "the seeded post");

    let offered = pick_up(&agent, "social_conversation").await;
    assert_eq!(offered["channel"], "instagram");
    assert_eq!(offered["thread_id"], media.as_str());
    let id = offered["id"].as_i64().unwrap();

    let (status, answer) = reply(&agent, id, "We do! 🇨🇦", "public").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["state"], "sent", "{answer}");
    let (status, answer) = reply(&agent, id, "Let's sort your order in DMs.", "private").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["state"], "sent", "{answer}");
    assert_eq!(
        instagram_outbound(&world),
        vec![
            ("reply".to_string(), Some(comment.clone())),
            ("private_reply".to_string(), Some(comment.clone())),
        ]
    );

    // One private reply per comment, refused in plain words.
    let (status, again) = reply(&agent, id, "Did you see my DM?", "private").await;
    let refused = status >= 400 || (status == 200 && again["state"] == "failed");
    assert!(refused, "{status} {again}");
    assert!(
        again.to_string().contains("already replied privately"),
        "{again}"
    );

    for action in ["hide", "delete"] {
        let (status, body) = agent
            .call(
                "POST",
                &format!("/interactions/{id}/messages/{comment}/{action}"),
                None,
            )
            .await;
        assert_eq!(status, 204, "{action}: {body}");
    }
    let kinds: Vec<String> = instagram_outbound(&world)
        .into_iter()
        .filter(|(kind, target)| {
            target.as_deref() == Some(comment.as_str()) && (kind == "hide" || kind == "delete")
        })
        .map(|(kind, _)| kind)
        .collect();
    assert_eq!(kinds, vec!["hide", "delete"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mention_is_answered_publicly_through_the_account() {
    let world = world().await;
    let agent = world.login("agent1").await;
    agent.available().await;
    let ids = control(
        &world,
        "mentions",
        json!({ "username": "jane.doe", "text": "Loving my new jacket from @acme 🧥" }),
    )
    .await;
    let (media, comment) = (
        ids["media_id"].as_str().unwrap().to_owned(),
        ids["comment_id"].as_str().unwrap().to_owned(),
    );

    let offered = pick_up(&agent, "social_conversation").await;
    assert_eq!(offered["channel"], "instagram");
    assert_eq!(offered["thread_id"], media.as_str());
    let id = offered["id"].as_i64().unwrap();
    let detail = agent.ok("GET", &format!("/interactions/{id}"), None).await;
    assert_eq!(
        detail["messages"][0]["text"],
        "Loving my new jacket from @acme 🧥"
    );
    assert_eq!(
        detail["messages"][0]["platform_message_id"],
        comment.as_str()
    );

    let (status, answer) = reply(&agent, id, "Thank you, Jane! 🧡", "public").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["state"], "sent", "{answer}");
    let replies: Vec<_> = world
        .emulator
        .outbound()
        .into_iter()
        .filter(|o| o.platform == "instagram" && o.kind == "mention_reply")
        .collect();
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0].text.as_deref(), Some("Thank you, Jane! 🧡"));
    assert_eq!(replies[0].target_id.as_deref(), Some(comment.as_str()));
    assert_eq!(
        instagram_outbound(&world),
        vec![("mention_reply".to_string(), Some(comment.clone()))]
    );

    // On the platform: the account's reply under the mentioning comment.
    let view: Value = world
        .emulator_json(&format!("/_emulator/instagram/accounts/{IG}"))
        .await;
    let ours = &view["mentions"][0]["comments"][1];
    assert_eq!(ours["id"], replies[0].id.as_str());
    assert_eq!(ours["parent_id"], comment.as_str());
    assert_eq!(ours["from"]["username"], "acme");
    assert_eq!(ours["text"], "Thank you, Jane! 🧡");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_signature_stores_nothing() {
    let world = world().await;
    let body = json!({"object":"instagram","entry":[{"id":IG,"time":1742667607,"messaging":[{
        "sender":{"id":"1234567890123456"},"recipient":{"id":IG},"timestamp":1742667604000_i64,
        "message":{"mid":"aWdfforged","text":"forged"}}]}]})
    .to_string();
    for signature in [None, Some("sha256=00ff")] {
        let mut req = world
            .http
            .post(format!("{}/webhooks/instagram", world.base))
            .header("content-type", "application/json")
            .body(body.clone());
        if let Some(s) = signature {
            req = req.header("x-hub-signature-256", s);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 401);
    }
    assert_eq!(world.count("SELECT count(*) FROM messages").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_credentials_check_names_the_account() {
    let world = world().await;
    let admin = world.login("admin").await;
    let (status, answer) = admin.call("POST", "/channels/instagram/check", None).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["works"], true, "{answer}");
    assert_eq!(answer["account"]["id"], IG);
    assert_eq!(answer["account"]["name"], "@acme");
    assert!(!answer.to_string().contains("demo-instagram-token"));
}
