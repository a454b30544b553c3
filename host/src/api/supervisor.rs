//! Supervisor views: queues and agents, live.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{Json, Path};
use super::responses::{BadRequest, JsonBody, NeedsRight, NotFound};
use crate::app::App;
use crate::clock::now_ms;
use crate::routing::{AgentStatus, AgentView};
use crate::store::{directory, queries};

/// One workgroup's queue right now, with the last 24 h's service level.
#[derive(Serialize, ToSchema)]
pub struct WorkgroupStats {
    /// Workgroup name.
    pub workgroup: String,
    /// Interactions waiting for an agent.
    pub waiting: usize,
    /// How long the longest-waiting one has waited, ms.
    pub longest_wait_ms: i64,
    /// Service-level target, seconds.
    pub sl_target_s: i64,
    /// Picked up in the last 24 h.
    pub answered: i64,
    /// Of those, picked up within the target.
    pub answered_in_target: i64,
    /// Ended by the customer before anyone picked them up, last 24 h.
    pub abandoned: i64,
    /// answered_in_target / (answered + abandoned), percent; null with no traffic.
    pub service_level_percent: Option<f64>,
}

/// One workgroup's queue right now, with today's service level and its members' statuses.
#[derive(Serialize, ToSchema)]
pub struct QueueStats {
    /// The queue and its service level.
    #[serde(flatten)]
    pub queue: WorkgroupStats,
    /// Members by routing status (`available`, `away`, `not_responding`, `logged_out`).
    pub agents_by_status: BTreeMap<String, usize>,
}

/// One agent right now.
#[derive(Serialize, ToSchema)]
pub struct AgentStats {
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Routing status.
    pub status: AgentStatus,
    /// Station logged in at.
    pub station: Option<String>,
    /// Interactions alerting or assigned (held included).
    pub interactions: Vec<i64>,
    /// Sum of utilization percentages in use.
    pub utilization_used: u32,
    /// Interactions whose required wrap-up is owed.
    pub wrapup_pending: Vec<i64>,
}

/// A signed-in supervisor or administrator, checked before the request's body is read, so
/// anyone else gets 403 whatever they sent.
pub struct Supervising(pub Caller);

impl axum::extract::FromRequestParts<Arc<App>> for Supervising {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        app: &Arc<App>,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, app).await?;
        supervisor(&caller)?;
        Ok(Supervising(caller))
    }
}

/// Lets supervisors and administrators through; 403 for everyone else.
pub(super) fn supervisor(caller: &Caller) -> Result<(), ApiError> {
    if caller.sees_all() {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "This needs the supervisor or administrator right. Ask an administrator to grant it."
                .into(),
        ))
    }
}

/// Queues per workgroup.
#[utoipa::path(get, path = "/api/v1/queues", responses((status = 200, body = Vec<QueueStats>), NeedsRight), security(("bearer" = [])))]
pub async fn queues(
    State(app): State<Arc<App>>,
    caller: Caller,
) -> Result<Json<Vec<QueueStats>>, ApiError> {
    supervisor(&caller)?;
    let statuses = agent_statuses(&app);
    let stats = workgroup_stats(&app, now_ms())
        .await?
        .into_iter()
        .map(|(queue, members)| {
            let mut by_status = BTreeMap::new();
            for member in &members {
                let status = statuses
                    .get(member)
                    .copied()
                    .unwrap_or(AgentStatus::LoggedOut);
                *by_status.entry(status.as_str().to_string()).or_insert(0) += 1;
            }
            QueueStats {
                queue,
                agents_by_status: by_status,
            }
        })
        .collect();
    Ok(Json(stats))
}

/// The routing status of every agent the router knows; absent ones are logged out.
pub(super) fn agent_statuses(app: &App) -> BTreeMap<i64, AgentStatus> {
    app.interactions
        .router()
        .agents()
        .into_iter()
        .map(|a| (a.id, a.status))
        .collect()
}

/// Every workgroup's live queue and service level over the 24 h before `now`, each with
/// its member ids. `/queues` and `/stats/realtime` both show these numbers, so they
/// come from here only.
pub(super) async fn workgroup_stats(
    app: &App,
    now: i64,
) -> Result<Vec<(WorkgroupStats, Vec<i64>)>, ApiError> {
    let since = now - 86_400_000;
    let (groups, levels) = app
        .store
        .read(move |c| Ok((directory::workgroups(c)?, queries::service_level(c, since)?)))
        .await?;
    let live = app.interactions.router().queues();
    let stats = groups
        .into_iter()
        .map(|g| {
            let queue = live.iter().find(|q| q.workgroup == g.name);
            let (answered, in_target, abandoned) = levels
                .iter()
                .find(|(w, ..)| *w == g.name)
                .map(|(_, a, t, ab)| (*a, *t, *ab))
                .unwrap_or((0, 0, 0));
            let offered = answered + abandoned;
            let stats = WorkgroupStats {
                workgroup: g.name,
                waiting: queue.map_or(0, |q| q.waiting),
                longest_wait_ms: queue
                    .and_then(|q| q.oldest_queued_at)
                    .map_or(0, |t| (now - t).max(0)),
                sl_target_s: g.sl_target_s,
                answered,
                answered_in_target: in_target,
                abandoned,
                service_level_percent: (offered > 0)
                    .then(|| 100.0 * in_target as f64 / offered as f64),
            };
            (stats, g.members)
        })
        .collect();
    Ok(stats)
}

