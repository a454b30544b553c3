//! The `switchboard` command as an operator uses it.

use std::path::Path;
use std::process::Command;

use crate::harness::{copy_workflows, plugins_dir};

fn check(config: &Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["check", "--config"])
        .arg(config)
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// `switchboard serve -c PATH` with `env` set, its stderr read line by line on a thread of
/// its own (so the child never blocks on a full pipe).
fn serve_with_log(
    path: &Path,
    env: &[(&str, &str)],
) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.args(["serve", "--config"])
        .arg(path)
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

fn config_text(dir: &Path, plugin: &str, extra: &str) -> String {
    format!(
        r#"
[server]
data_dir = "{data}"
plugins_dir = "{plugins}"
workflows_dir = "{workflows}"
{extra}
[[channels]]
name = "facebook"
plugin = "{plugin}"
workgroup = "Social"
[channels.settings]
page_id = "1001"
[channels.secrets]
app_secret = "s"
verify_token = "v"
"#,
        data = dir.join("data").display(),
        plugins = plugins_dir().display(),
        workflows = dir.join("workflows").display(),
    )
}

#[test]
fn check_accepts_a_good_config_and_names_every_mistake() {
    let dir = tempfile::tempdir().unwrap();
    copy_workflows(dir.path());
    let path = dir.path().join("switchboard.toml");

    std::fs::write(&path, config_text(dir.path(), "facebook", "")).unwrap();
    let (ok, text) = check(&path);
    assert!(ok, "a good config passes: {text}");

    std::fs::write(
        &path,
        config_text(dir.path(), "facebook", "colour = \"blue\""),
    )
    .unwrap();
    let (ok, text) = check(&path);
    assert!(
        !ok && text.contains("colour"),
        "unknown key is named: {text}"
    );

    std::fs::write(&path, config_text(dir.path(), "nosuchplugin", "")).unwrap();
    let (ok, text) = check(&path);
    assert!(
        !ok && text.contains("nosuchplugin.wasm"),
        "missing plugin is named: {text}"
    );

    std::fs::write(&path, config_text(dir.path(), "facebook", "")).unwrap();
    std::fs::write(
        dir.path().join("workflows/default.rhai"),
        "fn on_inbound(ix) {\n  route(ix, #{ workgroup: \n}\n",
    )
    .unwrap();
    let (ok, text) = check(&path);
    assert!(
        !ok && text.contains("default.rhai:3:"),
        "script error has file:line:col: {text}"
    );

    std::fs::write(
        dir.path().join("workflows/default.rhai"),
        "fn on_inbound(ix) {\n  rout(ix);\n}\n",
    )
    .unwrap();
    let (ok, text) = check(&path);
    assert!(
        !ok && text.contains("default.rhai:2:3: unknown function `rout`"),
        "unknown function is named: {text}"
    );

    std::fs::write(
        dir.path().join("workflows/default.rhai"),
        "fn on_disconnect(ix) { }\n",
    )
    .unwrap();
    let (ok, text) = check(&path);
    assert!(
        !ok && text.contains("no `on_inbound(ix)` handler"),
        "missing handler is named: {text}"
    );

    let (ok, text) = check(&dir.path().join("missing.toml"));
    assert!(!ok && text.contains("missing.toml"), "{text}");
}

