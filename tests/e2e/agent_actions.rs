//! What an agent does with an offer or a conversation, and what it leads to: decline,
//! transfer to an agent who does not pick up, over-long replies refused before sending,
//! the customer of a thread with several authors.

use serde_json::json;

use crate::harness::{World, id_of, one_at_a_time, wait_until};

/// Queue figures of one workgroup, as a supervisor reads them.
async fn waiting_in(agent: &crate::harness::Agent, workgroup: &str) -> i64 {
    let queues = agent.ok("GET", "/queues", None).await;
    queues
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["workgroup"] == workgroup)
        .map_or(0, |q| q["waiting"].as_i64().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_offer_goes_to_the_next_agent_and_the_decliner_stays_available() {
    let world = World::start(|c| {
        one_at_a_time(c);
        c.workgroups[0].alert_timeout_ms = 60_000;
    })
    .await;
    let a1 = world.login("agent1").await;
    let a2 = world.login("agent2").await;
    a1.available().await;
    world.post_and_comment("Ann", "hello?").await;
    let id = id_of(&a1.wait_for_state("alerting").await);
    let (status, body) = a2
        .call("POST", &format!("/interactions/{id}/decline"), None)
        .await;
    assert_eq!(status, 409, "only the offered agent declines: {body}");
    assert_eq!(body["code"], "conflict");

    // A lone agent who declines is not offered it again in a loop.
    let (status, _) = a1
        .call("POST", &format!("/interactions/{id}/decline"), None)
        .await;
    assert_eq!(status, 204);
    assert_eq!(a1.ok("GET", "/me", None).await["status"], "available");
    a1.expect_nothing("the decliner is not offered it again at once")
        .await;
    let supervisor = world.login("super").await;
    assert_eq!(
        waiting_in(&supervisor, "Social").await,
        1,
        "it waits in the queue"
    );

    // The next agent gets it; the decline is recorded for reports.
    a2.available().await;
    let moved = a2.wait_for_state("alerting").await;
    assert_eq!(id_of(&moved), id);
    assert_eq!(
        world
            .count("SELECT count(*) FROM interaction_events WHERE kind = 'declined'")
            .await,
        1
    );
    // Other work still reaches the decliner.
    world.post_and_comment("Bo", "me too").await;
    let other = a1.wait_for_state("alerting").await;
    assert_ne!(id_of(&other), id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_to_an_agent_who_does_not_pick_up_returns_to_its_workgroup() {
    let world = World::start(|c| {
        one_at_a_time(c);
        c.workgroups[0].alert_timeout_ms = 1_500;
    })
    .await;
    let a1 = world.login("agent1").await;
    let a2 = world.login("agent2").await;
    let supervisor = world.login("super").await;
    a1.available().await;
    world.post_and_comment("Ann", "billing question").await;
    let ix = a1.wait_for_state("alerting").await;
    let id = id_of(&ix);
    let queued_at = ix["queued_at"].as_i64().unwrap();
    a1.ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;

    // Who is available is shown before choosing.
    let directory = a1.ok("GET", "/directory", None).await;
    let agent2 = directory["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["username"] == "agent2")
        .unwrap()
        .clone();
    assert_eq!(agent2["available"], false, "{agent2}");
    assert_eq!(agent2["status"], "away");

    // agent2 is away: it goes straight back to Social, counted there, and the answer
    // says so (not "went to the next agent").
    let moved = a1
        .ok(
            "POST",
            &format!("/interactions/{id}/transfer"),
            Some(json!({"to_user": "agent2", "note": "  Wants a refund for order 1234  "})),
        )
        .await;
    assert_eq!(moved["agent_available"], false, "{moved}");
    assert_eq!(moved["workgroup"], "Social");
    assert_eq!(moved["queued_at"], queued_at, "it keeps its time in queue");
    // agent1 is free again, so it is offered back to them (the only available member).
    let back = a1.wait_for_state("alerting").await;
    assert_eq!(id_of(&back), id);
    a1.ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;

    // agent2 available: offered to them alone for the alert timeout, counted in Social's
    // queue meanwhile... then back to Social when they do not pick up.
    a2.available().await;
    let moved = a1
        .ok(
            "POST",
            &format!("/interactions/{id}/transfer"),
            Some(json!({"to_user": "agent2", "note": "Wants a refund for order 1234"})),
        )
        .await;
    assert_eq!(moved["agent_available"], true, "{moved}");
    assert_eq!(moved["wait_ms"], 1500);
    let offered = a2.wait_for_state("alerting").await;
    assert_eq!(id_of(&offered), id);
    let detail = a2.ok("GET", &format!("/interactions/{id}"), None).await;
    let from = &detail["transferred_from"];
    assert_eq!(from["user"], "agent1", "{detail}");
    assert_eq!(from["workgroup"], "Social");
    assert_eq!(from["note"], "Wants a refund for order 1234");
    a1.expect_nothing("agent1 waits while agent2 is offered it")
        .await;
    // Not picked up in time: back to the workgroup it came from, to agent1.
    let back = a1.wait_for_state("alerting").await;
    assert_eq!(id_of(&back), id);
    assert_eq!(
        back["queued_at"], queued_at,
        "still its original time in queue"
    );
    assert_eq!(a2.ok("GET", "/me", None).await["status"], "not_responding");
    assert!(a2.interactions().await.is_empty());
    assert_eq!(waiting_in(&supervisor, "Social").await, 0);

    // Transferring to oneself is refused in plain words.
    a1.ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;
    let (status, body) = a1
        .call(
            "POST",
            &format!("/interactions/{id}/transfer"),
            Some(json!({"to_user": "agent1"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "invalid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_waiting_for_an_away_agent_is_counted_in_the_queue() {
    let world = World::start(|c| {
        one_at_a_time(c);
        c.workgroups[0].alert_timeout_ms = 3_000;
    })
    .await;
    let a1 = world.login("agent1").await;
    let a2 = world.login("agent2").await;
    let supervisor = world.login("super").await;
    a1.available().await;
    a2.available().await;
    world.post_and_comment("Ann", "one").await;
    world.post_and_comment("Bo", "two").await;
    let first = id_of(&a1.wait_for_state("alerting").await);
    a1.ok("POST", &format!("/interactions/{first}/pickup"), None)
        .await;
    let second = id_of(&a2.wait_for_state("alerting").await);
    a2.ok("POST", &format!("/interactions/{second}/pickup"), None)
        .await;
    // agent2 is busy (one at a time) but available: agent1's transfer waits for them in
    // Social's queue, where the supervisor sees it.
    a1.ok(
        "POST",
        &format!("/interactions/{first}/transfer"),
        Some(json!({"to_user": "agent2"})),
    )
    .await;
    assert_eq!(waiting_in(&supervisor, "Social").await, 1);
    a1.expect_nothing("reserved for agent2 during the wait")
        .await;
    wait_until("the fallback to agent1", || async {
        a1.interactions()
            .await
            .into_iter()
            .find(|ix| id_of(ix) == first && ix["state"] == "alerting")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_over_the_platforms_limit_is_refused_before_anything_is_sent() {
    let world = World::start(one_at_a_time).await;
    let a1 = world.login("agent1").await;
    a1.available().await;
    world.post_and_comment("Ann", "where is my parcel?").await;
    let id = id_of(&a1.wait_for_state("alerting").await);
    a1.ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;
    let detail = a1.ok("GET", &format!("/interactions/{id}"), None).await;
    let windows = &detail["reply_window"];
    assert_eq!(
        windows["public"]["limit"],
        json!({"max": 8000, "counting": "characters"})
    );
    assert_eq!(
        windows["private"]["limit"],
        json!({"max": 2000, "counting": "characters"})
    );

    // A private reply (Messenger) over 2,000 characters.
    let (status, body) = a1
        .call(
            "POST",
            &format!("/interactions/{id}/reply"),
            Some(json!({"text": "é".repeat(2001), "visibility": "private"})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["code"], "too_long");
    assert_eq!(body["limit"], 2000);
    assert_eq!(body["length"], 2001);
    assert!(body["error"].as_str().unwrap().contains("2000"), "{body}");
    // 70,000 characters in public.
    let (status, body) = a1
        .call(
            "POST",
            &format!("/interactions/{id}/reply"),
            Some(json!({"text": "a".repeat(70_000)})),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["limit"], 8000);
    assert_eq!(body["length"], 70_000);
    // Nothing reached the platform, nothing is in the outbox.
    assert!(world.emulator.outbound().is_empty());
    assert_eq!(world.count("SELECT count(*) FROM outbound").await, 0);
    // Exactly at the limit is fine.
    a1.ok(
        "POST",
        &format!("/interactions/{id}/reply"),
        Some(json!({"text": "é".repeat(2000), "visibility": "private"})),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_customer_of_a_thread_with_several_authors_is_its_own_author() {
    let world = World::start(one_at_a_time).await;
    let a1 = world.login("agent1").await;
    a1.available().await;
    let (post_id, _) = world
        .post_and_comment("Yara Quinn", "my order is late")
        .await;
    let id = id_of(&a1.wait_for_state("alerting").await);
    a1.ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;
    // Someone else joins the thread.
    world
        .customer_says(json!({ "page_id": "1001", "post_id": post_id, "parent_id": post_id, "author_name": "Bob Other", "text": "same here" }))
        .await;
    let detail = wait_until("two customer messages", || async {
        let d = a1.ok("GET", &format!("/interactions/{id}"), None).await;
        let inbound = d["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["direction"] == "inbound")
            .count();
        (inbound >= 2
            || d["messages"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["author"] == "Bob Other"))
        .then_some(d)
    })
    .await;
    assert_eq!(
        detail["customer"]["name"], detail["customer_name"],
        "{detail}"
    );
    assert_eq!(detail["customer"]["name"], "Yara Quinn");
    for m in detail["messages"].as_array().unwrap() {
        if let Some(h) = m["author_handle"].as_str() {
            assert!(!h.starts_with("@@"), "{h}");
        }
    }
}
