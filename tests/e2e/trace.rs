//! The decision trace: an interaction's timeline with the workflow's decisions and, for
//! each queueing, who routing passed over and why: rights, skills and utilization, each
//! seen in the trace of an interaction that waits for that reason.

use serde_json::{Value, json};

use crate::harness::{Agent, World, id_of, one_at_a_time, wait_until};

const SCRIPT: &str = r#"
fn on_inbound(ix) {
    if ix.text.contains("bonjour") {
        route(ix, #{ workgroup: "Social", skills: "french" });
    } else {
        route(ix, #{ workgroup: "Social" });
    }
}
fn on_transfer_conversation(ix, target) {
    route(ix, #{ workgroup: target.workgroup, priority: 3 });
}
"#;

/// The demo world (agent1: english and billing, WhatsApp right; agent2: english and
/// french, no WhatsApp right) with one conversation at a time per agent.
async fn world() -> World {
    let world = World::start(|config| {
        std::fs::write(config.server.workflows_dir.join("trace.rhai"), SCRIPT).unwrap();
        for ch in &mut config.channels {
            ch.workflow = "trace.rhai".into();
        }
        one_at_a_time(config);
    })
    .await;
    world
        .emulator
        .subscribe_whatsapp(
            "2002",
            &format!("{}/webhooks/whatsapp", world.base),
            "demo-verify",
        )
        .await
        .unwrap();
    world
}

async fn trace_of(supervisor: &Agent, id: i64) -> Value {
    supervisor
        .ok("GET", &format!("/interactions/{id}/trace"), None)
        .await
}

/// The trace of `id` once it has a `waiting` event.
async fn waiting_trace(supervisor: &Agent, id: i64) -> Value {
    wait_until("the waiting event", || async {
        let t = trace_of(supervisor, id).await;
        t["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "waiting")
            .then_some(t)
    })
    .await
}

/// The reasons of the newest `waiting` event, as `reason -> agents`.
fn passed_over(trace: &Value) -> Vec<(String, Vec<String>)> {
    let waiting = trace["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|e| e["kind"] == "waiting")
        .unwrap_or_else(|| panic!("no waiting event: {trace:#}"));
    waiting["why"]["passed_over"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let agents = p["agents"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect();
            (p["reason"].as_str().unwrap().to_owned(), agents)
        })
        .collect()
}

/// The interaction the newest stored message started or joined.
async fn newest_interaction(supervisor: &Agent) -> i64 {
    wait_until("the interaction", || async {
        let found = supervisor.ok("GET", "/interactions?limit=1", None).await;
        found["items"]
            .as_array()
            .or(found.as_array())
            .and_then(|l| l.first())
            .map(id_of)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trace_says_who_was_passed_over_for_rights_skills_and_utilization() {
    let world = world().await;
    let supervisor = world.login("super").await;
    let agent1 = world.login("agent1").await;
    let agent2 = world.login("agent2").await;
    agent1.available().await;
    agent2.available().await;

    // A French WhatsApp message: agent2 speaks French but lacks the WhatsApp right;
    // agent1 has the right but no French.
    let res = world
        .http
        .post(format!("http://{}/_emulator/whatsapp/messages", world.emulator_addr))
        .json(&json!({ "phone_number_id": "2002", "from": "15550001111", "name": "Chloé", "type": "text", "text": "bonjour, ma commande ?" }))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let french = newest_interaction(&supervisor).await;
    let trace = waiting_trace(&supervisor, french).await;
    let reasons = passed_over(&trace);
    assert!(
        reasons.contains(&("no_right".into(), vec!["agent2".into()])),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&("skills".into(), vec!["agent1".into()])),
        "{reasons:?}"
    );
    // The arrival carries the workflow's decision; the live explanation says the same.
    let created = &trace["timeline"][0];
    assert_eq!(created["kind"], "created", "{trace:#}");
    assert!(
        created["detail"]
            .as_str()
            .unwrap()
            .contains("on_inbound: route workgroup=Social priority=0 skills=\"french\""),
        "{created}"
    );
    assert_eq!(trace["script"], "trace.rhai");
    let now = &trace["now"];
    assert_eq!(now["considered"], 2, "{now}");
    assert_eq!(now["eligible"], json!([]), "{now}");

    // Utilization: agent1 takes a Facebook post (one at a time), so the next one waits
    // for agent1's room, while agent2 is away.
    agent2
        .ok("PUT", "/me/status", Some(json!({ "status": "away" })))
        .await;
    world
        .customer_says(
            json!({ "page_id": "1001", "author_name": "Ann Lee", "text": "first question" }),
        )
        .await;
    let first = agent1.wait_for_state("alerting").await;
    world
        .customer_says(
            json!({ "page_id": "1001", "author_name": "Bo Chen", "text": "second question" }),
        )
        .await;
    let second = wait_until("the second interaction", || async {
        let id = newest_interaction(&supervisor).await;
        (id != id_of(&first) && id != french).then_some(id)
    })
    .await;
    let trace = waiting_trace(&supervisor, second).await;
    let reasons = passed_over(&trace);
    assert!(
        reasons.contains(&("at_capacity".into(), vec!["agent1".into()])),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&("not_available".into(), vec!["agent2".into()])),
        "{reasons:?}"
    );

    // The first one's trace: offered to agent1, then picked up.
    agent1
        .ok(
            "POST",
            &format!("/interactions/{}/pickup", id_of(&first)),
            None,
        )
        .await;
    let trace = trace_of(&supervisor, id_of(&first)).await;
    let kinds: Vec<(&str, Option<&str>)> = trace["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["user"].as_str()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("created", None),
            ("offered", Some("agent1")),
            ("picked_up", Some("agent1"))
        ],
        "{trace:#}"
    );
    assert!(trace["now"].is_null(), "not waiting: {trace:#}");

    // A transfer: where to, the note, and what the transfer initiator decided.
    agent1
        .ok(
            "POST",
            &format!("/interactions/{}/transfer", id_of(&first)),
            Some(json!({ "to_workgroup": "Billing", "note": "refund case" })),
        )
        .await;
    let trace = trace_of(&supervisor, id_of(&first)).await;
    let transferred = trace["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "transferred")
        .unwrap_or_else(|| panic!("{trace:#}"));
    assert_eq!(
        transferred["detail"],
        "to workgroup Billing, note: refund case; v1 trace.rhai on_transfer_conversation: route workgroup=Billing priority=3",
        "{trace:#}"
    );
    assert_eq!(transferred["user"], "agent1");

    // Agents do not see traces.
    let (status, body) = agent1
        .call("GET", &format!("/interactions/{second}/trace"), None)
        .await;
    assert_eq!(status, 403, "{body}");
}