fn workflow_test(dir: &Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["workflow", "test"])
        .arg(dir)
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn workflow_test_passes_good_fixtures_and_diffs_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let wf = dir.path();
    std::fs::write(
        wf.join("default.rhai"),
        "fn on_inbound(ix) {\n  route(ix, #{ priority: 3 });\n}\n",
    )
    .unwrap();
    std::fs::write(
        wf.join("classify.toml"),
        "default_language = \"en\"\n[thresholds]\npositive = 1\nnegative = -1\nactionable = 1\n[languages.en]\n",
    )
    .unwrap();
    std::fs::create_dir(wf.join("tests")).unwrap();
    let fixture = |priority: i64| {
        format!(
            "script = \"default.rhai\"\n\n[[step]]\nname = \"routed\"\ninbound = {{ text = \"hi\" }}\n\
             effects = ['route workgroup=Social priority={priority}']\n\
             interaction = {{ id = 1, state = \"queued\", priority = {priority} }}\n"
        )
    };
    std::fs::write(wf.join("tests/good.toml"), fixture(3)).unwrap();
    let (ok, text) = workflow_test(wf);
    assert!(ok, "a passing fixture exits 0: {text}");
    assert!(
        text.contains("ok   ") && text.contains("good.toml (1 step)"),
        "{text}"
    );
    assert!(text.contains("1 passed, 0 failed"), "{text}");

    std::fs::write(wf.join("tests/wrong.toml"), fixture(5)).unwrap();
    let (ok, text) = workflow_test(wf);
    assert!(!ok, "a failing fixture exits 1: {text}");
    assert!(
        text.contains("FAIL ") && text.contains("wrong.toml"),
        "{text}"
    );
    assert!(text.contains("step 1: routed"), "{text}");
    assert!(
        text.contains("- route workgroup=Social priority=5"),
        "{text}"
    );
    assert!(
        text.contains("+ route workgroup=Social priority=3"),
        "{text}"
    );
    assert!(
        text.contains("- priority = 5") && text.contains("+ priority = 3"),
        "{text}"
    );
    assert!(text.contains("1 passed, 1 failed"), "{text}");
}

/// A feed webhook body as Meta sends it: non-ASCII escaped, one comment.
const FEED: &str = r#"{"object":"page","entry":[{"id":"1001","time":1742667607,"changes":[{"field":"feed","value":{"from":{"id":"1234","name":"Ann"},"message":"my order is late \ud83d\ude21","post_id":"1001_77","comment_id":"77_88","parent_id":"1001_77","created_time":1742667604,"item":"comment","verb":"add"}}]}]}"#;

fn parse(args: &[&str], body: &str) -> (bool, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("body.json");
    std::fs::write(&file, body).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["plugin", "parse", "--plugin", "facebook", "--plugins-dir"])
        .arg(plugins_dir())
        .args(["--setting", "page_id=1001"])
        .args(args)
        .arg(&file)
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn plugin_parse_prints_the_normalized_events_of_a_saved_webhook() {
    let (ok, stdout, stderr) = parse(&["--no-verify"], FEED);
    assert!(ok, "{stderr}");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    let m = &lines[0]["message"];
    assert_eq!(m["platform_message_id"], "77_88");
    assert_eq!(m["thread_id"], "1001_77");
    assert_eq!(m["text"], "my order is late 😡", "escapes decoded exactly");
    assert_eq!(m["author_name"], "Ann");

    // With the platform's real secret the connector checks the signature as in production.
    let signature = {
        use hmac::{KeyInit, Mac};
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"the-app-secret").unwrap();
        mac.update(FEED.as_bytes());
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("X-Hub-Signature-256: sha256={hex}")
    };
    let (ok, stdout, _) = parse(
        &["--secret", "the-app-secret", "--header", &signature],
        FEED,
    );
    assert!(ok);
    assert_eq!(stdout.lines().count(), 1);
    let (ok, stdout, stderr) = parse(
        &["--secret", "another-secret", "--header", &signature],
        FEED,
    );
    assert!(!ok, "a wrong secret is refused");
    assert!(stdout.is_empty());
    assert!(stderr.contains("401"), "{stderr}");
}

