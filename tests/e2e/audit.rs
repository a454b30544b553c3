//! The audit log: sign-ins, failed sign-ins and every administration change, with who,
//! when, from where and how it was answered, readable by administrators only and never
//! holding a secret value.

use serde_json::{Value, json};

use crate::harness::World;

fn entries(log: &Value) -> Vec<Value> {
    log.as_array().expect("a list").clone()
}

fn find<'a>(log: &'a [Value], what: impl Fn(&Value) -> bool, why: &str) -> &'a Value {
    log.iter()
        .find(|e| what(e))
        .unwrap_or_else(|| panic!("{why}: not in {log:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ins_and_every_administration_change_are_recorded_without_secrets() {
    let world = World::start(|_| {}).await;
    let started = switchboard::clock::now_ms();
    let admin = world.login("admin").await;
    for (user, password) in [("agent1", "wrong-password"), ("nobody", "whatever")] {
        let res = world
            .http
            .post(format!("{}/api/v1/login", world.base))
            .json(&json!({ "username": user, "password": password }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
    let created = admin
        .ok(
            "POST",
            "/users",
            Some(json!({ "username": "dana", "password": "hunter2-secret", "rights": ["agent"] })),
        )
        .await;
    let dana = created["id"].as_i64().unwrap();
    admin
        .ok(
            "PUT",
            &format!("/users/{dana}"),
            Some(json!({ "display_name": "Dana D.", "password": "another-secret-9" })),
        )
        .await;
    let agent = world.login("agent1").await;
    let (status, _) = agent.call("DELETE", &format!("/users/{dana}"), None).await;
    assert_eq!(status, 403);
    // An agent's own work is not administration: not in this log.
    agent
        .ok("PUT", "/me/status", Some(json!({ "status": "available" })))
        .await;

    let (status, _) = agent.call("GET", "/audit", None).await;
    assert_eq!(status, 403, "only administrators read the log");
    let answer = admin.ok("GET", "/audit", None).await;
    let text = answer.to_string();
    for secret in [
        "hunter2-secret",
        "another-secret-9",
        "wrong-password",
        "whatever",
    ] {
        assert!(
            !text.contains(secret),
            "{secret} is in the audit log: {text}"
        );
    }
    let log = entries(&answer);
    assert!(
        log.windows(2)
            .all(|w| w[0]["id"].as_i64() > w[1]["id"].as_i64()),
        "newest first"
    );
    for e in &log {
        assert!(e["at"].as_i64().unwrap() >= started, "{e}");
        assert_eq!(e["client"], "127.0.0.1", "{e}");
    }
    let admin_id = find(
        &log,
        |e| e["action"] == "sign_in" && e["actor"] == "admin",
        "admin's sign-in",
    )["actor_id"]
        .as_i64()
        .unwrap();
    let failed = find(
        &log,
        |e| e["action"] == "sign_in_failed" && e["actor"] == "agent1",
        "agent1's failed sign-in",
    );
    assert!(
        failed["actor_id"].is_i64(),
        "a known name keeps its user: {failed}"
    );
    let unknown = find(
        &log,
        |e| e["action"] == "sign_in_failed" && e["actor"] == "nobody",
        "the unknown name's failed sign-in",
    );
    assert!(unknown["actor_id"].is_null(), "{unknown}");
    let create = find(
        &log,
        |e| e["action"] == "POST" && e["target"] == "/api/v1/users",
        "the new user",
    );
    assert_eq!(create["actor_id"], admin_id);
    assert_eq!(create["detail"]["username"], "dana", "{create}");
    assert_eq!(create["detail"]["password"], "(changed)", "{create}");
    assert!(
        (200..300).contains(&create["status"].as_i64().unwrap()),
        "{create}"
    );
    let update = find(
        &log,
        |e| e["action"] == "PUT" && e["target"] == format!("/api/v1/users/{dana}").as_str(),
        "the change of dana",
    );
    assert_eq!(update["detail"]["display_name"], "Dana D.", "{update}");
    let refused = find(
        &log,
        |e| e["action"] == "DELETE" && e["actor"] == "agent1",
        "agent1's refused delete",
    );
    assert_eq!(refused["status"], 403, "{refused}");
    assert!(
        log.iter()
            .all(|e| !e["target"].as_str().unwrap_or("").starts_with("/api/v1/me")),
        "agents' own work is not recorded here"
    );

    // Filters and pages.
    let by_agent = entries(&admin.ok("GET", "/audit?actor=agent1", None).await);
    assert!(!by_agent.is_empty() && by_agent.iter().all(|e| e["actor"] == "agent1"));
    let first = entries(&admin.ok("GET", "/audit?limit=2", None).await);
    assert_eq!(first.len(), 2);
    let next = entries(
        &admin
            .ok(
                "GET",
                &format!("/audit?limit=2&before_id={}", first[1]["id"]),
                None,
            )
            .await,
    );
    assert_eq!(
        next[0]["id"], log[2]["id"],
        "the next page goes on where the first ended"
    );
    let (status, bad) = admin.call("GET", "/audit?limit=0", None).await;
    assert_eq!(status, 400, "{bad}");
    assert!(bad["error"].as_str().unwrap().contains("limit"));
}
