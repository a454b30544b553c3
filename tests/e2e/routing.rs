//! The ACD rules, one scenario each, through the HTTP API.

use serde_json::json;

use crate::harness::{World, id_of, one_at_a_time, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_and_resume_and_a_held_interaction_still_counts() {
    let world = World::start(one_at_a_time).await;
    let a1 = world.login("agent1").await;
    a1.available().await;
    world.post_and_comment("Ann", "first").await;
    let id = id_of(&a1.wait_for_state("alerting").await);
    a1.ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;
    let held = a1
        .ok("POST", &format!("/interactions/{id}/hold"), None)
        .await;
    assert_eq!(held["state"], "held");
    let (status, _) = a1
        .call(
            "POST",
            &format!("/interactions/{id}/reply"),
            Some(json!({"text": "x"})),
        )
        .await;
    assert_eq!(status, 409, "no reply while held");
    let (status, _) = a1
        .call("POST", &format!("/interactions/{id}/hold"), None)
        .await;
    assert_eq!(status, 409, "already held");
    world.post_and_comment("Bo", "second").await;
    world
        .wait_count(
            "SELECT count(*) FROM interactions WHERE state = 'queued'",
            1,
        )
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        a1.interactions().await.len(),
        1,
        "the held one fills agent1"
    );
    assert_eq!(
        a1.ok("POST", &format!("/interactions/{id}/resume"), None)
            .await["state"],
        "connected"
    );
    a1.ok("POST", &format!("/interactions/{id}/disconnect"), None)
        .await;
    a1.wait_for_state("alerting").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_offer_times_out_and_goes_to_the_next_agent() {
    let world = World::start(|c| {
        one_at_a_time(c);
        c.workgroups[0].alert_timeout_ms = 400;
    })
    .await;
    let a1 = world.login("agent1").await;
    let a2 = world.login("agent2").await;
    a1.available().await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    a2.available().await;
    world.post_and_comment("Ann", "hello?").await;
    let id = id_of(&a1.wait_for_state("alerting").await);
    let moved = a2.wait_for_state("alerting").await;
    assert_eq!(id_of(&moved), id, "same interaction, next agent");
    assert_eq!(a1.ok("GET", "/me", None).await["status"], "not_responding");
    assert_eq!(
        a1.call("POST", &format!("/interactions/{id}/pickup"), None)
            .await
            .0,
        409
    );
    assert_eq!(
        a2.ok("POST", &format!("/interactions/{id}/pickup"), None)
            .await["state"],
        "connected"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rights_come_from_the_user_or_the_station() {
    let world = World::start(|c| {
        for u in &mut c.users {
            if u.username == "agent2" {
                u.rights = vec!["agent".into()];
            }
        }
        c.workgroups[0].members = vec!["agent2".into()];
    })
    .await;
    let a2 = world.login("agent2").await;
    a2.available().await;
    world.post_and_comment("Ann", "anyone?").await;
    world
        .wait_count(
            "SELECT count(*) FROM interactions WHERE state = 'queued'",
            1,
        )
        .await;
    a2.expect_nothing("no right, no offer").await;
    let (status, body) = a2
        .call("POST", "/me/station", Some(json!({"station": "nowhere"})))
        .await;
    assert_eq!(status, 400, "{body}");
    a2.ok("POST", "/me/station", Some(json!({"station": "desk-2"})))
        .await;
    a2.wait_for_state("alerting").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_to_an_agent_and_to_a_workgroup_through_the_workflow() {
    let world = World::start(one_at_a_time).await;
    let app = world.host.as_ref().unwrap().app.clone();
    let script = app.workflows.dir().join("default.rhai");
    let mut text = std::fs::read_to_string(&script).unwrap();
    text.push_str("\nfn on_transfer_conversation(ix, target) {\n    route(ix, #{ workgroup: target.workgroup, priority: 9 });\n}\n");
    std::fs::write(&script, text).unwrap();
    wait_until("workflow reloaded", || async {
        (app.workflows.current().number == 2).then_some(())
    })
    .await;

    let a1 = world.login("agent1").await;
    let a2 = world.login("agent2").await;
    a1.available().await;
    world.post_and_comment("Ann", "billing question").await;
    let id = id_of(&a1.wait_for_state("alerting").await);
    a1.ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;
    let (status, _) = a1
        .call(
            "POST",
            &format!("/interactions/{id}/transfer"),
            Some(json!({"to_user": "nobody"})),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = a1
        .call(
            "POST",
            &format!("/interactions/{id}/transfer"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 400);

    a2.available().await;
    let moved = a1
        .ok(
            "POST",
            &format!("/interactions/{id}/transfer"),
            Some(json!({"to_user": "agent2"})),
        )
        .await;
    assert_eq!(moved["assigned_to"], "agent2", "{moved}");
    assert!(a1.interactions().await.is_empty());
    a2.ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;

    let moved = a2
        .ok(
            "POST",
            &format!("/interactions/{id}/transfer"),
            Some(json!({"to_workgroup": "Billing"})),
        )
        .await;
    assert_eq!(moved["workgroup"], "Billing");
    assert_eq!(
        moved["priority"], 9,
        "the transfer initiator set the priority"
    );
    assert_eq!(
        moved["assigned_to"], "agent1",
        "Billing's only member is agent1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_required_wrap_up_keeps_the_agent_out_of_routing_until_set() {
    let world = World::start(|c| {
        one_at_a_time(c);
        c.workgroups[0].wrapup_required = true;
    })
    .await;
    let a1 = world.login("agent1").await;
    a1.available().await;
    world.post_and_comment("Ann", "one").await;
    let id = id_of(&a1.wait_for_state("alerting").await);
    a1.ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;
    world.post_and_comment("Bo", "two").await;
    let done = a1
        .ok("POST", &format!("/interactions/{id}/disconnect"), None)
        .await;
    assert_eq!(done["wrapup_pending"], true);
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let mine = a1.interactions().await;
    assert_eq!(
        mine.len(),
        1,
        "only the finished one whose wrap-up is owed: {mine:?}"
    );
    assert_eq!(mine[0]["state"], "disconnected");
    assert_eq!(mine[0]["wrapup_pending"], true);
    let (status, body) = a1
        .call(
            "POST",
            &format!("/interactions/{id}/wrapup"),
            Some(json!({"code": "Whatever"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("Resolved"));
    let done = a1
        .ok(
            "POST",
            &format!("/interactions/{id}/wrapup"),
            Some(json!({"code": "Resolved"})),
        )
        .await;
    assert_eq!(done["wrapup_code"], "Resolved");
    a1.wait_for_state("alerting").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skills_from_the_workflow_pick_the_agent_who_has_them() {
    let world = World::start(|_| {}).await;
    let app = world.host.as_ref().unwrap().app.clone();
    std::fs::write(
        app.workflows.dir().join("default.rhai"),
        "fn on_inbound(ix) {\n    route(ix, #{ workgroup: ix.workgroup, skills: \"french >= 3\" });\n}\n",
    )
    .unwrap();
    wait_until("workflow reloaded", || async {
        (app.workflows.current().number == 2).then_some(())
    })
    .await;
    let a1 = world.login("agent1").await;
    let a2 = world.login("agent2").await;
    a1.available().await; // idle longest, but no French
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    a2.available().await;
    world
        .post_and_comment("Chloé", "Bonjour, ma commande?")
        .await;
    let ix = a2.wait_for_state("alerting").await;
    assert_eq!(ix["skills"], "french >= 3");
    assert!(a1.interactions().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervisors_see_queues_agents_and_service_level_with_abandons_apart() {
    let world = World::start(one_at_a_time).await;
    let sup = world.login("super").await;
    let a1 = world.login("agent1").await;
    assert_eq!(
        a1.call("GET", "/queues", None).await.0,
        403,
        "agents do not see queues"
    );
    a1.available().await;
    world.post_and_comment("Ann", "answered").await;
    let id = id_of(&a1.wait_for_state("alerting").await);
    a1.ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;
    let (_, comment) = world.post_and_comment("Bo", "I give up").await;
    world
        .wait_count(
            "SELECT count(*) FROM interactions WHERE state = 'queued'",
            1,
        )
        .await;

    let queues = sup.ok("GET", "/queues", None).await;
    let social = queues
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["workgroup"] == "Social")
        .unwrap()
        .clone();
    assert_eq!(social["waiting"], 1, "{social}");
    assert!(social["longest_wait_ms"].as_i64().unwrap() >= 0);
    assert_eq!(social["agents_by_status"]["available"], 1);
    assert_eq!(social["agents_by_status"]["away"], 1);
    assert_eq!(social["answered"], 1);
    assert_eq!(social["answered_in_target"], 1);

    let url = format!("http://{}/_emulator/facebook/remove", world.emulator_addr);
    assert!(
        world
            .http
            .post(url)
            .json(&json!({"comment_id": comment}))
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    );
    world
        .wait_count("SELECT count(*) FROM interactions WHERE abandoned = 1", 1)
        .await;
    let queues = sup.ok("GET", "/queues", None).await;
    let social = queues
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["workgroup"] == "Social")
        .unwrap()
        .clone();
    assert_eq!(social["waiting"], 0);
    assert_eq!(social["abandoned"], 1);
    assert_eq!(
        social["service_level_percent"], 50.0,
        "1 in target of 1 answered + 1 abandoned"
    );

    let agents = sup.ok("GET", "/agents", None).await;
    let agent1 = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["username"] == "agent1")
        .unwrap()
        .clone();
    assert_eq!(agent1["status"], "available");
    assert_eq!(agent1["utilization_used"], 100);
    assert_eq!(agent1["interactions"], json!([id]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preferred_agent_is_waited_for_then_anyone_gets_it() {
    let world = World::start(|_| {}).await;
    let app = world.host.as_ref().unwrap().app.clone();
    std::fs::write(
        app.workflows.dir().join("default.rhai"),
        "fn on_inbound(ix) {\n    route(ix, #{ workgroup: ix.workgroup, preferred_agent: \"agent2\", wait_ms: 1500 });\n}\n",
    )
    .unwrap();
    wait_until("workflow reloaded", || async {
        (app.workflows.current().number == 2).then_some(())
    })
    .await;
    let a1 = world.login("agent1").await;
    a1.available().await;
    let started = std::time::Instant::now();
    world
        .post_and_comment("Ann", "same agent as last time please")
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    assert!(a1.interactions().await.is_empty(), "waiting for agent2");
    a1.wait_for_state("alerting").await;
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(1400),
        "offered to others only after the wait"
    );

    // When the preferred agent is free in time, they get it.
    let a2 = world.login("agent2").await;
    world.post_and_comment("Bo", "me again").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    a2.available().await;
    let ix = a2.wait_for_state("alerting").await;
    assert_eq!(ix["customer_name"], "Bo");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_in_flight_finishes_on_the_workflow_version_it_started_with() {
    let world = World::start(one_at_a_time).await;
    let app = world.host.as_ref().unwrap().app.clone();
    let script = app.workflows.dir().join("default.rhai");
    let base = std::fs::read_to_string(&script).unwrap();
    let with_priority = |p: i64| {
        format!(
            "{base}\nfn on_transfer_conversation(ix, target) {{\n    route(ix, #{{ workgroup: target.workgroup, priority: {p} }});\n}}\n"
        )
    };
    std::fs::write(&script, with_priority(3)).unwrap();
    wait_until("v2", || async {
        (app.workflows.current().number == 2).then_some(())
    })
    .await;

    let a1 = world.login("agent1").await;
    a1.available().await;
    world.post_and_comment("Ann", "started on v2").await;
    let first = id_of(&a1.wait_for_state("alerting").await);
    a1.ok("POST", &format!("/interactions/{first}/pickup"), None)
        .await;

    std::fs::write(&script, with_priority(8)).unwrap();
    wait_until("v3", || async {
        (app.workflows.current().number == 3).then_some(())
    })
    .await;
    let moved = a1
        .ok(
            "POST",
            &format!("/interactions/{first}/transfer"),
            Some(json!({"to_workgroup": "Billing"})),
        )
        .await;
    assert_eq!(moved["workflow_version"], 2);
    assert_eq!(
        moved["priority"], 3,
        "the transfer ran the version the interaction started on"
    );
}
