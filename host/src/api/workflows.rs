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

fn admin(user: &crate::store::directory::User) -> Result<(), ApiError> {
    if user.has_right("social_media_admin") {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "the social_media_admin right is required".into(),
        ))
    }
}

/// The workflow versions this host has loaded (the last 50), newest first, with the
/// scripts each changed.
#[utoipa::path(get, path = "/api/v1/workflows/versions",
    responses((status = 200, body = Vec<crate::workflow::history::VersionSummary>), NeedsRight),
    security(("bearer" = [])))]
pub async fn versions(
    State(app): State<Arc<App>>,
    Caller(user): Caller,
) -> Result<Json<Vec<crate::workflow::history::VersionSummary>>, ApiError> {
    admin(&user)?;
    Ok(Json(app.workflows.history()))
}

/// One script's text in one version.
#[utoipa::path(get, path = "/api/v1/workflows/versions/{version}/scripts/{name}",
    params(("version" = i64, Path), ("name" = String, Path, description = "The script's file name")),
    responses((status = 200, body = crate::workflow::history::ScriptText), NeedsRight, super::responses::BadRequest, super::responses::NotFound),
    security(("bearer" = [])))]
pub async fn script(
    State(app): State<Arc<App>>,
    Caller(user): Caller,
    super::extract::Path((version, name)): super::extract::Path<(i64, String)>,
) -> Result<Json<crate::workflow::history::ScriptText>, ApiError> {
    admin(&user)?;
    app.workflows.script_text(version, &name).map(Json).ok_or_else(|| {
        ApiError::NotFound(format!(
            "Version {version} has no script “{name}”, or it is older than the last 50 versions this host keeps."
        ))
    })
}
