//! `switchboard-bench ingest`: Facebook comment webhooks through the whole ingest path,
//! against direct inserts of the same rows, once per durability setting
//! (`synchronous=NORMAL`, the old default, and `FULL`, the new one) in the same process so
//! the two can be compared side by side.
//!
//! With a baseline build ([`crate::baseline`]), its own `bench ingest` runs in the same
//! rounds, interleaved, and the full path is shown as a ratio against it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use switchboard::clock::now_ms;
use switchboard::model::event::InboundMessage;
use switchboard::model::interaction::{MediaType, Visibility};
use switchboard::model::route::RouteRequest;
use switchboard::store::{Store, Synchronous};

use crate::baseline::{Baseline, BaselineArgs};

/// Figures of one run of the ingest benchmark, with one durability setting.
pub struct IngestRun {
    /// `PRAGMA synchronous` of the run.
    pub synchronous: Synchronous,
    /// Full path: HTTP -> plugin -> workflow -> stored, queued interaction.
    pub path_per_sec: f64,
    /// Direct inserts of the same rows with the ingest queries (dedupe and thread lookups).
    pub ceiling_per_sec: f64,
    /// Plain prepared INSERTs of the same rows, no lookups: what SQLite itself allows.
    pub raw_per_sec: f64,
    /// The same client and concurrency against `/healthz`: what HTTP alone costs here.
    pub http_floor_per_sec: f64,
    /// Group commits made during the full path's measured part.
    pub commits: u64,
    /// Their mean time (COMMIT with its fsync), in seconds.
    pub commit_mean_s: f64,
}

/// Flags of `switchboard-bench ingest`.
#[derive(clap::Args, Debug)]
pub(crate) struct IngestArgs {
    /// Webhooks to send.
    #[arg(long, default_value_t = 20_000)]
    count: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Where the built plugins are.
    #[arg(long, default_value = "target/plugins/dist")]
    plugins_dir: PathBuf,
    /// Where the workflows are.
    #[arg(long, default_value = "workflows")]
    workflows_dir: PathBuf,
    /// Durability settings to run, one after the other: `both` (NORMAL, then FULL,
    /// shown side by side with their ratio), `normal` or `full`.
    #[arg(long, default_value = "both")]
    synchronous: String,
    /// Runs of each setting, interleaved; the median is shown.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    #[command(flatten)]
    baseline: BaselineArgs,
}

/// Runs the benchmark as asked and prints its figures.
pub(crate) async fn run(args: IngestArgs) -> Result<()> {
    let settings = match args.synchronous.as_str() {
        "both" => vec![Synchronous::Normal, Synchronous::Full],
        one => vec![one.parse::<Synchronous>()?],
    };
    let baseline = args.baseline.baseline()?;
    let report = ingest(&args, &settings, baseline.as_ref()).await?;
    println!("{report}");
    Ok(())
}

/// Runs the baseline build's own `bench ingest` (its default durability, the old
/// design) and reads its full-path figure.
async fn baseline_full_path(baseline: &Baseline, count: usize, concurrency: usize) -> Result<f64> {
    let args = [
        "ingest".to_string(),
        "--count".into(),
        count.to_string(),
        "--concurrency".into(),
        concurrency.to_string(),
    ];
    let report = baseline.bench(&args).await?;
    full_path_of(&report)
        .with_context(|| format!("no full-path figure in the baseline's report:\n{report}"))
}

/// The messages per second on a report's "full path (HTTP ..." line: the first number
/// after the label (reports of every version so far put it there).
fn full_path_of(report: &str) -> Option<f64> {
    let line = report
        .lines()
        .find(|l| l.trim_start().starts_with("full path (HTTP"))?;
    let (_, after) = line.split_once(')')?;
    after
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .find(|t| !t.is_empty())?
        .parse()
        .ok()
}

/// Figures of the ingest benchmark: one run per durability setting, in the same process.
pub struct IngestReport {
    /// Messages per run.
    pub count: usize,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// The runs, in the order they ran.
    pub runs: Vec<IngestRun>,
    /// The baseline build's full path in each round, msg/s.
    pub baseline: Vec<f64>,
}

