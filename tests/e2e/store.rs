//! The store on either engine, as an operator moves an install: `switchboard store
//! migrate` copies a stopped host's data into an empty store of the other engine, a host
//! started on the copy carries on with the same conversations, and new rows take new ids.

use std::process::Command;

use serde_json::json;
use switchboard::store::scratch::ScratchPostgres;
use switchboard::store::{OptionalExtension, StoreUrl};

use crate::harness::{World, wait_until};

/// Rows per table of the store at `url`.
async fn counts(url: &StoreUrl) -> Vec<(String, i64)> {
    let store =
        switchboard::store::Store::open_url(url, &Default::default()).expect("the store opens");
    let counts = store
        .read(|c| {
            switchboard::store::copy::TABLES
                .iter()
                .map(|t| {
                    let n: i64 =
                        c.query_row(&format!("SELECT count(*) FROM {t}"), (), |r| r.get(0))?;
                    Ok((t.to_string(), n))
                })
                .collect()
        })
        .await
        .unwrap();
    store.close();
    counts
}

fn migrate(from: &str, to: &str) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["store", "migrate", "--from", from, "--to", to])
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_install_moves_to_the_other_engine_and_carries_on_where_it_stopped() {
    let mut world = World::start(|_| {}).await;
    let agent = world.login("agent1").await;
    agent.available().await;
    let (_, _) = world.post_and_comment("Ann Lee", "is this in stock?").await;
    let offered = agent.wait_for_state("alerting").await;
    let first = offered["id"].as_i64().unwrap();
    agent
        .ok("POST", &format!("/interactions/{first}/pickup"), None)
        .await;
    let sent = agent
        .ok(
            "POST",
            &format!("/interactions/{first}/reply"),
            Some(json!({ "text": "Yes, in every size.", "visibility": "public" })),
        )
        .await;
    assert_eq!(sent["state"], "sent", "{sent}");
    world.post_and_comment("Bo Diaz", "and in blue?").await;
    world
        .wait_count("SELECT count(*) FROM interactions", 2)
        .await;

    // The host stops; its store moves to the other engine.
    let source_url = world.host.as_ref().unwrap().app.config.store_url().unwrap();
    world.host.take().unwrap().shutdown().await;
    let mut _pg = None;
    let dir = tempfile::tempdir().unwrap();
    let destination = match &source_url {
        StoreUrl::Sqlite(_) => {
            let pg = ScratchPostgres::create().unwrap();
            let url = pg.url().to_owned();
            _pg = Some(pg);
            url
        }
        StoreUrl::Postgres(_) => format!("sqlite://{}", dir.path().join("moved.db").display()),
    };
    let source = source_url.display();
    let (ok, out) = migrate(&source, &destination);
    assert!(ok, "{out}");
    assert!(out.contains("every table's count matches"), "{out}");
    let before = counts(&source_url).await;
    let after = counts(&StoreUrl::parse(&destination).unwrap()).await;
    assert_eq!(before, after, "every row copied");
    assert!(
        before.iter().any(|(t, n)| t == "messages" && *n >= 3),
        "{before:?}"
    );
    assert!(
        before.iter().any(|(t, n)| t == "outbound" && *n == 1),
        "{before:?}"
    );

    // Into a store that holds data already: refused, nothing touched.
    let (ok, out) = migrate(&source, &destination);
    assert!(!ok, "{out}");
    assert!(out.contains("already holds data"), "{out}");
    assert_eq!(counts(&StoreUrl::parse(&destination).unwrap()).await, after);

    // A host on the copy: the agent still has the conversation and its reply, and a new
    // conversation gets a new id and is routed.
    let mut config = world.config(|_| {});
    config.store.url = Some(destination.clone());
    let host = switchboard::server::start(config)
        .await
        .expect("a host starts on the copy");
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
        .expect("the webhook follows the host to its new address");
    let agent = world.login("agent1").await;
    let detail = agent
        .ok("GET", &format!("/interactions/{first}"), None)
        .await;
    let replies = detail["outbound"].as_array().unwrap();
    assert!(
        replies.iter().any(|r| r["text"] == "Yes, in every size."),
        "{detail}"
    );
    agent.available().await;
    world
        .post_and_comment("Cy Park", "do you ship abroad?")
        .await;
    let store = world.host.as_ref().unwrap().app.store.clone();
    let newest: i64 = wait_until("the new conversation is stored", || {
        let store = store.clone();
        async move {
            store
                .read(|c| {
                    c.query_row(
                        "SELECT id FROM interactions WHERE customer_name = ?1",
                        ["Cy Park"],
                        |r| r.get(0),
                    )
                    .optional()
                })
                .await
                .unwrap()
        }
    })
    .await;
    assert_eq!(newest, first + 2, "the next id after the copied ones");
    // And it is routed: queued for the agent, who is at capacity with the copied two.
    let supervisor = world.login("super").await;
    let queued = wait_until("the new conversation is queued", || async {
        let d = supervisor.ok("GET", "/queues", None).await;
        let waiting: i64 = d
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["waiting"].as_i64().unwrap_or(0))
            .sum();
        (waiting == 1).then_some(waiting)
    })
    .await;
    assert_eq!(queued, 1);
    world.host.take().unwrap().shutdown().await;
}

