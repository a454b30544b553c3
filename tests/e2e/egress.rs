//! Plugin egress through the real binary: the SSRF matrix. A plugin (the faulty test
//! connector's `exfiltrate <url>`) fetches URLs whose allowed host redirects to another
//! local port, to the cloud metadata address, to a private address, or that name a host
//! resolving to 127.0.0.1; only the allowed host itself answers. Each refusal shows in the
//! channel's status (`GET /api/v1/channels`, `last_error`) with the host and why.
//!
//! The matrix runs in a network namespace that has only loopback (`unshare --net`, which
//! CI can do as root), with 169.254.169.254 and 10.1.2.3 put on that loopback and a trap
//! listening behind every refused target: a regression is caught by a trap, and can never
//! send a packet to a real metadata or private address. Without `unshare` the test says
//! so and skips.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::Query;
use axum::http::{StatusCode, header};
use axum::routing::get;
use serde_json::{Value, json};

use crate::harness::{copy_workflows, plugins_dir};
use crate::resilience::{HostProcess, free_port, wait_healthy};

/// Set for the copy of this test binary that runs inside the namespace.
const INSIDE: &str = "SWITCHBOARD_EGRESS_NETNS";
/// The inner test's full name, as libtest knows it.
const INNER_TEST: &str = "egress::ssrf_matrix_inside_a_loopback_only_namespace";

