//! The HTTP API (`/api/v1`), health endpoints and the router that ties in webhooks and
//! the web desktop.

mod admin;
pub mod auth;
mod directory;
mod error;
mod events;
mod interactions;
pub mod metrics;
mod openapi;
mod stats;
mod supervisor;
mod workflows;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post, put};

use crate::app::App;
pub use error::ApiError;

/// Every route the host serves.
pub fn router(app: Arc<App>) -> Router {
    let api = Router::new()
        .route("/login", post(interactions::login))
        .route("/me", get(interactions::me))
        .route("/me/status", put(interactions::set_status))
        .route("/me/interactions", get(interactions::my_interactions))
        .route("/interactions", get(stats::search))
        .route("/interactions/{id}", get(interactions::detail))
        .route("/interactions/{id}/pickup", post(interactions::pickup))
        .route("/interactions/{id}/reply", post(interactions::reply))
        .route(
            "/interactions/{id}/disconnect",
            post(interactions::disconnect),
        )
        .route(
            "/interactions/{id}/messages/{message}/delete",
            post(interactions::delete_message),
        )
        .route(
            "/interactions/{id}/messages/{message}/hide",
            post(interactions::hide_message),
        )
        .route("/interactions/{id}/hold", post(interactions::hold))
        .route("/interactions/{id}/resume", post(interactions::resume))
        .route("/interactions/{id}/transfer", post(interactions::transfer))
        .route("/interactions/{id}/decline", post(interactions::decline))
        .route("/interactions/{id}/wrapup", post(interactions::wrapup))
        .route("/me/station", post(interactions::set_station))
        .route("/queues", get(supervisor::queues))
        .route("/agents", get(supervisor::agents))
        .route("/stats/realtime", get(stats::realtime))
        .route("/workflows", get(workflows::status))
        .route("/events", get(events::stream))
        .route("/directory", get(directory::names))
        .route("/openapi.json", get(openapi::document))
        .merge(admin::routes());
    Router::new()
        .nest("/api/v1", api)
        .route(
            "/webhooks/{channel}",
            get(crate::ingest::webhook::receive).post(crate::ingest::webhook::receive),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics::page))
        .route("/readyz", get(ready))
        .merge(crate::web::router())
        .layer(axum::extract::DefaultBodyLimit::max(8 << 20))
        .with_state(app)
}

async fn ready(
    axum::extract::State(app): axum::extract::State<Arc<App>>,
) -> Result<&'static str, ApiError> {
    app.store
        .read(|c| Ok(c.query_row("SELECT 1", [], |_| Ok(()))?))
        .await?;
    Ok("ready")
}
