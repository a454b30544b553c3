//! A corporate proxy (`[server] proxy`): the plugins' requests go through it, each target
//! still checked against the channel's allowlist by name before anything reaches it. The
//! proxy here is a small forwarding one on loopback that records what it carried.

use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::harness::{World, wait_until};

/// What the proxy was asked for: the request lines (`POST http://127.0.0.1:…/… HTTP/1.1`).
type Seen = Arc<Mutex<Vec<String>>>;

/// A forwarding HTTP proxy on loopback: reads each request's head, sends it (with
/// `Connection: close`, so every request gets its own connection) to the host its
/// absolute URL names, and pipes the rest both ways.
async fn start_proxy() -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Seen = Arc::default();
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            let log = log.clone();
            tokio::spawn(async move {
                let _ = forward(client, log).await;
            });
        }
    });
    (format!("http://{addr}"), seen)
}

async fn forward(client: TcpStream, log: Seen) -> std::io::Result<()> {
    let mut reader = BufReader::new(client);
    let mut line = String::new();
    reader.read_line(&mut line).await?;
    let request_line = line.trim_end().to_owned();
    log.lock().unwrap().push(request_line.clone());
    let mut parts = request_line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let url = reqwest::Url::parse(target).map_err(std::io::Error::other)?;
    let host = format!(
        "{}:{}",
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or(80)
    );
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).await?;
        if header == "\r\n" || header.is_empty() {
            break;
        }
        let name = header.split(':').next().unwrap_or("").to_ascii_lowercase();
        if name != "connection" && name != "proxy-connection" && name != "keep-alive" {
            head.push_str(&header);
        }
    }
    head.push_str("connection: close\r\n\r\n");
    let mut upstream = TcpStream::connect(host).await?;
    upstream.write_all(head.as_bytes()).await?;
    // What the client sent past the head (a body) is in the reader's buffer.
    let buffered = reader.buffer().to_vec();
    upstream.write_all(&buffered).await?;
    let mut client = reader.into_inner();
    let (mut cr, mut cw) = client.split();
    let (mut ur, mut uw) = upstream.split();
    let to_upstream = async {
        let _ = tokio::io::copy(&mut cr, &mut uw).await;
        let _ = uw.shutdown().await;
    };
    let to_client = async {
        let mut buf = Vec::new();
        let _ = ur.read_to_end(&mut buf).await;
        let _ = cw.write_all(&buf).await;
        let _ = cw.shutdown().await;
    };
    tokio::join!(to_upstream, to_client);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_and_credentials_checks_go_through_the_proxy_and_the_allowlist_still_holds() {
    let (proxy, seen) = start_proxy().await;
    let world = World::start(|c| c.server.proxy = Some(proxy.clone())).await;
    let emulator = format!("http://{}", world.emulator_addr);

    // A customer's comment comes in by webhook; the agent's reply goes out by the proxy.
    let agent = world.login("agent1").await;
    agent.available().await;
    world.post_and_comment("Ann Lee", "my parcel is late").await;
    let offered = agent.wait_for_state("alerting").await;
    let id = offered["id"].as_i64().unwrap();
    agent
        .ok("POST", &format!("/interactions/{id}/pickup"), None)
        .await;
    let sent = agent
        .ok(
            "POST",
            &format!("/interactions/{id}/reply"),
            Some(json!({ "text": "On its way", "visibility": "public" })),
        )
        .await;
    assert_eq!(sent["state"], "sent", "{sent}");
    let carried = seen.lock().unwrap().clone();
    assert!(
        carried.iter().any(|l| l.starts_with("POST ")
            && l.contains(&format!("{emulator}/"))
            && l.contains("/comments")),
        "the reply went through the proxy: {carried:?}"
    );
    let replies: Vec<_> = world
        .emulator
        .outbound()
        .into_iter()
        .filter(|o| o.text.as_deref() == Some("On its way"))
        .collect();
    assert_eq!(replies.len(), 1, "the platform got the reply once");

    // A target off the channel's allowlist is refused by name, before the proxy sees it.
    let admin = world.login("admin").await;
    let draft = json!({
        "name": "fb-new", "plugin": "facebook", "workgroup": "Social", "ingest": "webhook",
        "allowed_hosts": [emulator],
        "settings": { "page_id": "1001", "graph_base_url": "http://elsewhere.example/v19.0" },
        "secrets": { "app_secret": "demo-app-secret", "verify_token": "demo-verify",
                     "access_token": "demo-page-token" },
    });
    let before = seen.lock().unwrap().len();
    let (status, blocked) = admin
        .call("POST", "/channels/fb-new/check", Some(draft))
        .await;
    assert_eq!(status, 200, "{blocked}");
    assert_eq!(blocked["works"], false, "{blocked}");
    assert!(
        blocked["message"]
            .as_str()
            .unwrap()
            .contains("elsewhere.example"),
        "the refused host is named: {blocked}"
    );
    let after = seen.lock().unwrap().clone();
    assert!(
        after[before..]
            .iter()
            .all(|l| !l.contains("elsewhere.example")),
        "the proxy never saw the refused target: {after:?}"
    );

    // The running channel's check goes through the proxy and works.
    let (status, works) = admin.call("POST", "/channels/facebook/check", None).await;
    assert_eq!(status, 200, "{works}");
    assert_eq!(works["works"], true, "{works}");
    wait_until("the check's read went through the proxy", || async {
        let lines = seen.lock().unwrap().clone();
        lines[after.len()..]
            .iter()
            .any(|l| l.starts_with("GET ") && l.contains(&emulator))
            .then_some(())
    })
    .await;
}
