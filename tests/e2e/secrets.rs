//! Secrets never leave the host: every channel of the demo (Facebook with Messenger,
//! WhatsApp, Apple, X, and a Facebook channel whose requests are refused) runs in the real
//! binary with recognisable secrets, every platform path is made to fail (sends that time
//! out or are refused, polls answered with errors, refused hosts, webhooks with bad
//! signatures or verify tokens), and no secret appears in any API answer the test reads
//! (every `GET` of the OpenAPI document as an administrator and as an agent included) nor
//! in any line the host logged at debug level.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Agent, World, copy_workflows, plugins_dir, start_emulator_with, wait_until};
use crate::resilience::{HostProcess, free_port, wait_healthy};

const FB_APP: &str = "SECRET-fb-app-secret-XYZ";
const FB_VERIFY: &str = "SECRET-fb-verify-token-XYZ";
const FB_TOKEN: &str = "SECRET-fb-page-token-XYZ";
const WA_APP: &str = "SECRET-wa-app-secret-XYZ";
const WA_VERIFY: &str = "SECRET-wa-verify-token-XYZ";
const WA_TOKEN: &str = "SECRET-wa-access-token-XYZ";
/// Apple's shared secret is configured base64-encoded, as Apple hands it out.
const APPLE_PLAIN: &str = "SECRET-apple-shared-XYZ";
const X_TOKEN: &str = "SECRET-x-user-token-XYZ";
const X_CONSUMER: &str = "SECRET-x-consumer-secret-XYZ";
const IG_APP: &str = "SECRET-ig-app-secret-XYZ";
const IG_VERIFY: &str = "SECRET-ig-verify-token-XYZ";
const IG_TOKEN: &str = "SECRET-ig-access-token-XYZ";

fn apple_secret() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(APPLE_PLAIN)
}

/// Every form a secret could be written in: as configured, URL-encoded, and Apple's
/// decoded.
fn needles() -> Vec<String> {
    let mut all: Vec<String> = [
        FB_APP,
        FB_VERIFY,
        FB_TOKEN,
        WA_APP,
        WA_VERIFY,
        WA_TOKEN,
        APPLE_PLAIN,
        X_TOKEN,
        X_CONSUMER,
        IG_APP,
        IG_VERIFY,
        IG_TOKEN,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    all.push(apple_secret());
    all.push(urlencoding::encode(&apple_secret()).into_owned());
    all
}

/// Fails naming the secret and where it was seen.
fn assert_clean(what: &str, text: &str) {
    for needle in needles() {
        assert!(
            !text.contains(&needle),
            "a secret ({needle}) in {what}: {}",
            text.chars().take(2000).collect::<String>()
        );
    }
}

/// The demo config with the test's secrets, pointed at the emulator, as TOML.
fn config_toml(dir: &std::path::Path, port: u16, em: std::net::SocketAddr) -> String {
    let mut config: toml::Table = switchboard::demo::DEMO_CONFIG.parse().unwrap();
    let server = config["server"].as_table_mut().unwrap();
    server.insert("listen".into(), format!("127.0.0.1:{port}").into());
    let data = dir.join("data").display().to_string();
    server.insert("data_dir".into(), data.into());
    server.insert(
        "plugins_dir".into(),
        plugins_dir().display().to_string().into(),
    );
    let workflows = copy_workflows(dir).display().to_string();
    server.insert("workflows_dir".into(), workflows.into());
    // Short calls, so a platform answering late makes a send time out.
    let mut limits = toml::Table::new();
    limits.insert("call_timeout_ms".into(), 1500.into());
    server.insert("plugin_limits".into(), limits.into());
    let secrets = |pairs: &[(&str, String)]| {
        toml::Value::Table(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone().into()))
                .collect(),
        )
    };
    let channels = config["channels"].as_array_mut().unwrap();
    for ch in channels.iter_mut() {
        let ch = ch.as_table_mut().unwrap();
        let settings = ch["settings"].as_table_mut().unwrap();
        settings.insert("graph_base_url".into(), format!("http://{em}/v19.0").into());
        settings.insert("apple_base_url".into(), format!("http://{em}").into());
        settings.insert("api_base_url".into(), format!("http://{em}").into());
        ch.insert("allowed_hosts".into(), vec![format!("http://{em}")].into());
        let s = match ch["name"].as_str().unwrap() {
            "facebook" => {
                ch.insert("ingest".into(), "both".into());
                ch.insert("poll_interval_ms".into(), 300.into());
                secrets(&[
                    ("app_secret", FB_APP.into()),
                    ("verify_token", FB_VERIFY.into()),
                    ("access_token", FB_TOKEN.into()),
                ])
            }
            "whatsapp" => secrets(&[
                ("app_secret", WA_APP.into()),
                ("verify_token", WA_VERIFY.into()),
                ("access_token", WA_TOKEN.into()),
            ]),
            "apple" => secrets(&[("secret", apple_secret())]),
            "x" => {
                ch.insert("poll_interval_ms".into(), 300.into());
                secrets(&[
                    ("token_acme", X_TOKEN.into()),
                    ("consumer_secret", X_CONSUMER.into()),
                ])
            }
            "instagram" => secrets(&[
                ("app_secret", IG_APP.into()),
                ("verify_token", IG_VERIFY.into()),
                ("access_token", IG_TOKEN.into()),
            ]),
            other => panic!("a demo channel this test does not know: {other}"),
        };
        ch.insert("secrets".into(), s);
    }
    // The same page through a wildcard: the emulator on 127.0.0.1 is not named exactly,
    // so every request of this channel is refused.
    let mut refused = channels[0].as_table().unwrap().clone();
    refused.insert("name".into(), "facebook-refused".into());
    refused.insert("ingest".into(), "poll".into());
    let wildcard = format!("http://*.*.*.*:{}", em.port());
    refused.insert("allowed_hosts".into(), vec![wildcard].into());
    channels.push(refused.into());
    toml::to_string(&config).unwrap()
}

