//! The HTTP API (`/api/v1`), health endpoints and the router that ties in webhooks and
//! the web desktop.

mod admin;
mod attachments;
mod audit;
pub mod auth;
mod contacts;
mod directory;
mod error;
mod events;
mod extract;
mod forward;
mod history;
mod interactions;
mod login;
pub mod metrics;
mod openapi;
mod params;
mod reply_body;
mod reports;
mod responses;
mod search_csv;
mod standard_responses;
mod stats;
mod supervisor;
mod templates;
mod trace;
mod workflows;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;

use crate::app::App;
pub use error::ApiError;

/// Every route the host serves.
pub fn router(app: Arc<App>) -> Router {
    let (api, _) = openapi::routes().split_for_parts();
    // Clients of the API read every refusal as JSON, a wrong method or path too.
    let api = api.method_not_allowed_fallback(wrong_method);
    let undocumented = Router::new()
        .route("/openapi.json", get(openapi::document))
        // Served only by a host started for tests (answers 404 otherwise).
        .merge(admin::testing_routes())
        .fallback(unknown_route);
    Router::new()
        .merge(api)
        .nest("/api/v1", undocumented)
        .route(
            "/webhooks/{channel}",
            get(crate::ingest::webhook::receive).post(crate::ingest::webhook::receive),
        )
        // An agent's file, for a platform that fetches it by a signed link (no sign-in).
        .route(
            "/media/{id}/{expires}/{signature}",
            get(attachments::linked),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics::page))
        .route("/readyz", get(ready))
        .merge(crate::web::router())
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            audit::record,
        ))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            forward::to_leader,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(8 << 20))
        .layer(axum::middleware::map_response(security_headers))
        .layer(axum::middleware::from_fn(request_id))
        .layer(axum::Extension(Arc::new(login::Logins::default())))
        .with_state(app)
}

/// Gives every request an id (the caller's `X-Request-Id` when it is a plain token of at
/// most 64 characters, such as a load balancer's, else a new one), logs what the request
/// causes inside a span that carries it, and answers with it in `X-Request-Id`: one
/// request can be followed through the logs of whichever host served it.
async fn request_id(
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use tracing::Instrument;
    let given = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        })
        .map(str::to_owned);
    let id = given.unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()[..16].to_owned());
    // Passed on with the request should this host forward it to the leader.
    if let Ok(value) = axum::http::HeaderValue::from_str(&id) {
        req.headers_mut().insert("x-request-id", value);
    }
    // The path only: a query may carry a token (the event stream's).
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path());
    // The route's template, never the raw path (bounded series whatever clients send).
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("unmatched", |m| m.as_str())
        .to_owned();
    let method = match req.method().as_str() {
        m @ ("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS") => m,
        _ => "other",
    }
    .to_owned();
    let started = std::time::Instant::now();
    let mut res = next.run(req).instrument(span.clone()).await;
    crate::metrics::http_request(&route, &method, res.status().as_u16(), started.elapsed());
    span.in_scope(|| {
        tracing::debug!(
            status = res.status().as_u16(),
            ms = started.elapsed().as_millis() as u64,
            "answered"
        )
    });
    if let Ok(value) = axum::http::HeaderValue::from_str(&id) {
        res.headers_mut().insert("x-request-id", value);
    }
    res
}

/// Any path under `/api/v1` that is not a route.
async fn unknown_route(axum::extract::OriginalUri(uri): axum::extract::OriginalUri) -> ApiError {
    ApiError::NotFound(format!("There is no {} in this API.", uri.path()))
}

/// A route asked with a method it does not take.
async fn wrong_method(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::problem(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} does not take {method}.", uri.path()),
    )
}

/// `GET /readyz`: 200 while the store can commit; 503 with the reason in plain words when
/// it cannot (its writer stopped, the disk or the database's size limit is full), so a
/// load balancer stops sending traffic that could not be stored.
async fn ready(
    axum::extract::State(app): axum::extract::State<Arc<App>>,
) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    let readable = app.store.read(crate::store::queries::ping).await;
    let outcome = match readable {
        Err(e) => Err(format!("the store cannot be read: {e:#}")),
        Ok(()) => app.store.ready().await,
    };
    match outcome {
        Ok(()) => "ready".into_response(),
        Err(reason) => {
            tracing::warn!(%reason, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: {reason}\n"),
            )
                .into_response()
        }
    }
}

/// Runs a domain operation to its end in its own task and answers with its result. An
/// HTTP client that hangs up drops its request's future; the operation must not stop
/// halfway with it (after its commit, before telling agents or arming timers).
pub(crate) async fn detached<T, E, F>(op: F) -> Result<T, error::ApiError>
where
    F: std::future::Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
    error::ApiError: From<E>,
{
    match tokio::spawn(op).await {
        Ok(result) => result.map_err(error::ApiError::from),
        Err(e) => Err(error::ApiError::Internal(anyhow::anyhow!(
            "the operation's task failed: {e}"
        ))),
    }
}

/// What every answer carries so a browser holds the desktop to its own origin: scripts
/// and styles only from files the host serves (no inline script), no framing, no MIME
/// sniffing, no referrer sent elsewhere.
async fn security_headers(mut res: axum::response::Response) -> axum::response::Response {
    use axum::http::HeaderValue;
    use axum::http::header;
    let headers = res.headers_mut();
    // An attachment's answer keeps its own, stricter policy. Files are shown from blob:
    // URLs the desktop makes of what it fetched with the session's token.
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
                 media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
                 form-action 'self'; frame-ancestors 'none'",
            ),
        );
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}
