//! Supervisors moving a stuck interaction: to another workgroup, to another agent, or to
//! themselves (taking it over), with a reason kept in its history.

use std::sync::Arc;

use super::service::wait;
use super::{ActionError, Interactions};
use crate::clock::now_ms;
use crate::model::interaction::{Interaction, State};
use crate::routing::{AgentStatus, Target};
use crate::store::queries;

/// Where a supervisor moves an interaction.
#[derive(Clone, Debug)]
pub struct Reassign {
    /// The workgroup it waits in (for an agent: where it falls back to).
    pub workgroup: String,
    /// The agent it is offered to first (whatever skills it asked for); the supervisor
    /// themselves to take it over.
    pub agent: Option<i64>,
    /// Why, kept in its history and shown to whoever receives it.
    pub reason: String,
}

impl Interactions {
    /// Moves a live interaction (queued, offered, connected or held) as `to` says. Whoever
    /// held it is told and it leaves their desktop; the agent it goes to is offered it
    /// first for the workgroup's alert timeout (they must be available), then anyone in
    /// the workgroup. Checked in the step that moves it: an interaction ended meanwhile is
    /// a conflict, never moved.
    pub async fn reassign(
        self: &Arc<Self>,
        by: i64,
        id: i64,
        to: Reassign,
    ) -> Result<Interaction, ActionError> {
        if !self.rules.lock().unwrap().contains_key(&to.workgroup) {
            return Err(ActionError::Invalid(format!(
                "There is no workgroup named “{}”.",
                to.workgroup
            )));
        }
        let ix = self
            .store
            .read(move |c| queries::interaction(c, id))
            .await?
            .ok_or(ActionError::NotFound(id))?;
        super::actions::still_live(&ix, "move")?;
        let holder = self.router.holder(id).map(|(agent, _)| agent);
        if let Some(agent) = to.agent {
            if holder == Some(agent) {
                return Err(ActionError::Invalid(
                    "It is already with that agent; pick another agent or a workgroup.".into(),
                ));
            }
            if self.router.status(agent) != Some(AgentStatus::Available) {
                return Err(ActionError::Conflict(if agent == by {
                    "To take it over, set yourself Available on the agent page first.".into()
                } else {
                    "That agent is not available now; choose an available agent or a workgroup."
                        .into()
                }));
            }
        }
        let now = now_ms();
        let wait_ms = self.rules(&to.workgroup).alert_timeout.as_millis() as i64;
        let preferred = to.agent.map(|agent| (agent, now + wait_ms));
        let mut req = self.request_for(&ix);
        req.workgroup = to.workgroup.clone();
        if to.agent.is_none() {
            req.queued_at = now;
        }
        // A supervisor who names the agent overrides the skills it asked for.
        let skills = if to.agent.is_some() {
            None
        } else {
            ix.skills.clone()
        };
        if to.agent.is_some() {
            req.skills = None;
        }
        req.target = match preferred {
            Some((agent, until)) => Target::Preferred { agent, until },
            None => Target::Anyone,
        };
        let stored = queries::Requeue {
            workgroup: to.workgroup.clone(),
            priority: ix.priority,
            skills,
            preferred,
            queued_at: req.queued_at,
            by,
            from_workgroup: ix.workgroup.clone(),
            note: Some(to.reason.clone()),
            decided: Some("moved by a supervisor".into()),
        };
        let reason = to.reason.clone();
        let (offers, done, pending) = {
            let mut order = self.order.lock().unwrap();
            // Ended since it was read: routing no longer has it, and must not get it back.
            if !self.router.knows(id) {
                return Err(ActionError::Conflict(format!(
                    "Conversation {id} ended meanwhile."
                )));
            }
            order.changes += 1;
            let offers = self.router.requeue(req, now);
            let done = self.store_submit_with(move |c| {
                let live = queries::interaction(c, id)?.is_some_and(|ix| {
                    matches!(
                        ix.state,
                        State::Queued | State::Alerting | State::Connected | State::Held
                    )
                });
                if live {
                    queries::requeue(c, id, &stored, now)?;
                    queries::record_event(
                        c,
                        id,
                        now,
                        "reassigned_by_supervisor",
                        State::Queued,
                        Some(by),
                        Some(&reason),
                    )?;
                }
                Ok(live)
            });
            let pending = self.record_offers(&offers);
            (offers, done, pending)
        };
        let moved = wait(done).await?;
        if !moved {
            self.finish_offers(offers, pending).await;
            return Err(ActionError::Conflict(format!(
                "Conversation {id} ended meanwhile."
            )));
        }
        if let Some(agent) = holder {
            self.hub.send(
                agent,
                "revoked",
                serde_json::json!({ "id": id, "reason": "reassigned" }),
            );
        }
        if let Some((_, until)) = preferred {
            self.arm_reconsider_timer(id, until);
        }
        self.finish_offers(offers, pending).await;
        self.changed(id).await
    }
}
