//! `switchboard workflow replay`: a day of recorded traffic run through a changed script
//! reports exactly the interactions whose routing would change, and the unchanged script
//! reports none, beside the running host and without touching its work.

use std::process::Command;

use serde_json::json;

use crate::harness::World;

const BEFORE: &str = r#"
fn on_inbound(ix) {
    set_attr(ix, "seen", true);
    route(ix, #{ workgroup: "Social" });
}
"#;

const AFTER: &str = r#"
fn on_inbound(ix) {
    set_attr(ix, "seen", true);
    if ix.text.contains("refund") {
        route(ix, #{ workgroup: "Billing", priority: 5 });
    } else {
        route(ix, #{ workgroup: "Social" });
    }
}
"#;

fn replay(data: &std::path::Path, dir: &std::path::Path, day: &str) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args([
            "workflow",
            "replay",
            "--from",
            day,
            "--to",
            day,
            "--data-dir",
        ])
        .arg(data)
        .arg(dir)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_day_through_a_changed_script_shows_exactly_what_differs() {
    if crate::harness::sqlite_only("replay of the SQLite file --data-dir names") {
        return;
    }
    let world = World::start(|config| {
        std::fs::write(config.server.workflows_dir.join("test.rhai"), BEFORE).unwrap();
        config.channels[0].workflow = "test.rhai".into();
    })
    .await;
    let texts = [
        "where is my parcel?",
        "I want a refund now",
        "do you ship to Canada?",
        "refund please, it broke",
        "love the new boots",
    ];
    let mut posts = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let post = world
            .customer_says(
                json!({ "page_id": "1001", "author_name": format!("Customer {i}"), "text": text }),
            )
            .await;
        posts.push(post["post_id"].as_str().unwrap().to_owned());
    }
    world
        .wait_count(
            "SELECT count(*) FROM interactions WHERE attributes LIKE '%seen%'",
            5,
        )
        .await;
    let store = world.host.as_ref().unwrap().app.store.clone();
    let refunds: Vec<i64> = store
        .read(|c| {
            let mut stmt = c.prepare(
                "SELECT interaction_id FROM messages WHERE text LIKE '%refund%' ORDER BY interaction_id",
            )?;
            let ids = stmt.query_map((), |r| r.get(0))?;
            Ok(ids.collect::<anyhow::Result<_>>()?)
        })
        .await
        .unwrap();
    assert_eq!(refunds.len(), 2);

    let data = world._dir.path().join("data");
    let changed = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(world._dir.path().join("workflows")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, changed.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    std::fs::write(changed.path().join("test.rhai"), AFTER).unwrap();
    let today = jiff::Timestamp::now().to_string()[..10].to_owned();

    // With --data-dir alone, each message runs through the script recorded with its
    // decision: test.rhai of the changed folder.
    let (ok, out, err) = replay(&data, changed.path(), &today);
    assert!(ok, "{out}\n{err}");
    assert!(
        out.ends_with("replayed 5 interactions: 2 differ\n"),
        "{out}"
    );
    let named: Vec<i64> = out
        .lines()
        .filter_map(|l| l.strip_prefix("interaction "))
        .map(|id| id.trim().parse().unwrap())
        .collect();
    assert_eq!(named, refunds, "{out}");
    assert!(
        out.contains(
            "  - route workgroup=Social priority=0\n  + route workgroup=Billing priority=5"
        ),
        "{out}"
    );
    assert!(err.is_empty(), "quiet when not at a terminal: {err}");

    // The unchanged script: nothing differs, as often as it is run.
    std::fs::write(changed.path().join("test.rhai"), BEFORE).unwrap();
    for _ in 0..2 {
        let (ok, out, _) = replay(&data, changed.path(), &today);
        assert!(ok);
        assert_eq!(out, "replayed 5 interactions: 0 differ\n");
    }

    // Live work is untouched: the interactions are where they were.
    let social: i64 = store
        .read(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM interactions WHERE workgroup = 'Social'",
                (),
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap();
    assert_eq!(social, 5);

    // A period in the wrong order is refused in plain words.
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args([
            "workflow",
            "replay",
            "--from",
            "2026-12-07",
            "--to",
            "2026-12-01",
            "--data-dir",
        ])
        .arg(&data)
        .arg(changed.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("pick a start before the end"), "{err}");
}
