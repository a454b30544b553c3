//! In a cluster, a host that follows passes API requests on to the leader and hands back
//! its answer: routing lives in the leader's memory, so an agent's pickup, a supervisor's
//! figures or an administrator's change to a workgroup must be decided there, whichever
//! host the load balancer picked. What needs no router is answered here: webhooks (any
//! host stores them), the event stream (fed by the bus), health, metrics, the desktop's
//! files and the cluster's own page.
//!
//! A request is passed on at most once: one that arrives marked as passed on and finds
//! this host not leading either (leadership moved meanwhile) is answered 503, and the
//! client tries again. So is one that finds no leader, or a leader that cannot be reached.
//! The client's address travels in `X-Forwarded-For`, which the leader believes when
//! this host is among its `[server] trusted_proxies`.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;
use crate::app::App;

/// Marks a request one host passed on to another (its value: the host that did).
pub(crate) const FORWARDED_BY: &str = "x-switchboard-forwarded-by";

/// The largest body passed on (as the API's own limit).
const MAX_BODY: usize = 8 << 20;

/// Paths under `/api/v1` every host answers itself.
fn answered_here(path: &str) -> bool {
    matches!(
        path,
        "/api/v1/events" | "/api/v1/cluster" | "/api/v1/openapi.json"
    )
}

/// The middleware: passes the request on when this host follows in a cluster.
pub(super) async fn to_leader(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if !app.cluster.shared()
        || app.cluster.leads()
        || !path.starts_with("/api/v1/")
        || answered_here(path)
    {
        return next.run(req).await;
    }
    if req.headers().contains_key(FORWARDED_BY) {
        return unavailable("Leadership of the cluster is moving from one host to another.");
    }
    let Some((leader, address)) = app.cluster.leader() else {
        return unavailable("No host leads the cluster at the moment.");
    };
    // A leader paused (not dead) accepts the connection and never answers: once another
    // host leads, the request is given up rather than waited on for the whole timeout.
    let passed = tokio::select! {
        passed = forward(app.cluster.host_id(), &address, req) => passed,
        _ = app.cluster.leader_changed(&leader) => Err(Refused::Moved),
    };
    match passed {
        Ok(res) => res,
        Err(Refused::Moved) => {
            tracing::warn!(leader = %leader, "leadership moved while a request waited on the old leader");
            unavailable(
                "Leadership of the cluster moved while your request was under way; it may not have been carried out.",
            )
        }
        Err(Refused::TooLarge) => ApiError::problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("The request is larger than {} MiB.", MAX_BODY >> 20),
        )
        .into_response(),
        Err(Refused::Unreachable(e)) => {
            tracing::warn!(leader = %leader, %address, error = %e, "the leading host could not be reached");
            unavailable("The host that leads the cluster could not be reached.")
        }
    }
}

fn unavailable(why: &str) -> Response {
    let mut res = ApiError::problem(
        StatusCode::SERVICE_UNAVAILABLE,
        "leader_unavailable",
        format!("{why} Try again in a few seconds."),
    )
    .into_response();
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
    res
}

enum Refused {
    TooLarge,
    /// Another host leads now.
    Moved,
    Unreachable(reqwest::Error),
}

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            // Between hosts: no proxy, no redirects followed, and a quick answer when the
            // leader is gone.
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(30))
            .build()
            .expect("an HTTP client")
    })
}

/// Headers that describe one hop, not the request.
fn hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "host"
            | "content-length"
    )
}

async fn forward(this_host: &str, address: &str, req: Request) -> Result<Response, Refused> {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| Refused::TooLarge)?;
    let target = parts
        .uri
        .path_and_query()
        .map_or(parts.uri.path(), |p| p.as_str());
    let url = format!("http://{address}{target}");
    let mut headers = HeaderMap::new();
    for (name, value) in &parts.headers {
        if !hop_by_hop(name) && name.as_str() != "x-forwarded-for" {
            headers.append(name.clone(), value.clone());
        }
    }
    // The chain of addresses so far, then the client this host saw.
    let mut chain: Vec<String> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .collect();
    chain.extend(peer.map(|ip| ip.to_string()));
    if let Ok(value) = HeaderValue::from_str(&chain.join(", "))
        && !chain.is_empty()
    {
        headers.insert("x-forwarded-for", value);
    }
    if let Ok(value) = HeaderValue::from_str(this_host) {
        headers.insert(FORWARDED_BY, value);
    }
    let answer = client()
        .request(parts.method, url)
        .headers(headers)
        .body(body)
        .send()
        .await
        .map_err(Refused::Unreachable)?;
    let mut res = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if !hop_by_hop(name) {
            res = res.header(name, value);
        }
    }
    Ok(res
        .body(Body::from_stream(answer.bytes_stream()))
        .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response()))
}