#[test]
fn the_ssrf_matrix_runs_in_a_network_namespace_with_only_loopback() {
    let can = Command::new("unshare")
        .args(["--net", "--", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !can {
        println!(
            "SKIPPED: the SSRF matrix needs `unshare --net` (root and util-linux); it never \
             runs outside a loopback-only network namespace"
        );
        return;
    }
    let out = Command::new("unshare")
        .args(["--net", "--"])
        .arg(std::env::current_exe().unwrap())
        .args([INNER_TEST, "--exact", "--include-ignored", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(INSIDE, "1")
        .output()
        .expect("run the matrix in a namespace");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "the matrix failed:\n{text}");
    assert!(text.contains("1 passed"), "the matrix did not run:\n{text}");
}

/// A server on `addr` that counts every request it gets and answers 200; `None` when the
/// address cannot be bound.
async fn trap(addr: SocketAddr, hits: Arc<AtomicUsize>) -> Option<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await.ok()?;
    let bound = listener.local_addr().unwrap();
    let app = Router::new().fallback(move || {
        hits.fetch_add(1, Ordering::SeqCst);
        async { "trapped" }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    Some(bound)
}

/// The host the channels allow: `/ok` answers, `/go?to=<url>` redirects there.
async fn allowed_server() -> SocketAddr {
    let app = Router::new().route("/ok", get(|| async { "fine" })).route(
        "/go",
        get(|Query(q): Query<HashMap<String, String>>| async move {
            (StatusCode::FOUND, [(header::LOCATION, q["to"].clone())])
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn ip(args: &[&str]) {
    let status = Command::new("ip").args(args).status().expect("ip");
    assert!(status.success(), "ip {args:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by the_ssrf_matrix_runs_in_a_network_namespace_with_only_loopback, inside its namespace"]
async fn ssrf_matrix_inside_a_loopback_only_namespace() {
    assert!(
        std::env::var_os(INSIDE).is_some(),
        "only inside the namespace: run the_ssrf_matrix_runs_in_a_network_namespace_with_only_loopback"
    );
    // Asked over netlink: /sys/class/net may still show the namespace that mounted it.
    let out = Command::new("ip")
        .args(["-o", "link", "show"])
        .output()
        .unwrap();
    let links: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split(": ").nth(1).map(str::to_owned))
        .collect();
    assert_eq!(links, ["lo"], "a namespace with loopback only");
    ip(&["link", "set", "lo", "up"]);
    switchboard::connectors::install_crypto();
    // The metadata and private addresses exist here, on loopback, so that a request the
    // host lets through lands in a trap instead of failing for want of a route.
    ip(&["addr", "add", "169.254.169.254/32", "dev", "lo"]);
    ip(&["addr", "add", "10.1.2.3/32", "dev", "lo"]);

    let hits = Arc::new(AtomicUsize::new(0));
    let at = |a: &str| a.parse::<SocketAddr>().unwrap();
    trap(at("0.0.0.0:80"), hits.clone()).await.expect("port 80");
    let other_port = trap(at("127.0.0.1:0"), hits.clone()).await.unwrap().port();
    // `localhost` may resolve to ::1 too: trapped there as well when IPv6 is on.
    let named = trap(at("127.0.0.1:0"), hits.clone()).await.unwrap().port();
    trap(SocketAddr::new("::1".parse().unwrap(), named), hits.clone()).await;
    let allowed = allowed_server().await;

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    // `wide` lets every target past its allowlist (wildcards), so only the address checks
    // stand between the plugin and the traps; `strict` names the allowed host alone.
    let config = format!(
        r#"
[server]
listen = "127.0.0.1:{port}"
data_dir = "{data}"
plugins_dir = "{plugins}"
workflows_dir = "{workflows}"

[[users]]
username = "admin"
password = "demo"
rights = ["social_media_admin"]

[[workgroups]]
name = "Social"

[[channels]]
name = "wide"
plugin = "faulty"
workgroup = "Social"
ingest = "webhook"
allowed_hosts = ["http://{allowed}", "http://*.*.*.*", "http://*.*.*.*:{other_port}", "http://*:{named}"]

[[channels]]
name = "strict"
plugin = "faulty"
workgroup = "Social"
ingest = "webhook"
allowed_hosts = ["http://{allowed}"]
"#,
        data = dir.path().join("data").display(),
        plugins = plugins_dir().display(),
        workflows = copy_workflows(dir.path()).display(),
    );
    let config_path = dir.path().join("switchboard.toml");
    std::fs::write(&config_path, config).unwrap();
    let log = dir.path().join("host.log");
    let host = HostProcess::spawn_logged(&config_path, "warn", &log);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    wait_healthy(&http, &base).await;
    let token = http
        .post(format!("{base}/api/v1/login"))
        .json(&json!({"username": "admin", "password": "demo"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let db = rusqlite::Connection::open_with_flags(
        dir.path().join("data/switchboard.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();

    let go = |to: &str| format!("http://{allowed}/go?to={}", urlencoding::encode(to));
    // (what, the URL fetched, the refused host the answers name, why)
    let cases: Vec<(&str, String, String, &str)> = vec![
        (
            "a redirect to another local port",
            go(&format!("http://127.0.0.1:{other_port}/admin")),
            format!("http://127.0.0.1:{other_port}"),
            "is 127.0.0.1, a loopback address",
        ),
        (
            "a redirect to the metadata address",
            go("http://169.254.169.254/latest/meta-data/"),
            "http://169.254.169.254".into(),
            "is 169.254.169.254, a link-local address",
        ),
        (
            "a redirect to a private address",
            go("http://10.1.2.3/internal"),
            "http://10.1.2.3".into(),
            "is 10.1.2.3, a private address",
        ),
        (
            "a name that resolves to 127.0.0.1",
            format!("http://localhost:{named}/"),
            "localhost".into(),
            "resolves to",
        ),
        (
            "a redirect to that name",
            go(&format!("http://localhost:{named}/")),
            "localhost".into(),
            "resolves to",
        ),
        (
            "the metadata address itself",
            "http://169.254.169.254/latest/meta-data/".into(),
            "http://169.254.169.254".into(),
            "is 169.254.169.254, a link-local address",
        ),
    ];
    let exfiltrate = |channel: &'static str, id: String, url: String| {
        let (http, base) = (http.clone(), base.clone());
        async move {
            let res = http
                .post(format!("{base}/webhooks/{channel}"))
                .body(json!({"id": id, "text": format!("exfiltrate {url}")}).to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "{channel} {url}");
        }
    };
    let text_of = |channel: &str, id: &str| -> String {
        db.query_row(
            "SELECT text FROM messages WHERE channel = ?1 AND platform_message_id = ?2",
            [channel, id],
            |r| r.get(0),
        )
        .unwrap()
    };
    let status_of = |channel: &'static str| {
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        async move {
            let list: Value = http
                .get(format!("{base}/api/v1/channels"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let ch = list
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == channel)
                .unwrap()
                .clone();
            ch["status"]["last_error"].as_str().unwrap_or("").to_owned()
        }
    };

    for (i, (name, url, host, why)) in cases.iter().enumerate() {
        let id = format!("w{i}");
        exfiltrate("wide", id.clone(), url.clone()).await;
        let text = text_of("wide", &id);
        assert!(text.starts_with("refused: "), "{name}: {text}");
        assert!(
            text.contains(&format!("host of `{host}` is refused: it {why}"))
                && text.contains("loopback") == (host.contains("127.0.0.1") || host == "localhost"),
            "{name}: the plugin is told which host and why: {text}"
        );
        let status = status_of("wide").await;
        assert!(
            status.starts_with("egress: ")
                && status.contains(&format!("host of `{host}` is refused: it {why}")),
            "{name}: the channel's status names the host and why: {status}"
        );
        assert_eq!(hits.load(Ordering::SeqCst), 0, "{name} reached a trap");
    }
    // The strict channel's allowlist alone refuses every redirect, hop by hop.
    for (i, (name, url, _, _)) in cases.iter().enumerate() {
        let id = format!("s{i}");
        exfiltrate("strict", id.clone(), url.clone()).await;
        let text = text_of("strict", &id);
        assert!(
            text.starts_with("refused: ") && text.contains("allowed_hosts"),
            "strict, {name}: {text}"
        );
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "a refused target was reached"
    );

    // The allowed host itself answers, on both channels.
    for channel in ["wide", "strict"] {
        exfiltrate(channel, "ok".into(), format!("http://{allowed}/ok")).await;
        let text = text_of(channel, "ok");
        assert!(text.ends_with("status 200"), "{channel}: {text}");
    }
    drop(host);
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.contains("plugin request refused"),
        "refusals are logged: {log}"
    );
}
