//! A cluster of real host processes on one PostgreSQL store, under load, with its leader
//! killed (SIGKILL), paused (SIGSTOP) and stopped (SIGTERM), and a polling channel's owner
//! killed.
//!
//! Size from the environment: `FAILOVER_WEBHOOKS` (default 240), `FAILOVER_KILLS` (5).
//! The bounds checked here (a new leader within 5 s of a kill, 1 s of a stop) get some
//! slack for a loaded two-core machine; the figures are printed for the bench notes.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard::store::scratch::ScratchPostgres;
use switchboard::store::{Store, StoreOptions, StoreUrl};

use crate::harness::{plugins_dir, start_emulator, wait_until};
use crate::resilience::{HostProcess, free_port, wait_healthy};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One host of the cluster: its config and, while it runs, its process.
struct Node {
    id: String,
    base: String,
    config: PathBuf,
    logs: PathBuf,
    starts: usize,
    process: Option<HostProcess>,
}

impl Node {
    fn start(&mut self) {
        self.starts += 1;
        let log = self.logs.join(format!("{}.{}.log", self.id, self.starts));
        self.process = Some(HostProcess::spawn_logged(&self.config, "info", &log));
    }

    fn pid(&self) -> u32 {
        self.process.as_ref().expect("running").pid()
    }

    fn signal(&self, signal: &str) {
        let sent = std::process::Command::new("kill")
            .args([signal, &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill {signal} {}", self.id);
    }

    /// Everything this host printed since its last start.
    fn log(&self) -> String {
        let log = self.logs.join(format!("{}.{}.log", self.id, self.starts));
        std::fs::read_to_string(log).unwrap_or_default()
    }
}

/// Hosts on one scratch database, sharing a config but for their id and port.
struct Cluster {
    _pg: ScratchPostgres,
    store: Store,
    _dir: tempfile::TempDir,
    nodes: Vec<Node>,
    http: reqwest::Client,
}

/// The config of host `id`: two agents in one workgroup, each taking two interactions at
/// a time, and the demo page through the emulator (`ingest`: webhook or poll).
fn config_text(dir: &Path, id: &str, port: u16, pg: &str, em: &str, ingest: &str) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:{port}"
data_dir = "{data}"
plugins_dir = "{plugins}"
workflows_dir = "{workflows}"

[store]
url = "{pg}"

[cluster]
host_id = "{id}"

[[users]]
username = "admin"
password = "demo"
rights = ["social_media_admin", "supervisor"]

[[users]]
username = "agent1"
password = "demo"
rights = ["agent", "acd_social_media"]

[[users]]
username = "agent2"
password = "demo"
rights = ["agent", "acd_social_media"]

[[workgroups]]
name = "Social"
members = ["agent1", "agent2"]
alert_timeout_ms = 3000
utilization = {{ social_conversation = {{ percent = 50, max = 2 }} }}

[[channels]]
name = "facebook"
plugin = "facebook"
workgroup = "Social"
ingest = "{ingest}"
poll_interval_ms = 200
allowed_hosts = ["http://{em}"]
[channels.settings]
page_id = "1001"
graph_base_url = "http://{em}/v19.0"
[channels.secrets]
app_secret = "demo-app-secret"
verify_token = "demo-verify"
access_token = "demo-page-token"
"#,
        data = dir.join(format!("data-{id}")).display(),
        plugins = plugins_dir().display(),
        workflows = dir.join("workflows").display(),
    )
}

impl Cluster {
    async fn start(hosts: usize, em: std::net::SocketAddr, ingest: &str) -> Cluster {
        let pg = ScratchPostgres::create().unwrap();
        let store = Store::open_url(
            &StoreUrl::Postgres(pg.url().to_owned()),
            &StoreOptions::default(),
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        crate::harness::copy_workflows(dir.path());
        let logs = dir.path().join("logs");
        std::fs::create_dir_all(&logs).unwrap();
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(15))
            .build()
            .unwrap();
        let mut nodes = Vec::new();
        for n in 0..hosts {
            let id = format!("host-{n}");
            let port = free_port();
            let config = dir.path().join(format!("{id}.toml"));
            let text = config_text(dir.path(), &id, port, pg.url(), &em.to_string(), ingest);
            std::fs::write(&config, text).unwrap();
            let mut node = Node {
                id,
                base: format!("http://127.0.0.1:{port}"),
                config,
                logs: logs.clone(),
                starts: 0,
                process: None,
            };
            node.start();
            wait_healthy(&http, &node.base).await;
            nodes.push(node);
        }
        Cluster {
            _pg: pg,
            store,
            _dir: dir,
            nodes,
            http,
        }
    }

