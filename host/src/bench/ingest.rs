//! `switchboard bench ingest`: Facebook comment webhooks through the whole ingest path,
//! against direct inserts of the same rows.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::ingest::event::InboundMessage;
use crate::interactions::model::{MediaType, Visibility};
use crate::routing::decision::RouteRequest;
use crate::store::{Store, now_ms, queries};

/// Figures of the ingest benchmark.
pub struct IngestReport {
    /// Messages.
    pub count: usize,
    /// Full path: HTTP -> plugin -> workflow -> stored, queued interaction.
    pub path_per_sec: f64,
    /// Direct inserts of the same rows with the ingest queries (dedupe and thread lookups).
    pub ceiling_per_sec: f64,
    /// Plain prepared INSERTs of the same rows, no lookups: what SQLite itself allows.
    pub raw_per_sec: f64,
    /// The same client and concurrency against `/healthz`: what HTTP alone costs here.
    pub http_floor_per_sec: f64,
}

impl std::fmt::Display for IngestReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pct = |rate: f64| 100.0 * self.path_per_sec / rate;
        writeln!(
            f,
            "ingest benchmark: {} Facebook comment webhooks",
            self.count
        )?;
        writeln!(
            f,
            "  full path (HTTP -> plugin -> workflow -> SQLite): {:>9.0} msg/s",
            self.path_per_sec
        )?;
        writeln!(
            f,
            "  same rows inserted directly, same queries:        {:>9.0} msg/s",
            self.ceiling_per_sec
        )?;
        writeln!(
            f,
            "  same rows as plain prepared INSERTs (ceiling):    {:>9.0} msg/s",
            self.raw_per_sec
        )?;
        writeln!(
            f,
            "  HTTP alone (same client, GET /healthz):           {:>9.0} req/s",
            self.http_floor_per_sec
        )?;
        writeln!(
            f,
            "  full path / direct queries: {:.1} %",
            pct(self.ceiling_per_sec)
        )?;
        write!(
            f,
            "  full path / plain INSERTs:  {:.1} % (goal: 25 % or better)",
            pct(self.raw_per_sec)
        )
    }
}

fn body(i: usize) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "object": "page",
        "entry": [{
            "id": crate::demo::PAGE_ID,
            "time": 1742667607,
            "changes": [{
                "field": "feed",
                "value": {
                    "from": { "id": format!("cust{}", i % 5000), "name": "Bench Customer" },
                    "message": format!("comment number {i}: where is my order? \u{1F4E6}"),
                    "post_id": format!("1001_{i}"),
                    "comment_id": format!("{i}_1"),
                    "parent_id": format!("1001_{i}"),
                    "created_time": 1742667604,
                    "item": "comment",
                    "verb": "add"
                }
            }]
        }]
    }))
    .expect("json")
}

fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(crate::demo::APP_SECRET.as_bytes()).expect("key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub(super) async fn ingest(
    count: usize,
    concurrency: usize,
    plugins_dir: PathBuf,
    workflows_dir: PathBuf,
) -> Result<IngestReport> {
    let dir = std::env::temp_dir().join(format!(
        "switchboard-bench-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let mut config = crate::demo::config(
        "127.0.0.1:0".parse()?,
        "127.0.0.1:9".parse()?,
        dir.join("path"),
    )?;
    config.server.plugins_dir = plugins_dir;
    config.server.workflows_dir = workflows_dir;
    let running = crate::app::start(config)
        .await
        .context("starting the host for the benchmark")?;
    let url = format!("http://{}/webhooks/facebook", running.addr);
    let requests: Vec<(Vec<u8>, String)> = (0..count + 200)
        .map(|i| {
            let b = body(i);
            let s = sign(&b);
            (b, s)
        })
        .collect();
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(concurrency)
        .build()?;
    // Warm up: compile caches, connections.
    let (warm, measured) = requests.split_at(200);
    send_all(&client, &url, warm.to_vec(), concurrency.min(16)).await?;
    let started = Instant::now();
    send_all(&client, &url, measured.to_vec(), concurrency).await?;
    let elapsed = started.elapsed();
    let http_floor = {
        let started = Instant::now();
        let health = format!("http://{}/healthz", running.addr);
        let queue = Arc::new(std::sync::Mutex::new(0..count));
        let mut workers = Vec::new();
        for _ in 0..concurrency {
            let (client, url, queue) = (client.clone(), health.clone(), queue.clone());
            workers.push(tokio::spawn(async move {
                while queue.lock().unwrap().next().is_some() {
                    client.get(&url).send().await?.error_for_status()?;
                }
                Ok::<_, reqwest::Error>(())
            }));
        }
        for w in workers {
            w.await??;
        }
        started.elapsed()
    };
    let stored: i64 = running
        .app
        .store
        .read(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM interactions WHERE state = 'queued'",
                [],
                |r| r.get(0),
            )?)
        })
        .await?;
    ensure!(
        stored as usize == count + 200,
        "expected {} queued interactions, found {stored}",
        count + 200
    );
    running.shutdown().await;

    let ceiling = direct_inserts(&dir.join("ceiling.db"), count)?;
    let raw = raw_inserts(&dir.join("raw.db"), count)?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(IngestReport {
        count,
        path_per_sec: count as f64 / elapsed.as_secs_f64(),
        ceiling_per_sec: count as f64 / ceiling.as_secs_f64(),
        raw_per_sec: count as f64 / raw.as_secs_f64(),
        http_floor_per_sec: count as f64 / http_floor.as_secs_f64(),
    })
}