/// Every user with the `agent` right, with status and load; those the router does not know
/// are logged out. The same set as the `agents_by_status` tiles of `/stats/realtime`, so
/// the two always add up (a supervisor without the agent right is in neither).
#[utoipa::path(get, path = "/api/v1/agents", responses((status = 200, body = Vec<AgentStats>), NeedsRight), security(("bearer" = [])))]
pub async fn agents(
    State(app): State<Arc<App>>,
    caller: Caller,
) -> Result<Json<Vec<AgentStats>>, ApiError> {
    supervisor(&caller)?;
    let users = app.store.read(directory::users).await?;
    Ok(Json(agent_rows(users, &app.interactions.router().agents())))
}

/// A supervisor's change of an agent's status.
#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentStatusRequest {
    /// `available`, `away` or `logged_out`.
    pub status: String,
    /// Why, shown to the agent and kept in the audit log.
    #[serde(default)]
    pub reason: Option<String>,
}

/// Sets an agent's status for them (supervisors): Available (they take work), Away or
/// Logged out (they take no new work; what they hold stays theirs). The agent's desktop
/// shows who changed it and why.
#[utoipa::path(put, path = "/api/v1/agents/{username}/status", params(("username" = String, Path)),
    request_body = AgentStatusRequest,
    responses((status = 200, body = AgentStats), NeedsRight, BadRequest, JsonBody, NotFound),
    security(("bearer" = [])))]
pub async fn set_agent_status(
    State(app): State<Arc<App>>,
    Supervising(caller): Supervising,
    Path(username): Path<String>,
    Json(req): Json<AgentStatusRequest>,
) -> Result<Json<AgentStats>, ApiError> {
    let status = AgentStatus::parse(&req.status)
        .filter(|s| !matches!(s, AgentStatus::NotResponding))
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "status: “{}” is not a status a supervisor sets; choose available, away or logged_out",
                req.status
            ))
        })?;
    let reason = req
        .reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    if reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
        return Err(ApiError::BadRequest(
            "reason: at most 500 characters".into(),
        ));
    }
    let name = username.clone();
    let agent = app
        .store
        .read(move |c| directory::user_by_name(c, &name))
        .await?
        .filter(|u| u.has_right("agent"))
        .ok_or_else(|| ApiError::NotFound(format!("There is no agent named “{username}”.")))?;
    let (ops, id) = (app.clone(), agent.id);
    super::detached(async move { ops.interactions.set_status(id, status).await }).await?;
    let said = match &reason {
        Some(r) => format!(
            "{} set your status to {}: {r}",
            caller.0.display_name,
            status.label()
        ),
        None => format!(
            "{} set your status to {}.",
            caller.0.display_name,
            status.label()
        ),
    };
    app.interactions.hub.send(
        agent.id,
        "status",
        serde_json::json!({ "status": status, "reason": said }),
    );
    tracing::info!(agent = %agent.username, supervisor = %caller.0.username, status = status.as_str(),
        reason = reason.as_deref().unwrap_or(""), "agent status set by a supervisor");
    let views = app.interactions.router().agents();
    agent_rows(vec![agent], &views)
        .pop()
        .map(Json)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("the agent vanished")))
}

/// Why a supervisor closes an interaction.
#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    /// Why, kept in the interaction's history (1 to 500 characters).
    pub reason: String,
}

/// Ends a stuck interaction (queued, offered, connected or held) with a reason kept in its
/// history (supervisors). Whoever held it is told and owes no wrap-up.
#[utoipa::path(post, path = "/api/v1/supervisor/interactions/{id}/close", params(("id" = i64, Path)),
    request_body = CloseRequest,
    responses((status = 200, body = crate::model::interaction::Interaction), NeedsRight, BadRequest, JsonBody, NotFound,
        (status = 409, description = "`conflict`: it has ended already, or the workflow holds it", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn close_interaction(
    State(app): State<Arc<App>>,
    Supervising(caller): Supervising,
    Path(id): Path<i64>,
    Json(req): Json<CloseRequest>,
) -> Result<Json<crate::model::interaction::Interaction>, ApiError> {
    let reason = req.reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ApiError::BadRequest(
            "reason: say why in 1 to 500 characters".into(),
        ));
    }
    let (ops, by) = (app.clone(), caller.0.id);
    let ix = super::detached(async move { ops.interactions.close(by, id, reason).await }).await?;
    tracing::info!(interaction = id, supervisor = %caller.0.username, "interaction closed by a supervisor");
    Ok(Json(ix))
}