    async fn count(&self, sql: &'static str) -> i64 {
        self.store
            .read(move |c| c.query_row(sql, (), |r| r.get(0)))
            .await
            .unwrap()
    }

    async fn login(&self, node: usize, user: &str) -> String {
        let base = &self.nodes[node].base;
        wait_until(&format!("{user} signs in at {base}"), || async {
            let res = self
                .http
                .post(format!("{base}/api/v1/login"))
                .json(&json!({"username": user, "password": "demo"}))
                .send()
                .await
                .ok()?;
            let body: Value = res.json().await.ok()?;
            body["token"].as_str().map(str::to_owned)
        })
        .await
    }

    /// The leader as host `node` reports it (`None` while it does not answer or knows
    /// no leader).
    async fn leader_seen_by(&self, node: usize, token: &str) -> Option<String> {
        let res = self
            .http
            .get(format!("{}/api/v1/cluster", self.nodes[node].base))
            .bearer_auth(token)
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .ok()?;
        let status: Value = res.json().await.ok()?;
        status["leader"].as_str().map(str::to_owned)
    }

    /// The host every running host agrees leads.
    async fn agreed_leader(&self, token: &str) -> usize {
        wait_until("every host agrees on a leader", || async {
            let mut seen = HashSet::new();
            for (n, node) in self.nodes.iter().enumerate() {
                if node.process.is_some() {
                    seen.insert(self.leader_seen_by(n, token).await?);
                }
            }
            let leader = (seen.len() == 1).then(|| seen.into_iter().next().unwrap())?;
            self.nodes.iter().position(|n| n.id == leader)
        })
        .await
    }