async fn send_all(
    client: &reqwest::Client,
    url: &str,
    requests: Vec<(Vec<u8>, String)>,
    concurrency: usize,
) -> Result<()> {
    let queue = Arc::new(std::sync::Mutex::new(requests.into_iter()));
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (client, url, queue) = (client.clone(), url.to_owned(), queue.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let next = queue.lock().unwrap().next();
                let Some((body, signature)) = next else {
                    return Ok::<_, anyhow::Error>(());
                };
                let res = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("x-hub-signature-256", signature)
                    .body(body)
                    .send()
                    .await?;
                ensure!(
                    res.status().is_success(),
                    "webhook answered {}",
                    res.status()
                );
            }
        }));
    }
    for w in workers {
        w.await??;
    }
    Ok(())
}

fn bench_connection(path: &std::path::Path) -> Result<rusqlite::Connection> {
    let store = Store::open(path)?;
    store.close();
    let conn = rusqlite::Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// The same rows (message, interaction, history) inserted straight into SQLite with the
/// same queries and settings, 1000 per transaction.
fn direct_inserts(path: &std::path::Path, count: usize) -> Result<Duration> {
    let mut conn = bench_connection(path)?;
    let route = RouteRequest {
        workgroup: "Social".into(),
        priority: 0,
        media_type: MediaType::SocialConversation,
        skills: None,
        preferred_agent: None,
        wait_ms: 0,
    };
    let plan = crate::ingest::plan::Plan::fallback(route);
    let started = Instant::now();
    for chunk in (0..count).collect::<Vec<_>>().chunks(1000) {
        let tx = conn.transaction()?;
        for &i in chunk {
            let msg = InboundMessage {
                platform_message_id: format!("{i}_1"),
                thread_id: format!("1001_{i}"),
                parent_id: Some(format!("1001_{i}")),
                visibility: Visibility::Public,
                author_id: format!("cust{}", i % 5000),
                author_name: "Bench Customer".into(),
                author_handle: None,
                text: format!("comment number {i}: where is my order? \u{1F4E6}"),
                attachments: Vec::new(),
                created_at: 1742667604000,
                language: None,
                from_business: false,
                followers: None,
                metadata: Default::default(),
            };
            let mut outbox = Vec::new();
            queries::ingest_message(&tx, "facebook", &msg, Some(&plan), 1, now_ms(), &mut outbox)?;
        }
        tx.commit()?;
    }
    Ok(started.elapsed())
}

/// The same three rows per message as plain prepared INSERTs, 1000 messages per
/// transaction, same schema (indexes and constraints included) and settings.
fn raw_inserts(path: &std::path::Path, count: usize) -> Result<Duration> {
    let mut conn = bench_connection(path)?;
    let started = Instant::now();
    for chunk in (0..count).collect::<Vec<_>>().chunks(1000) {
        let tx = conn.transaction()?;
        {
            let mut ix = tx.prepare_cached(
                "INSERT INTO interactions (channel, thread_id, media_type, state, workgroup, priority,
                    customer_id, customer_name, workflow_version, created_at, queued_at, updated_at)
                 VALUES ('facebook', ?1, 'social_conversation', 'queued', 'Social', 0, ?2, 'Bench Customer', 1, ?3, ?3, ?3)",
            )?;
            let mut msg = tx.prepare_cached(
                "INSERT INTO messages (channel, platform_message_id, interaction_id, thread_id, parent_id,
                    direction, visibility, author_id, author_name, text, created_at, stored_at)
                 VALUES ('facebook', ?1, ?2, ?3, ?3, 'inbound', 'public', ?4, 'Bench Customer', ?5, ?6, ?6)",
            )?;
            let mut ev = tx.prepare_cached(
                "INSERT INTO interaction_events (interaction_id, at, kind, state) VALUES (?1, ?2, 'created', 'queued')",
            )?;
            for &i in chunk {
                let now = now_ms();
                let thread = format!("1001_{i}");
                let author = format!("cust{}", i % 5000);
                ix.execute(rusqlite::params![thread, author, now])?;
                let id = tx.last_insert_rowid();
                let text = format!("comment number {i}: where is my order? \u{1F4E6}");
                msg.execute(rusqlite::params![
                    format!("{i}_1"),
                    id,
                    thread,
                    author,
                    text,
                    now
                ])?;
                ev.execute(rusqlite::params![id, now])?;
            }
        }
        tx.commit()?;
    }
    Ok(started.elapsed())
}
