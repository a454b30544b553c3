//! Hosts sharing one store: who they are, which leads, and the lease changing hands.

use std::time::{Duration, Instant};

use serde_json::Value;
use switchboard::store::scratch::ScratchPostgres;

use crate::harness::{self, World, start_emulator, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_api_shows_this_host_leading_with_its_channels() {
    let world = World::start(|_| {}).await;
    let admin = world.login("admin").await;
    let status = wait_until("this host leads", || async {
        let s = admin.ok("GET", "/cluster", None).await;
        (s["leader"] == s["this_host"]).then_some(s)
    })
    .await;
    let hosts = status["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 1, "{status}");
    let me = &hosts[0];
    assert_eq!(me["host_id"], status["this_host"]);
    assert_eq!(me["leader"], true);
    assert_eq!(me["state"], "up");
    assert_eq!(
        me["address"],
        world.base.trim_start_matches("http://"),
        "the address it listens on"
    );
    assert!(me["lag_ms"].as_i64().unwrap() < 5_000, "{me}");
    let channels: Vec<&str> = me["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(channels.contains(&"facebook"), "{channels:?}");

    let agent = world.login("agent1").await;
    let (code, _) = agent.call("GET", "/cluster", None).await;
    assert_eq!(code, 403, "administrators only");
}

/// The leader's lease as one host of a cluster sees it.
async fn leader_seen_by(http: &reqwest::Client, base: &str, token: &str) -> Option<String> {
    let res = http
        .get(format!("{base}/api/v1/cluster"))
        .bearer_auth(token)
        .send()
        .await
        .ok()?;
    let status: Value = res.json().await.ok()?;
    status["leader"].as_str().map(str::to_owned)
}

async fn sign_in(http: &reqwest::Client, base: &str) -> String {
    let res: Value = http
        .post(format!("{base}/api/v1/login"))
        .json(&serde_json::json!({ "username": "admin", "password": "demo" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    res["token"].as_str().unwrap().to_owned()
}

/// Two in-process hosts on one scratch PostgreSQL store, with the demo's config
/// (`tweak` applied), an emulator, and an administrator's token.
struct TwoHosts {
    hosts: Vec<Option<switchboard::server::Running>>,
    bases: Vec<String>,
    http: reqwest::Client,
    token: String,
    emulator: switchboard_emulator::Emulator,
    emulator_addr: std::net::SocketAddr,
    _dirs: [tempfile::TempDir; 2],
    _pg: ScratchPostgres,
}

impl TwoHosts {
    async fn start(tweak: impl Fn(&mut switchboard::config::Config)) -> TwoHosts {
        harness::log_errors();
        let pg = ScratchPostgres::create().unwrap();
        let (emulator, emulator_addr) = start_emulator().await;
        let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
        let mut hosts = Vec::new();
        for (n, dir) in dirs.iter().enumerate() {
            let mut config = harness::config(dir.path(), emulator_addr, &tweak);
            config.store.url = Some(pg.url().to_owned());
            config.cluster.host_id = Some(format!("host-{n}"));
            hosts.push(Some(
                switchboard::server::start(config)
                    .await
                    .expect("host starts"),
            ));
        }
        let bases: Vec<String> = hosts
            .iter()
            .map(|h| format!("http://{}", h.as_ref().unwrap().addr))
            .collect();
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let token = sign_in(&http, &bases[1]).await;
        TwoHosts {
            hosts,
            bases,
            http,
            token,
            emulator,
            emulator_addr,
            _dirs: dirs,
            _pg: pg,
        }
    }

    /// The host both agree leads, and the other one.
    async fn leader(&self) -> (usize, usize) {
        let leader = wait_until("a leader", || async {
            let a = leader_seen_by(&self.http, &self.bases[0], &self.token).await?;
            let b = leader_seen_by(&self.http, &self.bases[1], &self.token).await?;
            (a == b).then_some(a)
        })
        .await;
        if leader == "host-0" { (0, 1) } else { (1, 0) }
    }

    async fn shutdown(mut self) {
        for h in self.hosts.iter_mut() {
            if let Some(h) = h.take() {
                h.shutdown().await;
            }
        }
    }
}

/// Two hosts on one PostgreSQL store: one leads; it stops on purpose and the other leads
/// within a second (the bound the product promises, with slack for a loaded CI machine).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_stop_hands_the_lease_to_the_other_host_within_a_second() {
    let _share = harness::share().await;
    let mut two = TwoHosts::start(|_| {}).await;
    let (http, token, bases) = (two.http.clone(), two.token.clone(), two.bases.clone());
    // Both see the same leader.
    let (leading, other) = two.leader().await;
    let stopped_at = Instant::now();
    two.hosts[leading].take().unwrap().shutdown().await;
    let took = loop {
        if leader_seen_by(&http, &bases[other], &token)
            .await
            .as_deref()
            == Some(&format!("host-{other}"))
        {
            break stopped_at.elapsed();
        }
        assert!(
            stopped_at.elapsed() < Duration::from_secs(10),
            "nobody took the lease"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    println!(
        "cluster: lease taken over {} ms after a graceful stop",
        took.as_millis()
    );
    assert!(
        took < Duration::from_millis(1_500),
        "the other host led {} ms after the stop",
        took.as_millis()
    );
    // The stopped host is shown as stopped, not missing.
    let status: Value = http
        .get(format!("{}/api/v1/cluster", bases[other]))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let gone = status["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["host_id"] == format!("host-{leading}"))
        .cloned()
        .unwrap_or_else(|| panic!("the stopped host is listed: {status}"));
    assert_eq!(gone["state"], "stopped", "{status}");
    two.shutdown().await;
}

/// The value of `series` (name and labels) on a metrics page, if it is there.
fn series_value(page: &str, series: &str) -> Option<f64> {
    page.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// What an operator scrapes: requests by route template, ingest latency per channel, the
/// group commit's size, whether this host leads, the plugin's calls, the messages stored,
/// and the workgroup's offers and queue (this host leads, so it has the queue).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_requests_by_route_ingest_latency_commit_size_and_leadership() {
    let world = World::start(|_| {}).await;
    let agent = world.login("agent1").await;
    agent.available().await;
    world.post_and_comment("Ann Lee", "is this in stock?").await;
    let offered = agent.wait_for_state("alerting").await;
    let id = offered["id"].as_i64().unwrap();
    agent.ok("GET", &format!("/interactions/{id}"), None).await;
    agent
        .ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;
    let page = wait_until("the metrics page shows the traffic", || async {
        let page = world.metrics_page().await?;
        // Each is counted once its event is durable, which may be just after the agent
        // sees the offer: waited for, not read once.
        let counted = [
            "switchboard_ingest_messages_total{channel=\"facebook\",outcome=\"stored\"}",
            "switchboard_plugin_call_seconds_count{channel=\"facebook\",call=\"handle-webhook\"}",
            "switchboard_workgroup_offers_total{workgroup=\"Social\"}",
            "switchboard_workgroup_answered_total{workgroup=\"Social\"}",
            "switchboard_workgroup_answered_in_target_total{workgroup=\"Social\"}",
        ]
        .iter()
        .all(|series| series_value(&page, series).is_some_and(|v| v >= 1.0));
        (page.contains("switchboard_cluster_leader 1")
            && page.contains("switchboard_webhook_seconds_count{channel=\"facebook\"}")
            && counted)
            .then_some(page)
    })
    .await;
    for expected in [
        "switchboard_http_requests_total{route=\"/api/v1/login\",method=\"POST\",status=\"200\"}",
        "switchboard_http_requests_total{route=\"/api/v1/interactions/{id}\",method=\"GET\",status=\"200\"}",
        "switchboard_store_commit_writes_count",
        "switchboard_cluster_leader_epoch",
        "switchboard_ingest_messages_total{channel=\"facebook\",outcome=\"duplicate\"}",
        "switchboard_workgroup_alert_timeouts_total{workgroup=\"Social\"}",
        "switchboard_workgroup_waiting{workgroup=\"Social\"}",
        "switchboard_workgroup_available_agents{workgroup=\"Social\"}",
        "switchboard_workgroup_longest_wait_seconds{workgroup=\"Social\"}",
    ] {
        assert!(page.contains(expected), "{expected} missing from:\n{page}");
    }
    assert!(
        page.lines().any(
            |l| l.starts_with("switchboard_http_request_seconds_bucket{")
                && l.contains("route=\"/api/v1/interactions/{id}\"")
        ),
        "a latency histogram per route:\n{page}"
    );
    // A raw id never becomes a label: the template stands for every interaction.
    assert!(
        !page.contains(&format!("route=\"/api/v1/interactions/{id}\"")),
        "raw paths must not be labels"
    );
}

/// Sign-in throttling is kept in the store: the waits a leader imposed hold on the host
/// that leads after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_waits_hold_when_another_host_takes_over() {
    let _share = harness::share().await;
    let mut two = TwoHosts::start(|_| {}).await;
    let (http, token, bases) = (two.http.clone(), two.token.clone(), two.bases.clone());
    let (leading, other) = two.leader().await;
    let try_agent1 = |base: String| {
        let http = http.clone();
        async move {
            http.post(format!("{base}/api/v1/login"))
                .json(&serde_json::json!({ "username": "agent1", "password": "wrong" }))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // Six wrong passwords through either host, each after the wait the last one began
    // (1 s, 2 s, 4 s): the next try must wait 8 s, longer than the hand-over takes.
    for n in 0..6 {
        loop {
            match try_agent1(bases[n % 2].clone()).await {
                401 => break,
                429 => tokio::time::sleep(Duration::from_millis(250)).await,
                other => panic!("sign-in answered {other}"),
            }
        }
    }
    assert_eq!(
        try_agent1(bases[other].clone()).await,
        429,
        "the wait begins"
    );
    two.hosts[leading].take().unwrap().shutdown().await;
    wait_until("the other host leads", || async {
        (leader_seen_by(&http, &bases[other], &token).await? == format!("host-{other}"))
            .then_some(())
    })
    .await;
    assert_eq!(
        try_agent1(bases[other].clone()).await,
        429,
        "the new leader keeps the wait the old one imposed"
    );
    two.shutdown().await;
}

/// An agent's reply clicked twice at once, each click reaching a different host: both are
/// passed to the leader, which sends, and the repeat-send window in the store lets one
/// through. The platform gets the reply once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_sent_twice_at_once_through_two_hosts_reaches_the_platform_once() {
    let _share = harness::share().await;
    let two = TwoHosts::start(|c| c.channels[0].rpc_cache_timeout_s = 90).await;
    let (emulator, emulator_addr, bases) = (&two.emulator, two.emulator_addr, two.bases.clone());
    emulator
        .subscribe_facebook(
            "1001",
            &format!("{}/webhooks/facebook", bases[1]),
            "demo-verify",
        )
        .await
        .expect("webhook subscription handshake");
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let token = {
        let res: Value = http
            .post(format!("{}/api/v1/login", bases[0]))
            .json(&serde_json::json!({ "username": "agent1", "password": "demo" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        res["token"].as_str().unwrap().to_owned()
    };
    let call = |base: &str, method: reqwest::Method, path: &str, body: Option<Value>| {
        let mut req = http
            .request(method, format!("{base}/api/v1{path}"))
            .bearer_auth(&token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        async move {
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, _) = call(
        &bases[0],
        reqwest::Method::PUT,
        "/me/status",
        Some(serde_json::json!({"status": "available"})),
    )
    .await;
    assert_eq!(status, 200);
    let post = emulator_post(&http, emulator_addr, serde_json::json!({ "page_id": "1001", "author_name": "Acme Outfitters", "author_id": "1001", "text": "New arrivals are in!" })).await;
    let post_id = post["post_id"].as_str().unwrap().to_owned();
    emulator_post(&http, emulator_addr, serde_json::json!({ "page_id": "1001", "post_id": post_id, "parent_id": post_id, "author_name": "Ann Lee", "text": "is this in stock?" })).await;
    let id = wait_until("an offer", || async {
        let (_, mine) = call(&bases[1], reqwest::Method::GET, "/me/interactions", None).await;
        mine.as_array()?
            .iter()
            .find(|ix| ix["state"] == "alerting")
            .and_then(|ix| ix["id"].as_i64())
    })
    .await;
    let (status, _) = call(
        &bases[1],
        reqwest::Method::POST,
        &format!("/interactions/{id}/pickup"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let text = "It is in stock in every size.";
    let body = serde_json::json!({ "text": text, "visibility": "public" });
    let (a, b) = tokio::join!(
        call(
            &bases[0],
            reqwest::Method::POST,
            &format!("/interactions/{id}/reply"),
            Some(body.clone())
        ),
        call(
            &bases[1],
            reqwest::Method::POST,
            &format!("/interactions/{id}/reply"),
            Some(body)
        ),
    );
    let states = [
        a.1["state"].as_str().unwrap_or("?"),
        b.1["state"].as_str().unwrap_or("?"),
    ];
    assert!(
        states.contains(&"sent") && states.contains(&"suppressed"),
        "one sent, one suppressed as a repeat: {a:?} {b:?}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let posted = emulator
        .outbound()
        .iter()
        .filter(|o| o.text.as_deref() == Some(text))
        .count();
    assert_eq!(posted, 1, "the platform got the reply once");
    two.shutdown().await;
}

async fn emulator_post(http: &reqwest::Client, em: std::net::SocketAddr, body: Value) -> Value {
    http.post(format!("http://{em}/_emulator/facebook/comments"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
