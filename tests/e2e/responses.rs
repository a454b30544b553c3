//! Standard responses: administrators keep the library; agents see the answers for
//! everyone and for their workgroups, filled in for the conversation they answer.

use serde_json::{Value, json};

use crate::harness::World;

fn titles(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|r| r["title"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administrators_keep_the_library_and_agents_insert_answers_filled_for_the_customer() {
    let world = World::start(|_| {}).await;
    let admin = world.login("admin").await;
    let (status, thanks) = admin
        .call(
            "POST",
            "/responses",
            Some(json!({"title": "Thanks", "text": "Thank you, {customer_name}! {agent_name} from {workgroup}."})),
        )
        .await;
    assert_eq!(status, 201, "{thanks}");
    assert_eq!(thanks["workgroup"], Value::Null);
    let (status, refund) = admin
        .call(
            "POST",
            "/responses",
            Some(json!({"title": "Refund", "text": "Your refund is on its way.", "workgroup": "Billing"})),
        )
        .await;
    assert_eq!(status, 201, "{refund}");
    // Refused in plain words: an unknown placeholder, a title taken, a workgroup that is
    // not there, an empty text; and nothing for someone who is not an administrator.
    let (status, e) = admin
        .call(
            "POST",
            "/responses",
            Some(json!({"title": "Order", "text": "Order {order_id} ships"})),
        )
        .await;
    assert_eq!(status, 400);
    assert!(e["error"].as_str().unwrap().contains("{order_id}"), "{e}");
    let (status, e) = admin
        .call(
            "POST",
            "/responses",
            Some(json!({"title": "Thanks", "text": "again"})),
        )
        .await;
    assert_eq!(status, 409, "{e}");
    let (status, e) = admin
        .call(
            "POST",
            "/responses",
            Some(json!({"title": "X", "text": "y", "workgroup": "Nobody"})),
        )
        .await;
    assert_eq!(status, 400);
    assert!(e["error"].as_str().unwrap().contains("Nobody"), "{e}");
    let (status, _) = admin
        .call(
            "POST",
            "/responses",
            Some(json!({"title": "Empty", "text": "  "})),
        )
        .await;
    assert_eq!(status, 400);
    let agent2 = world.login("agent2").await;
    let (status, _) = agent2
        .call(
            "POST",
            "/responses",
            Some(json!({"title": "Mine", "text": "hi"})),
        )
        .await;
    assert_eq!(status, 403);

    // agent1 is in Billing and Social, agent2 only in Social.
    assert_eq!(
        titles(&admin.ok("GET", "/responses", None).await),
        ["Refund", "Thanks"]
    );
    assert_eq!(
        titles(&agent2.ok("GET", "/responses", None).await),
        ["Thanks"]
    );
    let agent1 = world.login("agent1").await;
    assert_eq!(
        titles(&agent1.ok("GET", "/responses?q=REFUND", None).await),
        ["Refund"]
    );

    // For a conversation: its workgroup's and everyone's, filled in.
    agent1.available().await;
    world
        .post_and_comment("Ann Lee", "where is my parcel?")
        .await;
    let offered = agent1.wait_for_state("alerting").await;
    let id = offered["id"].as_i64().unwrap();
    let filled = agent1
        .ok("GET", &format!("/responses?interaction={id}"), None)
        .await;
    assert_eq!(
        titles(&filled),
        ["Thanks"],
        "Social's conversation: not Billing's answer"
    );
    assert_eq!(
        filled[0]["text"],
        "Thank you, Ann Lee! Alex Agent from Social."
    );
    let (status, _) = agent2
        .call("GET", &format!("/responses?interaction={id}"), None)
        .await;
    assert_eq!(status, 404, "not agent2's conversation");

    // Changed and removed.
    let tid = thanks["id"].as_i64().unwrap();
    let changed = admin
        .ok(
            "PUT",
            &format!("/responses/{tid}"),
            Some(json!({"workgroup": "Billing"})),
        )
        .await;
    assert_eq!(changed["workgroup"], "Billing");
    assert_eq!(
        changed["text"], thanks["text"],
        "what was not given is kept"
    );
    assert!(titles(&agent2.ok("GET", "/responses", None).await).is_empty());
    let (status, _) = admin
        .call("DELETE", &format!("/responses/{tid}"), None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = admin
        .call("DELETE", &format!("/responses/{tid}"), None)
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        titles(&admin.ok("GET", "/responses", None).await),
        ["Refund"]
    );
}
