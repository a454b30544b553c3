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