/// The emulator's demo accounts, with the test's secrets.
fn emulator_config() -> switchboard_emulator::EmulatorConfig {
    let mut em = switchboard::demo::emulator_config();
    em.facebook_pages[0].app_secret = FB_APP.into();
    em.facebook_pages[0].access_token = Some(FB_TOKEN.into());
    em.whatsapp_numbers[0].app_secret = WA_APP.into();
    em.whatsapp_numbers[0].access_token = Some(WA_TOKEN.into());
    em.apple_businesses[0].secret = apple_secret();
    em.x.accounts[0].token = X_TOKEN.into();
    em.x.consumer_secret = X_CONSUMER.into();
    em.instagram_accounts[0].app_secret = IG_APP.into();
    em.instagram_accounts[0].verify_token = IG_VERIFY.into();
    em.instagram_accounts[0].access_token = Some(IG_TOKEN.into());
    em
}

/// Records every API answer the test reads, so each is scanned.
struct Reader {
    seen: usize,
}

impl Reader {
    fn read(&mut self, what: &str, value: &Value) -> Value {
        self.seen += 1;
        assert_clean(what, &value.to_string());
        value.clone()
    }

    async fn call(
        &mut self,
        agent: &Agent,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let (status, value) = agent.call(method, path, body).await;
        self.read(&format!("{method} {path} ({status})"), &value)
    }
}

/// Picks up the interaction offered on `channel`; its id.
async fn pick_up(agent: &Agent, reader: &mut Reader, channel: &str) -> i64 {
    let offered = wait_until(&format!("an interaction of {channel}"), || async {
        agent
            .interactions()
            .await
            .into_iter()
            .find(|ix| ix["channel"] == channel && ix["state"] == "alerting")
    })
    .await;
    reader.read("/me/interactions", &offered);
    let id = offered["id"].as_i64().unwrap();
    reader
        .call(agent, "POST", &format!("/interactions/{id}/pickup"), None)
        .await;
    id
}

/// Replies and returns the outbound entry the answer shows.
async fn reply(agent: &Agent, reader: &mut Reader, id: i64, body: Value) -> Value {
    reader
        .call(
            agent,
            "POST",
            &format!("/interactions/{id}/reply"),
            Some(body),
        )
        .await
}

async fn post_json(world: &World, path: &str, body: Value) -> Value {
    let res = world
        .http
        .post(format!("http://{}{path}", world.emulator_addr))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_success(),
        "emulator {path}: {}",
        res.status()
    );
    res.json().await.unwrap_or(Value::Null)
}

