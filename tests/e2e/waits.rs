//! Waits a workflow sets, seen through the real host with its clock moved instead of
//! waited for (`SWITCHBOARD_TEST_CLOCK=1`, `POST /api/v1/testing/clock`): a comment that
//! waits at most a minute for the agent who has its post and then goes to anyone, an
//! `on_timer` that re-routes to one agent first and cancels another timer, and opening
//! hours that close while the host runs.

use serde_json::{Value, json};

use crate::harness::{plugins_dir, start_emulator, wait_until};
use crate::resilience::{HostProcess, free_port, wait_healthy};
use crate::test_clock::Client;

/// A host with a Facebook channel on the emulator running `script` (as `test.rhai`),
/// two agents who take one conversation at a time, and an administrator.
fn config(
    dir: &std::path::Path,
    port: u16,
    em: std::net::SocketAddr,
    script: &str,
    extra: &str,
) -> std::path::PathBuf {
    let workflows = crate::harness::copy_workflows(dir);
    std::fs::write(workflows.join("test.rhai"), script).unwrap();
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
username = "agent2"
password = "demo"
rights = ["agent", "acd_social_media"]

[[users]]
username = "admin"
password = "demo"
rights = ["social_media_admin", "supervisor"]

[[workgroups]]
name = "Social"
members = ["agent1", "agent2"]
utilization = {{ social_conversation = {{ percent = 100, max = 1 }} }}

[[workgroups]]
name = "Later"

[[channels]]
name = "facebook"
plugin = "facebook"
workgroup = "Social"
workflow = "test.rhai"
allowed_hosts = ["http://{em}"]
[channels.settings]
page_id = "1001"
graph_base_url = "http://{em}/v19.0"
[channels.secrets]
app_secret = "demo-app-secret"
verify_token = "demo-verify"
access_token = "demo-page-token"
"#,
        data = dir.join("data").display(),
        plugins = plugins_dir().display(),
        workflows = workflows.display(),
    ) + extra;
    let path = dir.join("switchboard.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A running host process with its emulator, its administrator and a read-only look at
/// its store.
struct Host {
    _process: HostProcess,
    _dir: tempfile::TempDir,
    _emulator: switchboard_emulator::Emulator,
    em: std::net::SocketAddr,
    base: String,
    http: reqwest::Client,
    admin: Client,
    db: std::path::PathBuf,
}

impl Host {
    async fn start(script: &str) -> Host {
        Host::start_with(script, "").await
    }

    /// With `extra` TOML appended to the config (`[organisation]`, `[[schedules]]`).
    async fn start_with(script: &str, extra: &str) -> Host {
        let dir = tempfile::tempdir().unwrap();
        let (emulator, em) = start_emulator().await;
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let path = config(dir.path(), port, em, script, extra);
        let process = HostProcess::spawn_with_env(&path, &[("SWITCHBOARD_TEST_CLOCK", "1")]);
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        wait_healthy(&http, &base).await;
        emulator
            .subscribe_facebook("1001", &format!("{base}/webhooks/facebook"), "demo-verify")
            .await
            .unwrap();
        let admin = Client::login(&http, &base, "admin").await;
        Host {
            _process: process,
            db: dir.path().join("data").join("switchboard.db"),
            _dir: dir,
            _emulator: emulator,
            em,
            base,
            http,
            admin,
        }
    }

    async fn agent(&self, user: &str) -> Client {
        let agent = Client::login(&self.http, &self.base, user).await;
        agent
            .call("PUT", "/me/status", Some(json!({ "status": "available" })))
            .await;
        agent
    }

    async fn customer_says(&self, body: Value) -> Value {
        let res = self
            .http
            .post(format!("http://{}/_emulator/facebook/comments", self.em))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "emulator: {}", res.status());
        res.json().await.unwrap()
    }

    async fn let_pass(&self, ms: i64) {
        self.admin
            .call("POST", "/testing/clock", Some(json!({ "advance_ms": ms })))
            .await;
    }

    /// One number from the store, read beside the running host.
    fn scalar(&self, sql: &str) -> i64 {
        let conn = rusqlite::Connection::open_with_flags(
            &self.db,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }
}

/// The interaction offered to `agent`, once there is one.
async fn offered(agent: &Client) -> Value {
    wait_until("an offer", || async {
        let mine = agent.call("GET", "/me/interactions", None).await;
        mine.as_array()
            .unwrap()
            .iter()
            .find(|ix| ix["state"] == "alerting")
            .cloned()
    })
    .await
}

async fn nothing_offered(agent: &Client, why: &str) {
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let mine = agent.call("GET", "/me/interactions", None).await;
    assert!(
        mine.as_array()
            .unwrap()
            .iter()
            .all(|ix| ix["state"] != "alerting"),
        "{why}: {mine}"
    );
}

const AT_MOST_A_MINUTE: &str = r#"
fn on_inbound(ix) {
    if agent_handling(ix.thread_id) != () {
        buffer(ix, #{ until_free_agent_of: ix.thread_id, recheck_ms: 200, max_wait_ms: 60000 });
    }
    route(ix, #{ workgroup: "Social" });
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_waits_at_most_a_minute_for_the_agent_who_has_its_post_then_goes_to_anyone() {
    let host = Host::start(AT_MOST_A_MINUTE).await;
    let agent1 = host.agent("agent1").await;
    let post = host
        .customer_says(
            json!({ "page_id": "1001", "author_name": "Ann Lee", "text": "Where is my parcel?" }),
        )
        .await;
    let post_id = post["post_id"]
        .as_str()
        .or(post["id"].as_str())
        .unwrap()
        .to_owned();
    let first = offered(&agent1).await;
    let first_id = first["id"].as_i64().unwrap();
    agent1
        .call("POST", &format!("/interactions/{first_id}/pickup"), None)
        .await;
    let agent2 = host.agent("agent2").await;

    host.customer_says(
        json!({ "page_id": "1001", "post_id": post_id, "parent_id": post_id,
        "author_name": "Bo Chen", "text": "Same here" }),
    )
    .await;
    wait_until("the comment held for agent1", || async {
        (host.scalar("SELECT count(*) FROM interactions WHERE state = 'buffered'") == 1)
            .then_some(())
    })
    .await;
    nothing_offered(&agent2, "it waits for agent1").await;

    host.let_pass(30_000).await;
    nothing_offered(&agent2, "half a minute in, it still waits for agent1").await;
    assert_eq!(
        host.scalar("SELECT count(*) FROM interactions WHERE state = 'buffered'"),
        1
    );

    // A minute after it arrived, agent1 still busy: anyone may have it.
    host.let_pass(31_000).await;
    let second = offered(&agent2).await;
    assert_ne!(second["id"], first["id"]);
    assert_eq!(second["thread_id"], post_id.as_str());
    let detail = agent1
        .call("GET", &format!("/interactions/{first_id}"), None)
        .await;
    let inbound = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "inbound")
        .count();
    assert_eq!(
        inbound, 1,
        "not merged into the interaction agent1 has: {detail}"
    );
}

const HAND_OVER: &str = r#"
fn on_inbound(ix) {
    route(ix, #{ workgroup: "Later" });
    schedule(ix, "hand_over", 30000);
    schedule(ix, "nag", 40000);
}
fn on_timer(ix, name) {
    if name == "hand_over" {
        route(ix, #{ workgroup: "Social", preferred_agent: "agent2", wait_ms: 60000 });
        cancel(ix, "nag");
    } else {
        set_attr(ix, "nagged", true);
    }
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_timer_reroutes_to_one_agent_first_and_cancels_a_timer() {
    let host = Host::start(HAND_OVER).await;
    let agent1 = host.agent("agent1").await;
    let agent2 = host.agent("agent2").await;
    // Queued where nobody works, then handed to agent2 first although agent1 is free.
    host.customer_says(json!({ "page_id": "1001", "author_name": "Ann Lee", "text": "first" }))
        .await;
    wait_until("two timers", || async {
        (host.scalar("SELECT count(*) FROM workflow_timers") == 2).then_some(())
    })
    .await;
    nothing_offered(&agent1, "queued where nobody works").await;

    host.let_pass(30_500).await;
    let ix = offered(&agent2).await;
    let id = ix["id"].as_i64().unwrap();
    assert_eq!(ix["workgroup"], "Social");
    nothing_offered(&agent1, "it is agent2's first").await;
    assert_eq!(
        host.scalar(&format!(
            "SELECT count(*) FROM workflow_timers WHERE interaction_id = {id}"
        )),
        0,
        "the nag was cancelled"
    );
    host.let_pass(20_000).await;
    let attrs: String = {
        let conn = rusqlite::Connection::open_with_flags(
            &host.db,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        conn.query_row(
            &format!("SELECT attributes FROM interactions WHERE id = {id}"),
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert!(!attrs.contains("nagged"), "{attrs}");
}

const HOURS: &str = r#"
fn on_inbound(ix) {
    if !is_open("support") {
        set_attr(ix, "out_of_hours", true);
    }
    route(ix, #{ workgroup: "Social" });
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_hours_close_at_midnight_before_a_holiday_on_the_hosts_clock() {
    // Open all day every day, but tomorrow (UTC) is a holiday: the host's clock is moved
    // past midnight instead of waited for.
    let now = jiff::Timestamp::now();
    let today: jiff::civil::Date = now.to_string()[..10].parse().unwrap();
    let tomorrow = today.tomorrow().unwrap();
    let extra = format!(
        "\n[organisation]\ntime_zone = \"UTC\"\n\n[[schedules]]\nname = \"support\"\nhours = [\"mon-sun 00:00-24:00\"]\nholidays = [\"{tomorrow}\"]\n"
    );
    let host = Host::start_with(HOURS, &extra).await;
    host.customer_says(json!({ "page_id": "1001", "author_name": "Ann Lee", "text": "open?" }))
        .await;
    wait_until("the first stored", || async {
        (host.scalar("SELECT count(*) FROM interactions") == 1).then_some(())
    })
    .await;
    let midnight = jiff::tz::TimeZone::UTC
        .to_timestamp(jiff::civil::DateTime::from(tomorrow))
        .unwrap()
        .as_millisecond();
    host.let_pass(midnight - now.as_millisecond() + 60_000)
        .await;
    host.customer_says(json!({ "page_id": "1001", "author_name": "Bo Chen", "text": "closed?" }))
        .await;
    wait_until("the second stored", || async {
        (host.scalar("SELECT count(*) FROM interactions") == 2).then_some(())
    })
    .await;
    assert_eq!(
        host.scalar(
            "SELECT count(*) FROM interactions WHERE attributes LIKE '%out_of_hours%' AND customer_name = 'Bo Chen'"
        ),
        1,
        "the message after midnight is out of hours"
    );
    assert_eq!(
        host.scalar("SELECT count(*) FROM interactions WHERE attributes LIKE '%out_of_hours%'"),
        1,
        "the one before it was not"
    );
}
