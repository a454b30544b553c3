//! Channels administrators create at runtime: created through the API, polled, stored and
//! started again after a restart; refused when anything about them is wrong; config-file
//! channels left alone; plugins listed with their version and health; webhook
//! handshakes and failures shown in the channel's status; secrets never shown.

use serde_json::{Value, json};
use switchboard::config::Config;

use crate::harness::{Agent, World, wait_until};

/// Secret values every test channel uses; no response may contain them.
const SECRETS: &[&str] = &[
    "demo-x-token-acme",
    "demo-consumer-secret",
    "demo-app-secret",
    "demo-page-token",
    "demo-verify",
];

/// The demo without its config-file X channel, so only the administrators' one polls X.
fn without_x(config: &mut Config) {
    config.channels.retain(|c| c.name != "x");
}

/// An X channel on the emulator, polling fast, as an administrator would send it.
fn x_channel(world: &World, name: &str) -> Value {
    let emulator = format!("http://{}", world.emulator_addr);
    json!({
        "name": name,
        "plugin": "x",
        "workgroup": "Social",
        "ingest": "poll",
        "poll_interval_ms": 200,
        "allowed_hosts": [emulator],
        "settings": { "handles": "acme", "keywords": "acmecorp", "api_base_url": emulator },
        "secrets": { "token_acme": "demo-x-token-acme", "consumer_secret": "demo-consumer-secret" },
    })
}

/// A Facebook channel for the demo page, receiving webhooks.
fn facebook_channel(world: &World, name: &str) -> Value {
    let emulator = format!("http://{}", world.emulator_addr);
    json!({
        "name": name,
        "plugin": "facebook",
        "workgroup": "Social",
        "allowed_hosts": [emulator],
        "settings": { "page_id": "1001", "graph_base_url": format!("{emulator}/v19.0") },
        "secrets": { "app_secret": "demo-app-secret", "verify_token": "demo-verify",
                     "access_token": "demo-page-token" },
    })
}

/// Calls the API and asserts no secret value is in the answer.
async fn call(admin: &Agent, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let (status, answer) = admin.call(method, path, body).await;
    let text = answer.to_string();
    for secret in SECRETS {
        assert!(
            !text.contains(secret),
            "{method} {path} shows a secret: {text}"
        );
    }
    (status, answer)
}

/// Asserts a refusal with `status` and an error naming every one of `words`.
async fn refused(
    admin: &Agent,
    method: &str,
    path: &str,
    body: Value,
    status: u16,
    words: &[&str],
) {
    let (got, answer) = call(admin, method, path, Some(body.clone())).await;
    assert_eq!(got, status, "{method} {path} {body} -> {answer}");
    let message = answer["error"].as_str().unwrap_or_default();
    for word in words {
        assert!(
            message.contains(word),
            "`{message}` does not mention `{word}`"
        );
    }
}

async fn tweet(world: &World, text: &str) {
    let res = world
        .http
        .post(format!("http://{}/_emulator/x/tweets", world.emulator_addr))
        .json(&json!({ "author_handle": "ann", "author_name": "Ann Lee", "text": text }))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "emulator refused the tweet");
}

