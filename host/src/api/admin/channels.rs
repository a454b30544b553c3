//! Channel operations for administrators: keywords a connector suspended (an X keyword
//! that brought more than 300 posts in a minute) and lifting them.
//!
//! Connectors record a suspension in their key-value store as `suspended/<keyword>` with
//! the end time (unix ms) as the value; lifting deletes that key, and the connector's next
//! poll uses the keyword again.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rusqlite::params;
use serde::Serialize;
use utoipa::ToSchema;

use super::Admin;
use crate::api::error::ApiError;
use crate::app::App;

/// Where connectors record suspended keywords.
const PREFIX: &str = "suspended/";

/// A keyword the connector stopped using for a while.
#[derive(Serialize, ToSchema)]
pub struct Suspension {
    /// The keyword.
    pub keyword: String,
    /// When the suspension ends, unix ms.
    pub until: Option<i64>,
}

fn known(app: &App, channel: &str) -> Result<(), ApiError> {
    if app.channels.contains_key(channel) {
        Ok(())
    } else {
        Err(ApiError::NotFound(format!("channel `{channel}` not found")))
    }
}

/// The keywords a channel's connector suspended.
#[utoipa::path(get, path = "/api/v1/channels/{name}/suspensions", tag = "admin",
    params(("name" = String, Path)),
    responses((status = 200, body = Vec<Suspension>), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])))]
pub async fn list_suspensions(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Path(name): Path<String>,
) -> Result<Json<Vec<Suspension>>, ApiError> {
    known(&app, &name)?;
    let rows = app
        .store
        .read(move |c| {
            let mut stmt = c.prepare(
                "SELECT key, value FROM plugin_kv WHERE channel = ?1 AND key LIKE 'suspended/%' ORDER BY key",
            )?;
            let rows = stmt.query_map(params![name], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|(key, value)| Suspension {
                keyword: key[PREFIX.len()..].to_owned(),
                until: String::from_utf8_lossy(&value).trim().parse().ok(),
            })
            .collect(),
    ))
}

/// Lifts a suspension: the connector uses the keyword again from its next poll.
#[utoipa::path(delete, path = "/api/v1/channels/{name}/suspensions/{keyword}", tag = "admin",
    params(("name" = String, Path), ("keyword" = String, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = [])))]
pub async fn lift_suspension(
    State(app): State<Arc<App>>,
    _admin: Admin,
    Path((name, keyword)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    known(&app, &name)?;
    // Connectors record keywords in lower case, as platforms match them.
    let keyword = keyword.to_lowercase();
    let key = format!("{PREFIX}{keyword}");
    let (channel, k) = (name.clone(), key.clone());
    let removed = app
        .store
        .write(move |c| {
            Ok(c.execute(
                "DELETE FROM plugin_kv WHERE channel = ?1 AND key = ?2",
                params![channel, k],
            )?)
        })
        .await?;
    if removed == 0 {
        return Err(ApiError::NotFound(format!(
            "keyword `{keyword}` is not suspended on channel `{name}`"
        )));
    }
    tracing::info!(channel = %name, %keyword, "keyword suspension lifted by an administrator");
    Ok(StatusCode::NO_CONTENT)
}