    /// How long until a host other than `old` leads, as the running hosts see it.
    async fn time_to_new_leader(&self, old: usize, since: Instant, token: &str) -> Duration {
        loop {
            for (n, node) in self.nodes.iter().enumerate() {
                if n == old || node.process.is_none() {
                    continue;
                }
                if let Some(leader) = self.leader_seen_by(n, token).await
                    && leader != self.nodes[old].id
                {
                    return since.elapsed();
                }
            }
            assert!(
                since.elapsed() < Duration::from_secs(30),
                "no other host led within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A customer's comment on a post of its own, made at the emulator (so the demo page has
/// them), and the signed webhook that tells of it.
async fn comment_at_emulator(
    http: &reqwest::Client,
    em: std::net::SocketAddr,
    n: usize,
) -> (String, String) {
    let make = |body: Value| async move {
        http.post(format!("http://{em}/_emulator/facebook/comments"))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    let post =
        make(json!({"page_id":"1001","author_name":"Acme","author_id":"1001","text":"a post"}))
            .await;
    let post_id = post["post_id"].as_str().unwrap().to_owned();
    let comment = make(
        json!({"page_id":"1001","post_id":post_id,"parent_id":post_id,
        "author_name":format!("Customer {n}"),"text":format!("cluster message {n}")}),
    )
    .await;
    (post_id, comment["comment_id"].as_str().unwrap().to_owned())
}

/// Reads `user`'s event stream on `base` and records the interaction of every offer.
fn listen_for_offers(
    http: reqwest::Client,
    base: String,
    token: String,
    offers: Arc<Mutex<Vec<i64>>>,
    done: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while !done.load(Ordering::Relaxed) {
            let Ok(mut res) = http
                .get(format!("{base}/api/v1/events"))
                .bearer_auth(&token)
                .timeout(Duration::from_secs(3600))
                .send()
                .await
            else {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            };
            let mut pending = String::new();
            let mut event = String::new();
            while let Ok(Some(chunk)) = res.chunk().await {
                pending.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = pending.find('\n') {
                    let line = pending[..end].trim_end().to_owned();
                    pending.drain(..=end);
                    if let Some(name) = line.strip_prefix("event:") {
                        event = name.trim().to_owned();
                    } else if let Some(data) = line.strip_prefix("data:")
                        && event == "offer"
                        && let Ok(ix) = serde_json::from_str::<Value>(data.trim())
                        && let Some(id) = ix["id"].as_i64()
                    {
                        offers.lock().unwrap().push(id);
                    }
                }
                if done.load(Ordering::Relaxed) {
                    return;
                }
            }
        }
    })
}

/// An agent connected to host `base`: picks up each offer, and ends each conversation it
/// holds (so room comes back and the queue keeps moving).
fn work(
    http: reqwest::Client,
    base: String,
    token: String,
    done: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<()> {
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
            for ix in list.as_array().cloned().unwrap_or_default() {
                let id = ix["id"].as_i64().unwrap_or_default();
                let action = match ix["state"].as_str() {
                    Some("alerting") => "pickup",
                    Some("connected") => "disconnect",
                    _ => continue,
                };
                let _ = http
                    .post(format!("{base}/api/v1/interactions/{id}/{action}"))
                    .bearer_auth(&token)
                    .send()
                    .await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
}

/// Three hosts; webhooks round-robin to all three from concurrent senders, redelivered
/// until acknowledged; agents connected to two different hosts; the leader killed five
/// times and stopped once. A new leader within the bound each time, every message stored
/// once, every interaction routed, no agent ever over capacity, and offers reaching
/// agents on hosts other than the one that took the webhook.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_hosts_lose_nothing_when_the_leader_is_killed_again_and_again() {
    let _alone = crate::harness::alone().await;
    crate::harness::log_errors();
    let total = env_or("FAILOVER_WEBHOOKS", 240);
    let kills = env_or("FAILOVER_KILLS", 5);
    let (_emulator, em) = start_emulator().await;
    let mut cluster = Cluster::start(3, em, "webhook").await;
    let http = cluster.http.clone();
    let admin = cluster.login(0, "admin").await;
    let first = cluster.agreed_leader(&admin).await;
    // The agents sign in on the two hosts that follow.
    let followers: Vec<usize> = (0..3).filter(|n| *n != first).collect();
    let done = Arc::new(AtomicBool::new(false));
    let mut offers = Vec::new();
    let mut agents = Vec::new();
    for (user, &node) in ["agent1", "agent2"].iter().zip(&followers) {
        let token = cluster.login(node, user).await;
        let base = cluster.nodes[node].base.clone();
        let status = http
            .put(format!("{base}/api/v1/me/status"))
            .bearer_auth(&token)
            .json(&json!({"status": "available"}))
            .send()
            .await
            .unwrap();
        assert_eq!(status.status(), 200, "set available through a follower");
        let seen = Arc::new(Mutex::new(Vec::new()));
        agents.push(listen_for_offers(
            http.clone(),
            base.clone(),
            token.clone(),
            seen.clone(),
            done.clone(),
        ));
        agents.push(work(http.clone(), base, token, done.clone()));
        offers.push((node, seen));
    }

    // The customers' comments exist at the emulator; the senders deliver their webhooks.
    let mut threads = Vec::with_capacity(total);
    for n in 0..total {
        threads.push(comment_at_emulator(&http, em, n).await);
    }
    let threads = Arc::new(threads);
    let bases: Arc<Vec<String>> = Arc::new(cluster.nodes.iter().map(|n| n.base.clone()).collect());
    let next = Arc::new(AtomicUsize::new(0));
    // Which host acknowledged each webhook.
    let taken_by: Arc<Mutex<HashMap<String, usize>>> = Default::default();
    let mut sending = Vec::new();
    for s in 0..3 {
        let (http, bases, next, threads, taken_by) = (
            http.clone(),
            bases.clone(),
            next.clone(),
            threads.clone(),
            taken_by.clone(),
        );
        sending.push(tokio::spawn(async move {
            let mut turn = s;
            loop {
                let n = next.fetch_add(1, Ordering::SeqCst);
                if n >= threads.len() {
                    return;
                }
                let (post_id, comment_id) = &threads[n];
                let (body, signature) = crate::soak::webhook(n, post_id, comment_id);
                loop {
                    turn = (turn + 1) % bases.len();
                    let res = http
                        .post(format!("{}/webhooks/facebook", bases[turn]))
                        .header("content-type", "application/json")
                        .header("x-hub-signature-256", &signature)
                        .body(body.clone())
                        .timeout(Duration::from_secs(5))
                        .send()
                        .await;
                    if res.is_ok_and(|r| r.status() == 200) {
                        taken_by.lock().unwrap().insert(comment_id.clone(), turn);
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(30)).await;
                }
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
        }));
    }

    // No agent ever holds more than two at once (50 % each), sampled from the store.
    let most_held = Arc::new(AtomicUsize::new(0));
    let watcher = {
        let (store, done, most_held) = (cluster.store.clone(), done.clone(), most_held.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                let held: i64 = store
                    .read(|c| {
                        c.query_row(
                            "SELECT COALESCE(max(n), 0) FROM (SELECT count(*) AS n FROM interactions
                             WHERE state IN ('alerting', 'connected', 'held')
                             GROUP BY assigned_to) AS per_agent",
                            (),
                            |r| r.get(0),
                        )
                    })
                    .await
                    .expect("reading what each agent holds");
                most_held.fetch_max(held as usize, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };

    // The leader killed, again and again; the last time stopped on purpose.
    let mut took = Vec::new();
    for k in 0..=kills {
        tokio::time::sleep(Duration::from_millis(600 + rand::random::<u64>() % 900)).await;
        let leader = cluster.agreed_leader(&admin).await;
        let graceful = k == kills;
        let since = Instant::now();
        if graceful {
            cluster.nodes[leader].signal("-TERM");
        } else {
            cluster.nodes[leader].process.take().unwrap().crash();
        }
        let after = cluster.time_to_new_leader(leader, since, &admin).await;
        eprintln!(
            "failover: {} of {} took {} ms",
            if graceful { "SIGTERM" } else { "SIGKILL" },
            cluster.nodes[leader].id,
            after.as_millis()
        );
        if graceful {
            assert!(
                after < Duration::from_millis(1_500),
                "a new leader {} ms after SIGTERM",
                after.as_millis()
            );
            let mut stopped = cluster.nodes[leader].process.take().unwrap();
            assert!(
                stopped.wait_for_exit(Duration::from_secs(15)),
                "a clean exit after SIGTERM"
            );
        } else {
            took.push(after);
            assert!(
                after < Duration::from_millis(7_000),
                "a new leader {} ms after kill -9",
                after.as_millis()
            );
        }
        cluster.nodes[leader].start();
        wait_healthy(&http, &cluster.nodes[leader].base).await;
    }
    for s in sending {
        s.await.unwrap();
    }

    // Every message stored once, one interaction each.
    let total = total as i64;
    wait_until("every message stored", || async {
        (cluster
            .count("SELECT count(*) FROM messages WHERE direction = 'inbound'")
            .await
            >= total)
            .then_some(())
    })
    .await;
    let stored = cluster
        .count("SELECT count(*) FROM messages WHERE direction = 'inbound'")
        .await;
    let distinct = cluster
        .count(
            "SELECT count(DISTINCT platform_message_id) FROM messages WHERE direction = 'inbound'",
        )
        .await;
    let interactions = cluster.count("SELECT count(*) FROM interactions").await;
    assert_eq!(
        (stored, distinct, interactions),
        (total, total, total),
        "stored once each"
    );

    // Every interaction routed: the leader's router counts waiting what the store has
    // queued, and no routing job is left.
    let leader = cluster.agreed_leader(&admin).await;
    let (queued, waiting) = wait_until("the router to count every queued interaction", || async {
        let queued = cluster
            .count("SELECT count(*) FROM interactions WHERE state = 'queued'")
            .await;
        let jobs = cluster
            .count("SELECT count(*) FROM jobs WHERE failed_at IS NULL")
            .await;
        let queues: Value = http
            .get(format!(
                "{}/api/v1/queues",
                cluster.nodes[(leader + 1) % 3].base
            ))
            .bearer_auth(&admin)
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
        (queued == waiting && jobs == 0).then_some((queued, waiting))
    })
    .await;
    let unrouted = cluster
        .count("SELECT count(*) FROM interactions WHERE state NOT IN ('queued', 'alerting', 'connected', 'held', 'disconnected')")
        .await;
    done.store(true, Ordering::Relaxed);
    watcher.await.unwrap();
    for a in agents {
        a.abort();
    }

    // Offers reached the agents on the hosts they were connected to, including offers of
    // interactions whose webhook another host took.
    let taken_by = taken_by.lock().unwrap().clone();
    let mut cross_host = 0;
    let mut offered = 0;
    for (node, seen) in &offers {
        let seen = seen.lock().unwrap().clone();
        offered += seen.len();
        for id in seen {
            let comment: String = cluster
                .store
                .read(move |c| {
                    c.query_row(
                        "SELECT platform_message_id FROM messages WHERE interaction_id = ?1
                         AND direction = 'inbound' ORDER BY id LIMIT 1",
                        [id],
                        |r| r.get(0),
                    )
                })
                .await
                .unwrap();
            if taken_by.get(&comment).is_some_and(|host| host != node) {
                cross_host += 1;
            }
        }
    }
    let mut sorted = took.clone();
    sorted.sort();
    eprintln!(
        "failover: {kills} kills, median {} ms, max {} ms; {total} webhooks, {queued} queued \
         ({waiting} waiting in the router), {offered} offers seen by agents, {cross_host} of them \
         for webhooks another host took; most held by one agent: {}",
        sorted.get(sorted.len() / 2).map_or(0, |d| d.as_millis()),
        sorted.last().map_or(0, |d| d.as_millis()),
        most_held.load(Ordering::Relaxed)
    );
    assert_eq!(unrouted, 0, "no interaction outside routing");
    assert!(
        most_held.load(Ordering::Relaxed) <= 2,
        "never over capacity"
    );
    assert!(
        cross_host > 0,
        "an interaction ingested on one host was offered to an agent on another"
    );
    for node in &mut cluster.nodes {
        if let Some(p) = node.process.take() {
            p.crash();
        }
    }
}

/// A polling channel's owner is killed: another host polls it within the lease, and the
/// comments made before, during and after are each stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_polling_channel_moves_to_a_survivor_with_no_gap_and_no_duplicate() {
    let _alone = crate::harness::alone().await;
    crate::harness::log_errors();
    let (_emulator, em) = start_emulator().await;
    let mut cluster = Cluster::start(2, em, "poll").await;
    let http = cluster.http.clone();
    let admin = cluster.login(0, "admin").await;
    let owner_of = |status: &Value| {
        status["hosts"].as_array().and_then(|hosts| {
            hosts
                .iter()
                .find(|h| {
                    h["state"] == "up"
                        && h["channels"]
                            .as_array()
                            .is_some_and(|c| c.iter().any(|c| c == "facebook"))
                })
                .and_then(|h| h["host_id"].as_str().map(str::to_owned))
        })
    };
    let bases: Vec<String> = cluster.nodes.iter().map(|n| n.base.clone()).collect();
    let status_at = |node: usize| {
        let (http, base, admin) = (http.clone(), bases[node].clone(), admin.clone());
        async move {
            http.get(format!("{base}/api/v1/cluster"))
                .bearer_auth(&admin)
                .send()
                .await
                .ok()?
                .json::<Value>()
                .await
                .ok()
        }
    };
    let owner = wait_until("one host owns the channel", || async {
        owner_of(&status_at(0).await?)
    })
    .await;
    let owner = cluster.nodes.iter().position(|n| n.id == owner).unwrap();
    let survivor = 1 - owner;
    let mut made = 0;
    for _ in 0..5 {
        comment_at_emulator(&http, em, made).await;
        made += 1;
    }
    wait_until("the owner polled the first comments", || async {
        (cluster
            .count("SELECT count(*) FROM messages WHERE direction = 'inbound'")
            .await
            == 5)
            .then_some(())
    })
    .await;
    let killed_at = Instant::now();
    cluster.nodes[owner].process.take().unwrap().crash();
    // Comments keep coming while nobody polls.
    for _ in 0..5 {
        comment_at_emulator(&http, em, made).await;
        made += 1;
    }
    let moved = wait_until("the survivor owns the channel", || async {
        let status = status_at(survivor).await?;
        (owner_of(&status)? == cluster.nodes[survivor].id).then(|| killed_at.elapsed())
    })
    .await;
    for _ in 0..5 {
        comment_at_emulator(&http, em, made).await;
        made += 1;
    }
    wait_until("every comment polled", || async {
        (cluster
            .count("SELECT count(*) FROM messages WHERE direction = 'inbound'")
            .await
            >= 15)
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let stored = cluster
        .count("SELECT count(*) FROM messages WHERE direction = 'inbound'")
        .await;
    let distinct = cluster
        .count(
            "SELECT count(DISTINCT platform_message_id) FROM messages WHERE direction = 'inbound'",
        )
        .await;
    eprintln!(
        "failover: the polling channel moved {} ms after its owner was killed",
        moved.as_millis()
    );
    assert_eq!((stored, distinct), (15, 15), "no gap, no duplicate");
    assert!(
        moved < Duration::from_secs(8),
        "moved within the lease: {} ms",
        moved.as_millis()
    );
    for node in &mut cluster.nodes {
        if let Some(p) = node.process.take() {
            p.crash();
        }
    }
}

/// The leader is paused (SIGSTOP) past its lease while an offer it made is alerting; the
/// other host takes over and times the offer out itself. When the old leader wakes, its
/// own timer for that offer finds the lease gone: nothing it writes lands, and it follows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_leader_that_wakes_writes_nothing_and_follows() {
    let _alone = crate::harness::alone().await;
    crate::harness::log_errors();
    let (_emulator, em) = start_emulator().await;
    let mut cluster = Cluster::start(2, em, "webhook").await;
    let http = cluster.http.clone();
    let admin = cluster.login(0, "admin").await;
    let leader = cluster.agreed_leader(&admin).await;
    let other = 1 - leader;
    // agent1, on the follower, is offered one comment (alert timeout 3 s) and lets it ring.
    let token = cluster.login(other, "agent1").await;
    let base = cluster.nodes[other].base.clone();
    let put = http
        .put(format!("{base}/api/v1/me/status"))
        .bearer_auth(&token)
        .json(&json!({"status": "available"}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let (post_id, comment_id) = comment_at_emulator(&http, em, 1).await;
    let (body, signature) = crate::soak::webhook(1, &post_id, &comment_id);
    let res = http
        .post(format!("{base}/webhooks/facebook"))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", &signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    wait_until("the offer", || async {
        (cluster
            .count("SELECT count(*) FROM interactions WHERE state = 'alerting'")
            .await
            == 1)
            .then_some(())
    })
    .await;
    // Paused for longer than the lease and the alert timeout together.
    cluster.nodes[leader].signal("-STOP");
    let since = Instant::now();
    // A request passed to the paused leader is not left waiting once another host leads.
    let asked = {
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        tokio::spawn(async move {
            let res = http
                .get(format!("{base}/api/v1/me/interactions"))
                .bearer_auth(&token)
                .timeout(Duration::from_secs(60))
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), since.elapsed())
        })
    };
    let took = cluster.time_to_new_leader(leader, since, &admin).await;
    let (status, answered) = asked.await.unwrap();
    eprintln!(
        "failover: a request on the follower answered {status} after {} ms",
        answered.as_millis()
    );
    assert!(status == 503 || status == 200, "answered {status}");
    assert!(
        answered < Duration::from_secs(10),
        "answered {} ms after the leader was paused",
        answered.as_millis()
    );
    eprintln!(
        "failover: a paused leader replaced after {} ms",
        took.as_millis()
    );
    wait_until("the new leader times the offer out", || async {
        (cluster
            .count("SELECT count(*) FROM interaction_events WHERE kind = 'alert_timeout'")
            .await
            >= 1)
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(3_500).saturating_sub(since.elapsed())).await;
    cluster.nodes[leader].signal("-CONT");
    // The old leader wakes with its alert timer due and its lease gone.
    let id = cluster.nodes[leader].id.clone();
    wait_until("the old leader follows", || async {
        cluster.nodes[leader]
            .log()
            .contains("this host follows")
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let timeouts = cluster
        .count("SELECT count(*) FROM interaction_events WHERE kind = 'alert_timeout'")
        .await;
    assert_eq!(
        timeouts, 1,
        "the offer timed out once, by the new leader only"
    );
    let leader_now = cluster.agreed_leader(&admin).await;
    assert_ne!(cluster.nodes[leader_now].id, id, "the woken host follows");
    for node in &mut cluster.nodes {
        if let Some(p) = node.process.take() {
            p.crash();
        }
    }
}
