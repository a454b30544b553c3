//! Shared test helpers (an HTTP client, a Meta-style webhook receiver) and tests of the
//! shared plumbing. Platform tests live next to each platform, e.g. `facebook/tests.rs`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::graph::graph_time;
use super::meta_json_bytes;

pub(crate) fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().no_proxy().build().unwrap()
}

pub(crate) async fn control(base: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let response = http()
        .post(format!("{base}{path}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

pub(crate) async fn get_json(url: &str) -> (StatusCode, Value) {
    let response = http().get(url).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

pub(crate) struct Hook {
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

#[derive(Clone)]
pub(crate) struct Receiver {
    verify_token: String,
    fail_first: Arc<AtomicUsize>,
    pub(crate) attempts: Arc<AtomicUsize>,
    tx: mpsc::UnboundedSender<Hook>,
}

/// A tiny webhook receiver: answers Meta's handshake for `verify_token` and forwards every
/// accepted POST; the first `fail_first` POSTs get a 500.
pub(crate) async fn receiver(
    verify_token: &str,
    fail_first: usize,
) -> (String, Receiver, mpsc::UnboundedReceiver<Hook>) {
    async fn verify(
        State(r): State<Receiver>,
        Query(q): Query<HashMap<String, String>>,
    ) -> (StatusCode, String) {
        let ok = q.get("hub.mode").map(String::as_str) == Some("subscribe")
            && q.get("hub.verify_token") == Some(&r.verify_token);
        match (ok, q.get("hub.challenge")) {
            (true, Some(challenge)) => (StatusCode::OK, challenge.clone()),
            _ => (StatusCode::FORBIDDEN, "bad token".into()),
        }
    }
    async fn accept(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
        r.attempts.fetch_add(1, Ordering::SeqCst);
        let failing = r
            .fail_first
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if failing {
            return StatusCode::INTERNAL_SERVER_ERROR;
        }
        r.tx.send(Hook { headers, body }).unwrap();
        StatusCode::OK
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let state = Receiver {
        verify_token: verify_token.into(),
        fail_first: Arc::new(AtomicUsize::new(fail_first)),
        attempts: Arc::new(AtomicUsize::new(0)),
        tx,
    };
    let app = Router::new()
        .route("/hook", get(verify).post(accept))
        .with_state(state.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, state, rx)
}

pub(crate) async fn next_hook(rx: &mut mpsc::UnboundedReceiver<Hook>) -> Hook {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("webhook within 5 s")
        .expect("receiver open")
}

#[test]
fn graph_time_and_meta_json() {
    assert_eq!(graph_time(0), "1970-01-01T00:00:00+0000");
    assert_eq!(graph_time(1_705_320_180), "2024-01-15T12:03:00+0000");
    assert_eq!(graph_time(951_825_599), "2000-02-29T11:59:59+0000");
    let bytes = meta_json_bytes(&json!({ "m": "café 😀" }));
    assert_eq!(bytes, br#"{"m":"caf\u00e9 \ud83d\ude00"}"#.to_vec());
}
