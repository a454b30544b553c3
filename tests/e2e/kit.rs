//! The partner kit as a partner uses it, outside the repository: `switchboard plugin new`
//! makes a connector crate, its native tests pass, `switchboard plugin build` makes a
//! component this host loads, and `switchboard plugin test` runs its saved payload against
//! the expected events (and fails, naming the difference, against wrong ones).
//!
//! The crate depends on the SDK of this checkout and builds in the workspace's target
//! folder (`CARGO_TARGET_DIR`), so what it compiles is compiled once. Building its
//! component (`-Zbuild-std` for its own profile, a minute and more on 2 cores) happens only
//! when [`BUILD_ENV`] is set, as `cargo xtask test` (CI) sets it; the other tests here run
//! `plugin test` and `plugin parse` on our own built plugins, in a second.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::harness::plugins_dir;

/// Set (to anything) to build the new connector's component and run `plugin test` on it.
const BUILD_ENV: &str = "SWITCHBOARD_E2E_PLUGIN_BUILD";

/// The workspace's target folder, as cargo uses it for this test.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// `switchboard ARGS` in `dir`, as a partner's shell or CI runs it (no `RUST_LOG`).
fn switchboard(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .unwrap()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_new_connector_passes_its_tests_builds_and_checks_its_saved_payload() {
    let outside = tempfile::tempdir().unwrap();
    let here = outside.path();

    let out = switchboard(here, &["plugin", "new", "kitchat", "--dir", "kitchat"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("created plugin-kitchat in "), "{stdout}");
    let krate = here.join("kitchat");
    let manifest = std::fs::read_to_string(krate.join("Cargo.toml")).unwrap();
    let sdk = std::fs::canonicalize(Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk")).unwrap();
    assert!(
        manifest.contains(&format!("path = \"{}\"", sdk.display())),
        "the SDK by absolute path: {manifest}"
    );
    // The folder is taken now, and a bad name is refused before anything is written.
    let again = switchboard(here, &["plugin", "new", "kitchat", "--dir", "kitchat"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again).1.contains("exists and is not empty"));
    let bad = switchboard(here, &["plugin", "new", "Kit Chat"]);
    assert!(text(&bad).1.contains("not a valid connector crate name"));

    // Its native tests, as the partner runs them.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(["test", "--quiet"])
        .current_dir(&krate)
        .env("CARGO_TARGET_DIR", target_dir())
        .env_remove("CARGO_MANIFEST_DIR")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "cargo test: {stdout}{stderr}");
    // No diagnostic in the new crate's own files (the SDK's are not its business).
    assert!(
        !stderr.contains("--> src/") && !stderr.contains("--> tests/"),
        "compiles without warnings: {stderr}"
    );
    assert!(
        stdout.contains("8 passed") && stdout.contains("1 passed"),
        "{stdout}"
    );

    if std::env::var_os(BUILD_ENV).is_none() {
        eprintln!("kit: not building the component: set {BUILD_ENV}=1 (cargo xtask test does)");
        return;
    }
    // The component, checked as the host loads it.
    let dist = here.join("dist");
    let out = switchboard(
        here,
        &[
            "plugin",
            "build",
            "kitchat",
            "--out",
            dist.to_str().unwrap(),
        ],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "plugin build: {stdout}{stderr}");
    assert_eq!(
        stdout.trim(),
        dist.join("kitchat.wasm").display().to_string()
    );
    assert!(
        stderr.contains(
            "platform `kitchat` 0.1.0, contract 0.2.0, capabilities webhook, reply_private"
        ),
        "{stderr}"
    );

    // The saved payload gives the expected events.
    let payload = krate.join("tests/payloads/message.json");
    let expected = krate.join("tests/payloads/message.expected.jsonl");
    let plugin_test = |expect: &Path| {
        switchboard(
            here,
            &[
                "plugin",
                "test",
                "kitchat",
                payload.to_str().unwrap(),
                "--plugins-dir",
                dist.to_str().unwrap(),
                "--expect",
                expect.to_str().unwrap(),
                "--setting",
                "account_id=acct-1",
                "--secret",
                "webhook_secret=test-webhook-secret",
            ],
        )
    };
    let out = plugin_test(&expected);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "plugin test: {stdout}{stderr}");
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 1, "{stdout}");
    assert_eq!(events[0]["message"]["text"], "Hello! Where is my order?");
    assert!(stderr.contains("answered 200 with 1 event(s)"), "{stderr}");
    assert!(stderr.contains("1 event(s) as "), "{stderr}");
    // `configure` ran once: its warning (no access token given) is printed once.
    assert_eq!(
        stderr.matches("no `access_token` secret set").count(),
        1,
        "{stderr}"
    );

    // A wrong expectation fails with the difference, for the partner's CI.
    let wrong = here.join("wrong.jsonl");
    std::fs::write(
        &wrong,
        std::fs::read_to_string(&expected)
            .unwrap()
            .replace("Where is my order?", "Where is my parcel?"),
    )
    .unwrap();
    let out = plugin_test(&wrong);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("differs from"), "{stderr}");
    assert!(stderr.contains("at `message.text`"), "{stderr}");
    assert!(
        stderr.contains("expected: \"Hello! Where is my parcel?\"")
            && stderr.contains("actual:   \"Hello! Where is my order?\""),
        "{stderr}"
    );
}

