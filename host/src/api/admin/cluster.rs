//! `GET /cluster`: the hosts sharing this store, which one leads, what each runs and when
//! it was last heard from.

use std::sync::Arc;

use axum::extract::State;

use super::Admin;
use crate::api::error::ApiError;
use crate::api::extract::Json;
use crate::api::responses::NeedsRight;
use crate::app::App;
use crate::cluster::ClusterStatus;

/// The cluster: every host heard from in the last ten minutes (its address, its last
/// heartbeat and how long ago that was, whether it is up, missing or stopped, the
/// channels it runs) and the host holding the leader's lease. On the embedded SQLite store
/// there is one host, and it leads.
#[utoipa::path(get, path = "/api/v1/cluster",
    responses((status = 200, body = ClusterStatus), NeedsRight),
    security(("bearer" = [])))]
pub async fn cluster_status(
    State(app): State<Arc<App>>,
    _admin: Admin,
) -> Result<Json<ClusterStatus>, ApiError> {
    Ok(Json(app.cluster.status().await?))
}
