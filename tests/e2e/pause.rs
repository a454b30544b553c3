//! Pausing and resuming a channel: while paused, what the platform sends (through the
//! emulator's webhooks) is stored once and held, nobody is offered it and no interaction
//! is made; the pause survives a restart; a resume routes everything held in arrival
//! order, each message once, also when the host stops in the middle of it. Replies in
//! interactions routed before the pause still go out. Only administrators pause; the
//! channel views, the audit log and the metrics show it. Run on both stores.

use serde_json::{Value, json};

use crate::durable::signed_comment;
use crate::harness::{Agent, World, wait_until};

/// The channel's view, as the admin screen reads it.
async fn channel(admin: &Agent, name: &str) -> Value {
    admin.ok("GET", &format!("/channels/{name}"), None).await
}

/// Waits until the channel's view says `waiting` messages wait.
async fn wait_waiting(admin: &Agent, name: &str, waiting: i64) -> Value {
    wait_until(&format!("{waiting} waiting on {name}"), || async {
        let c = channel(admin, name).await;
        (c["waiting"] == waiting).then_some(c)
    })
    .await
}

/// The customers' comment texts of every interaction, oldest interaction first.
async fn routed_texts(world: &World, prefix: &'static str) -> Vec<String> {
    let store = world.host.as_ref().unwrap().app.store.clone();
    store
        .read(move |c| {
            let mut stmt = c.prepare(
                "SELECT m.text FROM messages m JOIN interactions i ON i.id = m.interaction_id
                 WHERE m.text LIKE ?1 ORDER BY i.id, m.id",
            )?;
            let rows = stmt.query_map([format!("{prefix}%")], |r| r.get::<_, String>(0))?;
            rows.collect()
        })
        .await
        .unwrap()
}

/// Stops the host and starts it on the same data (a new port), the emulator's webhooks
/// pointed at it again.
async fn restart(world: &mut World) {
    world.host.take().unwrap().shutdown().await;
    let host = switchboard::server::start(world.config(|_| {}))
        .await
        .expect("host restarts");
    world.base = format!("http://{}", host.addr);
    world.host = Some(host);
    world
        .emulator
        .subscribe_facebook(
            "1001",
            &format!("{}/webhooks/facebook", world.base),
            "demo-verify",
        )
        .await
        .expect("webhook subscription handshake");
}

