//! Follow-up work survives what can happen after a commit: a client that hangs up while
//! the commit is slow, a host that stops right after it, a workflow handler that fails.
//! Also: two actions on one interaction racing never undo each other.

use std::time::Duration;

use hmac::{KeyInit, Mac};
use serde_json::{Value, json};

use crate::harness::{World, extend_default_workflow, wait_until};

/// A page webhook with one new comment, signed as the demo app.
pub(crate) fn signed_comment(n: usize) -> (String, String) {
    let body = json!({"object":"page","entry":[{"id":"1001","time":1742667607,"changes":[{"field":"feed","value":{
        "from":{"id": format!("70{n}"),"name": format!("Impatient {n}")},"message": format!("hello {n}"),
        "post_id": format!("1001_50{n}"),"comment_id": format!("50{n}_1"),
        "parent_id": format!("1001_50{n}"),"created_time":1742667604,"item":"comment","verb":"add"}}]}]})
    .to_string();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"demo-app-secret").unwrap();
    mac.update(body.as_bytes());
    let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    (body, signature)
}

/// Waiting interactions per workgroup, as the router counts them.
async fn waiting(agent: &crate::harness::Agent) -> i64 {
    let queues = agent.ok("GET", "/queues", None).await;
    queues
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["waiting"].as_i64().unwrap())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_whose_client_gave_up_during_a_slow_commit_are_still_routed() {
    if crate::harness::sqlite_only("a commit held back by SQLite's file lock") {
        return;
    }
    let world = World::start(|_| {}).await;
    let agent = world.login("agent1").await;
    let supervisor = world.login("super").await;
    agent.available().await;
    let db = world.host.as_ref().unwrap().app.config.database_path();

    // Another process holds the database: commits wait for it.
    let locker = rusqlite::Connection::open(&db).unwrap();
    locker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let impatient = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    const N: usize = 6;
    for n in 0..N {
        let (body, signature) = signed_comment(n);
        let sent = impatient
            .post(format!("{}/webhooks/facebook", world.base))
            .header("content-type", "application/json")
            .header("x-hub-signature-256", signature)
            .body(body)
            .send()
            .await;
        assert!(sent.is_err(), "the client gives up before the commit");
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    locker.execute_batch("ROLLBACK").unwrap();
    drop(locker);

    // Every stored comment is routed: offered to the agent or waiting in the queue.
    world
        .wait_count(
            "SELECT count(*) FROM messages WHERE text LIKE 'hello %'",
            N as i64,
        )
        .await;
    let stored = world.count("SELECT count(*) FROM interactions").await;
    assert!(stored >= 1);
    wait_until("every stored interaction routed", || async {
        let offered = agent.interactions().await.len() as i64;
        let queued = waiting(&supervisor).await;
        (offered >= 1 && offered + queued == stored).then_some(())
    })
    .await;
    world.wait_count("SELECT count(*) FROM jobs", 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_disconnect_runs_after_a_stop_right_after_the_disconnect() {
    let mut world = World::start(|_| {}).await;
    extend_default_workflow(
        &world,
        "\nfn on_disconnect(ix) {\n    set_attr(ix, \"farewell\", \"sent\");\n}\n",
    )
    .await;
    let app = world.host.as_ref().unwrap().app.clone();
    let agent = world.login("agent1").await;
    agent.available().await;
    world.post_and_comment("Ann", "bye soon").await;
    let id = agent.wait_for_state("alerting").await["id"]
        .as_i64()
        .unwrap();
    agent
        .ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;
    agent
        .ok("POST", &format!("/interactions/{id}/disconnect"), None)
        .await;
    let farewell = || async {
        let d = agent.ok("GET", &format!("/interactions/{id}"), None).await;
        (d["attributes"]["farewell"] == "sent").then_some(d)
    };
    wait_until("on_disconnect ran", farewell).await;

    // As if the host stopped right after committing the disconnect: the hook's job is
    // recorded, its effect not yet there. A new host on the same data carries it out.
    let config = app.config.clone();
    drop(app);
    world.host.take().unwrap().shutdown().await;
    {
        // Straight into the store, on whichever engine the run uses.
        let store =
            switchboard::store::Store::open_url(&config.store_url().unwrap(), &Default::default())
                .unwrap();
        store
            .write(move |db| {
                db.execute(
                    "UPDATE interactions SET attributes = '{}' WHERE id = ?1",
                    [id],
                )?;
                db.execute(
                    "INSERT INTO jobs (kind, interaction_id, due_at, created_at) VALUES ('on_disconnect', ?1, 0, 0)",
                    [id],
                )
            })
            .await
            .unwrap();
        store.close();
    }
    let host = switchboard::server::start(config)
        .await
        .expect("host restarts");
    world.base = format!("http://{}", host.addr);
    world.host = Some(host);
    let agent = world.login("agent1").await;
    wait_until("on_disconnect ran after the restart", || async {
        let d = agent.ok("GET", &format!("/interactions/{id}"), None).await;
        (d["attributes"]["farewell"] == "sent").then_some(())
    })
    .await;
    world.wait_count("SELECT count(*) FROM jobs", 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_on_timer_is_tried_again_then_kept_as_failed() {
    let world = World::start(|_| {}).await;
    extend_default_workflow(
        &world,
        "\nfn on_timer(ix, name) {\n    throw \"the CRM is down\";\n}\n",
    )
    .await;
    world.post_and_comment("Ann", "timer please").await;
    world
        .wait_count("SELECT count(*) FROM interactions", 1)
        .await;
    let id: i64 = 1;
    world
        .host
        .as_ref()
        .unwrap()
        .app
        .store
        .write(move |c| {
            c.execute(
                "INSERT INTO workflow_timers (interaction_id, kind, name, due_at) VALUES (?1, 'script', 'crm', 0)",
                [id],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    // It fails, and stays, with its error, to be tried again (not deleted).
    world
        .wait_count(
            "SELECT count(*) FROM workflow_timers WHERE attempts = 1 AND last_error LIKE '%CRM is down%' AND failed_at IS NULL",
            1,
        )
        .await;
    world
        .wait_count("SELECT count(*) FROM workflow_timers WHERE attempts = 2", 1)
        .await;
    // On its last try it is kept as failed, and fires no more.
    world
        .host
        .as_ref()
        .unwrap()
        .app
        .store
        .write(|c| {
            c.execute("UPDATE workflow_timers SET attempts = 4, due_at = 0", ())?;
            Ok(())
        })
        .await
        .unwrap();
    world
        .wait_count(
            "SELECT count(*) FROM workflow_timers WHERE attempts = 5 AND failed_at IS NOT NULL",
            1,
        )
        .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        world.count("SELECT attempts FROM workflow_timers").await,
        5,
        "a failed timer fires no more"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disconnect_racing_a_transfer_never_brings_a_finished_interaction_back() {
    let world = World::start(|c| {
        for g in &mut c.workgroups {
            let mut t = switchboard::routing::UtilizationTable::default();
            t.by_type.insert(
                "social_conversation".into(),
                switchboard::routing::Utilization {
                    percent: 10,
                    max: 20,
                },
            );
            g.utilization = t;
        }
    })
    .await;
    let a1 = world.login("agent1").await;
    a1.available().await;
    let rounds: usize = std::env::var("RACE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    for n in 0..rounds {
        world.post_and_comment(&format!("Racer {n}"), "quick").await;
        let offer = wait_until("an offer", || async {
            a1.interactions()
                .await
                .into_iter()
                .find(|ix| ix["state"] == "alerting")
        })
        .await;
        let id = offer["id"].as_i64().unwrap();
        a1.ok("POST", &format!("/interactions/{id}/pickup"), None)
            .await;
        let (dpath, tpath) = (
            format!("/interactions/{id}/disconnect"),
            format!("/interactions/{id}/transfer"),
        );
        let disconnect = a1.call("POST", &dpath, None);
        let transfer = a1.call("POST", &tpath, Some(json!({"to_workgroup": "Billing"})));
        let ((ds, dbody), (ts, tbody)) = tokio::join!(disconnect, transfer);
        let won: Vec<bool> = vec![(200..300).contains(&ds), (200..300).contains(&ts)];
        assert_eq!(
            won.iter().filter(|w| **w).count(),
            1,
            "exactly one wins: disconnect {ds} {dbody}, transfer {ts} {tbody}"
        );
        let stored: Value = a1.call("GET", &format!("/interactions/{id}"), None).await.1;
        if (200..300).contains(&ds) {
            // Finished: it stays finished, in no queue and with no agent.
            tokio::time::sleep(Duration::from_millis(20)).await;
            let router = &world.host.as_ref().unwrap().app.interactions;
            assert!(
                !router.router().knows(id),
                "round {n}: a finished interaction is back in routing: {stored}"
            );
            assert_eq!(stored["state"], "disconnected", "round {n}");
        }
    }
}
