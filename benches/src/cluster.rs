//! `switchboard-bench cluster`: the same webhooks ingested by one host on SQLite (the
//! baseline, measured in the same run), one host on PostgreSQL and two hosts sharing
//! PostgreSQL; then routing decisions per second on the leader while agents connected to
//! three hosts become available, against the same on one host.
//!
//! The hosts run in this process (each with its own server, store connections and
//! workers), so the figures show what the engines and the cluster's coordination cost on
//! this machine, not what more machines would add.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use switchboard::config::Config;
use switchboard::server::Running;
use switchboard::store::scratch::ScratchPostgres;

use crate::ingest::{body, send_all, sign};

/// Flags of `switchboard-bench cluster`.
#[derive(clap::Args, Debug)]
pub(crate) struct ClusterArgs {
    /// Webhooks per ingest case.
    #[arg(long, default_value_t = 5_000)]
    count: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Agents for the routing case, each taking four interactions at once.
    #[arg(long, default_value_t = 60)]
    agents: usize,
    /// Where the built plugins are.
    #[arg(long, default_value = "target/plugins/dist")]
    plugins_dir: std::path::PathBuf,
    /// Where the workflows are.
    #[arg(long, default_value = "workflows")]
    workflows_dir: std::path::PathBuf,
}

/// One host's config: the demo's, with `agents` agents in the Social workgroup.
fn config(
    args: &ClusterArgs,
    dir: &std::path::Path,
    host: usize,
    store: Option<&str>,
) -> Result<Config> {
    let mut config = switchboard::demo::config(
        "127.0.0.1:0".parse()?,
        "127.0.0.1:9".parse()?,
        dir.join(format!("host-{host}")),
    )?;
    config.server.plugins_dir = args.plugins_dir.clone();
    config.server.workflows_dir = args.workflows_dir.clone();
    // One webhook channel: the demo's polling X channel would poll an emulator that is
    // not there.
    config.channels.retain(|c| c.name == "facebook");
    for ch in &mut config.channels {
        ch.workflow = "default.rhai".into();
    }
    config.store.url = store.map(str::to_owned);
    config.cluster.host_id = Some(format!("bench-{host}"));
    let mut users: Vec<switchboard::config::UserSeed> = serde_json::from_value(serde_json::json!(
        (0..args.agents)
            .map(|n| serde_json::json!({
                "username": format!("bench{n}"), "password": "bench",
                "rights": ["agent", "acd_social_media"]
            }))
            .collect::<Vec<_>>()
    ))?;
    config.users.append(&mut users);
    let social = config
        .workgroups
        .iter_mut()
        .find(|g| g.name == "Social")
        .context("the demo's Social workgroup")?;
    social.members = (0..args.agents).map(|n| format!("bench{n}")).collect();
    social.utilization = serde_json::from_value(serde_json::json!({
        "social_conversation": { "percent": 25, "max": 4 }
    }))?;
    social.alert_timeout_ms = 600_000;
    Ok(config)
}

async fn start_hosts(
    args: &ClusterArgs,
    hosts: usize,
    store: Option<&str>,
) -> Result<(tempdir::Dir, Vec<Running>)> {
    let dir = tempdir::Dir::new()?;
    let mut running = Vec::new();
    for host in 0..hosts {
        let config = config(args, dir.path(), host, store)?;
        running.push(
            switchboard::server::start(config)
                .await
                .with_context(|| format!("starting host {host}"))?,
        );
    }
    Ok((dir, running))
}

/// Sends `range`'s webhooks to the hosts in turn, `concurrency` at once.
async fn send(
    client: &reqwest::Client,
    hosts: &[Running],
    range: std::ops::Range<usize>,
    concurrency: usize,
) -> Result<()> {
    let urls: Vec<String> = hosts
        .iter()
        .map(|h| format!("http://{}/webhooks/facebook", h.addr))
        .collect();
    let requests = range
        .map(|i| {
            let body = body(i);
            let signature = sign(&body);
            (body, signature)
        })
        .collect();
    send_all(client, &urls, requests, concurrency).await
}

async fn count(host: &Running, sql: &'static str) -> Result<i64> {
    host.app
        .store
        .read(move |c| c.query_row(sql, (), |r| r.get(0)))
        .await
}