impl IngestReport {
    /// Per setting, in the order first run: the run whose full path was the median one.
    fn medians(&self) -> Vec<&IngestRun> {
        let mut settings: Vec<Synchronous> = Vec::new();
        for run in &self.runs {
            if !settings.contains(&run.synchronous) {
                settings.push(run.synchronous);
            }
        }
        settings
            .into_iter()
            .map(|setting| {
                let mut of: Vec<&IngestRun> = self
                    .runs
                    .iter()
                    .filter(|r| r.synchronous == setting)
                    .collect();
                of.sort_by(|a, b| a.path_per_sec.total_cmp(&b.path_per_sec));
                of[of.len() / 2]
            })
            .collect()
    }
}

impl std::fmt::Display for IngestReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "ingest benchmark: {} Facebook comment webhooks per run, {} in flight",
            self.count, self.concurrency
        )?;
        let summary = self.medians();
        let names: Vec<String> = summary
            .iter()
            .map(|r| format!("synchronous={:?}", r.synchronous).to_uppercase())
            .collect();
        write!(f, "  {:<52}", "")?;
        for name in &names {
            write!(f, "{name:>20}")?;
        }
        writeln!(f)?;
        let mut row = |label: &str, unit: &str, value: &dyn Fn(&IngestRun) -> f64| {
            write!(f, "  {label:<52}")?;
            for run in &summary {
                write!(f, "{:>14.0} {unit:<5}", value(run))?;
            }
            writeln!(f)
        };
        row(
            "full path (HTTP -> plugin -> workflow -> SQLite)",
            "msg/s",
            &|r| r.path_per_sec,
        )?;
        row("same rows inserted directly, same queries", "msg/s", &|r| {
            r.ceiling_per_sec
        })?;
        row(
            "same rows as plain prepared INSERTs (ceiling)",
            "msg/s",
            &|r| r.raw_per_sec,
        )?;
        row("HTTP alone (same client, GET /healthz)", "req/s", &|r| {
            r.http_floor_per_sec
        })?;
        row("group commits in the full path", "", &|r| r.commits as f64)?;
        write!(f, "  {:<52}", "messages per group commit (mean)")?;
        for run in &summary {
            let per = self.count as f64 / run.commits.max(1) as f64;
            write!(f, "{per:>14.1} {:<5}", "")?;
        }
        writeln!(f)?;
        write!(f, "  {:<52}", "time of one COMMIT with its sync (mean)")?;
        for run in &summary {
            write!(f, "{:>14.2} {:<5}", run.commit_mean_s * 1e3, "ms")?;
        }
        writeln!(f)?;
        for run in &summary {
            writeln!(
                f,
                "  {}: full path / direct queries {:.1} %, full path / plain INSERTs {:.1} % (goal: 25 % or better)",
                format!("synchronous={:?}", run.synchronous).to_uppercase(),
                100.0 * run.path_per_sec / run.ceiling_per_sec,
                100.0 * run.path_per_sec / run.raw_per_sec,
            )?;
        }
        let full = summary.iter().find(|r| r.synchronous == Synchronous::Full);
        let normal = summary
            .iter()
            .find(|r| r.synchronous == Synchronous::Normal);
        let rounds = self.runs.len() / summary.len().max(1);
        if rounds > 1 {
            for run in &summary {
                let each: Vec<String> = self
                    .runs
                    .iter()
                    .filter(|r| r.synchronous == run.synchronous)
                    .map(|r| format!("{:.0}", r.path_per_sec))
                    .collect();
                writeln!(
                    f,
                    "  {} full path in each of {rounds} rounds (msg/s; the table shows the median): {}",
                    format!("synchronous={:?}", run.synchronous).to_uppercase(),
                    each.join(", ")
                )?;
            }
        }
        if !self.baseline.is_empty() {
            let mut each = self.baseline.clone();
            each.sort_by(f64::total_cmp);
            let median = each[each.len() / 2];
            writeln!(
                f,
                "  baseline build, full path in each round (msg/s): {} (median {median:.0})",
                self.baseline
                    .iter()
                    .map(|v| format!("{v:.0}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
            writeln!(
                f,
                "  this build / baseline, full path, of the medians (the goal is 0.80 or better):"
            )?;
            for run in &summary {
                writeln!(
                    f,
                    "    {}: {:.2}",
                    format!("synchronous={:?}", run.synchronous).to_uppercase(),
                    run.path_per_sec / median
                )?;
            }
        }
        if let (Some(full), Some(normal)) = (full, normal) {
            writeln!(
                f,
                "  FULL / NORMAL of the medians (1.00 = no cost; the goal is 0.80 or better):"
            )?;
            writeln!(
                f,
                "    full path {:.2}, direct queries {:.2}, plain INSERTs {:.2}",
                full.path_per_sec / normal.path_per_sec,
                full.ceiling_per_sec / normal.ceiling_per_sec,
                full.raw_per_sec / normal.raw_per_sec,
            )?;
        }
        Ok(())
    }
}

pub(crate) fn body(i: usize) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "object": "page",
        "entry": [{
            "id": switchboard::demo::PAGE_ID,
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

pub(crate) fn sign(body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(switchboard::demo::APP_SECRET.as_bytes()).expect("key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Runs the benchmark once per setting in `settings`, in that order (after the baseline,
/// if any), `rounds` times, in this process.
async fn ingest(
    args: &IngestArgs,
    settings: &[Synchronous],
    baseline: Option<&Baseline>,
) -> Result<IngestReport> {
    let mut runs = Vec::new();
    let mut baseline_runs = Vec::new();
    // Interleaved (baseline, NORMAL, FULL, baseline, ...) so a machine busy with something
    // else for a while weighs on every contender alike.
    for round in 0..args.rounds.max(1) {
        if let Some(baseline) = baseline {
            eprintln!("round {}: baseline", round + 1);
            baseline_runs.push(
                baseline_full_path(baseline, args.count, args.concurrency)
                    .await
                    .context("the baseline's run")?,
            );
        }
        for &synchronous in settings {
            eprintln!("round {}: synchronous={synchronous:?}", round + 1);
            runs.push(
                ingest_once(
                    args.count,
                    args.concurrency,
                    args.plugins_dir.clone(),
                    args.workflows_dir.clone(),
                    synchronous,
                )
                .await
                .with_context(|| format!("the run with synchronous={synchronous:?}"))?,
            );
        }
    }
    Ok(IngestReport {
        count: args.count,
        concurrency: args.concurrency,
        runs,
        baseline: baseline_runs,
    })
}

async fn ingest_once(
    count: usize,
    concurrency: usize,
    plugins_dir: PathBuf,
    workflows_dir: PathBuf,
    synchronous: Synchronous,
) -> Result<IngestRun> {
    let dir = std::env::temp_dir().join(format!(
        "switchboard-bench-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let mut config = switchboard::demo::config(
        "127.0.0.1:0".parse()?,
        "127.0.0.1:9".parse()?,
        dir.join("path"),
    )?;
    config.server.plugins_dir = plugins_dir;
    config.server.workflows_dir = workflows_dir;
    config.server.database.synchronous = synchronous;
    // The plain script, as the builds it is compared with ran (the demo now runs the
    // sample business processes).
    for ch in &mut config.channels {
        ch.workflow = "default.rhai".into();
    }
    let running = switchboard::server::start(config)
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
    send_all(
        &client,
        std::slice::from_ref(&url),
        warm.to_vec(),
        concurrency.min(16),
    )
    .await?;
    let metrics = format!("http://{}/metrics", running.addr);
    let (commits_before, commit_s_before) = store_commits(&client, &metrics).await?;
    let started = Instant::now();
    send_all(
        &client,
        std::slice::from_ref(&url),
        measured.to_vec(),
        concurrency,
    )
    .await?;
    let elapsed = started.elapsed();
    let (commits_after, commit_s_after) = store_commits(&client, &metrics).await?;
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
    // Routing is follow-up work done after the commit: wait for it before counting.
    let deadline = Instant::now() + Duration::from_secs(60);
    let stored = loop {
        let stored: i64 = running
            .app
            .store
            .read(|c| {
                c.query_row(
                    "SELECT count(*) FROM interactions WHERE state = 'queued'",
                    (),
                    |r| r.get(0),
                )
            })
            .await?;
        if stored as usize == count + 200 || Instant::now() > deadline {
            break stored;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    ensure!(
        stored as usize == count + 200,
        "expected {} queued interactions, found {stored}",
        count + 200
    );
    running.shutdown().await;

    let ceiling = direct_inserts(&dir.join("ceiling.db"), count, synchronous)?;
    let raw = raw_inserts(&dir.join("raw.db"), count, synchronous)?;
    let _ = std::fs::remove_dir_all(&dir);
    let commits = commits_after - commits_before;
    Ok(IngestRun {
        synchronous,
        path_per_sec: count as f64 / elapsed.as_secs_f64(),
        ceiling_per_sec: count as f64 / ceiling.as_secs_f64(),
        raw_per_sec: count as f64 / raw.as_secs_f64(),
        http_floor_per_sec: count as f64 / http_floor.as_secs_f64(),
        commits,
        commit_mean_s: (commit_s_after - commit_s_before) / commits.max(1) as f64,
    })
}

/// Group commits so far and the seconds they took in all, read off the host's metrics
/// page as a scraper would (the commit histogram's count and sum).
async fn store_commits(client: &reqwest::Client, url: &str) -> Result<(u64, f64)> {
    let page = client
        .get(url)
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    let value = |name: &str| -> Result<f64> {
        page.lines()
            .find_map(|line| {
                let (key, value) = line.split_once(' ')?;
                (key == name).then(|| value.trim().parse::<f64>().ok())?
            })
            .with_context(|| format!("{name} is not on the metrics page"))
    };
    Ok((
        value("switchboard_store_commit_seconds_count")? as u64,
        value("switchboard_store_commit_seconds_sum")?,
    ))
}

/// Sends signed webhooks, `concurrency` at once; worker `w` sends to `urls[w % len]`
/// (several hosts take them in turn).
pub(crate) async fn send_all(
    client: &reqwest::Client,
    urls: &[String],
    requests: Vec<(Vec<u8>, String)>,
    concurrency: usize,
) -> Result<()> {
    let queue = Arc::new(std::sync::Mutex::new(requests.into_iter()));
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let (client, url, queue) = (client.clone(), urls[w % urls.len()].clone(), queue.clone());
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

fn bench_connection(
    path: &std::path::Path,
    synchronous: Synchronous,
) -> Result<rusqlite::Connection> {
    let store = Store::open(path)?;
    store.close();
    let conn = rusqlite::Connection::open(path)?;
    // As the host's store keeps them (its queries would otherwise be parsed again).
    conn.set_prepared_statement_cache_capacity(256);
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(
        None,
        "synchronous",
        match synchronous {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        },
    )?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// The same rows (message, interaction, history) inserted straight into SQLite with the
/// same queries and settings, 1000 per transaction.
fn direct_inserts(
    path: &std::path::Path,
    count: usize,
    synchronous: Synchronous,
) -> Result<Duration> {
    // The store's operations on the bench's own connection, one transaction per 1000.
    let conn = switchboard::store::Tx::from_sqlite(bench_connection(path, synchronous)?);
    let route = RouteRequest {
        workgroup: "Social".into(),
        priority: 0,
        media_type: MediaType::SocialConversation,
        skills: None,
        preferred_agent: None,
        wait_ms: 0,
    };
    let plan = switchboard::model::plan::Plan::fallback(route);
    let started = Instant::now();
    for chunk in (0..count).collect::<Vec<_>>().chunks(1000) {
        conn.execute_batch("BEGIN")?;
        let tx = &conn;
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
            switchboard::interactions::effects::store_inbound(
                tx,
                "facebook",
                &msg,
                Some(&plan),
                1,
                now_ms(),
                &mut outbox,
            )?;
        }
        conn.execute_batch("COMMIT")?;
    }
    Ok(started.elapsed())
}

/// The same three rows per message as plain prepared INSERTs, 1000 messages per
/// transaction, same schema (indexes and constraints included) and settings.
fn raw_inserts(path: &std::path::Path, count: usize, synchronous: Synchronous) -> Result<Duration> {
    let mut conn = bench_connection(path, synchronous)?;
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

#[cfg(test)]
mod tests {
    #[test]
    fn the_full_path_figure_is_read_from_old_and_new_reports() {
        let old = "ingest benchmark: 20000 Facebook comment webhooks, 64 in flight\n  full path (HTTP -> plugin -> workflow -> SQLite):     11763 msg/s\n";
        assert_eq!(super::full_path_of(old), Some(11763.0));
        let new = "  full path (HTTP -> plugin -> workflow -> SQLite)              7180 msg/s            4950 msg/s\n";
        assert_eq!(super::full_path_of(new), Some(7180.0));
        assert_eq!(super::full_path_of("nothing here"), None);
    }
}
