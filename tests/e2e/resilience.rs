//! What must survive: broken scripts, misbehaving plugins, and a crash of the host.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use switchboard::config::Channel;

use crate::harness::{World, plugins_dir, start_emulator, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rhai_syntax_error_during_hot_reload_keeps_the_previous_workflow() {
    let world = World::start(|_| {}).await;
    let app = world.host.as_ref().unwrap().app.clone();
    let script = app.workflows.dir().join("default.rhai");
    let good = std::fs::read_to_string(&script).unwrap();

    // A valid change is picked up without a restart...
    std::fs::write(
        &script,
        good.replace(
            "priority: 0 }),\n        \"social_direct",
            "priority: 7 }),\n        \"social_direct",
        ),
    )
    .unwrap();
    wait_until("version 2 loaded", || async {
        (app.workflows.current().number == 2).then_some(())
    })
    .await;
    world.post_and_comment("Ann", "after a good reload").await;
    world
        .wait_count("SELECT count(*) FROM interactions WHERE priority = 7", 1)
        .await;

    // ...a broken one is refused and version 2 keeps routing.
    std::fs::write(
        &script,
        "fn on_inbound(ix) {\n    route(ix, #{ workgroup: \n}\n",
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        app.workflows.current().number,
        2,
        "the broken version was not swapped in"
    );
    let admin = world.login("admin").await;
    let status = admin.ok("GET", "/workflows", None).await;
    assert_eq!(status["version"], 2);
    let error = status["last_error"]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("default.rhai:3:"),
        "the refusal is visible: {status}"
    );
    assert_eq!(
        world
            .login("agent1")
            .await
            .call("GET", "/workflows", None)
            .await
            .0,
        403
    );
    world.post_and_comment("Bo", "after a broken save").await;
    world
        .wait_count(
            "SELECT count(*) FROM interactions WHERE priority = 7 AND workflow_version = 2",
            2,
        )
        .await;
    assert_eq!(world.count("SELECT count(*) FROM interactions").await, 2);
}

