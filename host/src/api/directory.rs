//! `GET /api/v1/directory`: the names a desktop needs to offer choices, for any signed-in
//! user: channels with their platform, workgroups with their alert timeout and wrap-up
//! codes, and the agents one may transfer to.

use std::sync::Arc;

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Caller;
use super::error::ApiError;
use super::extract::Json;
use super::responses::SignedIn;
use crate::app::App;
use crate::routing::AgentStatus;
use crate::store::directory;

/// A channel, as a desktop names it.
#[derive(Serialize, ToSchema)]
pub struct ChannelName {
    /// Channel name.
    pub name: String,
    /// Its platform family (`facebook`, `x`, `whatsapp`, `apple`).
    pub platform: String,
}

/// A workgroup, as a desktop needs it.
#[derive(Serialize, ToSchema)]
pub struct WorkgroupName {
    /// Workgroup name.
    pub name: String,
    /// How long an offer alerts before it moves on, ms (the countdown on an offer).
    pub alert_timeout_ms: i64,
    /// Wrap-up codes.
    pub wrapup_codes: Vec<String>,
    /// Whether a wrap-up code is required.
    pub wrapup_required: bool,
}

/// An agent one may transfer to.
#[derive(Serialize, ToSchema)]
pub struct AgentName {
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Routing status now (`available`, `away`, `not_responding`, `logged_out`).
    pub status: AgentStatus,
    /// Whether they can be offered work now (available, no wrap-up owed). A transfer to
    /// an agent who is not goes straight back to the workgroup's queue.
    pub available: bool,
}

/// Everything a desktop offers as a choice.
#[derive(Serialize, ToSchema)]
pub struct Directory {
    /// Channels, by name.
    pub channels: Vec<ChannelName>,
    /// Workgroups, by name.
    pub workgroups: Vec<WorkgroupName>,
    /// Users with the `agent` right, by username.
    pub agents: Vec<AgentName>,
    /// Stations agents may log in at.
    pub stations: Vec<String>,
}

/// Names of channels, workgroups and agents.
#[utoipa::path(get, path = "/api/v1/directory", responses((status = 200, body = Directory), SignedIn), security(("bearer" = [])))]
pub async fn names(
    State(app): State<Arc<App>>,
    _caller: Caller,
) -> Result<Json<Directory>, ApiError> {
    let (groups, users, stations) = app
        .store
        .read(|c| {
            Ok((
                directory::workgroups(c)?,
                directory::users(c)?,
                directory::stations(c)?,
            ))
        })
        .await?;
    let mut channels: Vec<ChannelName> = app
        .channels
        .list()
        .iter()
        .map(|ch| ChannelName {
            name: ch.config.name.clone(),
            platform: ch.connector.platform().to_string(),
        })
        .collect();
    channels.sort_by(|a, b| a.name.cmp(&b.name));
    let mut workgroups: Vec<WorkgroupName> = groups
        .into_iter()
        .map(|g| WorkgroupName {
            name: g.name,
            alert_timeout_ms: g.alert_timeout_ms,
            wrapup_codes: g.wrapup_codes,
            wrapup_required: g.wrapup_required,
        })
        .collect();
    workgroups.sort_by(|a, b| a.name.cmp(&b.name));
    let views = app.interactions.router().agents();
    let agents = users
        .into_iter()
        .filter(|u| u.has_right("agent"))
        .map(|u| {
            let view = views.iter().find(|v| v.id == u.id);
            let status = view.map_or(AgentStatus::LoggedOut, |v| v.status);
            AgentName {
                available: status == AgentStatus::Available
                    && view.is_some_and(|v| v.wrapup_pending.is_empty()),
                status,
                username: u.username,
                display_name: u.display_name,
            }
        })
        .collect();
    Ok(Json(Directory {
        channels,
        workgroups,
        agents,
        stations: stations.into_iter().map(|s| s.name).collect(),
    }))
}
