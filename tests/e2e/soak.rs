//! The kill -9 soak: webhooks from several senders and an agent's replies while the host
//! is killed with SIGKILL at random moments and restarted, the senders redelivering
//! whatever was not acknowledged, as platforms do. Afterwards every message is stored
//! once, every interaction is routed (offered, taken, or counted waiting by the router),
//! and every reply reached the platform at most once, exactly once when it says `sent`.
//!
//! Size from the environment: `SOAK_WEBHOOKS` (default 2000), `SOAK_SENDERS` (4),
//! `SOAK_KILLS` (5).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use hmac::{KeyInit, Mac};
use serde_json::{Value, json};

use crate::harness::{plugins_dir, start_emulator, wait_until};
use crate::resilience::{HostProcess, free_port, wait_healthy};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Webhook `n`: the customer's comment on its own post (both made at the emulator, so
/// replies under it can land), signed as the demo app.
pub(crate) fn webhook(n: usize, post_id: &str, comment_id: &str) -> (String, String) {
    let body = json!({"object":"page","entry":[{"id":"1001","time":1742667607,"changes":[{"field":"feed","value":{
        "from":{"id": format!("9{n}"),"name": format!("Soak {n}")},"message": format!("soak message {n}"),
        "post_id": post_id,"comment_id": comment_id,
        "parent_id": post_id,"created_time":1742667604,"item":"comment","verb":"add"}}]}]})
    .to_string();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"demo-app-secret").unwrap();
    mac.update(body.as_bytes());
    (
        body,
        format!("sha256={}", hex::encode(mac.finalize().into_bytes())),
    )
}