fn faulty_channel(config: &mut switchboard::config::Config) {
    config.server.plugin_limits.call_timeout_ms = 1000;
    config.server.plugin_limits.memory_mib = 32;
    let mut ch: Channel = config.channels[0].clone();
    ch.name = "faulty".into();
    ch.plugin = "faulty".into();
    ch.allowed_hosts.clear();
    ch.settings.clear();
    ch.secrets.clear();
    config.channels.push(ch);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_that_traps_loops_or_hogs_memory_is_replaced_and_the_next_event_processed() {
    assert!(
        plugins_dir().join("faulty.wasm").exists(),
        "faulty.wasm not built"
    );
    let world = World::start(faulty_channel).await;
    let url = format!("{}/webhooks/faulty", world.base);
    let send = |id: &str, text: &str| {
        world
            .http
            .post(&url)
            .body(json!({ "id": id, "text": text }).to_string())
            .send()
    };
    for (i, poison) in ["trap", "loop", "hog"].iter().enumerate() {
        let res = send(&format!("bad{i}"), poison).await.unwrap();
        assert_eq!(
            res.status(),
            500,
            "{poison}: the platform is told to deliver again"
        );
        let res = send(&format!("good{i}"), "hello").await.unwrap();
        assert_eq!(
            res.status(),
            200,
            "after {poison} a fresh instance handles the next event"
        );
    }
    assert_eq!(
        world
            .count("SELECT count(*) FROM messages WHERE channel = 'faulty'")
            .await,
        3
    );
    assert_eq!(
        world
            .count("SELECT count(*) FROM messages WHERE channel = 'faulty' AND text <> 'hello'")
            .await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_calling_a_host_it_was_not_granted_is_refused() {
    // The demo channel may call the emulator; the faulty channel has no `allowed_hosts`,
    // so it may call only what it declares (`http://declared.invalid`).
    let world = World::start(faulty_channel).await;
    let allowed_elsewhere = format!("http://{}/_emulator/outbound", world.emulator_addr);
    for (id, url) in [
        ("x1", allowed_elsewhere.as_str()),
        ("x2", "http://203.0.113.7/steal"),
        ("x3", "http://declared.invalid/ok"),
    ] {
        let res = world
            .http
            .post(format!("{}/webhooks/faulty", world.base))
            .body(json!({ "id": id, "text": format!("exfiltrate {url}") }).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    let store = world.host.as_ref().unwrap().app.store.clone();
    let texts: Vec<String> = store
        .read(|c| {
            let mut stmt =
                c.prepare("SELECT text FROM messages WHERE channel = 'faulty' ORDER BY id")?;
            let rows = stmt.query_map((), |r| r.get(0))?;
            Ok(rows.collect::<anyhow::Result<_>>()?)
        })
        .await
        .unwrap();
    assert_eq!(texts.len(), 3);
    for text in &texts[..2] {
        assert!(text.starts_with("refused: "), "{text}");
        assert!(
            text.contains("allowed_hosts"),
            "the refusal says why: {text}"
        );
    }
    // The declared host passes the allowlist (and then fails: it does not resolve).
    assert!(!texts[2].contains("allowed_hosts"), "{}", texts[2]);
}

/// Runs the `switchboard` binary as its own process, so the test can kill it for real.
pub(crate) struct HostProcess {
    child: Child,
}

impl HostProcess {
    pub(crate) fn spawn(config: &std::path::Path) -> HostProcess {
        HostProcess::start(config, "warn", Stdio::null(), Stdio::inherit(), &[])
    }

    /// [`HostProcess::spawn`] with extra environment variables.
    pub(crate) fn spawn_with_env(config: &std::path::Path, env: &[(&str, &str)]) -> HostProcess {
        HostProcess::start(config, "warn", Stdio::null(), Stdio::inherit(), env)
    }

    /// Like [`Self::spawn`], with everything the host prints (at `filter`, uncoloured)
    /// written to `log`.
    pub(crate) fn spawn_logged(
        config: &std::path::Path,
        filter: &str,
        log: &std::path::Path,
    ) -> HostProcess {
        let file = std::fs::File::create(log).unwrap();
        let out = Stdio::from(file.try_clone().unwrap());
        HostProcess::start(config, filter, out, Stdio::from(file), &[])
    }

    fn start(
        config: &std::path::Path,
        filter: &str,
        out: Stdio,
        err: Stdio,
        env: &[(&str, &str)],
    ) -> HostProcess {
        let child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(["serve", "--config"])
            .arg(config)
            .envs(env.iter().copied())
            .env("RUST_LOG", filter)
            .env("NO_COLOR", "1")
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start switchboard");
        HostProcess { child }
    }

    /// The process id (to read its memory use from `/proc`).
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `limit` for the process to end on its own; whether it ended with
    /// success.
    pub(crate) fn wait_for_exit(&mut self, limit: Duration) -> bool {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// SIGKILL: no shutdown hooks, no flushing; what was committed must be enough.
    pub(crate) fn crash(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_with_one_interaction_queued_and_one_connected_brings_both_back() {
    let dir = tempfile::tempdir().unwrap();
    let (emulator, em) = start_emulator().await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let workflows = crate::harness::copy_workflows(dir.path());
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
username = "agent2"
password = "demo"
rights = ["agent", "acd_social_media"]

[[users]]
username = "super"
password = "demo"
rights = ["supervisor"]

[[workgroups]]
name = "Social"
members = ["agent1", "agent2"]
utilization = {{ social_conversation = {{ percent = 100, max = 1 }} }}

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
        data = dir.path().join("data").display(),
        plugins = plugins_dir().display(),
        workflows = workflows.display(),
    );
    let config_path = dir.path().join("switchboard.toml");
    std::fs::write(&config_path, config).unwrap();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();

    let host = HostProcess::spawn(&config_path);
    wait_healthy(&http, &base).await;
    emulator
        .subscribe_facebook("1001", &format!("{base}/webhooks/facebook"), "demo-verify")
        .await
        .unwrap();
    let login = |user: &'static str| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            let res = http
                .post(format!("{base}/api/v1/login"))
                .json(&json!({"username": user, "password": "demo"}))
                .send()
                .await
                .unwrap();
            res.json::<Value>().await.unwrap()["token"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let get = |token: String, path: String| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            http.get(format!("{base}/api/v1{path}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let post = |token: String, path: String| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            http.post(format!("{base}/api/v1{path}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let put_status = |token: String, status: &'static str| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            http.put(format!("{base}/api/v1/me/status"))
                .bearer_auth(token)
                .json(&json!({"status": status}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };

    let a1 = login("agent1").await;
    assert_eq!(put_status(a1.clone(), "available").await, 200);
    let world_says = |post_id: Option<String>, text: &'static str| {
        let http = http.clone();
        async move {
            let body = match post_id {
                Some(p) => {
                    json!({"page_id":"1001","post_id":p,"parent_id":p,"author_name":"Ann","text":text})
                }
                None => {
                    json!({"page_id":"1001","author_name":"Acme","author_id":"1001","text":text})
                }
            };
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
    let p1 = world_says(None, "post one").await["post_id"]
        .as_str()
        .unwrap()
        .to_owned();
    world_says(Some(p1), "first customer").await;
    let connected_id = wait_until("offer to agent1", || async {
        let list = get(a1.clone(), "/me/interactions".into()).await;
        list.as_array()
            .unwrap()
            .iter()
            .find(|ix| ix["state"] == "alerting")
            .and_then(|ix| ix["id"].as_i64())
    })
    .await;
    assert_eq!(
        post(a1.clone(), format!("/interactions/{connected_id}/pickup")).await,
        200
    );
    let p2 = world_says(None, "post two").await["post_id"]
        .as_str()
        .unwrap()
        .to_owned();
    world_says(Some(p2), "second customer").await;
    let sup = login("super").await;
    let queued_id = connected_id + 1;
    wait_until("second interaction queued", || async {
        let d = get(sup.clone(), format!("/interactions/{queued_id}")).await;
        (d["state"] == "queued").then_some(())
    })
    .await;

    host.crash();
    let _host = HostProcess::spawn(&config_path);
    wait_healthy(&http, &base).await;

    // Sessions, states and transcripts are as they were.
    let mine = get(a1.clone(), "/me/interactions".into()).await;
    let mine = mine.as_array().expect("agent1's old token still works");
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["id"], connected_id);
    assert_eq!(mine[0]["state"], "connected");
    let d = get(a1.clone(), format!("/interactions/{connected_id}")).await;
    assert_eq!(
        d["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["direction"] == "inbound")
            .count(),
        1
    );
    let q = get(sup.clone(), format!("/interactions/{queued_id}")).await;
    assert_eq!(q["state"], "queued");

    // Routing picks up where it stopped: agent2 becomes available and gets the queued one.
    let a2 = login("agent2").await;
    assert_eq!(put_status(a2.clone(), "available").await, 200);
    let offered = wait_until("offer to agent2", || async {
        let list = get(a2.clone(), "/me/interactions".into()).await;
        list.as_array()
            .unwrap()
            .iter()
            .find(|ix| ix["state"] == "alerting")
            .cloned()
    })
    .await;
    assert_eq!(offered["id"], queued_id);
    // And the connected one still takes replies that reach the page.
    let res = http
        .post(format!("{base}/api/v1/interactions/{connected_id}/reply"))
        .bearer_auth(&a1)
        .json(&json!({"text": "back after the crash"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        emulator
            .outbound()
            .iter()
            .any(|o| o.text.as_deref() == Some("back after the crash"))
    );
}

pub(crate) async fn wait_healthy(http: &reqwest::Client, base: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(res) = http.get(format!("{base}/healthz")).send().await
            && res.status() == 200
        {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "host at {base} did not become healthy"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_reloads_when_its_file_changes() {
    // The channel runs `swap.wasm`: first a copy of the faulty plugin (which accepts any
    // unsigned body), then the Facebook build (which refuses it without a signature).
    let plugins = tempfile::tempdir().unwrap();
    let swap = plugins.path().join("swap.wasm");
    std::fs::copy(plugins_dir().join("faulty.wasm"), &swap).unwrap();
    let dir = plugins.path().to_owned();
    let world = World::start(move |config| {
        config.server.plugins_dir = dir;
        // Only the swapped channel: the demo's other plugins are not in this folder.
        config.channels.truncate(1);
        let ch = &mut config.channels[0];
        ch.name = "swap".into();
        ch.plugin = "swap".into();
    })
    .await;
    let url = format!("{}/webhooks/swap", world.base);
    let body = json!({ "id": "m1", "text": "hello" }).to_string();
    assert_eq!(
        world
            .http
            .post(&url)
            .body(body.clone())
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let tmp = plugins.path().join("swap.tmp");
    std::fs::copy(plugins_dir().join("facebook.wasm"), &tmp).unwrap();
    std::fs::rename(&tmp, &swap).unwrap();
    wait_until("the new build answers", || async {
        let status = world
            .http
            .post(&url)
            .body(body.clone())
            .send()
            .await
            .unwrap()
            .status();
        (status == 401).then_some(())
    })
    .await;
}
