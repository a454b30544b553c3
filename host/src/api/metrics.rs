//! `GET /metrics`: the host's metrics ([`crate::metrics`]) in the OpenMetrics text
//! format, for operators' scrapers, plus the values read when the page is asked for.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use crate::app::App;

/// The metrics page.
pub async fn page(State(app): State<Arc<App>>) -> impl IntoResponse {
    let status = app.workflows.status();
    let mut extra = crate::metrics::scrape_registry();
    extra.register(
        "workflow_version",
        "The running workflow version.",
        ConstGauge::new(status.version),
    );
    extra.register(
        "workflow_reload_refused",
        "Workflow reloads refused because a script or rule file failed to compile or lint.",
        ConstCounter::new(status.refused_reloads),
    );
    extra.register(
        "workflow_kept_versions",
        "Earlier workflow versions still running interactions that started on them.",
        ConstGauge::new(status.kept_versions.len() as i64),
    );
    // The jobs table is the truth; reading it here keeps the gauges right even when no
    // job changed state since the last scrape. A store that cannot be read leaves the
    // last values set.
    if let Ok((pending, failed)) = app.store.read(crate::store::jobs::counts).await {
        crate::metrics::set_jobs(pending, failed);
    }
    // Held by a pause: the store's count, the same on every host.
    if let Ok(mut waiting) = app.store.read(crate::store::pauses::waiting).await {
        let channels = app
            .channels
            .list()
            .iter()
            .map(|c| {
                let name = c.config.name.clone();
                let n = waiting.remove(&name).unwrap_or(0);
                (name, n)
            })
            .collect();
        crate::metrics::register_channel_waiting(&mut extra, channels);
    }
    if let Some(queues) = queues(&app).await {
        crate::metrics::register_queues(&mut extra, queues);
    }
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        crate::metrics::render(&extra),
    )
}

/// Every configured workgroup's live queue, from the router. Only the leader routes: on a
/// follower (or when the workgroups cannot be read) `None`, and the page leaves the
/// series out rather than show a queue this host does not know.
async fn queues(app: &App) -> Option<Vec<crate::metrics::WorkgroupQueue>> {
    if !app.interactions.leads() {
        return None;
    }
    let groups = app
        .store
        .read(crate::store::directory::workgroups)
        .await
        .ok()?;
    let now = crate::clock::now_ms();
    let queues = groups
        .into_iter()
        .map(|group| {
            // The counters appear at zero for every workgroup, not only after a first offer.
            crate::metrics::workgroup_known(&group.name);
            let (waiting, available, oldest) = app.interactions.queue_facts(&group.name);
            crate::metrics::WorkgroupQueue {
                workgroup: group.name,
                waiting: waiting as i64,
                available: available as i64,
                longest_wait_s: oldest.map_or(0.0, |at| (now - at).max(0) as f64 / 1000.0),
            }
        })
        .collect();
    Some(queues)
}
