//! A reply that waits for an X rate-limit reset 15 minutes away, with time moved forward
//! instead of waited for: the host runs as its own process started with
//! `SWITCHBOARD_TEST_CLOCK=1` (its clock then moves through the administrator's
//! `POST /api/v1/testing/clock`), and the emulator's rate-limit windows move by as
//! much. The send path is the production one: only the time differs.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard_emulator::{Emulator, XEndpoint};

use crate::harness::{plugins_dir, start_emulator, wait_until};
use crate::resilience::{HostProcess, free_port, wait_healthy};

const MINUTE: i64 = 60_000;

/// The host's X channel (polling the emulator) and an agent, in a config file.
fn config(dir: &std::path::Path, port: u16, em: std::net::SocketAddr) -> std::path::PathBuf {
    let text = format!(
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
username = "admin"
password = "demo"
rights = ["social_media_admin"]

[[workgroups]]
name = "Social"
members = ["agent1"]

[[channels]]
name = "x"
plugin = "x"
workgroup = "Social"
ingest = "poll"
poll_interval_ms = 200
rpc_cache_timeout_s = 0
allowed_hosts = ["http://{em}"]
[channels.settings]
api_base_url = "http://{em}"
handles = "acme"
keywords = "acmecorp"
[channels.secrets]
token_acme = "demo-x-token-acme"
consumer_secret = "demo-consumer-secret"
"#,
        data = dir.join("data").display(),
        plugins = plugins_dir().display(),
        workflows = crate::harness::copy_workflows(dir).display(),
    );
    let path = dir.join("switchboard.toml");
    std::fs::write(&path, text).unwrap();
    path
}

pub(crate) struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    pub(crate) async fn login(http: &reqwest::Client, base: &str, user: &str) -> Client {
        let res = http
            .post(format!("{base}/api/v1/login"))
            .json(&json!({ "username": user, "password": "demo" }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "login of {user}");
        let token = res.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        Client {
            http: http.clone(),
            base: base.to_owned(),
            token,
        }
    }

    pub(crate) async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let value = res.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path} answered {status}: {value}");
        value
    }
}

/// Lets `ms` pass on the host's clock and on the emulator's rate-limit windows.
async fn let_pass(admin: &Client, emulator: &Emulator, ms: i64) -> i64 {
    emulator.advance_clock(ms);
    let clock = admin
        .call("POST", "/testing/clock", Some(json!({ "advance_ms": ms })))
        .await;
    clock["now_ms"].as_i64().unwrap()
}

fn posts_asked(emulator: &Emulator) -> usize {
    let log = emulator.x_requests();
    log.iter().filter(|r| r.endpoint == XEndpoint::Post).count()
}

fn posted(emulator: &Emulator, text: &str) -> usize {
    let out = emulator.outbound();
    out.iter()
        .filter(|o| o.text.as_deref() == Some(text))
        .count()
}

async fn outbound_of(agent: &Client, id: i64, text: &str) -> Value {
    let detail = agent
        .call("GET", &format!("/interactions/{id}"), None)
        .await;
    detail["outbound"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["text"] == text)
        .cloned()
        .unwrap_or_else(|| panic!("no outbound entry {text}: {detail}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_waits_for_a_reset_15_minutes_away_and_goes_out_once_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let (emulator, em) = start_emulator().await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let path = config(dir.path(), port, em);
    let _host = HostProcess::spawn_with_env(&path, &[("SWITCHBOARD_TEST_CLOCK", "1")]);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    wait_healthy(&http, &base).await;
    let admin = Client::login(&http, &base, "admin").await;
    let agent = Client::login(&http, &base, "agent1").await;
    agent
        .call("PUT", "/me/status", Some(json!({ "status": "available" })))
        .await;

    // A customer asks; the agent takes it.
    let res = http
        .post(format!("http://{em}/_emulator/x/tweets"))
        .json(&json!({ "author_handle": "ann", "author_name": "Ann Lee", "text": "acmecorp where is my parcel" }))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let id = wait_until("the offer", || async {
        let mine = agent.call("GET", "/me/interactions", None).await;
        mine.as_array()
            .unwrap()
            .iter()
            .find(|ix| ix["state"] == "alerting")
            .and_then(|ix| ix["id"].as_i64())
    })
    .await;
    agent
        .call("POST", &format!("/interactions/{id}/pickup"), None)
        .await;

    // One post per 15-minute window, as on X: the first reply takes it.
    emulator.set_x_rate_limit(XEndpoint::Post, 1, 900);
    let reply = |text: &str| json!({ "text": text, "visibility": "public" });
    let path = format!("/interactions/{id}/reply");
    let first = agent
        .call("POST", &path, Some(reply("Let me check.")))
        .await;
    assert_eq!(first["state"], "sent", "{first}");
    let started = admin.call("GET", "/testing/clock", None).await["now_ms"]
        .as_i64()
        .unwrap();
    let text = "It left our warehouse today.";
    let waiting = agent.call("POST", &path, Some(reply(text))).await;
    assert_eq!(waiting["state"], "pending", "{waiting}");
    assert_eq!(
        waiting["attempts"], 0,
        "a rate limit spends no attempt: {waiting}"
    );
    let due = waiting["next_attempt_at"].as_i64().unwrap();
    assert!(
        due >= started + 14 * MINUTE && due <= started + 16 * MINUTE,
        "due at the platform's reset, 15 minutes away: {waiting}"
    );
    let asked = posts_asked(&emulator);

    // 14 minutes pass: it still waits, spends nothing, asks nothing.
    let now = let_pass(&admin, &emulator, 14 * MINUTE).await;
    assert!(now < due, "still before the reset");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let entry = outbound_of(&agent, id, text).await;
    assert_eq!(
        entry["state"], "pending",
        "not failed while it waits: {entry}"
    );
    assert_eq!(
        entry["attempts"], 0,
        "no attempt spent while it waits: {entry}"
    );
    assert_eq!(entry["next_attempt_at"], due, "{entry}");
    assert_eq!(
        entry["last_attempt_at"], waiting["last_attempt_at"],
        "not tried again: {entry}"
    );
    assert_eq!(
        posts_asked(&emulator),
        asked,
        "nothing asked before the reset"
    );
    assert_eq!(posted(&emulator, text), 0);

    // The reset passes: the reply goes out at once (the scheduler wakes when the clock
    // moves; its own tick would have taken up to a second), exactly once.
    let now = let_pass(&admin, &emulator, 90_000).await;
    assert!(now > due, "past the reset");
    let sent = wait_until("the reply sent after the reset", || async {
        let entry = outbound_of(&agent, id, text).await;
        (entry["state"] == "sent").then_some(entry)
    })
    .await;
    assert_eq!(
        sent["attempts"], 1,
        "only the attempt that posted counts: {sent}"
    );
    assert!(sent["last_attempt_at"].as_i64().unwrap() >= due, "{sent}");
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert_eq!(posted(&emulator, text), 1, "posted exactly once");
    assert_eq!(
        posts_asked(&emulator),
        asked + 1,
        "asked once more, after the reset"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_clock_is_absent_from_an_ordinary_host() {
    let world = crate::harness::World::start(|_| {}).await;
    let admin = world.login("admin").await;
    let (status, body) = admin.call("GET", "/testing/clock", None).await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("SWITCHBOARD_TEST_CLOCK=1")),
        "says how to get one: {body}"
    );
    let (status, _) = admin
        .call(
            "POST",
            "/testing/clock",
            Some(json!({ "advance_ms": 60_000 })),
        )
        .await;
    assert_eq!(status, 404);
}