/// The fixture's WhatsApp webhook, signed with `secret` as Meta signs it.
fn whatsapp_fixture(secret: &str) -> (String, String) {
    use hmac::{KeyInit, Mac};
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/payloads/whatsapp_text.json");
    let body = std::fs::read_to_string(file).unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    (body, format!("sha256={hex}"))
}

#[test]
fn plugin_test_runs_saved_requests_through_a_plugin_and_compares_the_events() {
    let dir = tempfile::tempdir().unwrap();
    let here = dir.path();
    let (body, signature) = whatsapp_fixture("wa-secret");
    // A request file with its own signature header, and the raw body with the header given
    // on the command line.
    let request = serde_json::json!({
        "method": "POST",
        "path": "/webhooks/whatsapp",
        "headers": {"X-Hub-Signature-256": signature},
        "body": body,
    });
    std::fs::write(here.join("signed.json"), request.to_string()).unwrap();
    std::fs::write(here.join("raw.json"), &body).unwrap();
    // Two events expected, each by the keys that matter (a JSON array this time).
    let event = serde_json::json!({"message": {
        "text": "Does it come in another color?",
        "thread_id": "16505551234",
        "visibility": "private",
    }});
    std::fs::write(
        here.join("expected.json"),
        serde_json::json!([event, event]).to_string(),
    )
    .unwrap();
    std::fs::write(
        here.join("one.json"),
        serde_json::json!([event]).to_string(),
    )
    .unwrap();
    let plugins = plugins_dir();
    let run = |expect: &str, secret: &str| {
        switchboard(
            here,
            &[
                "plugin",
                "test",
                "whatsapp",
                "signed.json",
                "raw.json",
                "--plugins-dir",
                plugins.to_str().unwrap(),
                "--header",
                &format!("X-Hub-Signature-256: {signature}"),
                "--setting",
                "phone_number_id=106540352242922",
                "--secret",
                secret,
                "--expect",
                expect,
            ],
        )
    };

    let out = run("expected.json", "app_secret=wa-secret");
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(
        stderr.contains("signed.json: answered 200 with 1 event(s)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("raw.json: answered 200 with 1 event(s)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("2 event(s) as expected.json expects"),
        "{stderr}"
    );

    let out = run("one.json", "app_secret=wa-secret");
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains(
            "2 event(s) given, one.json expects 1: event 2 (raw.json, its event 1) is not expected"
        ),
        "{stderr}"
    );

    // Any secret by name: under another name the connector has none to check with.
    let out = run("expected.json", "webhook_secret=wa-secret");
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("refused the request (401)"), "{stderr}");
}

#[test]
fn plugin_parse_configures_the_connector_once() {
    let dir = tempfile::tempdir().unwrap();
    let (body, _) = whatsapp_fixture("unused");
    std::fs::write(dir.path().join("body.json"), body).unwrap();
    let plugins = plugins_dir();
    let out = switchboard(
        dir.path(),
        &[
            "plugin",
            "parse",
            "--plugin",
            "whatsapp",
            "--plugins-dir",
            plugins.to_str().unwrap(),
            "--setting",
            "phone_number_id=106540352242922",
            "--no-verify",
            "body.json",
        ],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    // `configure` warns once, not once per instance.
    assert_eq!(
        stderr.matches("no `access_token` secret set").count(),
        1,
        "{stderr}"
    );
}
