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