/// Reads the interaction as the desktop does (every answer is scanned), then ends it.
async fn read_then_end(agent: &Agent, reader: &mut Reader, id: i64) {
    reader
        .call(agent, "GET", &format!("/interactions/{id}"), None)
        .await;
    reader
        .call(
            agent,
            "POST",
            &format!("/interactions/{id}/disconnect"),
            None,
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_any_answer_or_log_line_when_every_platform_path_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (emulator, em) = start_emulator_with(emulator_config()).await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let config_path = dir.path().join("switchboard.toml");
    std::fs::write(&config_path, config_toml(dir.path(), port, em)).unwrap();
    let log_path = dir.path().join("host.log");
    let quiet = "cranelift_codegen=info,wasmtime_cranelift=info,wasmtime=info,regalloc2=info";
    let host = HostProcess::spawn_logged(&config_path, &format!("debug,{quiet}"), &log_path);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    wait_healthy(&http, &base).await;
    // The verify tokens travel in the handshakes' query strings.
    emulator
        .subscribe_facebook("1001", &format!("{base}/webhooks/facebook"), FB_VERIFY)
        .await
        .unwrap();
    emulator
        .subscribe_whatsapp("2002", &format!("{base}/webhooks/whatsapp"), WA_VERIFY)
        .await
        .unwrap();
    emulator
        .subscribe_apple("acme-biz", &format!("{base}/webhooks/apple"))
        .unwrap();
    emulator
        .subscribe_x(&format!("{base}/webhooks/x"))
        .await
        .unwrap();
    let world = World {
        _share: crate::harness::share().await,
        emulator,
        emulator_addr: em,
        host: None,
        base: base.clone(),
        _dir: dir,
        http: http.clone(),
        _pg: None,
    };
    let mut reader = Reader { seen: 0 };
    let agent = world.login("agent1").await;
    agent.available().await;
    let admin = world.login("admin").await;
    let late = || world.emulator.lose_requests(Duration::from_secs(4), 1);

    // Facebook: a comment's reply times out (the case that once put the page token into
    // the outbound entry), another is refused by the Graph API.
    world
        .post_and_comment("Ann Lee", "where is my order?")
        .await;
    let id = pick_up(&agent, &mut reader, "facebook").await;
    late();
    let timed_out = reply(
        &agent,
        &mut reader,
        id,
        json!({"text": "Checking now", "visibility": "public"}),
    )
    .await;
    assert!(
        timed_out["last_error"].is_string(),
        "the send failed: {timed_out}"
    );
    post_json(
        &world,
        "/_emulator/facebook/failures",
        json!({"status": 400, "code": 190, "message": "Invalid OAuth access token", "count": 1}),
    )
    .await;
    reply(
        &agent,
        &mut reader,
        id,
        json!({"text": "Still checking", "visibility": "public"}),
    )
    .await;
    read_then_end(&agent, &mut reader, id).await;

    // Messenger: a direct message whose reply times out.
    post_json(
        &world,
        "/_emulator/messenger/messages",
        json!({"page_id": "1001", "name": "Bo Chen", "text": "hi in private"}),
    )
    .await;
    let id = pick_up(&agent, &mut reader, "facebook").await;
    late();
    reply(
        &agent,
        &mut reader,
        id,
        json!({"text": "Hello Bo", "visibility": "private"}),
    )
    .await;
    read_then_end(&agent, &mut reader, id).await;

    // WhatsApp: a reply that times out.
    post_json(&world, "/_emulator/whatsapp/messages", json!({"phone_number_id": "2002", "from": "15551234567", "name": "Cy", "type": "text", "text": "hello"})).await;
    let id = pick_up(&agent, &mut reader, "whatsapp").await;
    late();
    reply(
        &agent,
        &mut reader,
        id,
        json!({"text": "Hi Cy", "visibility": "private"}),
    )
    .await;
    read_then_end(&agent, &mut reader, id).await;

    // Apple: the gateway refuses the reply, then one times out.
    post_json(&world, "/_emulator/apple/messages", json!({"business_id": "acme-biz", "source_id": "urn:mbid:secret-scan", "type": "text", "body": "bonjour"})).await;
    let id = pick_up(&agent, &mut reader, "apple").await;
    post_json(
        &world,
        "/_emulator/apple/failures",
        json!({"status": 503, "count": 1}),
    )
    .await;
    reply(
        &agent,
        &mut reader,
        id,
        json!({"text": "Bonjour", "visibility": "private"}),
    )
    .await;
    late();
    reply(
        &agent,
        &mut reader,
        id,
        json!({"text": "Encore", "visibility": "private"}),
    )
    .await;
    read_then_end(&agent, &mut reader, id).await;

    // X: a tweet found by the poll; the reply is refused, then one times out.
    post_json(&world, "/_emulator/x/tweets", json!({"author_handle": "ann", "author_name": "Ann Lee", "text": "@acme acmecorp my boots"})).await;
    let id = pick_up(&agent, &mut reader, "x").await;
    post_json(
        &world,
        "/_emulator/x/failures",
        json!({"endpoint": "post", "status": 403, "count": 1}),
    )
    .await;
    reply(
        &agent,
        &mut reader,
        id,
        json!({"text": "Sorry Ann", "visibility": "public"}),
    )
    .await;
    late();
    reply(
        &agent,
        &mut reader,
        id,
        json!({"text": "Sorry again", "visibility": "public"}),
    )
    .await;
    reader
        .call(&agent, "GET", &format!("/interactions/{id}"), None)
        .await;

    // Polls that fail: the Graph API refuses the token, X's search answers 401.
    post_json(
        &world,
        "/_emulator/facebook/failures",
        json!({"status": 400, "code": 190, "message": "Invalid OAuth access token", "count": 3}),
    )
    .await;
    post_json(
        &world,
        "/_emulator/x/failures",
        json!({"endpoint": "search", "status": 401, "count": 3}),
    )
    .await;
    // Webhooks that are refused: a bad signature, a wrong verify token.
    let res = http
        .post(format!("{base}/webhooks/facebook"))
        .header("x-hub-signature-256", "sha256=00")
        .body(r#"{"object":"page","entry":[]}"#)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
    assert_clean("a webhook's answer", &res.text().await.unwrap());
    let res = http
        .get(format!(
            "{base}/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1"
        ))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
    assert_clean("a webhook's answer", &res.text().await.unwrap());

    let channels = wait_until("every failure in the channels' status", || async {
        let list = admin.call("GET", "/channels", None).await.1;
        let error_of = |name: &str| {
            list.as_array()?.iter().find(|c| c["name"] == name)?["status"]["last_error"]
                .as_str()
                .map(str::to_owned)
        };
        let x_source_failed =
            list.as_array()?.iter().find(|c| c["name"] == "x")?["status"]["sources"]
                .as_array()?
                .iter()
                .any(|s| s["error"].is_string());
        let refused = error_of("facebook-refused")?;
        (refused.contains("is refused") && x_source_failed && error_of("facebook").is_some())
            .then_some(list)
    })
    .await;
    reader.read("GET /channels", &channels);

    // Every GET the API documents, as the administrator and as the agent.
    let spec: Value = http
        .get(format!("{base}/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    reader.read("openapi.json", &spec);
    let names = [
        "facebook",
        "facebook-refused",
        "instagram",
        "whatsapp",
        "apple",
        "x",
    ];
    let mut paths = Vec::new();
    for (path, ops) in spec["paths"].as_object().unwrap() {
        if ops.get("get").is_none() || path.ends_with("/events") {
            continue;
        }
        let path = path.trim_start_matches("/api/v1");
        if path.contains("{id}") {
            paths.extend((1..=12).map(|i| path.replace("{id}", &i.to_string())));
        } else if path.contains("{name}") && !path.contains("{keyword}") {
            paths.extend(names.iter().map(|n| path.replace("{name}", n)));
        } else if !path.contains('{') {
            paths.push(path.to_owned());
        }
    }
    assert!(paths.len() > 20, "the sweep covers the API: {paths:?}");
    for who in [&admin, &agent] {
        for path in &paths {
            reader.call(who, "GET", path, None).await;
        }
    }
    // The event stream, for a moment.
    let mut stream = http
        .get(format!("{base}/api/v1/events"))
        .bearer_auth(agent.token())
        .send()
        .await
        .unwrap();
    let mut events = Vec::new();
    while let Ok(Ok(Some(chunk))) =
        tokio::time::timeout(Duration::from_millis(500), stream.chunk()).await
    {
        events.extend_from_slice(&chunk);
    }
    assert_clean("the event stream", &String::from_utf8_lossy(&events));
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_clean("/metrics", &metrics);

    drop(host);
    let log = std::fs::read_to_string(&log_path).unwrap();
    for (n, line) in log.lines().enumerate() {
        assert_clean(&format!("log line {}", n + 1), line);
    }
    // The scan saw the failures it is about.
    for expected in ["plugin request refused", "poll failed", "webhook", "reply"] {
        assert!(log.contains(expected), "the log has no `{expected}`");
    }
    assert!(reader.seen > 100, "answers read: {}", reader.seen);
}
