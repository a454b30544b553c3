//! `GET /api/v1/retention` and `POST /api/v1/retention/run`: the retention periods in force,
//! when the purge last ran and runs next, and running it now.

use std::sync::Arc;

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::Admin;
use crate::api::error::ApiError;
use crate::api::extract::Json;
use crate::api::responses::NeedsRight;
use crate::app::App;
use crate::interactions::retention::{self, EVERY_MS};
use crate::store::retention as rows;

/// One channel's retention period.
#[derive(Serialize, ToSchema)]
pub struct ChannelRetention {
    pub channel: String,
    /// Days its customers' content is kept after their interaction ends; null: kept
    /// until a customer is erased.
    pub days: Option<u32>,
    /// Whether it is the channel's own (`retention_days`) rather than `[retention] days`.
    pub own: bool,
}

/// The retention policy and the purge's runs.
#[derive(Serialize, ToSchema)]
pub struct RetentionStatus {
    /// `[retention] days`; null: no global period.
    pub days: Option<u32>,
    /// Each configured channel's period.
    pub channels: Vec<ChannelRetention>,
    /// When the purge last ran (unix ms), and how many interactions it cleared then.
    pub last_run_at: Option<i64>,
    pub last_scrubbed: Option<i64>,
    /// When it runs next (unix ms), on the leader.
    pub next_run_at: Option<i64>,
}

/// What a purge run did.
#[derive(Serialize, ToSchema)]
pub struct RetentionRun {
    /// Interactions whose content and personal data were removed.
    pub scrubbed: usize,
}

/// The retention periods and the purge's last and next run.
#[utoipa::path(get, path = "/api/v1/retention",
    responses((status = 200, body = RetentionStatus), NeedsRight), security(("bearer" = [])))]
pub async fn retention_status(
    State(app): State<Arc<App>>,
    _admin: Admin,
) -> Result<Json<RetentionStatus>, ApiError> {
    let days = app.config.retention.days;
    let last = app.store.read(rows::last_run).await?;
    let mut channels: Vec<ChannelRetention> = app
        .channels
        .list()
        .iter()
        .map(|ch| ChannelRetention {
            channel: ch.config.name.clone(),
            days: ch.config.retention_days.or(days),
            own: ch.config.retention_days.is_some(),
        })
        .collect();
    channels.sort_by(|a, b| a.channel.cmp(&b.channel));
    Ok(Json(RetentionStatus {
        days,
        channels,
        last_run_at: last.map(|(at, _)| at),
        last_scrubbed: last.map(|(_, n)| n),
        next_run_at: last.map(|(at, _)| at + EVERY_MS),
    }))
}

/// Runs the retention purge now (on this host's store, whichever host leads).
#[utoipa::path(post, path = "/api/v1/retention/run",
    responses((status = 200, body = RetentionRun), NeedsRight), security(("bearer" = [])))]
pub async fn run_retention(
    State(app): State<Arc<App>>,
    _admin: Admin,
) -> Result<Json<RetentionRun>, ApiError> {
    let scrubbed = retention::run_once(&app.core, app.config.retention.days).await?;
    Ok(Json(RetentionRun { scrubbed }))
}