/// Real-shaped payloads of each platform (`tests/fixtures/payloads`) through each
/// connector's parsing, as a partner would check fidelity.
#[test]
fn saved_payloads_of_every_platform_parse_to_the_expected_events() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/payloads");
    // Plugin, payload file, settings, headers, then the first event's text and thread.
    type Case<'a> = (
        &'a str,
        &'a str,
        &'a [&'a str],
        &'a [&'a str],
        &'a str,
        &'a str,
    );
    let cases: &[Case] = &[
        (
            "whatsapp",
            "whatsapp_text.json",
            &["phone_number_id=106540352242922"],
            &[],
            "Does it come in another color?",
            "16505551234",
        ),
        (
            "facebook",
            "messenger_text.json",
            &["page_id=1001"],
            &[],
            "hello, is the parka waterproof?",
            "psid:6543210987654321",
        ),
        (
            "apple",
            "apple_text.json",
            &["business_id=acme-biz", "provider_id=demo-provider"],
            &[
                "id: 8a4c2d7e-3f51-4c8b-9a0e-2b6f1d9c7e10",
                "source-id: urn:mbid:AQAAY2hhbmdlZC1mb3ItdGVzdHM",
                "destination-id: acme-biz",
            ],
            "Hi, where is my order? 📦",
            "urn:mbid:AQAAY2hhbmdlZC1mb3ItdGVzdHM",
        ),
    ];
    for (plugin, file, settings, headers, text, thread) in cases {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
        cmd.args(["plugin", "parse", "--plugin", plugin, "--plugins-dir"])
            .arg(plugins_dir())
            .arg("--no-verify");
        for s in *settings {
            cmd.args(["--setting", s]);
        }
        for h in *headers {
            cmd.args(["--header", h]);
        }
        let out = cmd
            .arg(fixtures.join(file))
            .env("RUST_LOG", "off")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{plugin} {file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let messages: Vec<serde_json::Value> = stdout
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter_map(|e| e.get("message").cloned())
            .collect();
        assert_eq!(messages.len(), 1, "{plugin} {file}: {stdout}");
        assert_eq!(messages[0]["text"], *text, "{plugin} {file}");
        assert_eq!(messages[0]["thread_id"], *thread, "{plugin} {file}");
        assert_eq!(messages[0]["visibility"], "private", "{plugin} {file}");
    }
}

/// Runs the binary as a script would: stdout and stderr piped, no `RUST_LOG` and no
/// `NO_COLOR` from the caller's environment, so the binary's own defaults show.
fn piped(args: &[&str], config: Option<&Path>) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.args(args).env_remove("RUST_LOG").env_remove("NO_COLOR");
    if let Some(config) = config {
        cmd.arg("--config").arg(config);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts nothing in `text` is a terminal escape sequence (colours, cursor moves).
fn assert_plain(text: &str) {
    assert!(
        !text.contains('\x1b'),
        "terminal escapes in piped output: {text:?}"
    );
}

#[test]
fn one_shot_commands_print_their_answer_plain_and_quiet_when_piped() {
    let dir = tempfile::tempdir().unwrap();
    copy_workflows(dir.path());
    let path = dir.path().join("switchboard.toml");
    std::fs::write(&path, config_text(dir.path(), "facebook", "")).unwrap();

    // `check` opens a scratch database (migrations) and loads the plugin: none of that
    // is the person's business unless they ask.
    let (ok, stdout, stderr) = piped(&["check"], Some(&path));
    assert!(ok, "{stdout}{stderr}");
    assert_eq!(stdout, "config, plugins and workflows are valid\n");
    assert_plain(&stderr);
    assert!(
        !stderr.contains("INFO") && !stderr.contains("migration"),
        "no chatter by default: {stderr}"
    );

    // -v asks for what the host does: the migrations show, still without colours, on
    // stderr, and stdout keeps only the answer.
    let (ok, stdout, stderr) = piped(&["check", "-v"], Some(&path));
    assert!(ok, "{stdout}{stderr}");
    assert_eq!(stdout, "config, plugins and workflows are valid\n");
    assert!(
        stderr.contains("INFO") && stderr.contains("applied database migration"),
        "-v logs: {stderr}"
    );
    assert_plain(&stderr);

    // `workflow test` on one passing fixture: the report, nothing else.
    let wf = dir.path().join("wf");
    std::fs::create_dir_all(wf.join("tests")).unwrap();
    std::fs::write(
        wf.join("default.rhai"),
        "fn on_inbound(ix) {\n  route(ix, #{ priority: 3 });\n}\n",
    )
    .unwrap();
    std::fs::write(
        wf.join("classify.toml"),
        "default_language = \"en\"\n[thresholds]\npositive = 1\nnegative = -1\nactionable = 1\n[languages.en]\n",
    )
    .unwrap();
    std::fs::write(
        wf.join("tests/good.toml"),
        "script = \"default.rhai\"\n\n[[step]]\nname = \"routed\"\ninbound = { text = \"hi\" }\n\
         effects = ['route workgroup=Social priority=3']\n",
    )
    .unwrap();
    let (ok, stdout, stderr) = piped(&["workflow", "test", wf.to_str().unwrap()], None);
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("1 passed, 0 failed"), "{stdout}");
    assert_plain(&stdout);
    assert_plain(&stderr);
    assert!(!stderr.contains("INFO"), "{stderr}");
}

