//! `GET /api/v1/workflows`: which workflow version runs, and why the last reload was
//! refused, for administrators watching a script change go live.

use std::sync::Arc;

use axum::extract::State;

use super::auth::Caller;
use super::error::ApiError;
use super::extract::Json;
use super::responses::NeedsRight;
use crate::app::App;
use crate::workflow::WorkflowStatus;

/// The running workflow version, its scripts and the last refused reload.
#[utoipa::path(get, path = "/api/v1/workflows", responses((status = 200, body = WorkflowStatus), NeedsRight),
    security(("bearer" = [])))]
pub async fn status(
    State(app): State<Arc<App>>,
    Caller(user): Caller,
) -> Result<Json<WorkflowStatus>, ApiError> {
    if !user.has_right("social_media_admin") {
        return Err(ApiError::Forbidden(
            "the social_media_admin right is required".into(),
        ));
    }
    Ok(Json(app.workflows.status()))
}