/// Waits until `sql` counts `expected` (60 s at most).
async fn wait_for(host: &Running, sql: &'static str, expected: i64) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n = count(host, sql).await?;
        if n >= expected {
            return Ok(());
        }
        ensure!(Instant::now() < deadline, "{sql}: {n}, expected {expected}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Ingest: messages per second through the whole path, every interaction routed.
async fn ingest(args: &ClusterArgs, hosts: usize, store: Option<&str>) -> Result<f64> {
    let (_dir, running) = start_hosts(args, hosts, store).await?;
    let client = reqwest::Client::builder().no_proxy().build()?;
    let warm = 200;
    send(&client, &running, 0..warm, 16).await?;
    let started = Instant::now();
    send(&client, &running, warm..warm + args.count, args.concurrency).await?;
    let elapsed = started.elapsed();
    wait_for(
        &running[0],
        "SELECT count(*) FROM interactions WHERE state = 'queued'",
        (warm + args.count) as i64,
    )
    .await?;
    for host in running {
        host.shutdown().await;
    }
    Ok(args.count as f64 / elapsed.as_secs_f64())
}

/// Routing: `agents` agents, spread over the hosts, become available at once with 4 ×
/// agents interactions waiting; offers per second until each holds four.
async fn routing(args: &ClusterArgs, hosts: usize, store: Option<&str>) -> Result<(f64, usize)> {
    let (_dir, running) = start_hosts(args, hosts, store).await?;
    let client = reqwest::Client::builder().no_proxy().build()?;
    let offers = args.agents * 4;
    send(&client, &running, 0..offers, 16).await?;
    wait_for(
        &running[0],
        "SELECT count(*) FROM interactions WHERE state = 'queued'",
        offers as i64,
    )
    .await?;
    let mut tokens = Vec::new();
    for n in 0..args.agents {
        let base = format!("http://{}", running[n % hosts].addr);
        let res: serde_json::Value = client
            .post(format!("{base}/api/v1/login"))
            .json(&serde_json::json!({"username": format!("bench{n}"), "password": "bench"}))
            .send()
            .await?
            .json()
            .await?;
        let token = res["token"].as_str().context("a token")?.to_owned();
        tokens.push((base, token));
    }
    let started = Instant::now();
    let mut workers = Vec::new();
    for (base, token) in tokens {
        let client = client.clone();
        workers.push(tokio::spawn(async move {
            let res = client
                .put(format!("{base}/api/v1/me/status"))
                .bearer_auth(token)
                .json(&serde_json::json!({"status": "available"}))
                .send()
                .await?;
            ensure!(
                res.status().is_success(),
                "status answered {}",
                res.status()
            );
            Ok::<_, anyhow::Error>(())
        }));
    }
    for w in workers {
        w.await??;
    }
    wait_for(
        &running[0],
        "SELECT count(*) FROM interactions WHERE state = 'alerting'",
        offers as i64,
    )
    .await?;
    let elapsed = started.elapsed();
    for host in running {
        host.shutdown().await;
    }
    Ok((offers as f64 / elapsed.as_secs_f64(), offers))
}

/// Runs every case and prints the figures side by side.
pub(crate) async fn run(args: ClusterArgs) -> Result<()> {
    let pg = || {
        ScratchPostgres::create()
            .context("a scratch PostgreSQL database (SWITCHBOARD_TEST_POSTGRES)")
    };
    eprintln!("ingest: SQLite, one host");
    let sqlite = ingest(&args, 1, None).await?;
    eprintln!("ingest: PostgreSQL, one host");
    let db = pg()?;
    let pg_one = ingest(&args, 1, Some(db.url())).await?;
    drop(db);
    eprintln!("ingest: PostgreSQL, two hosts");
    let db = pg()?;
    let pg_two = ingest(&args, 2, Some(db.url())).await?;
    drop(db);
    eprintln!("routing: SQLite, one host");
    let (route_one, offers) = routing(&args, 1, None).await?;
    eprintln!("routing: PostgreSQL, three hosts");
    let db = pg()?;
    let (route_three, _) = routing(&args, 3, Some(db.url())).await?;
    drop(db);
    println!(
        "cluster benchmark: {} Facebook comment webhooks per ingest case, {} in flight",
        args.count, args.concurrency
    );
    println!("  {:<52}{:>12}{:>10}", "", "msg/s", "ratio");
    let row = |label: &str, v: f64, base: f64| {
        println!("  {label:<52}{v:>12.0}{:>9.2}x", v / base);
    };
    row("ingest, SQLite, one host (baseline)", sqlite, sqlite);
    row("ingest, PostgreSQL, one host", pg_one, sqlite);
    row("ingest, PostgreSQL, two hosts round-robin", pg_two, sqlite);
    println!(
        "routing: {} agents become available at once, {offers} interactions waiting",
        args.agents
    );
    println!("  {:<52}{:>12}{:>10}", "", "offers/s", "ratio");
    row(
        "SQLite, one host, agents on it (baseline)",
        route_one,
        route_one,
    );
    row(
        "PostgreSQL, leader + 2 followers, agents on all three",
        route_three,
        route_one,
    );
    Ok(())
}

/// A temporary folder removed when dropped.
mod tempdir {
    pub struct Dir(std::path::PathBuf);

    impl Dir {
        pub fn new() -> std::io::Result<Dir> {
            let path = std::env::temp_dir().join(format!(
                "switchboard-bench-cluster-{}",
                uuid::Uuid::new_v4().simple()
            ));
            std::fs::create_dir_all(&path)?;
            Ok(Dir(path))
        }

        pub fn path(&self) -> &std::path::Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