#[test]
fn serve_keeps_its_info_log_plain_when_piped() {
    let dir = tempfile::tempdir().unwrap();
    copy_workflows(dir.path());
    let path = dir.path().join("switchboard.toml");
    let listen = "listen = \"127.0.0.1:0\"";
    std::fs::write(&path, config_text(dir.path(), "facebook", listen)).unwrap();
    let (mut child, rx) = serve_with_log(&path, &[]);
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !seen
        .iter()
        .any(|l: &String| l.contains("switchboard listening"))
    {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let log = seen.join("\n");
    assert!(
        log.contains("INFO") && log.contains("switchboard listening"),
        "operators read serve's INFO log: {log}"
    );
    assert_plain(&log);
}

#[test]
fn check_says_which_setting_a_plugin_refused_without_the_error_chain() {
    let dir = tempfile::tempdir().unwrap();
    copy_workflows(dir.path());
    let path = dir.path().join("switchboard.toml");
    let text = config_text(dir.path(), "facebook", "").replace("page_id = \"1001\"\n", "");
    std::fs::write(&path, text).unwrap();
    let (ok, stdout, stderr) = piped(&["check"], Some(&path));
    assert!(!ok, "{stdout}");
    assert!(
        stderr.contains("channel `facebook`: Setting `page_id` is required")
            && stderr.contains("Correct it in the config file"),
        "{stderr}"
    );
    for chain in ["describe", "instantiating", "configure", "invalid config"] {
        assert!(
            !stderr.contains(chain),
            "`{chain}` is for the log: {stderr}"
        );
    }

    // A plugin that cannot start at all: the person is told so; the cause is logged.
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    std::fs::write(plugins.join("broken.wasm"), b"not a component").unwrap();
    let text = config_text(dir.path(), "broken", "").replace(
        &plugins_dir().display().to_string(),
        &plugins.display().to_string(),
    );
    std::fs::write(&path, text).unwrap();
    let (ok, _, stderr) = piped(&["check"], Some(&path));
    assert!(!ok);
    let answer = stderr.lines().last().unwrap_or_default();
    assert!(
        answer.starts_with("error: channel `facebook`: The `broken` plugin could not be started"),
        "{stderr}"
    );
    assert!(
        stderr
            .lines()
            .any(|l| l.contains("ERROR") && l.contains("broken")),
        "the cause is in the log: {stderr}"
    );
    assert_plain(&stderr);
}

/// `target/debug/switchboard demo` started from a folder that is not the checkout finds
/// the plugins and workflows the build made beside the binary, and its channels run the
/// sample business processes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_starts_from_any_directory() {
    // Its HTTP client needs TLS's crypto, which a host in this process would have set up.
    switchboard::connectors::install_crypto();
    let cwd = tempfile::tempdir().unwrap();
    let (port, em) = (
        crate::resilience::free_port(),
        crate::resilience::free_port(),
    );
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.args(["demo", "--no-traffic", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--emulator-listen")
        .arg(format!("127.0.0.1:{em}"))
        .arg("--data-dir")
        .arg(cwd.path().join("data"))
        .current_dir(cwd.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    for var in [
        "SWITCHBOARD_PLUGINS_DIR",
        "SWITCHBOARD_WORKFLOWS_DIR",
        "SWITCHBOARD_CONFIG",
    ] {
        cmd.env_remove(var);
    }
    struct Killed(std::process::Child);
    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _demo = Killed(cmd.spawn().unwrap());
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    crate::resilience::wait_healthy(&http, &base).await;
    let login: serde_json::Value = http
        .post(format!("{base}/api/v1/login"))
        .json(&serde_json::json!({ "username": "admin", "password": "demo" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"].as_str().unwrap();
    let channels: serde_json::Value = http
        .get(format!("{base}/api/v1/channels"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let scripts: Vec<(String, String)> = channels
        .as_array()
        .unwrap_or_else(|| panic!("{channels}"))
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["workflow"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    for (channel, script) in [
        ("facebook", "facebook_bp.rhai"),
        ("x", "twitter_bp.rhai"),
        ("whatsapp", "direct_messages.rhai"),
        ("apple", "direct_messages.rhai"),
    ] {
        assert!(
            scripts.contains(&(channel.to_owned(), script.to_owned())),
            "{channel} runs {script}: {scripts:?}"
        );
    }
}

#[test]
fn json_logs_carry_the_request_id_each_answer_gives() {
    let dir = tempfile::tempdir().unwrap();
    copy_workflows(dir.path());
    let path = dir.path().join("switchboard.toml");
    let server = "listen = \"127.0.0.1:0\"\nlog_format = \"json\"";
    std::fs::write(&path, config_text(dir.path(), "facebook", server)).unwrap();
    let (mut child, rx) = serve_with_log(&path, &[("RUST_LOG", "info,switchboard::api=debug")]);
    let mut lines: Vec<serde_json::Value> = Vec::new();
    let next = |lines: &mut Vec<serde_json::Value>, until: &dyn Fn(&serde_json::Value) -> bool| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            if let Some(found) = lines.iter().find(|l| until(l)) {
                return Some(found.clone());
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = rx.recv_timeout(left).ok()?;
            let parsed: serde_json::Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line}"));
            lines.push(parsed);
        }
    };
    let listening = next(&mut lines, &|l| {
        l["fields"]["message"] == "switchboard listening"
    })
    .expect("serve says where it listens");
    assert_eq!(listening["level"], "INFO");
    let addr = listening["fields"]["addr"].as_str().unwrap().to_owned();

    // An answer carries the id the caller gave, and so does the log of what it caused.
    let headers = {
        use std::io::{Read, Write};
        let mut conn = std::net::TcpStream::connect(&addr).unwrap();
        conn.write_all(
            b"GET /healthz HTTP/1.1\r\nHost: switchboard\r\nX-Request-Id: trace-me-42\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
        let mut answer = String::new();
        conn.read_to_string(&mut answer).unwrap();
        answer.to_lowercase()
    };
    assert!(headers.contains("x-request-id: trace-me-42"), "{headers}");
    let answered = next(&mut lines, &|l| {
        l["span"]["request_id"] == "trace-me-42" && l["fields"]["message"] == "answered"
    });
    let _ = child.kill();
    let _ = child.wait();
    let answered = answered.expect("the request's log line carries its id");
    assert_eq!(answered["span"]["path"], "/healthz");
    assert_eq!(answered["fields"]["status"], 200);
}

#[test]
fn sigterm_stops_serve_cleanly_and_gives_the_leaders_lease_up_at_once() {
    let dir = tempfile::tempdir().unwrap();
    copy_workflows(dir.path());
    let path = dir.path().join("switchboard.toml");
    let extra = "listen = \"127.0.0.1:0\"";
    let text = format!(
        "{}\n[cluster]\nhost_id = \"term-1\"\n",
        config_text(dir.path(), "facebook", extra)
    );
    std::fs::write(&path, text).unwrap();
    let (mut child, rx) = serve_with_log(&path, &[("RUST_LOG", "info")]);
    // Serving and leading (a lone host takes the lease at its first turn).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut seen = String::new();
    while !(seen.contains("switchboard listening") && seen.contains("this host leads")) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                seen.push_str(&line);
                seen.push('\n');
            }
            Err(_) => panic!("serve did not start and lead: {seen}"),
        }
    }
    let stopped_at = std::time::Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            stopped_at.elapsed() < std::time::Duration::from_secs(15),
            "serve is still running 15 s after SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(status.success(), "a clean exit after SIGTERM: {status}");
    // The store says so: the host stopped on purpose and its lease is free already.
    let db = rusqlite::Connection::open(dir.path().join("data/switchboard.db")).unwrap();
    let stopped: Option<i64> = db
        .query_row(
            "SELECT stopped_at FROM cluster_hosts WHERE host_id = 'term-1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(stopped.is_some(), "marked stopped");
    let (holder, expires): (String, i64) = db
        .query_row(
            "SELECT holder, expires_at FROM cluster_leases WHERE name = 'leader'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(holder, "term-1");
    assert_eq!(expires, 0, "the lease was given up, not left to run out");
}
