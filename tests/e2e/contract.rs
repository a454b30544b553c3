//! The connector contract's versions side by side: a plugin built against the frozen
//! `switchboard:connector@0.1.0` (tests/plugins/legacy-v0_1, no SDK, no version stamp)
//! keeps loading and working next to the 0.2.0 plugins the SDK builds now.

use serde_json::{Value, json};

use crate::harness::{World, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_built_for_contract_0_1_keeps_loading_and_routing_beside_0_2() {
    let world = World::start(|_| {}).await;
    let admin = world.login("admin").await;

    let plugins = admin.ok("GET", "/plugins", None).await;
    let contract_of = |name: &str| -> Value {
        plugins
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("plugin {name} listed: {plugins}"))["contract"]
            .clone()
    };
    assert_eq!(contract_of("legacy-v0_1"), "0.1.0", "no stamp: 0.1.0");
    assert_eq!(
        contract_of("facebook"),
        "0.2.0",
        "the SDK stamps its version"
    );

    let (status, created) = admin
        .call(
            "POST",
            "/channels",
            Some(json!({ "name": "legacy", "plugin": "legacy-v0_1", "workgroup": "Social" })),
        )
        .await;
    assert_eq!(status, 201, "{created}");

    // 0.1.0 has no credentials check: the Test button says so rather than failing.
    let (status, checked) = admin.call("POST", "/channels/legacy/check", None).await;
    assert_eq!(status, 200, "{checked}");
    assert_eq!(
        (&checked["works"], &checked["reason"]),
        (&json!(false), &json!("unsupported")),
        "{checked}"
    );
    assert!(
        checked["message"].as_str().unwrap().contains("0.1.0"),
        "{checked}"
    );
    // Nor labels: its settings are shown by their names.
    let legacy = plugins
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "legacy-v0_1")
        .unwrap();
    for key in legacy["config_keys"].as_array().unwrap() {
        assert_eq!(key["label"], Value::Null, "{key}");
    }

    let agent = world.login("agent1").await;
    agent.available().await;
    let res = world
        .http
        .post(format!("{}/webhooks/legacy", world.base))
        .body(json!({ "id": "l-1", "author": "Lee", "text": "still here?" }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let ix = agent.wait_for_state("alerting").await;
    let id = ix["id"].as_i64().unwrap();
    assert_eq!(ix["customer_name"], "Lee");
    agent
        .ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;
    // A 0.1.0 plugin states no text limit: the host's own cap applies.
    let detail = agent.ok("GET", &format!("/interactions/{id}"), None).await;
    assert_eq!(
        detail["reply_window"]["private"]["free_form"], true,
        "{detail}"
    );
    assert_eq!(detail["reply_window"]["private"]["limit"], Value::Null);
    let sent = agent
        .ok(
            "POST",
            &format!("/interactions/{id}/reply"),
            Some(json!({ "text": "yes, how can I help?", "visibility": "private" })),
        )
        .await;
    assert_eq!(sent["state"], "sent", "{sent}");
    assert!(
        sent["platform_message_id"]
            .as_str()
            .unwrap()
            .starts_with("legacy-")
    );
    wait_until("the reply in the transcript", || async {
        let d = agent.ok("GET", &format!("/interactions/{id}"), None).await;
        d["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["direction"] == "outbound")
            .then_some(())
    })
    .await;
}
