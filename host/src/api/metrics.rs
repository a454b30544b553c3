//! `GET /metrics`: the host's metrics ([`crate::metrics`]) in the OpenMetrics text
//! format, for operators' scrapers, plus the values read when the page is asked for.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use crate::app::App;

/// Counts a workflow handler that failed (its interaction took the fallback route).
/// Kept for the callers written before [`crate::metrics`]; new code calls that module.
pub fn workflow_error() {
    crate::metrics::workflow_error();
}

/// The metrics page.
pub async fn page(State(app): State<Arc<App>>) -> impl IntoResponse {
    let status = app.workflows.status();
    let mut extra = crate::metrics::scrape_registry();
    extra.register(
        "workflow_version",
        "The running workflow version.",
        ConstGauge::new(status.version as i64),
    );
    extra.register(
        "workflow_reload_refused",
        "Workflow reloads refused because a script or rule file failed to compile or lint.",
        ConstCounter::new(status.refused_reloads as u64),
    );
    extra.register(
        "workflow_kept_versions",
        "Earlier workflow versions still running interactions that started on them.",
        ConstGauge::new(status.kept_versions.len() as i64),
    );
    // The jobs table is the truth; reading it here keeps the gauges right even when no
    // job changed state since the last scrape. A store that cannot be read leaves the
    // last values set by the job worker.
    if let Ok((pending, failed)) = app.store.read(jobs_counts).await {
        crate::metrics::set_jobs(pending, failed);
    }
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        crate::metrics::render(&extra),
    )
}

/// Jobs waiting or running, and jobs that gave up; zero while the table does not exist
/// (a database not migrated that far).
fn jobs_counts(conn: &rusqlite::Connection) -> anyhow::Result<(i64, i64)> {
    let exists: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'jobs'",
        [],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok((0, 0));
    }
    Ok(conn.query_row(
        "SELECT count(*) FILTER (WHERE failed_at IS NULL),
                count(*) FILTER (WHERE failed_at IS NOT NULL)
         FROM jobs",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}
