//! A host and a platform emulator, started in-process on free ports, plus an HTTP client
//! that speaks the API the way the desktop does.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard::config::{Config, IngestMode};
use switchboard::server::Running;
use switchboard::store::scratch::ScratchPostgres;
use switchboard_emulator::Emulator;

/// Where `cargo xtask plugins` puts the built connectors.
pub fn plugins_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/plugins/dist");
    assert!(
        dir.join("facebook.wasm").exists(),
        "plugins are not built: run `cargo xtask plugins` (or `cargo xtask test`) first"
    );
    dir
}

/// The shipped workflows (scripts and rules), copied so a test may edit them.
pub fn copy_workflows(to: &Path) -> PathBuf {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../workflows");
    let dir = to.join("workflows");
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rhai" || e == "toml") {
            std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
    }
    dir
}

/// Starts an emulator with the demo page on a free port.
pub async fn start_emulator() -> (Emulator, SocketAddr) {
    start_emulator_with(switchboard::demo::emulator_config()).await
}

/// Starts an emulator with `config` on a free port.
pub async fn start_emulator_with(
    config: switchboard_emulator::EmulatorConfig,
) -> (Emulator, SocketAddr) {
    let emulator = Emulator::new(config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(emulator.clone().serve(listener));
    (emulator, addr)
}

/// The demo config on free ports in `dir`, with `tweak` applied.
pub fn config(dir: &Path, emulator: SocketAddr, tweak: impl FnOnce(&mut Config)) -> Config {
    let mut config =
        switchboard::demo::config("127.0.0.1:0".parse().unwrap(), emulator, dir.join("data"))
            .unwrap();
    config.server.plugins_dir = plugins_dir();
    config.server.workflows_dir = copy_workflows(dir);
    // The demo runs the sample business processes; these tests are written for the
    // plain default script unless they choose another.
    for ch in &mut config.channels {
        ch.workflow = "default.rhai".into();
    }
    tweak(&mut config);
    config
}

/// Whether this run puts each world's data on PostgreSQL (`SWITCHBOARD_E2E_STORE=postgres`;
/// CI runs the ingest, routing, outbound and recovery groups so, beside the whole suite
/// on SQLite).
pub fn on_postgres() -> bool {
    std::env::var("SWITCHBOARD_E2E_STORE").is_ok_and(|v| v == "postgres")
}

/// Whether a test of what only SQLite does (its file, its locks, its size limit) should
/// stand aside in a PostgreSQL run; says so in the test's output.
pub fn sqlite_only(what: &str) -> bool {
    let skip = on_postgres();
    if skip {
        eprintln!("not run on PostgreSQL: {what}");
    }
    skip
}

/// A scratch PostgreSQL database for a world when the run asks for one, with `config`
/// pointed at it; dropped (with the database) when the world is.
pub fn scratch_store(config: &mut Config) -> Option<ScratchPostgres> {
    if !on_postgres() {
        return None;
    }
    let pg = ScratchPostgres::create().expect("a scratch PostgreSQL database");
    config.store.url = Some(pg.url().to_owned());
    Some(pg)
}

/// The hosts' errors in the output of the test that caused them (shown when it fails):
/// an answer of 500 says only that the server log has the details.
pub fn log_errors() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "error".into()),
        )
        .try_init();
}

/// Makes the demo channel poll instead of receiving webhooks.
pub fn polling(config: &mut Config) {
    let ch = &mut config.channels[0];
    ch.ingest = IngestMode::Poll;
    ch.poll_interval_ms = 200;
}

/// The machine, shared by the tests that run at once (two cores in CI). A test that
/// loads all of it on purpose (a login flood, the kill -9 soak) runs [`alone`]: a
/// starved host would make the others' waits for something that happens within a few
/// seconds run out, and the flood's own figures would measure its neighbours.
///
/// A plain read-write lock would deadlock a test that starts a second world while a
/// lone test waits (fair locks queue the new reader behind the writer, which waits for
/// the first reader): here a lone test only waits for a moment when no world is held,
/// and only new worlds wait while it runs.
static MACHINE: std::sync::Mutex<Machine> = std::sync::Mutex::new(Machine {
    sharing: 0,
    alone: false,
});
static MACHINE_CHANGED: tokio::sync::Notify = tokio::sync::Notify::const_new();

