//! WhatsApp: a customer's message reaches an agent and the reply reaches the customer; the
//! 24-hour window, blocked regions and failed deliveries, end to end against the emulator.

use serde_json::{Value, json};

use crate::harness::{Agent, World, wait_until};

const NUMBER: &str = "2002";

/// The demo world with the WhatsApp number's webhook subscribed.
async fn world() -> World {
    let world = World::start(|_| {}).await;
    world
        .emulator
        .subscribe_whatsapp(
            NUMBER,
            &format!("{}/webhooks/whatsapp", world.base),
            "demo-verify",
        )
        .await
        .expect("whatsapp webhook subscription handshake");
    world
}

/// A customer writes through the emulator; returns the wamid.
pub(crate) async fn customer_writes(world: &World, body: Value) -> String {
    let mut body = body;
    body["phone_number_id"] = json!(NUMBER);
    let res = world
        .http
        .post(format!(
            "http://{}/_emulator/whatsapp/messages",
            world.emulator_addr
        ))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "emulator refused {body}");
    let answer: Value = res.json().await.unwrap();
    answer["wamid"].as_str().unwrap().to_owned()
}

/// agent1 gets the customer's conversation and picks it up; returns the interaction id.
async fn picked_up(
    world: &World,
    from: &str,
    text: &str,
    timestamp: Option<i64>,
) -> (Agent, i64, String) {
    let agent = world.login("agent1").await;
    agent.available().await;
    let mut body = json!({ "from": from, "name": "Sheena Nelson", "type": "text", "text": text });
    if let Some(ts) = timestamp {
        body["timestamp"] = json!(ts);
    }
    let wamid = customer_writes(world, body).await;
    let offered = agent.wait_for_state("alerting").await;
    assert_eq!(offered["channel"], "whatsapp");
    assert_eq!(offered["media_type"], "social_direct_message");
    assert_eq!(offered["thread_id"], from, "one conversation per customer");
    let id = offered["id"].as_i64().unwrap();
    let picked = agent
        .ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;
    assert_eq!(picked["state"], "connected");
    (agent, id, wamid)
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whatsapp_message_reaches_an_agent_and_the_reply_reaches_the_customer() {
    let world = world().await;
    let (agent, id, wamid) = picked_up(
        &world,
        "16505551234",
        "Does it come in another color? 🎨",
        None,
    )
    .await;

    let detail = agent.ok("GET", &format!("/interactions/{id}"), None).await;
    let inbound: Vec<&Value> = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "inbound")
        .collect();
    assert_eq!(inbound.len(), 1, "{detail}");
    assert_eq!(inbound[0]["text"], "Does it come in another color? 🎨");
    assert_eq!(inbound[0]["author"], "Sheena Nelson");
    assert_eq!(inbound[0]["platform_message_id"], wamid.as_str());
    let window = &detail["reply_window"]["private"];
    assert_eq!(window["free_form"], true, "{detail}");
    assert_eq!(window["templates"], true, "{detail}");

    let reply = "Yes: blue and green 💙💚";
    let sent = agent
        .ok(
            "POST",
            &format!("/interactions/{id}/reply"),
            Some(json!({ "text": reply, "visibility": "private" })),
        )
        .await;
    assert_eq!(sent["state"], "sent", "{sent}");
    let outbound = world.emulator.outbound();
    let ours: Vec<_> = outbound
        .iter()
        .filter(|o| o.platform == "whatsapp")
        .collect();
    assert_eq!(ours.len(), 1, "{outbound:?}");
    assert_eq!(ours[0].kind, "message");
    assert_eq!(ours[0].target_id.as_deref(), Some("16505551234"));
    assert_eq!(ours[0].text.as_deref(), Some(reply));
    let wamid_out = ours[0].id.clone();

    // The reply quotes the customer's message, and the statuses come back to the host.
    let view: Value = world
        .emulator_json(&format!("/_emulator/whatsapp/numbers/{NUMBER}"))
        .await;
    assert_eq!(
        view["sent"][0]["request"]["context"]["message_id"],
        wamid.as_str()
    );
    wait_until("the read status on the reply", || async {
        let detail = agent.ok("GET", &format!("/interactions/{id}"), None).await;
        detail["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| {
                m["direction"] == "outbound" && m["platform_message_id"] == wamid_out.as_str()
            })
            .filter(|m| m["delivery"] == "read" && m["text"] == reply)
            .map(|_| ())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_24_hours_only_a_template_can_be_sent() {
    let world = world().await;
    let long_ago = unix_now() - 25 * 3600;
    let (agent, id, _) = picked_up(&world, "4915112345678", "Hello?", Some(long_ago)).await;

    let detail = agent.ok("GET", &format!("/interactions/{id}"), None).await;
    let window = &detail["reply_window"]["private"];
    assert_eq!(window["free_form"], false, "{detail}");
    assert_eq!(window["templates"], true, "{detail}");
    assert!(window["note"].as_str().unwrap().contains("template"));

    // Free text is refused by the host before anything is sent.
    let (status, body) = agent
        .call(
            "POST",
            &format!("/interactions/{id}/reply"),
            Some(json!({ "text": "Sorry for the wait", "visibility": "private" })),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(body.to_string().contains("only a template"), "{body}");
    assert!(world.emulator.outbound().is_empty());

    // A template goes through.
    let sent = agent
        .ok(
            "POST",
            &format!("/interactions/{id}/reply"),
            Some(json!({
                "text": "",
                "visibility": "private",
                "template": { "name": "issue_resolution", "language": "en_US", "parameters": ["Sheena"] }
            })),
        )
        .await;
    assert_eq!(sent["state"], "sent", "{sent}");
    let outbound = world.emulator.outbound();
    assert_eq!(outbound.len(), 1, "{outbound:?}");
    assert_eq!(outbound[0].kind, "template");
    assert_eq!(outbound[0].text.as_deref(), Some("issue_resolution"));
    let view: Value = world
        .emulator_json(&format!("/_emulator/whatsapp/numbers/{NUMBER}"))
        .await;
    let template = &view["sent"][0]["request"]["template"];
    assert_eq!(template["name"], "issue_resolution");
    assert_eq!(template["language"]["code"], "en_US");
    assert_eq!(
        template["components"][0]["parameters"][0],
        json!({ "type": "text", "text": "Sheena" })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_synchronous_131047_is_shown_to_the_agent() {
    let world = world().await;
    let (agent, id, _) = picked_up(&world, "16505550001", "hi", None).await;
    // The platform answers 131047 even though the window looked open.
    let res = world
        .http
        .post(format!(
            "http://{}/_emulator/facebook/failures",
            world.emulator_addr
        ))
        .json(
            &json!({ "status": 400, "code": 131047, "message": "(#131047) Re-engagement message" }),
        )
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let sent = agent
        .ok(
            "POST",
            &format!("/interactions/{id}/reply"),
            Some(json!({ "text": "are you there?", "visibility": "private" })),
        )
        .await;
    assert_eq!(
        sent["state"], "failed",
        "a rejection is not retried: {sent}"
    );
    let error = sent["last_error"].as_str().unwrap_or_default();
    assert!(
        error.contains("131047") && error.contains("Re-engagement message"),
        "{sent}"
    );
    assert!(world.emulator.outbound().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocked_regions_are_never_messaged() {
    let world = world().await;
    let (agent, id, _) = picked_up(&world, "5352345678", "hola", None).await;
    let sent = agent
        .ok(
            "POST",
            &format!("/interactions/{id}/reply"),
            Some(json!({ "text": "Hola!", "visibility": "private" })),
        )
        .await;
    assert_eq!(sent["state"], "failed", "{sent}");
    let error = sent["last_error"].as_str().unwrap_or_default();
    assert!(
        error.contains("Cuba") && error.contains("not allowed"),
        "{sent}"
    );
    assert!(world.emulator.outbound().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_status_is_surfaced_on_the_outbound_message() {
    let world = world().await;
    let (agent, id, _) = picked_up(&world, "16505550002", "hi", None).await;
    let res = world
        .http
        .post(format!(
            "http://{}/_emulator/whatsapp/fail-next",
            world.emulator_addr
        ))
        .json(&json!({ "phone_number_id": NUMBER }))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let sent = agent
        .ok(
            "POST",
            &format!("/interactions/{id}/reply"),
            Some(json!({ "text": "doomed", "visibility": "private" })),
        )
        .await;
    assert_eq!(sent["state"], "sent", "accepted at first: {sent}");
    let detail = wait_until("the failed status on the reply", || async {
        let detail = agent.ok("GET", &format!("/interactions/{id}"), None).await;
        let failed = detail["outbound"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["delivery"] == "failed");
        failed.then_some(detail)
    })
    .await;
    let out = &detail["outbound"][0];
    assert_eq!(out["state"], "failed", "{detail}");
    let error = out["delivery_error"].as_str().unwrap();
    assert!(
        error.starts_with("131047: Re-engagement message"),
        "{error}"
    );
    let msg = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["direction"] == "outbound")
        .expect("the reply in the transcript");
    assert_eq!(msg["delivery"], "failed", "{detail}");
    assert!(msg["delivery_error"].as_str().unwrap().contains("131047"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pair_rate_limited_reply_is_retried_and_sent_once() {
    let world = world().await;
    // One message per 1.5 s from the number to one customer (the real platform: about 6 s).
    let res = world
        .http
        .post(format!(
            "http://{}/_emulator/whatsapp/limits",
            world.emulator_addr
        ))
        .json(&json!({ "pair_interval_ms": 1500 }))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let (agent, id, _) = picked_up(&world, "16505550003", "two questions", None).await;

    let first = agent
        .ok(
            "POST",
            &format!("/interactions/{id}/reply"),
            Some(json!({ "text": "Answer one", "visibility": "private" })),
        )
        .await;
    assert_eq!(first["state"], "sent", "{first}");
    // Right away: the emulator refuses it with 131056 and the connector reports a rate limit.
    let second = agent
        .ok(
            "POST",
            &format!("/interactions/{id}/reply"),
            Some(json!({ "text": "Answer two", "visibility": "private" })),
        )
        .await;
    assert_eq!(second["state"], "pending", "kept for a retry: {second}");
    // Waiting for the platform's limit is not a failed attempt (issue 12: a reply waits
    // for the reset without spending its attempts).
    assert_eq!(second["attempts"], 0, "{second}");
    let error = second["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("rate limit"), "{second}");
    let whatsapp_texts = || {
        world
            .emulator
            .outbound()
            .into_iter()
            .filter(|o| o.platform == "whatsapp")
            .map(|o| o.text.unwrap_or_default())
            .collect::<Vec<_>>()
    };
    assert_eq!(whatsapp_texts(), ["Answer one"]);

    // The outbox tries again after the connector's back-off; the pair interval is over by then.
    let second_id = second["id"].as_i64().unwrap();
    let detail = wait_until("the rate-limited reply sent on a retry", || async {
        let detail = agent.ok("GET", &format!("/interactions/{id}"), None).await;
        let sent = detail["outbound"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["id"] == second_id && o["state"] == "sent");
        sent.then_some(detail)
    })
    .await;
    // Give a stray duplicate time to show up before counting.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(whatsapp_texts(), ["Answer one", "Answer two"]);

    let outbound = detail["outbound"].as_array().unwrap();
    assert_eq!(outbound.len(), 2, "{detail}");
    let emulator_ids: Vec<String> = world
        .emulator
        .outbound()
        .into_iter()
        .filter(|o| o.platform == "whatsapp")
        .map(|o| o.id)
        .collect();
    for (out, (text, attempts)) in outbound.iter().zip([("Answer one", 1), ("Answer two", 1)]) {
        assert_eq!(out["text"], text, "{detail}");
        assert_eq!(out["state"], "sent", "{detail}");
        assert_eq!(out["attempts"], attempts, "{detail}");
    }
    let platform_ids: Vec<&str> = outbound
        .iter()
        .map(|o| o["platform_message_id"].as_str().unwrap())
        .collect();
    assert_eq!(platform_ids, emulator_ids, "{detail}");
    let view: Value = world
        .emulator_json(&format!("/_emulator/whatsapp/numbers/{NUMBER}"))
        .await;
    assert_eq!(view["sent"].as_array().unwrap().len(), 2, "{view}");
}
