//! `GET /metrics`: counters in the Prometheus text format, for operators' scrapers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::app::App;

static WORKFLOW_ERRORS: AtomicU64 = AtomicU64::new(0);

/// Counts a workflow handler that failed (its interaction took the fallback route).
pub fn workflow_error() {
    WORKFLOW_ERRORS.fetch_add(1, Ordering::Relaxed);
}

/// The metrics page.
pub async fn page(State(app): State<Arc<App>>) -> impl IntoResponse {
    let status = app.workflows.status();
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, value: String| {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
        ));
    };
    metric(
        "switchboard_workflow_version",
        "gauge",
        "The running workflow version.",
        status.version.to_string(),
    );
    metric(
        "switchboard_workflow_reload_refused_total",
        "counter",
        "Workflow reloads refused because a script or rule file failed to compile or lint.",
        status.refused_reloads.to_string(),
    );
    metric(
        "switchboard_workflow_errors_total",
        "counter",
        "Workflow handler calls that failed; their interactions took the fallback route.",
        WORKFLOW_ERRORS.load(Ordering::Relaxed).to_string(),
    );
    metric(
        "switchboard_workflow_kept_versions",
        "gauge",
        "Earlier workflow versions still running interactions that started on them.",
        status.kept_versions.len().to_string(),
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}
