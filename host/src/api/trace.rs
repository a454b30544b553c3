//! `GET /api/v1/interactions/{id}/trace`: why an interaction went where it went. One
//! event log, oldest first: arrival with the workflow's decision, each queueing with the
//! agents passed over and why, offers, declines and time-outs, pickups, holds, transfers,
//! the end; and, while it waits, why nobody has been offered it right now.
//!
//! The handler parses, reads, and renders: the events are the store's, the explanation
//! the router's; here ids become usernames and reasons become words.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use serde::Serialize;

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{Json, Path};
use super::responses::{BadRequest, NeedsRight, NotFound};
use super::supervisor::supervisor;
use crate::app::App;
use crate::routing::{Explanation, PassReason};
use crate::store::{queries, trace};

/// An interaction's decisions and timeline.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Trace {
    /// The interaction.
    pub interaction: i64,
    /// The workflow script its channel runs, and the version it started on.
    pub script: Option<String>,
    /// That version.
    pub workflow_version: i64,
    /// Everything recorded, oldest first.
    pub timeline: Vec<TraceEvent>,
    /// While it waits in a queue: why nobody is offered it now.
    pub now: Option<Why>,
}

/// One recorded event.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TraceEvent {
    /// When, unix ms.
    pub at: i64,
    /// What happened: `created`, `message`, `buffered`, `released`, `workflow`, `waiting`,
    /// `offered`, `declined`, `alert_timeout`, `picked_up`, `held`, `resumed`,
    /// `transferred`, `rerouted`, `reprioritized`, `merged`, `stopped`,
    /// `workflow_fallback`, `disconnected`, `abandoned`, `wrapup`, ...
    pub kind: String,
    /// The interaction's state after it.
    pub state: String,
    /// The user it concerns (offered to, declined by, picked up by).
    pub user: Option<String>,
    /// The workflow's decision, a reason, a note (text).
    pub detail: Option<String>,
    /// For `waiting`: who was considered and why each was passed over.
    pub why: Option<Why>,
}

/// Who routing considered for an interaction, and why each was passed over.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Why {
    /// The queue.
    pub workgroup: String,
    /// The agent it waits for first, until when (unix ms; absent after).
    pub preferred_agent: Option<String>,
    /// Until when.
    pub preferred_until: Option<i64>,
    /// Agents considered.
    pub considered: usize,
    /// Who could be offered it then (an offer follows at once).
    pub eligible: Vec<String>,
    /// The others, by the first rule that passed them over.
    pub passed_over: Vec<PassedOver>,
}

/// One reason, how many agents it passed over, and up to three of them.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PassedOver {
    /// The rule.
    pub reason: PassReason,
    /// The rule in words.
    pub words: String,
    /// How many agents.
    pub count: usize,
    /// Up to three, by username.
    pub agents: Vec<String>,
}

fn words(reason: PassReason) -> &'static str {
    match reason {
        PassReason::NotAvailable => "not available (away, not responding or logged out)",
        PassReason::WrapupOwed => "owes a wrap-up",
        PassReason::NoRight => "lacks the access right (on the user or the station)",
        PassReason::WaitingForPreferred => "kept for the preferred agent",
        PassReason::Declined => "declined it",
        PassReason::Skills => "lacks the skills",
        PassReason::AtCapacity => "at capacity (utilization)",
    }
}

fn why(e: Explanation, names: &HashMap<i64, String>) -> Why {
    let name = |id: i64| {
        names
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("user {id}"))
    };
    Why {
        workgroup: e.workgroup,
        preferred_agent: e.preferred.map(|(agent, _)| name(agent)),
        preferred_until: e
            .preferred
            .map(|(_, until)| until)
            .filter(|u| *u < i64::MAX),
        considered: e.considered,
        eligible: e.eligible.into_iter().map(name).collect(),
        passed_over: e
            .passed_over
            .into_iter()
            .map(|p| PassedOver {
                reason: p.reason,
                words: words(p.reason).into(),
                count: p.count,
                agents: p.agents.into_iter().map(name).collect(),
            })
            .collect(),
    }
}

/// The decisions and timeline of one interaction (supervisors and administrators).
#[utoipa::path(get, path = "/api/v1/interactions/{id}/trace", params(("id" = i64, Path)),
    responses((status = 200, body = Trace), NeedsRight, BadRequest, NotFound), security(("bearer" = [])))]
pub async fn trace(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Trace>, ApiError> {
    supervisor(&caller)?;
    let (ix, events, names) = app
        .store
        .read(move |c| {
            Ok((
                queries::interaction(c, id)?,
                trace::events(c, id)?,
                trace::usernames(c)?,
            ))
        })
        .await?;
    let ix = ix.ok_or_else(|| ApiError::NotFound(format!("Conversation {id} was not found.")))?;
    let timeline = events
        .into_iter()
        .map(|e| {
            let why = (e.kind == "waiting")
                .then(|| {
                    e.detail
                        .as_deref()
                        .and_then(|d| serde_json::from_str(d).ok())
                })
                .flatten()
                .map(|x: Explanation| why(x, &names));
            TraceEvent {
                at: e.at,
                detail: if why.is_some() { None } else { e.detail },
                kind: e.kind,
                state: e.state,
                user: e.user,
                why,
            }
        })
        .collect();
    let now = app
        .interactions
        .explain(id)
        .filter(|e| e.phase == "waiting")
        .map(|e| why(e, &names));
    Ok(Json(Trace {
        interaction: id,
        script: app
            .core
            .channels
            .get(&ix.channel)
            .map(|c| c.config.workflow.clone()),
        workflow_version: ix.workflow_version,
        timeline,
        now,
    }))
}
