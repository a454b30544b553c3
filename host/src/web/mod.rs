//! The web desktop, served by the host from files compiled into the binary.

use std::sync::Arc;

use axum::Router;
use axum::response::Html;
use axum::routing::get;

use crate::app::App;

/// `/`: the agent desktop.
pub fn router() -> Router<Arc<App>> {
    Router::new().route("/", get(|| async { Html(include_str!("agent.html")) }))
}