/// Stops the host and starts it again on the same data folder (on a new port).
async fn restart(world: &mut World, tweak: impl FnOnce(&mut Config)) {
    world.host.take().unwrap().shutdown().await;
    let config = world.config(tweak);
    let host = switchboard::server::start(config)
        .await
        .expect("host restarts");
    world.base = format!("http://{}", host.addr);
    world.host = Some(host);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_x_channel_created_through_the_api_polls_routes_and_survives_a_restart() {
    let mut world = World::start(without_x).await;
    let admin = world.login("admin").await;
    let agent = world.login("agent1").await;
    agent.available().await;

    let (status, created) = call(
        &admin,
        "POST",
        "/channels",
        Some(x_channel(&world, "x-live")),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["source"], "admin");
    assert_eq!(
        (created["platform"].as_str(), created["plugin"].as_str()),
        (Some("x"), Some("x"))
    );
    assert!(
        !created["plugin_version"].as_str().unwrap().is_empty(),
        "{created}"
    );
    assert_eq!(created["webhook_url"], "/webhooks/x-live");
    assert_eq!(created["ingest"], "poll");
    assert_eq!(created["settings"]["keywords"], "acmecorp");
    assert_eq!(
        created["secrets"],
        json!({ "consumer_secret": "••••", "token_acme": "••••" })
    );
    assert_eq!(created["status"]["polling"], true);
    assert_eq!(created["suspensions"], json!([]));

    tweet(&world, "acmecorp my boots fell apart").await;
    let offered = agent.wait_for_state("alerting").await;
    assert_eq!(offered["channel"], "x-live", "{offered}");

    let polled = wait_until("a successful poll in the status", || async {
        let (_, ch) = call(&admin, "GET", "/channels/x-live", None).await;
        ch["status"]["last_ok_at"].as_i64().map(|_| ch)
    })
    .await;
    let status = &polled["status"];
    assert!(status["last_poll_at"].as_i64().unwrap() >= status["last_ok_at"].as_i64().unwrap());
    assert_eq!(status["webhook_verified"], false);
    let (_, all) = call(&admin, "GET", "/channels", None).await;
    let names: Vec<(&str, &str)> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["source"].as_str().unwrap()))
        .collect();
    assert_eq!(
        names,
        [
            ("apple", "config"),
            ("facebook", "config"),
            ("instagram", "config"),
            ("whatsapp", "config"),
            ("x-live", "admin")
        ]
    );

    // After a restart on the same data the channel is back, polling, and still routes.
    restart(&mut world, without_x).await;
    let admin = world.login("admin").await;
    let (status, back) = call(&admin, "GET", "/channels/x-live", None).await;
    assert_eq!(status, 200, "{back}");
    assert_eq!(back["source"], "admin");
    assert_eq!(back["secrets"]["token_acme"], "••••");
    tweet(&world, "acmecorp still waiting for my refund").await;
    world
        .wait_count(
            "SELECT count(*) FROM interactions WHERE channel = 'x-live'",
            2,
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_channel_is_refused_and_nothing_is_stored_or_started() {
    let world = World::start(without_x).await;
    let admin = world.login("admin").await;
    let good = x_channel(&world, "x-ok");
    let with = |field: &str, value: Value| {
        let mut body = good.clone();
        body[field] = value;
        body
    };
    let cases: Vec<(Value, u16, Vec<&str>)> = vec![
        (with("plugin", json!("nope")), 400, vec!["plugin", "nope"]),
        (with("plugin", json!("../x")), 400, vec!["plugin"]),
        (
            with("workgroup", json!("Nobody")),
            400,
            vec!["workgroup", "Nobody"],
        ),
        (
            with("dm_workgroup", json!("Nobody")),
            400,
            vec!["dm_workgroup"],
        ),
        (with("name", json!("Bad Name")), 400, vec!["name"]),
        (with("name", json!("a".repeat(41))), 400, vec!["name"]),
        (
            with("name", json!("facebook")),
            409,
            vec!["facebook", "config file"],
        ),
        (
            with("workflow", json!("missing.rhai")),
            400,
            vec!["workflow", "missing.rhai"],
        ),
        (
            with("poll_interval_ms", json!(5)),
            400,
            vec!["poll_interval_ms"],
        ),
        (
            with("grouping_timeout_s", json!(1)),
            400,
            vec!["grouping_timeout_s"],
        ),
        (
            with("allowed_hosts", json!(["ftp://h"])),
            400,
            vec!["allowed_hosts"],
        ),
        (with("colour", json!("red")), 400, vec!["colour"]),
        // The connector itself refuses: an X channel needs its handles.
        (
            with("settings", json!({ "keywords": "acmecorp" })),
            400,
            vec!["handles"],
        ),
    ];
    for (body, status, words) in cases {
        refused(&admin, "POST", "/channels", body, status, &words).await;
    }
    assert_eq!(world.count("SELECT count(*) FROM channels").await, 0);

    let (status, _) = call(&admin, "POST", "/channels", Some(good.clone())).await;
    assert_eq!(status, 201);
    refused(&admin, "POST", "/channels", good, 409, &["x-ok", "exists"]).await;
    assert_eq!(world.count("SELECT count(*) FROM channels").await, 1);
    let (_, all) = call(&admin, "GET", "/channels", None).await;
    assert_eq!(
        all.as_array().unwrap().len(),
        5,
        "four config channels and x-ok: {all}"
    );

    // Only administrators.
    let agent = world.login("agent1").await;
    for path in ["/channels", "/channels/x-ok", "/plugins"] {
        assert_eq!(agent.call("GET", path, None).await.0, 403, "{path}");
    }
    let (status, _) = agent
        .call("POST", "/channels", Some(x_channel(&world, "x-agent")))
        .await;
    assert_eq!(status, 403);
    assert_eq!(world.count("SELECT count(*) FROM channels").await, 1);
}

/// Words of the host's error chain ("plugin `x` on channel `y` failed: describe:
/// instantiating: configure: invalid config: …") that belong in the log, not in an answer.
const CHAIN: &[&str] = &[
    "describe",
    "instantiating",
    "configure",
    "invalid config",
    "on channel",
    "loading plugin",
    ".wasm",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_setting_is_named_in_plain_words_without_the_error_chain() {
    let world = World::start(without_x).await;
    let admin = world.login("admin").await;

    // The connector refuses: X needs its handles, Facebook its page id.
    let mut x = x_channel(&world, "x-plain");
    x["settings"] = json!({ "keywords": "acmecorp" });
    let mut fb = facebook_channel(&world, "fb-plain");
    fb["settings"]["page_id"] = json!("");
    for (body, setting) in [(x, "handles"), (fb, "page_id")] {
        let (status, answer) = call(&admin, "POST", "/channels", Some(body)).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["code"], "invalid_config", "{answer}");
        assert_eq!(answer["setting"], setting, "{answer}");
        let message = answer["error"].as_str().unwrap_or_default();
        assert!(
            message.starts_with(&format!("Setting `{setting}` is required"))
                && message.ends_with("Correct it and save the channel again."),
            "{message}"
        );
        for word in CHAIN {
            assert!(!message.contains(word), "`{word}` in `{message}`");
        }
    }

    // What the host checks itself is said without the server's paths either.
    let data = world._dir.path().display().to_string();
    let mut missing = x_channel(&world, "x-plain");
    missing["workflow"] = json!("missing.rhai");
    let (status, answer) = call(&admin, "POST", "/channels", Some(missing)).await;
    assert_eq!(status, 400, "{answer}");
    let message = answer["error"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("There is no workflow `missing.rhai`. Choose one of: ")
            && message.contains("default.rhai"),
        "{message}"
    );
    assert!(!message.contains(&data), "{message}");
    let mut nope = x_channel(&world, "x-plain");
    nope["plugin"] = json!("nope");
    let (status, answer) = call(&admin, "POST", "/channels", Some(nope)).await;
    assert_eq!(status, 400, "{answer}");
    let message = answer["error"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("There is no plugin `nope`."),
        "{message}"
    );
    for word in CHAIN {
        assert!(!message.contains(word), "`{word}` in `{message}`");
    }
    assert_eq!(world.count("SELECT count(*) FROM channels").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_channels_are_not_edited_admin_channels_are_replaced_and_deleted() {
    let world = World::start(without_x).await;
    let admin = world.login("admin").await;
    let config_only = ["defined in the config file", "change it there"];
    refused(
        &admin,
        "PUT",
        "/channels/facebook",
        json!({ "plugin": "facebook", "workgroup": "Social" }),
        409,
        &config_only,
    )
    .await;
    let (status, answer) = call(&admin, "DELETE", "/channels/facebook", None).await;
    assert_eq!(status, 409, "{answer}");
    let (_, fb) = call(&admin, "GET", "/channels/facebook", None).await;
    assert_eq!(fb["source"], "config");
    assert_eq!(fb["secrets"]["app_secret"], "••••");

    let (status, _) = call(
        &admin,
        "POST",
        "/channels",
        Some(x_channel(&world, "x-edit")),
    )
    .await;
    assert_eq!(status, 201);
    // Replaced without its secrets (or with the mask): the stored ones stay.
    let mut body = x_channel(&world, "x-edit");
    body["poll_interval_ms"] = json!(300);
    body["dm_workgroup"] = json!("Billing");
    body["secrets"] = json!({ "consumer_secret": "••••" });
    let (status, replaced) = call(&admin, "PUT", "/channels/x-edit", Some(body.clone())).await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["poll_interval_ms"], 300);
    assert_eq!(replaced["dm_workgroup"], "Billing");
    assert_eq!(
        replaced["secrets"],
        json!({ "consumer_secret": "••••", "token_acme": "••••" })
    );
    assert_eq!(
        world
            .count("SELECT count(*) FROM channels WHERE config LIKE '%demo-x-token-acme%' AND config LIKE '%demo-consumer-secret%'")
            .await,
        1
    );
    // A bad replacement changes nothing.
    body["workgroup"] = json!("Nobody");
    refused(
        &admin,
        "PUT",
        "/channels/x-edit",
        body.clone(),
        400,
        &["workgroup"],
    )
    .await;
    body["workgroup"] = json!("Social");
    body["name"] = json!("renamed");
    refused(&admin, "PUT", "/channels/x-edit", body, 400, &["renamed"]).await;
    let (_, kept) = call(&admin, "GET", "/channels/x-edit", None).await;
    assert_eq!(kept["dm_workgroup"], "Billing");
    refused(
        &admin,
        "PUT",
        "/channels/nobody",
        x_channel(&world, "nobody"),
        404,
        &["nobody"],
    )
    .await;

    // The workgroup an admin channel routes to cannot be deleted from under it.
    let groups = admin.ok("GET", "/workgroups", None).await;
    let billing = groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "Billing")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let (status, answer) = call(&admin, "DELETE", &format!("/workgroups/{billing}"), None).await;
    assert_eq!(status, 409, "{answer}");

    let (status, _) = call(&admin, "DELETE", "/channels/x-edit", None).await;
    assert_eq!(status, 204);
    // Its poller ends (after at most the poll it was in): X hears nothing more from us.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let calls = world.emulator.x_requests().len();
    assert!(calls > 0, "the channel polled X before it was deleted");
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    assert_eq!(
        world.emulator.x_requests().len(),
        calls,
        "a deleted channel still polls"
    );
    assert_eq!(call(&admin, "GET", "/channels/x-edit", None).await.0, 404);
    assert_eq!(
        call(&admin, "DELETE", "/channels/x-edit", None).await.0,
        404
    );
    assert_eq!(world.count("SELECT count(*) FROM channels").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_are_listed_with_version_health_and_channels() {
    let world = World::start(without_x).await;
    let admin = world.login("admin").await;
    let (status, plugins) = call(&admin, "GET", "/plugins", None).await;
    assert_eq!(status, 200, "{plugins}");
    let find = |name: &str| {
        plugins
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} not in {plugins}"))
    };
    for name in ["facebook", "x", "whatsapp", "apple"] {
        let p = find(name);
        assert_eq!(p["health"], "ok", "{p}");
        assert_eq!(p["error"], Value::Null, "{p}");
        assert_eq!(p["platform"], name, "{p}");
        assert!(!p["version"].as_str().unwrap().is_empty(), "{p}");
        assert!(
            p["file"]
                .as_str()
                .unwrap()
                .ends_with(&format!("{name}.wasm"))
        );
        assert!(!p["capabilities"].as_array().unwrap().is_empty(), "{p}");
        assert!(!p["config_keys"].as_array().unwrap().is_empty(), "{p}");
        assert_eq!(p["restarts"], 0);
    }
    assert_eq!(find("facebook")["channels"], json!(["facebook"]));
    // The hosts a plugin calls are shown before any channel uses them.
    // The Graph API first, then the CDN hosts the host downloads attachments from.
    let hosts = find("facebook")["hosts"].as_array().unwrap().clone();
    assert_eq!(hosts[0], "https://graph.facebook.com", "{hosts:?}");
    assert!(
        hosts
            .iter()
            .any(|h| h.as_str().unwrap().contains("fbcdn.net")),
        "the attachment CDN is declared: {hosts:?}"
    );
    assert_eq!(find("faulty")["hosts"], json!(["http://declared.invalid"]));
    assert_eq!(
        find("x")["channels"],
        json!([]),
        "the config x channel was removed"
    );
    let x = find("x");
    let handles = x["config_keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "handles")
        .unwrap();
    assert_eq!(handles["required"], true);
    assert!(
        x["capabilities"]
            .as_array()
            .unwrap()
            .contains(&json!("poll"))
    );

    // A second look answers from the cache the same way.
    assert_eq!(call(&admin, "GET", "/plugins", None).await.1, plugins);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_handshake_the_stream_and_plugin_failures_show_in_the_status() {
    let world = World::start(without_x).await;
    let admin = world.login("admin").await;
    // The harness subscribed the config-file Facebook channel at start.
    let (_, fb) = call(&admin, "GET", "/channels/facebook", None).await;
    assert_eq!(fb["status"]["webhook_verified"], true, "{fb}");

    let (status, created) = call(
        &admin,
        "POST",
        "/channels",
        Some(facebook_channel(&world, "fb-two")),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["status"]["webhook_verified"], false);
    assert_eq!(created["status"]["polling"], false);
    assert_eq!(created["status"]["stream_connected"], Value::Null);
    world
        .emulator
        .subscribe_facebook(
            "1001",
            &format!("{}/webhooks/fb-two", world.base),
            "demo-verify",
        )
        .await
        .expect("the handshake with a channel created at runtime");
    let (_, verified) = call(&admin, "GET", "/channels/fb-two", None).await;
    assert_eq!(verified["status"]["webhook_verified"], true, "{verified}");
    assert!(verified["status"]["webhook_verified_at"].as_i64().is_some());
    assert_eq!(verified["status"]["last_error"], Value::Null);

    // A wrong verify token is refused by the plugin and becomes the last error.
    let res = world
        .http
        .get(format!(
            "{}/webhooks/fb-two?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1",
            world.base
        ))
        .send()
        .await
        .unwrap();
    assert!(!res.status().is_success());
    let (_, failed) = call(&admin, "GET", "/channels/fb-two", None).await;
    let error = failed["status"]["last_error"].as_str().unwrap_or_default();
    assert!(error.starts_with("webhook:"), "{failed}");
    assert!(failed["status"]["last_error_at"].as_i64().is_some());

    // A trapping plugin: its instance is replaced, which the plugin list counts.
    let faulty = json!({ "name": "faulty", "plugin": "faulty", "workgroup": "Social" });
    let (status, created) = call(&admin, "POST", "/channels", Some(faulty)).await;
    assert_eq!(status, 201, "{created}");
    let res = world
        .http
        .post(format!("{}/webhooks/faulty", world.base))
        .body(json!({ "id": "t1", "text": "trap" }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
    let (_, plugins) = call(&admin, "GET", "/plugins", None).await;
    let faulty = plugins
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "faulty")
        .unwrap();
    assert_eq!(faulty["channels"], json!(["faulty"]));
    assert!(faulty["restarts"].as_u64().unwrap() >= 1, "{faulty}");
    let (_, ch) = call(&admin, "GET", "/channels/faulty", None).await;
    assert!(
        ch["status"]["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("trap"),
        "{ch}"
    );

    // A streaming X channel shows its connection, and deleting it closes the stream.
    let mut streaming = x_channel(&world, "x-stream");
    streaming["settings"]["use_stream"] = json!("true");
    let (status, created) = call(&admin, "POST", "/channels", Some(streaming)).await;
    assert_eq!(status, 201, "{created}");
    wait_until("the stream is connected", || async {
        let (_, ch) = call(&admin, "GET", "/channels/x-stream", None).await;
        (ch["status"]["stream_connected"] == true).then_some(())
    })
    .await;
    assert_eq!(x_stream(&world).await["open"], 1);
    assert_eq!(
        call(&admin, "DELETE", "/channels/x-stream", None).await.0,
        204
    );
    wait_until("the stream is closed", || async {
        (x_stream(&world).await["open"] == 0).then_some(())
    })
    .await;
}

/// The emulator's X filtered-stream state.
async fn x_stream(world: &World) -> Value {
    world
        .http
        .post(format!("http://{}/_emulator/x/stream", world.emulator_addr))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Every byte of the database files (main file and write-ahead log), as a backup would
/// copy them.
fn database_bytes(world: &World) -> Vec<u8> {
    if crate::harness::on_postgres() {
        // PostgreSQL's files are the server's: what a dump of the tables that can hold a
        // channel's settings would carry.
        let store = world.host.as_ref().unwrap().app.store.clone();
        return store
            .read_blocking(|c| {
                let mut bytes = Vec::new();
                for sql in [
                    "SELECT config FROM channels",
                    "SELECT coalesce(detail, '') FROM audit_log",
                    "SELECT cursor FROM channel_cursors",
                ] {
                    for text in c.prepare(sql)?.query_map((), |r| r.get::<_, String>(0))? {
                        bytes.extend(text?.into_bytes());
                    }
                }
                for value in c
                    .prepare("SELECT value FROM plugin_kv")?
                    .query_map((), |r| r.get::<_, Vec<u8>>(0))?
                {
                    bytes.extend(value?);
                }
                Ok(bytes)
            })
            .unwrap();
    }
    let db = world.host.as_ref().unwrap().app.config.database_path();
    let mut bytes = Vec::new();
    for suffix in ["", "-wal"] {
        let path = format!("{}{suffix}", db.display());
        bytes.extend(std::fs::read(&path).unwrap_or_default());
    }
    bytes
}

fn holds(bytes: &[u8], text: &str) -> bool {
    bytes.windows(text.len()).any(|w| w == text.as_bytes())
}

/// The stored row's secrets, as the database holds them.
async fn stored_secrets(world: &World, name: &'static str) -> Value {
    let store = world.host.as_ref().unwrap().app.store.clone();
    let json: String = store
        .read(move |c| {
            Ok(
                c.query_row("SELECT config FROM channels WHERE name = ?1", [name], |r| {
                    r.get(0)
                })?,
            )
        })
        .await
        .unwrap();
    serde_json::from_str::<Value>(&json).unwrap()["secrets"].clone()
}

/// With an operator key, an administrator's channel secrets are stored encrypted (the
/// database files hold no plain secret), the channel works after a restart, a rotation
/// encrypts them again with the new key, and a missing key stops only that channel,
/// saying which key it needs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_secrets_are_encrypted_at_rest_and_a_key_rotation_reencrypts_them() {
    let old_key = switchboard::config::sealed::Key::generate();
    let new_key = switchboard::config::sealed::Key::generate();
    let with_key = |key: Option<String>, previous: Vec<String>| {
        move |c: &mut Config| {
            without_x(c);
            c.server.secret_key = key;
            c.server.previous_secret_keys = previous;
        }
    };
    let mut world = World::start(with_key(Some(old_key.clone()), vec![])).await;
    let admin = world.login("admin").await;
    let (status, created) = call(
        &admin,
        "POST",
        "/channels",
        Some(x_channel(&world, "x-sealed")),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let sealed = stored_secrets(&world, "x-sealed").await;
    assert!(
        sealed["token_acme"]
            .as_str()
            .unwrap()
            .starts_with("sealed:v1:"),
        "{sealed}"
    );
    // Replaced without its secrets (kept from the stored row), it stays sealed.
    let mut replacement = x_channel(&world, "x-sealed");
    replacement.as_object_mut().unwrap().remove("secrets");
    let (status, replaced) = call(&admin, "PUT", "/channels/x-sealed", Some(replacement)).await;
    assert_eq!(status, 200, "{replaced}");
    let bytes = database_bytes(&world);
    for secret in SECRETS {
        assert!(!holds(&bytes, secret), "the database files hold {secret}");
    }

    // Rotation: the new key, the old one still read; the row is sealed again at start.
    restart(
        &mut world,
        with_key(Some(new_key.clone()), vec![old_key.clone()]),
    )
    .await;
    let resealed = stored_secrets(&world, "x-sealed").await;
    assert_ne!(resealed["token_acme"], sealed["token_acme"]);
    let key_id = |v: &Value| {
        v["token_acme"]
            .as_str()
            .unwrap()
            .split(':')
            .nth(2)
            .unwrap()
            .to_owned()
    };
    assert_ne!(
        key_id(&resealed),
        key_id(&sealed),
        "sealed with the new key"
    );
    // The old key can go: the channel still reads its token and works.
    restart(&mut world, with_key(Some(new_key.clone()), vec![])).await;
    tweet(&world, "acmecorp sealed and delivered").await;
    world
        .wait_count(
            "SELECT count(*) FROM interactions WHERE channel = 'x-sealed'",
            1,
        )
        .await;

    // Without the key that channel cannot start (its error names the key id it needs);
    // the others do.
    restart(&mut world, with_key(None, vec![])).await;
    let admin = world.login("admin").await;
    let (status, _) = call(&admin, "GET", "/channels/x-sealed", None).await;
    assert_eq!(status, 404, "not running without its key");
    let (status, _) = call(&admin, "GET", "/channels/facebook", None).await;
    assert_eq!(status, 200);
}