/// Delivers a signed page webhook straight to the host (as a platform's redelivery).
async fn deliver(world: &World, n: usize) -> u16 {
    let (body, signature) = signed_comment(n);
    world
        .http
        .post(format!("{}/webhooks/facebook", world.base))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The customer comments `text` under the page's post `post` through the emulator, and
/// the host holds it: `waiting` become waiting.
async fn comment_held(world: &World, admin: &Agent, post: &str, text: &str, waiting: i64) {
    world
        .customer_says(
            json!({ "page_id": "1001", "post_id": post, "parent_id": post,
            "author_name": format!("Customer {waiting}"), "text": text }),
        )
        .await;
    wait_waiting(admin, "facebook", waiting).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_channel_stores_everything_and_routes_it_in_order_once_resumed_after_a_restart() {
    let mut world = World::start(|_| {}).await;
    let admin = world.login("admin").await;
    let agent = world.login("agent1").await;
    agent.available().await;

    // Before the pause: a conversation the agent picks up.
    let (post, _) = world.post_and_comment("Ann", "before the pause").await;
    let first = agent.wait_for_state("alerting").await["id"]
        .as_i64()
        .unwrap();
    agent
        .ok("POST", &format!("/interactions/{first}/pickup"), None)
        .await;

    let paused = admin.ok("POST", "/channels/facebook/pause", None).await;
    assert_eq!(
        (&paused["paused"], &paused["paused_by"], &paused["waiting"]),
        (&json!(true), &json!("admin"), &json!(0)),
        "{paused}"
    );
    let at = paused["paused_at"].as_i64().expect("paused_at");
    let again = admin.ok("POST", "/channels/facebook/pause", None).await;
    assert_eq!(again["paused_at"], at, "pausing again changes nothing");
    let listed = admin.ok("GET", "/channels", None).await;
    let fb = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "facebook")
        .unwrap();
    assert_eq!(fb["paused"], true, "the list shows it too");
    let x = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "x")
        .unwrap();
    assert_eq!(
        (&x["paused"], &x["paused_at"], &x["waiting"]),
        (&json!(false), &Value::Null, &json!(0))
    );

    // The agent still replies in the conversation routed before the pause.
    let sent = agent
        .ok(
            "POST",
            &format!("/interactions/{first}/reply"),
            Some(json!({ "text": "We are on it.", "visibility": "public" })),
        )
        .await;
    assert_eq!(sent["state"], "sent", "{sent}");

    // Customers write: stored and held, each once, nobody offered anything.
    comment_held(&world, &admin, &post, "paused 1", 1).await;
    comment_held(&world, &admin, &post, "paused 2", 2).await;
    assert_eq!(deliver(&world, 7).await, 200);
    assert_eq!(
        deliver(&world, 7).await,
        200,
        "a redelivery is answered as usual"
    );
    wait_waiting(&admin, "facebook", 3).await;
    comment_held(&world, &admin, &post, "paused 3", 4).await;
    assert_eq!(
        world
            .count("SELECT count(*) FROM held_events WHERE kind = 'message'")
            .await,
        4,
        "the redelivery is held once"
    );
    assert_eq!(
        world
            .count("SELECT count(*) FROM messages WHERE text LIKE 'paused %' OR text = 'hello 7'")
            .await,
        0,
        "not routed: no message joined or made an interaction"
    );
    assert_eq!(
        world.count("SELECT count(*) FROM interactions").await,
        1,
        "only the conversation from before"
    );
    let mine = agent.interactions().await;
    assert_eq!(mine.len(), 1, "nothing new is offered: {mine:?}");
    let page = world.metrics_page().await.unwrap();
    assert!(
        page.lines()
            .any(|l| l == "switchboard_channel_waiting{channel=\"facebook\"} 4"),
        "the waiting gauge: {}",
        page.lines()
            .filter(|l| l.contains("channel_waiting"))
            .collect::<Vec<_>>()
            .join("\n")
    );

    // A restart keeps the pause and what it held; what arrives after it is held too.
    restart(&mut world).await;
    let admin = world.login("admin").await;
    let agent = world.login("agent1").await;
    let kept = channel(&admin, "facebook").await;
    assert_eq!(
        (&kept["paused"], &kept["paused_at"], &kept["waiting"]),
        (&json!(true), &json!(at), &json!(4)),
        "{kept}"
    );
    comment_held(&world, &admin, &post, "paused 4", 5).await;
    assert_eq!(world.count("SELECT count(*) FROM interactions").await, 1);

    // Resume: everything held routed, in arrival order, each message once.
    let resumed = admin.ok("POST", "/channels/facebook/resume", None).await;
    assert_eq!(resumed["paused"], false, "{resumed}");
    wait_waiting(&admin, "facebook", 0).await;
    let again = admin.ok("POST", "/channels/facebook/resume", None).await;
    assert_eq!(
        (&again["paused"], &again["waiting"]),
        (&json!(false), &json!(0))
    );
    world
        .wait_count("SELECT count(*) FROM held_events", 0)
        .await;
    world
        .wait_count("SELECT count(*) FROM channel_pauses", 0)
        .await;
    let texts = routed_texts(&world, "paused ").await;
    assert_eq!(
        texts,
        ["paused 1", "paused 2", "paused 3", "paused 4"],
        "in arrival order, once each"
    );
    assert_eq!(
        world
            .count("SELECT count(*) FROM messages WHERE text = 'hello 7'")
            .await,
        1
    );
    // The comments joined the thread's live conversation, or made new interactions;
    // either way each routed interaction has one `created` event.
    let interactions = world.count("SELECT count(*) FROM interactions").await;
    assert_eq!(
        world
            .count("SELECT count(*) FROM interaction_events WHERE kind = 'created'")
            .await,
        interactions
    );
    world.wait_count("SELECT count(*) FROM jobs", 0).await;
    agent.available().await;
    wait_until("the new conversations offered or queued", || async {
        let offered = agent.interactions().await.len() as i64;
        let queues = admin.ok("GET", "/queues", None).await;
        let queued: i64 = queues
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["waiting"].as_i64().unwrap())
            .sum();
        (offered + queued == interactions).then_some(())
    })
    .await;

    // Resumed: a new comment is routed at once, not held.
    world
        .customer_says(
            json!({ "page_id": "1001", "post_id": post, "parent_id": post,
            "author_name": "Late", "text": "after the resume" }),
        )
        .await;
    world
        .wait_count(
            "SELECT count(*) FROM messages WHERE text = 'after the resume' AND interaction_id IS NOT NULL",
            1,
        )
        .await;
    assert_eq!(world.count("SELECT count(*) FROM held_events").await, 0);

    // Both actions are in the audit log, as the administrator's.
    world
        .wait_count(
            "SELECT count(*) FROM audit_log WHERE actor = 'admin' AND target LIKE '%/channels/facebook/pause'",
            2,
        )
        .await;
    world
        .wait_count(
            "SELECT count(*) FROM audit_log WHERE actor = 'admin' AND target LIKE '%/channels/facebook/resume'",
            2,
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_cut_short_by_a_stop_routes_the_rest_after_the_restart_each_once() {
    let mut world = World::start(|_| {}).await;
    let admin = world.login("admin").await;
    admin.ok("POST", "/channels/facebook/pause", None).await;
    const N: usize = 250; // more than one batch of the drain
    for n in 0..N {
        assert_eq!(deliver(&world, 1000 + n).await, 200);
    }
    wait_waiting(&admin, "facebook", N as i64).await;

    // The resume is taken, and the host stops at once: part, all or none of it routed.
    admin.ok("POST", "/channels/facebook/resume", None).await;
    restart(&mut world).await;
    let admin = world.login("admin").await;
    wait_waiting(&admin, "facebook", 0).await;
    world
        .wait_count("SELECT count(*) FROM channel_pauses", 0)
        .await;
    assert_eq!(
        world
            .count("SELECT count(*) FROM messages WHERE text LIKE 'hello %'")
            .await,
        N as i64,
        "every held message stored once"
    );
    assert_eq!(
        world
            .count(
                "SELECT count(DISTINCT platform_message_id) FROM messages WHERE text LIKE 'hello %'"
            )
            .await,
        N as i64
    );
    assert_eq!(
        world.count("SELECT count(*) FROM interactions").await,
        N as i64,
        "each comment is a conversation of its own"
    );
    // In arrival order: each comment's interaction comes after the one before.
    let texts = routed_texts(&world, "hello ").await;
    let expected: Vec<String> = (0..N).map(|n| format!("hello {}", 1000 + n)).collect();
    assert_eq!(texts, expected);
    world.wait_count("SELECT count(*) FROM jobs", 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_administrators_pause_and_a_channel_holding_messages_is_not_deleted() {
    let world = World::start(|_| {}).await;
    let admin = world.login("admin").await;
    for user in ["agent1", "super"] {
        let someone = world.login(user).await;
        for action in ["pause", "resume"] {
            let (status, answer) = someone
                .call("POST", &format!("/channels/facebook/{action}"), None)
                .await;
            assert_eq!(status, 403, "{user} {action}: {answer}");
        }
    }
    let (status, answer) = admin.call("POST", "/channels/nope/pause", None).await;
    assert_eq!(status, 404, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("nope"),
        "{answer}"
    );
    let (status, _) = admin.call("POST", "/channels/nope/resume", None).await;
    assert_eq!(status, 404);
    assert_eq!(channel(&admin, "facebook").await["paused"], false);

    // An administrator's channel, paused and sent to: replaced, it stays paused; it is
    // not deleted while it holds a message, and is once that message is routed.
    let emulator = format!("http://{}", world.emulator_addr);
    let mut body = json!({
        "name": "fb-two", "plugin": "facebook", "workgroup": "Social",
        "allowed_hosts": [emulator],
        "settings": { "page_id": "1001", "graph_base_url": format!("{emulator}/v19.0") },
        "secrets": { "app_secret": "demo-app-secret", "verify_token": "demo-verify",
                     "access_token": "demo-page-token" },
    });
    admin.ok("POST", "/channels", Some(body.clone())).await;
    admin.ok("POST", "/channels/fb-two/pause", None).await;
    let (webhook, signature) = signed_comment(42);
    let status = world
        .http
        .post(format!("{}/webhooks/fb-two", world.base))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(webhook)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    wait_waiting(&admin, "fb-two", 1).await;
    body["poll_interval_ms"] = json!(4000);
    admin.ok("PUT", "/channels/fb-two", Some(body)).await;
    let kept = channel(&admin, "fb-two").await;
    assert_eq!(
        (&kept["paused"], &kept["waiting"]),
        (&json!(true), &json!(1))
    );
    let (status, answer) = admin.call("DELETE", "/channels/fb-two", None).await;
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("resume it"),
        "{answer}"
    );
    admin.ok("POST", "/channels/fb-two/resume", None).await;
    wait_waiting(&admin, "fb-two", 0).await;
    world
        .wait_count("SELECT count(*) FROM channel_pauses", 0)
        .await;
    let (status, answer) = admin.call("DELETE", "/channels/fb-two", None).await;
    assert_eq!(status, 204, "{answer}");
    assert_eq!(
        world
            .count("SELECT count(*) FROM messages WHERE text = 'hello 42'")
            .await,
        1
    );
}

/// Two hosts on one PostgreSQL store: a pause made on one holds what the other receives,
/// and a resume made on that other routes it all once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_cluster_a_pause_made_on_one_host_holds_what_another_receives() {
    crate::harness::log_errors();
    let _share = crate::harness::share().await;
    let pg = switchboard::store::scratch::ScratchPostgres::create().unwrap();
    let (_emulator, emulator_addr) = crate::harness::start_emulator().await;
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let mut hosts = Vec::new();
    for (n, dir) in dirs.iter().enumerate() {
        let mut config = crate::harness::config(dir.path(), emulator_addr, |_| {});
        config.store.url = Some(pg.url().to_owned());
        config.cluster.host_id = Some(format!("host-{n}"));
        hosts.push(
            switchboard::server::start(config)
                .await
                .expect("host starts"),
        );
    }
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let call = |n: usize, method: &'static str, path: String| {
        let (http, base) = (http.clone(), format!("http://{}", hosts[n].addr));
        async move {
            let token: Value = http
                .post(format!("{base}/api/v1/login"))
                .json(&json!({ "username": "admin", "password": "demo" }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let res = http
                .request(method.parse().unwrap(), format!("{base}/api/v1{path}"))
                .bearer_auth(token["token"].as_str().unwrap())
                .send()
                .await
                .unwrap();
            assert!(
                res.status().is_success(),
                "{method} {path}: {}",
                res.status()
            );
            res.json::<Value>().await.unwrap()
        }
    };
    let waiting = |n: usize| {
        let call = &call;
        async move { call(n, "GET", "/channels/facebook".into()).await["waiting"].as_i64() }
    };
    call(0, "POST", "/channels/facebook/pause".into()).await;
    // The other host holds at once, whatever it has read of the pause yet.
    const N: usize = 5;
    for n in 0..N {
        let (body, signature) = signed_comment(3000 + n);
        let status = http
            .post(format!("http://{}/webhooks/facebook", hosts[1].addr))
            .header("content-type", "application/json")
            .header("x-hub-signature-256", signature)
            .body(body)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
    }
    assert_eq!(waiting(1).await, Some(N as i64));
    assert_eq!(waiting(0).await, Some(N as i64));
    let store = hosts[0].app.store.clone();
    let count = |sql: &'static str| {
        let store = store.clone();
        async move {
            store
                .read(move |c| Ok(c.query_row(sql, (), |r| r.get::<_, i64>(0))?))
                .await
                .unwrap()
        }
    };
    assert_eq!(count("SELECT count(*) FROM interactions").await, 0);
    assert_eq!(
        call(1, "GET", "/channels/facebook".into()).await["paused"],
        true,
        "the other host shows the pause"
    );

    call(1, "POST", "/channels/facebook/resume".into()).await;
    wait_until("everything routed", || async {
        (waiting(0).await == Some(0)
            && count("SELECT count(*) FROM interactions").await == N as i64)
            .then_some(())
    })
    .await;
    wait_until("the resume finished", || async {
        (count("SELECT count(*) FROM channel_pauses").await == 0).then_some(())
    })
    .await;
    assert_eq!(
        count("SELECT count(*) FROM messages WHERE text LIKE 'hello 3%'").await,
        N as i64,
        "each once"
    );
    for host in hosts {
        host.shutdown().await;
    }
    drop(pg);
}
