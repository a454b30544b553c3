//! A full disk during a webhook burst: webhooks that could not be stored are answered 503
//! in plain words, nothing acknowledged is lost, nothing is stored twice, `/readyz` says
//! why the host is not ready, and the host takes work again as soon as room returns,
//! without a restart.
//!
//! Always run: SQLite's size limit (`max_page_count`, the setting operators have) lowered
//! while the host runs, so a real `SQLITE_FULL` happens. Where mounting is allowed (CI
//! runs as root): also a data folder on a small tmpfs, filled by another file.
//!
//! `SWITCHBOARD_TEST_DURABILITY_WEBHOOKS` sets the burst's size (default 400).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use hmac::{KeyInit, Mac};
use serde_json::json;

use crate::harness::{World, wait_until};

fn burst_size() -> usize {
    std::env::var("SWITCHBOARD_TEST_DURABILITY_WEBHOOKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400)
}

/// A page webhook with one new comment under its own post, signed as the demo app.
fn signed_comment(tag: &str, n: usize) -> (String, String) {
    let body = json!({"object":"page","entry":[{"id":"1001","time":1742667607,"changes":[{"field":"feed","value":{
        "from":{"id": format!("cust{}", n % 50),"name": "Full Disk Customer"},
        "message": format!("comment {n} of the burst: where is my order? {}", "x".repeat(200)),
        "post_id": format!("1001_{tag}{n}"),"comment_id": format!("{tag}{n}_1"),
        "parent_id": format!("1001_{tag}{n}"),"created_time":1742667604,"item":"comment","verb":"add"}}]}]})
    .to_string();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"demo-app-secret").unwrap();
    mac.update(body.as_bytes());
    let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    (body, signature)
}

/// Sends webhooks `ns` from 4 concurrent senders; returns each one's status and body.
async fn deliver(world: &World, tag: &str, ns: Vec<usize>) -> Vec<(usize, u16, String)> {
    let queue = Arc::new(std::sync::Mutex::new(ns.into_iter()));
    let mut senders = Vec::new();
    for _ in 0..4 {
        let (queue, http, tag) = (queue.clone(), world.http.clone(), tag.to_owned());
        let url = format!("{}/webhooks/facebook", world.base);
        senders.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            loop {
                let next = queue.lock().unwrap().next();
                let Some(n) = next else { return answers };
                let (body, signature) = signed_comment(&tag, n);
                let res = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("x-hub-signature-256", signature)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let status = res.status().as_u16();
                answers.push((n, status, res.text().await.unwrap_or_default()));
            }
        }));
    }
    let mut answers = Vec::new();
    for s in senders {
        answers.extend(s.await.unwrap());
    }
    answers.sort_by_key(|a| a.0);
    answers
}

