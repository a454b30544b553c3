//! Outbound rules common to every platform: the RPC cache and the reply window the
//! desktop sees before typing.

use serde_json::json;

use crate::harness::World;

/// An agent with one connected interaction on a fresh comment; returns the world, the
/// agent and the interaction id.
async fn connected(cache_s: u32) -> (World, crate::harness::Agent, i64) {
    let world = World::start(move |config| config.channels[0].rpc_cache_timeout_s = cache_s).await;
    let agent = world.login("agent1").await;
    agent.available().await;
    world.post_and_comment("Ann Lee", "is this in stock?").await;
    let offered = agent.wait_for_state("alerting").await;
    let id = offered["id"].as_i64().unwrap();
    agent
        .ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;
    (world, agent, id)
}

async fn reply(agent: &crate::harness::Agent, id: i64, text: &str) -> serde_json::Value {
    agent
        .ok(
            "POST",
            &format!("/interactions/{id}/reply"),
            Some(json!({ "text": text, "visibility": "public" })),
        )
        .await
}

fn sent_with(world: &World, text: &str) -> usize {
    world
        .emulator
        .outbound()
        .iter()
        .filter(|o| o.text.as_deref() == Some(text))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_text_to_the_same_customer_goes_once_within_the_rpc_cache_window() {
    let (world, agent, id) = connected(90).await;
    assert_eq!(
        reply(&agent, id, "Yes, in all sizes!").await["state"],
        "sent"
    );
    let again = reply(&agent, id, "Yes, in all sizes!").await;
    assert_eq!(again["state"], "suppressed", "{again}");
    assert!(
        again["last_error"].as_str().unwrap().contains("RPC cache"),
        "the agent is told why: {again}"
    );
    assert_eq!(reply(&agent, id, "Anything else?").await["state"], "sent");
    assert_eq!(sent_with(&world, "Yes, in all sizes!"), 1);
    assert_eq!(sent_with(&world, "Anything else?"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rpc_cache_of_zero_sends_every_time() {
    let (world, agent, id) = connected(0).await;
    assert_eq!(reply(&agent, id, "Yes").await["state"], "sent");
    assert_eq!(reply(&agent, id, "Yes").await["state"], "sent");
    assert_eq!(sent_with(&world, "Yes"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desktop_sees_the_reply_window_and_delivery_of_what_was_sent() {
    let (_world, agent, id) = connected(90).await;
    let detail = agent.ok("GET", &format!("/interactions/{id}"), None).await;
    let public = &detail["reply_window"]["public"];
    assert_eq!(public["free_form"], true, "{detail}");
    assert_eq!(public["note"], serde_json::Value::Null);
    reply(&agent, id, "On its way").await;
    let detail = agent.ok("GET", &format!("/interactions/{id}"), None).await;
    let outbound = detail["outbound"].as_array().unwrap();
    assert_eq!(outbound.len(), 1, "{detail}");
    assert_eq!(outbound[0]["state"], "sent");
    assert_eq!(outbound[0]["text"], "On its way");
}