struct Machine {
    sharing: usize,
    alone: bool,
}

/// Waits while a test runs [`alone`] (`share: true`) or until no world is held
/// (`share: false`), then takes the place.
async fn take(share: bool) {
    loop {
        let changed = MACHINE_CHANGED.notified();
        {
            let mut m = MACHINE.lock().unwrap();
            if share && !m.alone {
                m.sharing += 1;
                return;
            }
            if !share && !m.alone && m.sharing == 0 {
                m.alone = true;
                return;
            }
        }
        changed.await;
    }
}

/// A place among the tests that share the machine (held by every [`World`]).
pub struct Share {
    share: bool,
}

impl Drop for Share {
    fn drop(&mut self) {
        let mut m = MACHINE.lock().unwrap();
        if self.share {
            m.sharing -= 1;
        } else {
            m.alone = false;
        }
        MACHINE_CHANGED.notify_waiters();
    }
}

/// Waits until no test runs alone, and holds a place among those that share.
pub async fn share() -> Share {
    take(true).await;
    Share { share: true }
}

/// Waits until no world is held, and keeps new ones waiting until the guard is dropped.
pub async fn alone() -> Share {
    take(false).await;
    Share { share: false }
}

/// A running host with an emulator and a temporary folder.
pub struct World {
    /// Held for the world's life: a test that loads the whole machine waits for it.
    pub _share: Share,
    pub emulator: Emulator,
    pub emulator_addr: SocketAddr,
    pub host: Option<Running>,
    pub base: String,
    /// Kept so the folder lives as long as the world.
    pub _dir: tempfile::TempDir,
    pub http: reqwest::Client,
    /// The world's PostgreSQL database, when the run uses one; dropped last.
    pub _pg: Option<ScratchPostgres>,
}

impl World {
    /// What the emulator's control route `path` answers, as JSON.
    pub async fn emulator_json(&self, path: &str) -> Value {
        self.http
            .get(format!("http://{}{path}", self.emulator_addr))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Emulator + host on the demo config; webhooks subscribed unless polling.
    pub async fn start(tweak: impl FnOnce(&mut Config)) -> World {
        log_errors();
        let share = share().await;
        let dir = tempfile::tempdir().unwrap();
        let (emulator, emulator_addr) = start_emulator().await;
        let mut config = config(dir.path(), emulator_addr, tweak);
        let pg = scratch_store(&mut config);
        let first = &config.channels[0];
        let subscribe = (first.plugin == "facebook" && first.ingest != IngestMode::Poll)
            .then(|| first.name.clone());
        let host = switchboard::server::start(config)
            .await
            .expect("host starts");
        let base = format!("http://{}", host.addr);
        if let Some(channel) = subscribe {
            emulator
                .subscribe_facebook("1001", &format!("{base}/webhooks/{channel}"), "demo-verify")
                .await
                .expect("webhook subscription handshake");
        }
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        World {
            _share: share,
            emulator,
            emulator_addr,
            host: Some(host),
            base,
            _dir: dir,
            http,
            _pg: pg,
        }
    }

    /// The config a restarted host of this world runs: `tweak` applied to the demo's,
    /// on the world's folder and database.
    pub fn config(&self, tweak: impl FnOnce(&mut Config)) -> Config {
        let mut config = config(self._dir.path(), self.emulator_addr, tweak);
        if let Some(pg) = &self._pg {
            config.store.url = Some(pg.url().to_owned());
        }
        config
    }

    /// The metrics page as a scraper reads it (`None` while the host does not answer).
    pub async fn metrics_page(&self) -> Option<String> {
        self.http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()
    }

    /// Signs in and returns an API client for `user`.
    pub async fn login(&self, user: &str) -> Agent {
        let res = self
            .http
            .post(format!("{}/api/v1/login", self.base))
            .json(&json!({ "username": user, "password": "demo" }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "login of {user}");
        let token = res.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        Agent {
            http: self.http.clone(),
            base: self.base.clone(),
            token,
        }
    }

    /// Posts through the emulator's control API; returns `{post_id, comment_id}`.
    pub async fn customer_says(&self, body: Value) -> Value {
        let res = self
            .http
            .post(format!(
                "http://{}/_emulator/facebook/comments",
                self.emulator_addr
            ))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            res.status().is_success(),
            "emulator refused {body}: {}",
            res.status()
        );
        res.json().await.unwrap()
    }

    /// A customer post on the demo page and a comment under it; returns their ids.
    pub async fn post_and_comment(&self, author: &str, text: &str) -> (String, String) {
        let post = self.customer_says(json!({ "page_id": "1001", "author_name": "Acme Outfitters", "author_id": "1001", "text": "New arrivals are in!" })).await;
        let post_id = post["post_id"].as_str().unwrap().to_owned();
        let comment = self
            .customer_says(json!({ "page_id": "1001", "post_id": post_id, "parent_id": post_id, "author_name": author, "text": text }))
            .await;
        (post_id, comment["comment_id"].as_str().unwrap().to_owned())
    }

    /// Waits until a count query on the host's database gives `expected`.
    pub async fn wait_count(&self, sql: &'static str, expected: i64) {
        wait_until(&format!("{sql} = {expected}"), || async {
            (self.count(sql).await == expected).then_some(())
        })
        .await;
    }

    /// Runs a query on the host's database.
    pub async fn count(&self, sql: &'static str) -> i64 {
        let store = self.host.as_ref().unwrap().app.store.clone();
        store
            .read(move |c| Ok(c.query_row(sql, (), |r| r.get(0))?))
            .await
            .unwrap()
    }
}

/// An API client signed in as one user.
#[derive(Clone)]
pub struct Agent {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Agent {
    /// Sends a request; returns status and JSON body.
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Calls and asserts success.
    pub async fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, value) = self.call(method, path, body).await;
        assert!(
            (200..300).contains(&status),
            "{method} {path} answered {status}: {value}"
        );
        value
    }

