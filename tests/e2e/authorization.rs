//! Every action on an interaction is the connected agent's alone: another agent, a
//! supervisor, an administrator, and the agent it is only *offered* to are all refused,
//! and nothing changes on the platform or in the store. The action routes come from the
//! OpenAPI document, so a new one cannot escape the matrix.

use serde_json::{Value, json};

use crate::harness::{Agent, World, id_of, one_at_a_time, wait_until};

/// A body each action route accepts from the agent it belongs to, so a refusal can only
/// come from who is asking. A new action route needs a line here (with `{}` it would be
/// refused for its body, and the matrix fails until it gets one).
fn body_for(path: &str) -> Value {
    let action = path.rsplit('/').next().unwrap_or_default();
    match action {
        "reply" => json!({ "text": "not yours to send" }),
        "transfer" => json!({ "to_workgroup": "Social" }),
        "wrapup" => json!({ "code": "Resolved" }),
        _ => json!({}),
    }
}

/// Every `POST /api/v1/interactions/{id}/…` route of the OpenAPI document, with its
/// path parameters filled in.
async fn action_routes(agent: &Agent, id: i64, message: &str, reply: i64) -> Vec<String> {
    let doc = agent.ok("GET", "/openapi.json", None).await;
    let mut routes: Vec<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(path, ops)| {
            path.starts_with("/api/v1/interactions/{id}/") && ops.get("post").is_some()
        })
        .map(|(path, _)| {
            path.trim_start_matches("/api/v1")
                .replace("{id}", &id.to_string())
                .replace("{message}", message)
                .replace("{outbound_id}", &reply.to_string())
        })
        .collect();
    routes.sort();
    for expected in [
        "reply",
        "resend",
        "disconnect",
        "delete",
        "hide",
        "hold",
        "resume",
        "transfer",
        "wrapup",
        "pickup",
        "decline",
    ] {
        assert!(
            routes.iter().any(|r| r.ends_with(&format!("/{expected}"))),
            "the document lists no `{expected}` route: {routes:?}"
        );
    }
    routes
}

/// What must not change when a refused caller tries everything.
async fn snapshot(world: &World, owner: &Agent, id: i64) -> (Value, usize, i64) {
    let detail = owner.ok("GET", &format!("/interactions/{id}"), None).await;
    let platform_calls = world.emulator.outbound().len();
    let events = world.count("SELECT count(*) FROM interaction_events").await;
    let shown = json!({
        "state": detail["state"],
        "assigned": detail["assigned_to"],
        "workgroup": detail["workgroup"],
        "messages": detail["messages"],
        "outbound": detail["outbound"],
    });
    assert!(
        shown.as_object().unwrap().values().all(|v| !v.is_null()),
        "{detail}"
    );
    (shown, platform_calls, events)
}

async fn refused_everywhere(
    world: &World,
    owner: &Agent,
    caller: (&str, &Agent),
    routes: &[String],
    id: i64,
    allowed: &[u16],
    says: Option<&str>,
) {
    let (who, caller) = caller;
    let before = snapshot(world, owner, id).await;
    for route in routes {
        let (status, answer) = caller.call("POST", route, Some(body_for(route))).await;
        assert!(
            allowed.contains(&status),
            "{who}: POST {route} answered {status} (expected one of {allowed:?}): {answer}"
        );
        assert!(answer["error"].is_string(), "{who}: {route}: {answer}");
        if let Some(words) = says {
            // Pickup and decline are the offered agent's own actions; the rest are not.
            let own = route.ends_with("/pickup") || route.ends_with("/decline");
            if !own {
                let message = answer["error"].as_str().unwrap();
                assert!(message.contains(words), "{who}: {route}: {message}");
            }
        }
    }
    assert_eq!(
        snapshot(world, owner, id).await,
        before,
        "{who}'s refused requests changed nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_connected_agent_acts_on_an_interaction() {
    let world = World::start(|c| {
        one_at_a_time(c);
        for group in &mut c.workgroups {
            group.alert_timeout_ms = 120_000;
        }
    })
    .await;
    let a1 = world.login("agent1").await;
    let a2 = world.login("agent2").await;
    let supervisor = world.login("super").await;
    let admin = world.login("admin").await;

    // agent1 is connected to a comment thread and has replied once.
    a1.available().await;
    let (_, comment) = world.post_and_comment("Ann", "my parcel is broken").await;
    let mine = id_of(&a1.wait_for_state("alerting").await);
    a1.ok("POST", &format!("/interactions/{mine}/pickup"), None)
        .await;
    let reply = a1
        .ok(
            "POST",
            &format!("/interactions/{mine}/reply"),
            Some(json!({ "text": "Sorry to hear that, Ann." })),
        )
        .await;
    let reply_id = reply["id"].as_i64().unwrap();
    wait_until("the reply reaches the platform", || async {
        let detail = a1.ok("GET", &format!("/interactions/{mine}"), None).await;
        (detail["outbound"][0]["state"] == "sent").then_some(())
    })
    .await;

    // agent2 is offered another one and has not picked it up.
    a2.available().await;
    let (_, other_comment) = world.post_and_comment("Bob", "where is my refund?").await;
    let offered = id_of(&a2.wait_for_state("alerting").await);
    assert_ne!(offered, mine);

    let routes = action_routes(&a1, mine, &comment, reply_id).await;
    // Another agent, a supervisor and an administrator: as if it did not exist (404),
    // or not theirs to pick up or decline (409).
    for (who, caller) in [("agent2", &a2), ("super", &supervisor), ("admin", &admin)] {
        refused_everywhere(&world, &a1, (who, caller), &routes, mine, &[404, 409], None).await;
    }
    assert_eq!(
        a1.ok("GET", &format!("/interactions/{mine}"), None).await["state"],
        "connected"
    );

    // The agent it is only offered to may pick it up or decline it, nothing else: no
    // deleting or hiding the customer's comment, no reply, no transfer.
    let routes: Vec<String> = action_routes(&a2, offered, &other_comment, reply_id)
        .await
        .into_iter()
        .filter(|r| !r.ends_with("/pickup") && !r.ends_with("/decline"))
        .collect();
    refused_everywhere(
        &world,
        &a2,
        ("agent2 (offered)", &a2),
        &routes,
        offered,
        &[404, 409],
        Some("pick it up"),
    )
    .await;
    let detail = a2
        .ok("GET", &format!("/interactions/{offered}"), None)
        .await;
    assert_eq!(detail["state"], "alerting", "{detail}");
    assert!(
        world
            .emulator
            .outbound()
            .iter()
            .all(|o| o.target_id.as_deref() != Some(other_comment.as_str())),
        "nothing reached the platform about the offered comment"
    );
}