/// Where a supervisor moves a stuck interaction.
#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReassignRequest {
    /// The workgroup it waits in (for an agent: where it falls back to). Default: the one
    /// it is in.
    #[serde(default)]
    pub to_workgroup: Option<String>,
    /// The agent (username) it is offered to first; the caller's own to take it over. They
    /// must be available.
    #[serde(default)]
    pub to_user: Option<String>,
    /// Why, kept in its history and shown to whoever receives it (1 to 500 characters).
    pub reason: String,
}

/// Moves a stuck interaction (queued, offered, connected or held) to another workgroup,
/// another agent, or the caller (taking it over), with a reason kept in its history
/// (supervisors). Whoever held it is told; the agent it goes to is offered it first.
#[utoipa::path(post, path = "/api/v1/supervisor/interactions/{id}/reassign", params(("id" = i64, Path)),
    request_body = ReassignRequest,
    responses((status = 200, body = crate::model::interaction::Interaction), NeedsRight, BadRequest, JsonBody, NotFound,
        (status = 409, description = "`conflict`: it has ended, the workflow holds it, or the agent is not available", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn reassign_interaction(
    State(app): State<Arc<App>>,
    Supervising(caller): Supervising,
    Path(id): Path<i64>,
    Json(req): Json<ReassignRequest>,
) -> Result<Json<crate::model::interaction::Interaction>, ApiError> {
    let reason = req.reason.trim().to_owned();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ApiError::BadRequest(
            "reason: say why in 1 to 500 characters".into(),
        ));
    }
    let agent = match req
        .to_user
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
    {
        None => None,
        Some(name) => {
            let name = name.to_owned();
            let user = app
                .store
                .read({
                    let name = name.clone();
                    move |c| directory::user_by_name(c, &name)
                })
                .await?
                .filter(|u| u.has_right("agent"))
                .ok_or_else(|| {
                    ApiError::BadRequest(format!("to_user: there is no agent named “{name}”"))
                })?;
            Some(user.id)
        }
    };
    let workgroup = match req
        .to_workgroup
        .map(|w| w.trim().to_owned())
        .filter(|w| !w.is_empty())
    {
        Some(w) => w,
        None => {
            app.store
                .read(move |c| queries::interaction(c, id))
                .await?
                .ok_or_else(|| ApiError::NotFound(format!("Conversation {id} was not found.")))?
                .workgroup
        }
    };
    let to = crate::interactions::Reassign {
        workgroup,
        agent,
        reason,
    };
    let (ops, by) = (app.clone(), caller.0.id);
    let ix = super::detached(async move { ops.interactions.reassign(by, id, to).await }).await?;
    tracing::info!(interaction = id, supervisor = %caller.0.username, "interaction moved by a supervisor");
    Ok(Json(ix))
}

/// One row per user with the `agent` right, in the directory's order.
fn agent_rows(users: Vec<directory::User>, views: &[AgentView]) -> Vec<AgentStats> {
    users
        .into_iter()
        .filter(|u| u.has_right("agent"))
        .map(|u| {
            let view = views.iter().find(|v| v.id == u.id);
            AgentStats {
                status: view.map_or(AgentStatus::LoggedOut, |v| v.status),
                station: u.station,
                interactions: view.map(|v| v.interactions.clone()).unwrap_or_default(),
                utilization_used: view.map_or(0, |v| v.utilization_used),
                wrapup_pending: view.map(|v| v.wrapup_pending.clone()).unwrap_or_default(),
                username: u.username,
                display_name: u.display_name,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: i64, name: &str, rights: &[&str]) -> directory::User {
        directory::User {
            id,
            username: name.into(),
            display_name: name.into(),
            rights: rights.iter().map(|r| r.to_string()).collect(),
            skills: Default::default(),
            utilization: Default::default(),
            station: None,
            status: "away".into(),
            status_at: 0,
        }
    }

    #[test]
    fn only_users_with_the_agent_right_are_listed_and_unknown_ones_are_logged_out() {
        let users = vec![
            user(1, "agent1", &["agent"]),
            user(2, "super", &["supervisor"]),
            user(3, "agent2", &["agent", "supervisor"]),
        ];
        let views = vec![
            AgentView {
                id: 1,
                status: AgentStatus::Available,
                interactions: vec![7],
                utilization_used: 50,
                wrapup_pending: vec![],
            },
            AgentView {
                id: 2,
                status: AgentStatus::Away,
                interactions: vec![],
                utilization_used: 0,
                wrapup_pending: vec![],
            },
        ];
        let rows = agent_rows(users, &views);
        let got: Vec<_> = rows
            .iter()
            .map(|r| (r.username.as_str(), r.status, r.interactions.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("agent1", AgentStatus::Available, vec![7]),
                ("agent2", AgentStatus::LoggedOut, vec![]),
            ]
        );
    }
}