async fn login(http: &reqwest::Client, base: &str, user: &str) -> String {
    http.post(format!("{base}/api/v1/login"))
        .json(&json!({"username": user, "password": "demo"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn count(db: &std::path::Path, sql: &str) -> i64 {
    let c = rusqlite::Connection::open(db).unwrap();
    c.busy_timeout(Duration::from_secs(10)).unwrap();
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_soak_loses_nothing_doubles_nothing_and_routes_everything() {
    let _alone = crate::harness::alone().await;
    let total = env_or("SOAK_WEBHOOKS", 2000);
    let senders = env_or("SOAK_SENDERS", 4).max(1);
    let kills = env_or("SOAK_KILLS", 5);

    let dir = tempfile::tempdir().unwrap();
    let (emulator, em) = start_emulator().await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let workflows = crate::harness::copy_workflows(dir.path());
    let data = dir.path().join("data");
    let config = format!(
        r#"
[server]
listen = "127.0.0.1:{port}"
data_dir = "{data}"
plugins_dir = "{plugins}"
workflows_dir = "{workflows}"

[[users]]
username = "agent1"
password = "demo"
rights = ["agent", "acd_social_media"]

[[users]]
username = "super"
password = "demo"
rights = ["supervisor"]

[[workgroups]]
name = "Social"
members = ["agent1"]
alert_timeout_ms = 600000
utilization = {{ social_conversation = {{ percent = 4, max = 25 }} }}

[[channels]]
name = "facebook"
plugin = "facebook"
workgroup = "Social"
allowed_hosts = ["http://{em}"]
[channels.settings]
page_id = "1001"
graph_base_url = "http://{em}/v19.0"
[channels.secrets]
app_secret = "demo-app-secret"
verify_token = "demo-verify"
access_token = "demo-page-token"
"#,
        data = data.display(),
        plugins = plugins_dir().display(),
        workflows = workflows.display(),
    );
    let config_path = dir.path().join("switchboard.toml");
    std::fs::write(&config_path, config).unwrap();
    let db = data.join("switchboard.db");
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();

    let mut host = HostProcess::spawn(&config_path);
    wait_healthy(&http, &base).await;
    let token = login(&http, &base, "agent1").await;
    let status = http
        .put(format!("{base}/api/v1/me/status"))
        .bearer_auth(&token)
        .json(&json!({"status": "available"}))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);

    // The posts and comments exist at the emulator (nobody is subscribed to its webhooks:
    // the senders below deliver them, and again after each crash).
    let mut threads = Vec::with_capacity(total);
    for n in 0..total {
        let make = |body: Value| {
            let http = http.clone();
            async move {
                http.post(format!("http://{em}/_emulator/facebook/comments"))
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .json::<Value>()
                    .await
                    .unwrap()
            }
        };
        let post = make(
            json!({"page_id":"1001","author_name":"Acme","author_id":"1001","text":"soak post"}),
        )
        .await;
        let post_id = post["post_id"].as_str().unwrap().to_owned();
        let comment = make(
            json!({"page_id":"1001","post_id":post_id,"parent_id":post_id,
            "author_name":format!("Soak {n}"),"text":format!("soak message {n}")}),
        )
        .await;
        threads.push((post_id, comment["comment_id"].as_str().unwrap().to_owned()));
    }
    let threads = Arc::new(threads);

    // Senders: each webhook is delivered until acknowledged, across crashes.
    let next = Arc::new(AtomicUsize::new(0));
    let deliveries = Arc::new(AtomicUsize::new(0));
    let mut sending = Vec::new();
    for _ in 0..senders {
        let (http, base, next, deliveries, threads) = (
            http.clone(),
            base.clone(),
            next.clone(),
            deliveries.clone(),
            threads.clone(),
        );
        sending.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::SeqCst);
                if n >= total {
                    return;
                }
                let (post_id, comment_id) = &threads[n];
                let (body, signature) = webhook(n, post_id, comment_id);
                loop {
                    deliveries.fetch_add(1, Ordering::Relaxed);
                    let res = http
                        .post(format!("{base}/webhooks/facebook"))
                        .header("content-type", "application/json")
                        .header("x-hub-signature-256", &signature)
                        .body(body.clone())
                        .send()
                        .await;
                    match res {
                        Ok(r) if r.status() == 200 => break,
                        _ => tokio::time::sleep(Duration::from_millis(50)).await,
                    }
                }
            }
        }));
    }

    // The agent: picks up what is offered and replies once to each.
    let done = Arc::new(AtomicBool::new(false));
    let replied: Arc<std::sync::Mutex<HashSet<i64>>> = Default::default();
    let agent = {
        let (http, base, token, done, replied) = (
            http.clone(),
            base.clone(),
            token.clone(),
            done.clone(),
            replied.clone(),
        );
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                let Ok(res) = http
                    .get(format!("{base}/api/v1/me/interactions"))
                    .bearer_auth(&token)
                    .send()
                    .await
                else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                let list: Value = res.json().await.unwrap_or(Value::Null);
                for ix in list.as_array().cloned().unwrap_or_default().iter().take(20) {
                    let id = ix["id"].as_i64().unwrap_or_default();
                    if ix["state"] == "alerting" {
                        let _ = http
                            .post(format!("{base}/api/v1/interactions/{id}/pickup"))
                            .bearer_auth(&token)
                            .send()
                            .await;
                    } else if ix["state"] == "connected" && replied.lock().unwrap().contains(&id) {
                        // Replied before: done with it, room for the next one.
                        let _ = http
                            .post(format!("{base}/api/v1/interactions/{id}/disconnect"))
                            .bearer_auth(&token)
                            .send()
                            .await;
                    } else if ix["state"] == "connected" && replied.lock().unwrap().insert(id) {
                        // Once, whatever the answer: a person does not know a crash
                        // happened; the reply shows sent, failed or unknown in the thread.
                        let _ = http
                            .post(format!("{base}/api/v1/interactions/{id}/reply"))
                            .bearer_auth(&token)
                            .json(&json!({"text": format!("soak reply {id}")}))
                            .send()
                            .await;
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };

    // The killer: SIGKILL at random moments, then a restart.
    for k in 0..kills {
        let wait = 300 + rand::random::<u64>() % 1200;
        tokio::time::sleep(Duration::from_millis(wait)).await;
        host.crash();
        eprintln!("soak: kill {} after {wait} ms", k + 1);
        host = HostProcess::spawn(&config_path);
        wait_healthy(&http, &base).await;
    }
    for s in sending {
        s.await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    done.store(true, Ordering::Relaxed);
    agent.await.unwrap();

    // Every message stored once.
    let stored = count(
        &db,
        "SELECT count(*) FROM messages WHERE direction = 'inbound'",
    );
    let distinct = count(
        &db,
        "SELECT count(DISTINCT platform_message_id) FROM messages WHERE direction = 'inbound'",
    );
    let interactions = count(&db, "SELECT count(*) FROM interactions");
    eprintln!(
        "soak: {total} webhooks ({} deliveries) from {senders} senders, {kills} SIGKILLs: \
         {stored} messages stored, {distinct} distinct, {interactions} interactions",
        deliveries.load(Ordering::Relaxed)
    );
    assert_eq!(stored, total as i64, "every message stored");
    assert_eq!(distinct, total as i64, "and stored once");
    assert_eq!(interactions, total as i64, "one interaction each");

    // Every interaction routed: what the store says is queued, the router counts waiting.
    let sup = login(&http, &base, "super").await;
    let (queued, waiting) = wait_until("the router to count every queued interaction", || async {
        let queued = count(
            &db,
            "SELECT count(*) FROM interactions WHERE state = 'queued'",
        );
        let queues: Value = http
            .get(format!("{base}/api/v1/queues"))
            .bearer_auth(&sup)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        let waiting: i64 = queues
            .as_array()?
            .iter()
            .map(|q| q["waiting"].as_i64().unwrap_or(0))
            .sum();
        let jobs = count(&db, "SELECT count(*) FROM jobs WHERE failed_at IS NULL");
        eprintln!("soak: store queued {queued}, router waiting {waiting}, jobs left {jobs}");
        (queued == waiting && jobs == 0).then_some((queued, waiting))
    })
    .await;
    let offered = count(
        &db,
        "SELECT count(*) FROM interactions WHERE state IN ('alerting', 'connected', 'held')",
    );
    eprintln!("soak: {queued} queued (router: {waiting} waiting), {offered} offered or taken");
    assert_eq!(
        queued
            + offered
            + count(
                &db,
                "SELECT count(*) FROM interactions WHERE state = 'disconnected'"
            ),
        total as i64,
        "no interaction lost between states"
    );

    // Every reply posted at most once; exactly once when it is `sent`.
    wait_until("replies to settle", || async {
        (count(
            &db,
            "SELECT count(*) FROM outbound WHERE state NOT IN ('sent', 'failed', 'unknown')",
        ) == 0)
            .then_some(())
    })
    .await;
    let posted: HashMap<String, usize> =
        emulator
            .outbound()
            .into_iter()
            .fold(HashMap::new(), |mut m, o| {
                if let Some(t) = o.text.filter(|t| t.starts_with("soak reply ")) {
                    *m.entry(t).or_default() += 1;
                }
                m
            });
    let c = rusqlite::Connection::open(&db).unwrap();
    let mut stmt = c
        .prepare("SELECT interaction_id, state, text FROM outbound WHERE text LIKE 'soak reply %'")
        .unwrap();
    let rows: Vec<(i64, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let mut per_interaction: HashMap<i64, usize> = HashMap::new();
    let (mut sent, mut unknown, mut failed) = (0, 0, 0);
    for (id, state, text) in &rows {
        *per_interaction.entry(*id).or_default() += 1;
        let at_platform = posted.get(text).copied().unwrap_or(0);
        assert!(at_platform <= 1, "{text} posted {at_platform} times");
        match state.as_str() {
            "sent" => {
                sent += 1;
                assert_eq!(at_platform, 1, "{text} is sent but not at the platform");
            }
            "unknown" => unknown += 1,
            _ => {
                failed += 1;
                assert_eq!(at_platform, 0, "{text} failed but reached the platform");
            }
        }
    }
    assert!(
        per_interaction.values().all(|n| *n == 1),
        "one outbox entry per reply"
    );
    assert!(
        posted.values().all(|n| *n == 1),
        "no reply doubled at the platform"
    );
    eprintln!(
        "soak: {} replies asked, {} stored: {sent} sent, {unknown} unknown, {failed} failed; {} at the platform",
        replied.lock().unwrap().len(),
        rows.len(),
        posted.len()
    );
    assert!(sent > 0, "replies went out during the soak");
    drop(host);
}