    /// The bearer token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Becomes available.
    pub async fn available(&self) {
        self.ok("PUT", "/me/status", Some(json!({ "status": "available" })))
            .await;
    }

    /// The interactions offered or assigned to this agent.
    pub async fn interactions(&self) -> Vec<Value> {
        let list = self.ok("GET", "/me/interactions", None).await;
        list.as_array().cloned().unwrap_or_default()
    }

    /// Gives routing a moment, then asserts nothing is offered to or held by this agent.
    pub async fn expect_nothing(&self, why: &str) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mine = self.interactions().await;
        assert!(mine.is_empty(), "{why}: {mine:?}");
    }

    /// Waits for an interaction in `state` offered or assigned to this agent.
    pub async fn wait_for_state(&self, state: &str) -> Value {
        wait_until(&format!("an interaction in state {state}"), || async {
            self.interactions()
                .await
                .into_iter()
                .find(|ix| ix["state"] == state)
        })
        .await
    }
}

/// Polls `check` until it yields a value (10 s at most).
pub async fn wait_until<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One social conversation at a time for every workgroup's agents (100 %, max 1).
pub fn one_at_a_time(config: &mut Config) {
    for group in &mut config.workgroups {
        let mut t = switchboard::routing::UtilizationTable::default();
        t.by_type.insert(
            "social_conversation".into(),
            switchboard::routing::Utilization {
                percent: 100,
                max: 1,
            },
        );
        group.utilization = t;
    }
}

/// The `id` of an interaction as the API answers it.
pub fn id_of(v: &Value) -> i64 {
    v["id"].as_i64().unwrap()
}

/// Appends `code` to the shipped default workflow and waits until the host reloaded it.
pub async fn extend_default_workflow(world: &World, code: &str) {
    let app = world.host.as_ref().unwrap().app.clone();
    let before = app.workflows.current().number;
    let script = app.workflows.dir().join("default.rhai");
    let mut text = std::fs::read_to_string(&script).unwrap();
    text.push_str(code);
    std::fs::write(&script, text).unwrap();
    wait_until("the workflow reloaded", || async {
        (app.workflows.current().number > before).then_some(())
    })
    .await;
}