async fn readyz(world: &World) -> (u16, String) {
    let res = world
        .http
        .get(format!("{}/readyz", world.base))
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// One line's value on the metrics page (0 when the series is not there).
async fn metric(world: &World, series: &str) -> f64 {
    let page = world
        .http
        .get(format!("{}/metrics", world.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    page.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0.0)
}

/// The burst while the store fills up, then room given back by `free`; checks every
/// promise. `full_reason` is what `/readyz` must say while full.
async fn burst_then_free<F, Fut>(world: &World, tag: &str, free: F, full_reason: &str)
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let count = burst_size();
    let errors_before = metric(
        world,
        "switchboard_webhooks_total{channel=\"facebook\",outcome=\"error\"}",
    )
    .await;
    let answers = deliver(world, tag, (0..count).collect()).await;
    let acknowledged: Vec<usize> = answers.iter().filter(|a| a.1 == 200).map(|a| a.0).collect();
    let refused: Vec<&(usize, u16, String)> = answers.iter().filter(|a| a.1 != 200).collect();
    println!(
        "durability ({tag}): {} webhooks, {} acknowledged, {} refused while full",
        count,
        acknowledged.len(),
        refused.len()
    );
    assert!(
        !refused.is_empty(),
        "the store never filled up: raise SWITCHBOARD_TEST_DURABILITY_WEBHOOKS"
    );
    for (n, status, body) in &refused {
        assert_eq!(
            *status, 503,
            "webhook {n} while full answered {status}: {body}"
        );
        assert!(
            body.contains("full") && body.contains("deliver again"),
            "webhook {n}: the 503 says why in plain words: {body}"
        );
    }
    let errors_after = metric(
        world,
        "switchboard_webhooks_total{channel=\"facebook\",outcome=\"error\"}",
    )
    .await;
    assert!(
        errors_after - errors_before >= refused.len() as f64,
        "every 503 is counted: {errors_before} -> {errors_after}"
    );
    // Every acknowledged webhook is stored, even though later ones filled the store.
    let stored = stored_ids(world, tag).await;
    for n in &acknowledged {
        assert!(
            stored.contains(&format!("{tag}{n}_1")),
            "webhook {n} was acknowledged but is not stored"
        );
    }
    let (status, body) = readyz(world).await;
    assert_eq!(status, 503, "/readyz while full: {body}");
    assert!(body.contains(full_reason), "/readyz says why: {body}");

    free().await;
    wait_until("/readyz answering 200 once room returns", || async {
        (readyz(world).await.0 == 200).then_some(())
    })
    .await;
    // The platform delivers again what was refused, and (as platforms do) some of what
    // was acknowledged: all answered 200, each message stored once.
    let again: Vec<usize> = refused
        .iter()
        .map(|a| a.0)
        .chain(acknowledged.iter().copied().step_by(7))
        .collect();
    for (n, status, body) in deliver(world, tag, again).await {
        assert_eq!(
            status, 200,
            "webhook {n} delivered again after room returned: {body}"
        );
    }
    let stored = stored_ids(world, tag).await;
    assert_eq!(
        stored.len(),
        count,
        "every webhook's message is stored exactly once"
    );
    let distinct: std::collections::BTreeSet<_> = stored.iter().collect();
    assert_eq!(distinct.len(), count, "a message is stored twice");
    // Every stored interaction is routed: nobody is available, so all wait in a queue.
    wait_until("every interaction of the burst queued", || async {
        let queued = queued_of(world, tag).await;
        (queued == count as i64).then_some(())
    })
    .await;
    // The host goes on taking work without a restart.
    let (n, status, body) = deliver(world, tag, vec![count]).await.remove(0);
    assert_eq!(status, 200, "a new webhook after recovery ({n}): {body}");
}

async fn stored_ids(world: &World, tag: &str) -> Vec<String> {
    let pattern = format!("{tag}%");
    let store = world.host.as_ref().unwrap().app.store.clone();
    store
        .read(move |c| {
            let mut stmt = c.prepare(
                "SELECT platform_message_id FROM messages
                 WHERE channel = 'facebook' AND platform_message_id LIKE ?1",
            )?;
            let ids = stmt.query_map([&pattern], |r| r.get(0))?;
            Ok(ids.collect::<anyhow::Result<Vec<String>>>()?)
        })
        .await
        .unwrap()
}

async fn queued_of(world: &World, tag: &str) -> i64 {
    let pattern = format!("1001_{tag}%");
    let store = world.host.as_ref().unwrap().app.store.clone();
    store
        .read(move |c| {
            Ok(c.query_row(
                "SELECT count(*) FROM interactions WHERE thread_id LIKE ?1 AND state = 'queued'",
                [&pattern],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_database_refuses_webhooks_with_503_loses_nothing_and_recovers_without_restart() {
    if crate::harness::sqlite_only("SQLite's size limit (PostgreSQL's room is the server's)") {
        return;
    }
    let world = World::start(|_| {}).await;
    let store = world.host.as_ref().unwrap().app.store.clone();
    assert_eq!(readyz(&world).await.0, 200);
    let pages: i64 = store
        .read(|c| Ok(c.query_row("PRAGMA page_count", (), |r| r.get(0))?))
        .await
        .unwrap();
    // Room for part of the burst (a webhook stores about 1 KiB), then SQLITE_FULL.
    store.set_max_page_count(pages as u64 + 60).await.unwrap();
    let free_store = store.clone();
    burst_then_free(
        &world,
        "full",
        || async move {
            free_store.set_max_page_count(1 << 30).await.unwrap();
        },
        "full",
    )
    .await;
    assert!(
        metric(&world, "switchboard_store_commit_failures_total").await >= 1.0,
        "failed commits are counted"
    );
}

/// A tmpfs mounted for the test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(at).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
        }
        Ok(Tmpfs(at.to_owned()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazily: the host's plugin cache may still be mapped from it until the process
        // ends; the mount goes away as soon as nothing uses it.
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the filesystem of `dir` with one file, then gives back `leave` bytes of it.
fn fill(dir: &Path, leave: u64) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    let chunk = vec![0xa5u8; 64 * 1024];
    loop {
        match file.write(&chunk) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break,
            Err(e) => panic!("filling {}: {e}", path.display()),
        }
    }
    let _ = file.flush();
    let len = file.metadata().unwrap().len();
    file.set_len(len.saturating_sub(leave)).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_webhooks_with_503_loses_nothing_and_recovers_without_restart() {
    if crate::harness::sqlite_only("the disk under the SQLite file") {
        return;
    }
    let outer = tempfile::tempdir().unwrap();
    let data = outer.path().join("tmpfs");
    let mounted = match Tmpfs::mount(&data, "96m") {
        Ok(m) => m,
        Err(why) => {
            println!(
                "SKIPPED: the data folder on a small tmpfs needs mounting, refused here: {why}"
            );
            return;
        }
    };
    let mut world = World::start(|c| c.server.data_dir = data.clone()).await;
    assert_eq!(readyz(&world).await.0, 200);
    // Let the host settle (start-up writes, checkpoints), then leave it little room.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let filler = fill(&data, 256 * 1024);
    burst_then_free(
        &world,
        "disk",
        || async move {
            std::fs::remove_file(&filler).unwrap();
        },
        "full",
    )
    .await;
    if let Some(host) = world.host.take() {
        host.shutdown().await;
    }
    drop(mounted);
}
