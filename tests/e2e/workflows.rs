//! Workflow effects carried out by the real host: attributes and desktop flags, sends
//! with retries, timers, agent-reply and disconnect initiators, buffering, grouping,
//! fallback on error, and reloads under load without loss or duplicates.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{World, wait_until};

/// A host whose facebook channel runs `script` (written as `test.rhai`).
async fn world_with(script: &'static str) -> World {
    World::start(move |config| {
        std::fs::write(config.server.workflows_dir.join("test.rhai"), script).unwrap();
        config.channels[0].workflow = "test.rhai".into();
    })
    .await
}

/// The stored attributes of interaction `id`.
async fn attributes(world: &World, id: i64) -> Value {
    let store = world.host.as_ref().unwrap().app.store.clone();
    let text: String = store
        .read(move |c| {
            Ok(c.query_row(
                "SELECT attributes FROM interactions WHERE id = ?1",
                [id],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

async fn scalar(world: &World, sql: String) -> i64 {
    let store = world.host.as_ref().unwrap().app.store.clone();
    store
        .read(move |c| Ok(c.query_row(&sql, (), |r| r.get(0))?))
        .await
        .unwrap()
}

const EFFECTS: &str = r#"
fn on_inbound(ix) {
    let c = classify(ix);
    set_attr(ix, "sentiment", c.sentiment);
    set_desktop_flags(ix, c.sentiment, c.actionable, c.sentiment == "negative");
    send(ix, "Thanks, we are looking into it.", #{ retries: 2, backoff_ms: 100 });
    schedule(ix, "escalate", 300);
    route(ix, #{ workgroup: "Social" });
}

fn on_timer(ix, name) {
    if name == "escalate" && ix.state == "queued" {
        set_attr(ix, "escalated", true);
        route(ix, #{ workgroup: "Social", priority: 5 });
    }
}

fn on_agent_reply(ix, reply) {
    if reply.text.contains("forbidden") {
        stop(ix, "that word is not allowed");
        return;
    }
    send(ix, reply.text + " (Acme)", #{ retries: 1, backoff_ms: 100 });
    set_attr(ix, "replied", true);
}

fn on_disconnect(ix) {
    set_attr(ix, "closed", ix.attrs.sentiment);
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn effects_of_every_initiator_are_carried_out() {
    let world = world_with(EFFECTS).await;
    let (_, comment) = world
        .post_and_comment(
            "Ann Lee",
            "My order arrived broken. Terrible, I want a refund!",
        )
        .await;
    world
        .wait_count(
            "SELECT count(*) FROM interactions WHERE state = 'queued'",
            1,
        )
        .await;
    let id = scalar(&world, "SELECT id FROM interactions".into()).await;
    let attrs = attributes(&world, id).await;
    assert_eq!(attrs["sentiment"], "negative", "{attrs}");
    assert_eq!(attrs["desktop_sentiment"], "negative");
    assert_eq!(attrs["desktop_actionable"], "true");
    assert_eq!(attrs["desktop_expand"], "true");

    // The automatic acknowledgement goes out under the customer's comment.
    let ack = wait_until("the workflow's acknowledgement", || async {
        world
            .emulator
            .outbound()
            .into_iter()
            .find(|o| o.text.as_deref() == Some("Thanks, we are looking into it."))
    })
    .await;
    assert_eq!(ack.target_id.as_deref(), Some(comment.as_str()));

    // Nobody is available: the timer escalates the waiting interaction.
    wait_until("the escalation timer", || async {
        (scalar(
            &world,
            format!("SELECT priority FROM interactions WHERE id = {id}"),
        )
        .await
            == 5)
            .then_some(())
    })
    .await;
    assert_eq!(attributes(&world, id).await["escalated"], "true");
    assert_eq!(
        scalar(&world, "SELECT count(*) FROM workflow_timers".into()).await,
        0,
        "a fired timer is gone"
    );

    // The agent's reply goes through on_agent_reply.
    let agent = world.login("agent1").await;
    agent.available().await;
    let offered = agent.wait_for_state("alerting").await;
    assert_eq!(offered["priority"], 5);
    assert_eq!(
        offered["attributes"]["desktop_sentiment"], "negative",
        "the agent sees the flags"
    );
    agent
        .ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;
    let (status, refused) = agent
        .call(
            "POST",
            &format!("/interactions/{id}/reply"),
            Some(json!({ "text": "a forbidden word", "visibility": "public" })),
        )
        .await;
    assert_eq!(status, 409, "{refused}");
    assert!(refused.to_string().contains("not allowed"), "{refused}");
    let sent = agent
        .ok(
            "POST",
            &format!("/interactions/{id}/reply"),
            Some(json!({ "text": "Sorry about that", "visibility": "public" })),
        )
        .await;
    assert_eq!(sent["text"], "Sorry about that (Acme)");
    assert_eq!(sent["max_attempts"], 2, "retries chosen by the script");
    assert!(
        world
            .emulator
            .outbound()
            .iter()
            .any(|o| o.text.as_deref() == Some("Sorry about that (Acme)"))
    );
    assert!(
        !world
            .emulator
            .outbound()
            .iter()
            .any(|o| o.text.as_deref().is_some_and(|t| t.contains("forbidden"))),
        "a refused reply is never sent"
    );
    assert_eq!(attributes(&world, id).await["replied"], "true");

    agent
        .ok("POST", &format!("/interactions/{id}/disconnect"), None)
        .await;
    wait_until("on_disconnect", || async {
        (attributes(&world, id).await["closed"] == "negative").then_some(())
    })
    .await;
}

const BUFFER: &str = r#"
fn on_inbound(ix) {
    if agent_handling(ix.thread_id) != () {
        buffer(ix, #{ until_free_agent_of: ix.thread_id, recheck_ms: 100 });
    }
    route(ix, #{ workgroup: "Social", wait_ms: 5000 });
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_on_a_post_with_an_agent_waits_then_goes_to_that_agent() {
    let world = world_with(BUFFER).await;
    let agent1 = world.login("agent1").await;
    agent1.available().await;
    let (post, _) = world.post_and_comment("Ann Lee", "first question").await;
    let first = agent1.wait_for_state("alerting").await;
    let first_id = first["id"].as_i64().unwrap();
    agent1
        .ok("POST", &format!("/interactions/{first_id}/pickup"), None)
        .await;
    let agent2 = world.login("agent2").await;
    agent2.available().await;

    world
        .customer_says(
            json!({ "page_id": "1001", "post_id": post, "parent_id": post,
            "author_name": "Bo Chen", "text": "me too!" }),
        )
        .await;
    world
        .wait_count(
            "SELECT count(*) FROM interactions WHERE state = 'buffered'",
            1,
        )
        .await;
    agent2
        .expect_nothing("the buffered comment waits for agent1")
        .await;
    let detail = agent1
        .ok("GET", &format!("/interactions/{first_id}"), None)
        .await;
    assert_eq!(
        detail["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["direction"] == "inbound")
            .count(),
        1,
        "the agent's current interaction is not disturbed"
    );

    agent1
        .ok(
            "POST",
            &format!("/interactions/{first_id}/disconnect"),
            None,
        )
        .await;
    let next = agent1.wait_for_state("alerting").await;
    assert_ne!(next["id"], first["id"]);
    assert_eq!(next["thread_id"], post.as_str());
    agent2
        .expect_nothing("delivered to the agent who had the post")
        .await;
}

const GROUP: &str = r#"
fn on_inbound(ix) {
    group(ix, #{ key: ix.author_id, timeout_s: 10 });
    route(ix, #{ workgroup: "Social" });
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_senders_messages_are_grouped_then_routed_as_one() {
    let world = world_with(GROUP).await;
    for text in ["one", "two", "three"] {
        // Three different posts, one author: one group.
        let post = world
            .customer_says(json!({ "page_id": "1001", "author_name": "Acme Outfitters",
            "author_id": "1001", "text": "post" }))
            .await;
        let post = post["post_id"].as_str().unwrap().to_owned();
        world
            .customer_says(
                json!({ "page_id": "1001", "post_id": post, "parent_id": post,
            "author_name": "Cy", "author_id": "cy-1", "text": text }),
            )
            .await;
    }
    world
        .wait_count("SELECT count(*) FROM messages WHERE direction = 'inbound' AND interaction_id IS NOT NULL", 3)
        .await;
    assert_eq!(world.count("SELECT count(*) FROM interactions").await, 1);
    assert_eq!(
        world
            .count("SELECT count(*) FROM interactions WHERE state = 'buffered'")
            .await,
        1,
        "held while the group is open"
    );
    tokio::time::sleep(Duration::from_secs(10)).await;
    world
        .wait_count(
            "SELECT count(*) FROM interactions WHERE state = 'queued'",
            1,
        )
        .await;
}

const FAILING: &str = r#"
fn on_inbound(ix) {
    if ix.text.contains("boom") {
        let x = 1 / 0;
    }
    route(ix, #{ workgroup: "Billing" });
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_handler_takes_the_fallback_route_and_is_counted() {
    let world = world_with(FAILING).await;
    world.post_and_comment("Ann Lee", "boom").await;
    world
        .wait_count(
            "SELECT count(*) FROM interactions WHERE workgroup = 'Social'",
            1,
        )
        .await;
    world.post_and_comment("Ann Lee", "fine").await;
    world
        .wait_count(
            "SELECT count(*) FROM interactions WHERE workgroup = 'Billing'",
            1,
        )
        .await;
    let metrics = world
        .http
        .get(format!("{}/metrics", world.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("switchboard_workflow_errors_total"),
        "{metrics}"
    );
    let errors: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("switchboard_workflow_errors_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(errors >= 1, "{metrics}");

    // The failure is visible where people look: the script's recent errors (innermost
    // fault with its place first), and the interaction it sent the channel's way, marked
    // and found by a search.
    let admin = world.login("admin").await;
    let status = admin.ok("GET", "/workflows", None).await;
    let failures = status["runtime_errors"]
        .as_array()
        .and_then(|all| all.iter().find(|e| e["script"] == "test.rhai"))
        .cloned()
        .unwrap_or_else(|| panic!("no runtime errors for test.rhai: {status}"));
    assert_eq!(failures["count"], 1, "{failures}");
    let last = &failures["recent"][0];
    assert_eq!(last["handler"], "on_inbound", "{last}");
    let error = last["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("test.rhai:4:") && error.contains("Division by zero"),
        "the innermost fault and its place lead: {error}"
    );
    let found = admin
        .ok("GET", "/interactions?workflow_fallback=true", None)
        .await;
    let items = found["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "only the one that fell back: {found}");
    assert_eq!(items[0]["workgroup"], "Social", "{found}");
    let id = items[0]["id"].as_i64().unwrap();
    let detail = admin.ok("GET", &format!("/interactions/{id}"), None).await;
    let marker = detail["attributes"]["workflow_fallback"]
        .as_str()
        .unwrap_or_default();
    assert!(marker.contains("Division by zero"), "{detail}");
    assert_eq!(
        world
            .count("SELECT count(*) FROM interaction_events WHERE kind = 'workflow_fallback'")
            .await,
        1,
        "one event, on the interaction that fell back"
    );

    // A refused reload shows in the metric too.
    let dir = world.host.as_ref().unwrap().app.workflows.dir().to_owned();
    std::fs::write(
        dir.join("test.rhai"),
        "fn on_inbound(ix) { route(ix, #{ }) ",
    )
    .unwrap();
    wait_until("a refused reload in /metrics", || async {
        let page = world.metrics_page().await?;
        page.contains("switchboard_workflow_reload_refused_total 1")
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_reloads_under_steady_load_lose_and_duplicate_nothing() {
    let world =
        world_with("fn on_inbound(ix) { route(ix, #{ workgroup: \"Social\", priority: 0 }); }")
            .await;
    let app = world.host.as_ref().unwrap().app.clone();
    let dir = app.workflows.dir().to_owned();
    let sender = {
        let http = world.http.clone();
        let emulator = world.emulator_addr;
        tokio::spawn(async move {
            for i in 0..300 {
                let url = format!("http://{emulator}/_emulator/facebook/comments");
                let post: Value = http
                    .post(&url)
                    .json(&json!({ "page_id": "1001",
                    "author_name": "Acme Outfitters", "author_id": "1001", "text": "post" }))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let post = post["post_id"].as_str().unwrap().to_owned();
                let res = http
                    .post(&url)
                    .json(&json!({ "page_id": "1001", "post_id": post,
                    "parent_id": post, "author_name": "Load", "text": format!("message {i}") }))
                    .send()
                    .await
                    .unwrap();
                assert!(res.status().is_success());
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    for n in 1..=100 {
        let before = app.workflows.current().number;
        std::fs::write(
            dir.join("test.rhai"),
            format!(
                "fn on_inbound(ix) {{ route(ix, #{{ workgroup: \"Social\", priority: {n} }}); }}"
            ),
        )
        .unwrap();
        wait_until("the reload", || async {
            (app.workflows.current().number > before).then_some(())
        })
        .await;
    }
    sender.await.unwrap();
    world
        .wait_count(
            "SELECT count(*) FROM messages WHERE direction = 'inbound'",
            300,
        )
        .await;
    world
        .wait_count("SELECT count(*) FROM interactions", 300)
        .await;
    assert_eq!(
        world
            .count("SELECT count(*) FROM messages WHERE direction = 'inbound' AND interaction_id IS NULL")
            .await,
        0,
        "every message is in an interaction"
    );
    assert_eq!(
        world
            .count("SELECT count(*) FROM (SELECT interaction_id FROM messages WHERE direction = 'inbound' GROUP BY interaction_id HAVING count(*) > 1) AS repeated")
            .await,
        0,
        "no interaction got a second message"
    );
    assert!(
        world
            .count("SELECT count(DISTINCT priority) FROM interactions")
            .await
            > 1,
        "the load ran across several versions"
    );
}

/// A save that would fail only when a message runs it (a wrong number of arguments, a
/// misspelt initiator or option, a skill expression that does not parse, a channel's
/// script deleted) is refused at hot reload with `file:line:col`; the running version
/// keeps routing, and the administrator sees the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_reload_refuses_what_would_fail_at_run_time() {
    let world = World::start(|_| {}).await;
    let app = world.host.as_ref().unwrap().app.clone();
    let dir = app.workflows.dir().to_owned();
    let good = std::fs::read_to_string(dir.join("default.rhai")).unwrap();
    let admin = world.login("admin").await;
    let cases = [
        (
            "fn on_inbound(ix) {\n    set_attr(ix, \"tier\");\n    route(ix);\n}\n",
            "default.rhai:2:5: `set_attr` is called with 2 argument(s)",
        ),
        (
            "fn on_inbound(ix) {\n    route(ix, #{ priorty: 5 });\n}\n",
            "default.rhai:2:5: `route` has no option `priorty`; did you mean `priority`?",
        ),
        (
            "fn on_inbound(ix) { route(ix); }\nfn on_agent_replay(ix, reply) { }\n",
            "did you mean `on_agent_reply`?",
        ),
        (
            "fn on_inbound(ix) {\n    route(ix, #{ skills: \"vip >> 1\" });\n}\n",
            "default.rhai:2:5: skills `vip >> 1` is not a skill expression",
        ),
        // The channel's handler misspelt: it could not take new messages.
        (
            "fn on_inbond(ix) {\n    route(ix);\n}\n",
            "did you mean `on_inbound`?",
        ),
        // The demo config's schedule is `support`.
        (
            "fn on_inbound(ix) {\n    if is_open(\"suport\") { route(ix); }\n}\n",
            "default.rhai:2:8: no schedule named `suport`; did you mean `support`?",
        ),
    ];
    for (n, (body, expected)) in cases.iter().enumerate() {
        std::fs::write(dir.join("default.rhai"), body).unwrap();
        let status = wait_until("the reload refused", || async {
            let status = admin.ok("GET", "/workflows", None).await;
            (status["refused_reloads"].as_u64() == Some(n as u64 + 1)).then_some(status)
        })
        .await;
        let error = status["last_error"]["error"].as_str().unwrap_or_default();
        assert!(error.contains(expected), "{error}\nexpected: {expected}");
        assert_eq!(status["version"], 1, "the running version stays");
    }
    // The channel's script deleted (another script still there): refused too.
    std::fs::write(dir.join("spare.rhai"), &good).unwrap();
    std::fs::remove_file(dir.join("default.rhai")).unwrap();
    let status = wait_until("the deletion refused", || async {
        let status = admin.ok("GET", "/workflows", None).await;
        let error = status["last_error"]["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        error
            .contains("runs `default.rhai`, which is not in the workflow folder")
            .then_some(status)
    })
    .await;
    assert_eq!(status["version"], 1);
    // Version 1 still routes every message.
    world
        .post_and_comment("Ann", "while the folder is broken")
        .await;
    world
        .wait_count(
            "SELECT count(*) FROM interactions WHERE state = 'queued' AND workflow_version = 1",
            1,
        )
        .await;
    // Put back, it loads.
    std::fs::write(dir.join("default.rhai"), &good).unwrap();
    wait_until("version 2 loaded", || async {
        (app.workflows.current().number == 2).then_some(())
    })
    .await;
}

const VIP: &str = r#"
fn on_inbound(ix) {
    let live = find_active(#{ post_id: ix.post_id });
    if live != () {
        merge_into(live, ix);
        if ix.text.contains("VIP") { route(ix, #{ priority: 50 }); }
        return;
    }
    route(ix, #{ workgroup: "Social" });
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vip_comment_merged_into_a_waiting_post_raises_its_priority_in_the_queue() {
    let world = World::start(|config| {
        std::fs::write(config.server.workflows_dir.join("test.rhai"), VIP).unwrap();
        config.channels[0].workflow = "test.rhai".into();
        crate::harness::one_at_a_time(config);
    })
    .await;
    // Nobody is available: two posts wait, the older first.
    let (first, _) = world.post_and_comment("Ann Lee", "my order is late").await;
    let (second, _) = world.post_and_comment("Bo Chen", "mine too").await;
    world
        .wait_count(
            "SELECT count(*) FROM interactions WHERE state = 'queued'",
            2,
        )
        .await;
    let id_of_post = |post: String| {
        let world = &world;
        async move {
            scalar(
                world,
                format!("SELECT id FROM interactions WHERE thread_id = '{post}'"),
            )
            .await
        }
    };
    let (older, newer) = (id_of_post(first).await, id_of_post(second.clone()).await);
    world
        .customer_says(
            json!({ "page_id": "1001", "post_id": second, "parent_id": second,
            "author_name": "Vera Important", "text": "VIP here, same problem" }),
        )
        .await;
    world
        .wait_count(
            "SELECT count(*) FROM interactions WHERE priority = 50 AND state = 'queued'",
            1,
        )
        .await;
    let supervisor = world.login("super").await;
    let trace = supervisor
        .ok("GET", &format!("/interactions/{newer}/trace"), None)
        .await;
    let raised = trace["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "reprioritized")
        .unwrap_or_else(|| panic!("no reprioritized event: {trace:#}"));
    assert_eq!(raised["detail"], "priority 0 → 50 by a merged message");
    // The router follows: the first agent in is offered the raised one, not the older.
    wait_until("the requeue job done", || async {
        (scalar(
            &world,
            "SELECT count(*) FROM jobs WHERE kind = 'requeue'".into(),
        )
        .await
            == 0)
            .then_some(())
    })
    .await;
    let agent1 = world.login("agent1").await;
    agent1.available().await;
    let offered = agent1.wait_for_state("alerting").await;
    assert_eq!(offered["id"], newer, "offered first: the raised one");
    assert_ne!(offered["id"], older);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administrators_read_each_versions_scripts_and_what_changed() {
    let world = crate::harness::World::start(|_| {}).await;
    let admin = world.login("admin").await;
    let before = admin.ok("GET", "/workflows/versions", None).await;
    let first = before[0]["version"].as_i64().unwrap();
    assert!(
        before[0]["scripts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "default.rhai")
    );
    crate::harness::extend_default_workflow(&world, "\n// a comment added for the test\n").await;
    let after = admin.ok("GET", "/workflows/versions", None).await;
    assert_eq!(after[0]["version"], first + 1, "newest first: {after}");
    assert_eq!(after[0]["changed"], serde_json::json!(["default.rhai"]));
    let now = admin
        .ok(
            "GET",
            &format!("/workflows/versions/{}/scripts/default.rhai", first + 1),
            None,
        )
        .await;
    assert!(
        now["text"]
            .as_str()
            .unwrap()
            .ends_with("// a comment added for the test\n")
    );
    let then = admin
        .ok(
            "GET",
            &format!("/workflows/versions/{first}/scripts/default.rhai"),
            None,
        )
        .await;
    assert!(
        !then["text"]
            .as_str()
            .unwrap()
            .contains("a comment added for the test")
    );
    let (status, e) = admin
        .call(
            "GET",
            &format!("/workflows/versions/{first}/scripts/nothing.rhai"),
            None,
        )
        .await;
    assert_eq!(status, 404, "{e}");
    let agent = world.login("agent1").await;
    let (status, _) = agent.call("GET", "/workflows/versions", None).await;
    assert_eq!(status, 403);
}