/// `switchboard backup` while webhooks keep arriving: the copy is the store as of one
/// commit, so every message acknowledged before the backup began is in it, and a store
/// restored from it opens and holds them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_load_holds_every_message_acknowledged_before_it() {
    if crate::harness::sqlite_only(
        "switchboard backup copies a SQLite store (pg_dump does PostgreSQL's)",
    ) {
        return;
    }
    let world = World::start(|_| {}).await;
    let url = format!("{}/webhooks/facebook", world.base);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut senders = Vec::new();
    for sender in 0..4usize {
        let (http, url, stop) = (http.clone(), url.clone(), stop.clone());
        senders.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            let mut n = sender;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let (body, signature) = crate::durable::signed_comment(1000 + n);
                let res = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("x-hub-signature-256", signature)
                    .body(body)
                    .send()
                    .await;
                if res.is_ok_and(|r| r.status() == 200) {
                    acked.push((format!("50{}_1", 1000 + n), std::time::Instant::now()));
                }
                n += 4;
            }
            acked
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("backup.db");
    let data = world._dir.path().join("data");
    let began = std::time::Instant::now();
    let out = {
        let (copy, data) = (copy.clone(), data.clone());
        tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_switchboard"))
                .args(["backup", "--to"])
                .arg(&copy)
                .arg("--data-dir")
                .arg(&data)
                .env("RUST_LOG", "off")
                .output()
                .unwrap()
        })
        .await
        .unwrap()
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut acked = Vec::new();
    for s in senders {
        acked.extend(s.await.unwrap());
    }
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.starts_with("backed up "), "{said}");
    let before: Vec<&String> = acked
        .iter()
        .filter(|(_, at)| *at < began)
        .map(|(id, _)| id)
        .collect();
    let during = acked.len() - before.len();
    assert!(
        before.len() >= 20 && during > 0,
        "load before ({}) and during ({during}) the backup",
        before.len()
    );

    // Restored: a store opened on the copy holds every one of them.
    let restored = dir.path().join("restored");
    std::fs::create_dir_all(&restored).unwrap();
    std::fs::copy(&copy, restored.join("switchboard.db")).unwrap();
    let store = switchboard::store::Store::open(&restored.join("switchboard.db")).unwrap();
    let kept: std::collections::HashSet<String> = store
        .read(|c| {
            c.prepare("SELECT platform_message_id FROM messages WHERE channel = 'facebook'")?
                .query_map((), |r| r.get(0))?
                .collect()
        })
        .await
        .unwrap();
    store.close();
    let missing: Vec<&&String> = before.iter().filter(|id| !kept.contains(**id)).collect();
    assert!(
        missing.is_empty(),
        "acknowledged before the backup but not in it: {missing:?}"
    );
    println!(
        "backup: {} messages acknowledged before it, all kept; {during} during it",
        before.len()
    );
    let error = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["backup", "--to"])
        .arg(&copy)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert!(!error.status.success());
    assert!(
        String::from_utf8_lossy(&error.stderr).contains("never overwrites"),
        "an existing file is left alone"
    );
}
