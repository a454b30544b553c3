//! What agents do with interactions, and what a customer's removal does.

use std::sync::Arc;

use super::service::{ActionError, Interactions, wait};
use crate::clock::now_ms;
use crate::model::interaction::{Interaction, MediaType, State};
use crate::routing::{AgentStatus, Request, SkillExpr, Target};
use crate::store::jobs::{self, JobKind};
use crate::store::{directory, queries};

/// Where a transfer goes, after the workflow had its say.
#[derive(Clone, Debug)]
pub struct TransferTarget {
    /// The workgroup it will be queued in (for an agent: the one it is in now).
    pub workgroup: String,
    /// The agent it goes to personally, if any.
    pub agent: Option<i64>,
    /// Queue priority.
    pub priority: i64,
    /// Skills agents must have.
    pub skills: Option<String>,
    /// The sender's note to whoever receives it.
    pub note: Option<String>,
    /// What the workflow's transfer initiator decided, for the trace.
    pub decided: Option<String>,
}

/// What became of a transfer, told to the agent who made it.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Transferred {
    /// The interaction, now waiting for its new agent or workgroup.
    #[serde(flatten)]
    pub interaction: Interaction,
    /// For a transfer to an agent: whether they were available to be offered it. When
    /// not, it went straight back to `workgroup`'s queue.
    pub agent_available: Option<bool>,
    /// The workgroup it waits in, and falls back to when the agent does not pick it up.
    pub workgroup: String,
    /// How long the agent has to pick it up before it falls back, ms.
    pub wait_ms: Option<i64>,
}

/// The longest transfer note kept.
const NOTE_MAX_CHARS: usize = 1000;

impl Interactions {
    /// Sets an agent's status; becoming available brings offers.
    pub async fn set_status(
        self: &Arc<Self>,
        user: i64,
        status: AgentStatus,
    ) -> Result<(), ActionError> {
        if status == AgentStatus::NotResponding {
            return Err(ActionError::Invalid(
                "Not responding is set by the system when an offer is not answered in time; \
                 choose Available or Away."
                    .into(),
            ));
        }
        let now = now_ms();
        let (offers, status_write, pending) = {
            let _order = self.order.lock().unwrap();
            let offers = self.router.set_status(user, status, now);
            let name = status.as_str();
            let status_write =
                self.store_submit(move |c| directory::set_status(c, user, name, now));
            let pending = self.record_offers(&offers);
            (offers, status_write, pending)
        };
        wait(status_write).await?;
        self.hub
            .send(user, "status", serde_json::json!({ "status": status }));
        self.finish_offers(offers, pending).await;
        Ok(())
    }

    /// Logs an agent in at a station (its rights then count for them), or out of any.
    pub async fn set_station(
        self: &Arc<Self>,
        user: i64,
        station: Option<String>,
    ) -> Result<(), ActionError> {
        let rights = match &station {
            Some(name) => self
                .stations
                .lock()
                .unwrap()
                .get(name)
                .map(|s| s.rights.iter().cloned().collect())
                .ok_or_else(|| {
                    ActionError::Invalid(format!("There is no station named “{name}”."))
                })?,
            None => Default::default(),
        };
        self.store
            .write(move |c| directory::set_station(c, user, station.as_deref()))
            .await?;
        self.apply(|r| r.set_station_rights(user, rights, now_ms()))
            .await;
        Ok(())
    }

    /// Refuses an action on an interaction `user` no longer holds (call under `order`).
    /// The one rule every action on an interaction starts with: only the agent it is
    /// connected to (picked up; on hold counts) may act on it. An agent it is only
    /// offered to is told to pick it up first; anyone else is told it does not exist,
    /// as reading it would.
    pub fn require_connected(&self, user: i64, id: i64) -> Result<(), ActionError> {
        match self.router.holder(id) {
            Some((agent, true)) if agent == user => Ok(()),
            Some((agent, false)) if agent == user => Err(ActionError::Conflict(
                "This conversation is only offered to you: pick it up first.".into(),
            )),
            _ => Err(ActionError::NotFound(id)),
        }
    }

    fn still_assigned(&self, user: i64, id: i64) -> Result<(), ActionError> {
        if self.router.assigned(user, id) {
            Ok(())
        } else {
            Err(ActionError::Conflict(
                "This conversation is no longer yours: it was transferred or ended meanwhile."
                    .into(),
            ))
        }
    }

    /// The agent accepts an offer: alerting becomes connected.
    pub async fn pickup(self: &Arc<Self>, user: i64, id: i64) -> Result<Interaction, ActionError> {
        let now = now_ms();
        let pending = {
            let _order = self.order.lock().unwrap();
            self.router
                .pickup(user, id)
                .map_err(|e| ActionError::Conflict(e.to_string()))?;
            self.store_submit(move |c| {
                queries::mark_answered(c, id, now)?;
                queries::set_state(c, id, State::Connected, Some(user), "picked_up", now)
            })
        };
        if let Err(e) = wait(pending).await {
            // Not recorded: it is still an offer in the store, so in the router too.
            let _order = self.order.lock().unwrap();
            self.router.undo(user, id, true);
            return Err(e.into());
        }
        let ix = self.changed(id).await?;
        // The first answer only (a transferred interaction is answered once).
        if ix.answered_at == Some(now) {
            let target = self.rules(&ix.workgroup).sl_target_ms;
            crate::metrics::workgroup_answered(&ix.workgroup, now - ix.queued_at <= target);
        }
        Ok(ix)
    }

    /// Puts a connected interaction on hold (it still counts against utilization).
    pub async fn hold(self: &Arc<Self>, user: i64, id: i64) -> Result<Interaction, ActionError> {
        self.switch_hold(user, id, State::Connected, State::Held, "held")
            .await
    }

    /// Takes an interaction off hold.
    pub async fn resume(self: &Arc<Self>, user: i64, id: i64) -> Result<Interaction, ActionError> {
        self.switch_hold(user, id, State::Held, State::Connected, "resumed")
            .await
    }

    async fn switch_hold(
        self: &Arc<Self>,
        user: i64,
        id: i64,
        from: State,
        to: State,
        kind: &'static str,
    ) -> Result<Interaction, ActionError> {
        self.require_connected(user, id)?;
        let done = self
            .store
            .write(move |c| {
                let ix = queries::interaction(c, id)?
                    .ok_or_else(|| anyhow::anyhow!("interaction {id} vanished"))?;
                if ix.assigned_user_id != Some(user) {
                    return Ok(Err("This conversation is no longer yours: it was \
                                   transferred or ended meanwhile."
                        .to_owned()));
                }
                if ix.state != from {
                    return Ok(Err(format!(
                        "This conversation is {}, not {}.",
                        ix.state.in_words(),
                        from.in_words()
                    )));
                }
                queries::set_state(c, id, to, Some(user), kind, now_ms())?;
                Ok(Ok(()))
            })
            .await?;
        done.map_err(ActionError::Conflict)?;
        self.changed(id).await
    }

    /// The agent ends an interaction. If the workgroup requires a wrap-up code, the agent
    /// takes no new work until they set one or the wrap-up times out.
    pub async fn disconnect(
        self: &Arc<Self>,
        user: i64,
        id: i64,
    ) -> Result<Interaction, ActionError> {
        self.require_connected(user, id)?;
        let workgroup = self
            .store
            .read(move |c| queries::interaction(c, id))
            .await?
            .ok_or(ActionError::NotFound(id))?
            .workgroup;
        let rules = self.rules(&workgroup);
        let required = rules.wrapup_required && !rules.wrapup_codes.is_empty();
        let (offers, done, pending) = {
            let mut order = self.order.lock().unwrap();
            // Checked again in the step that changes it: a transfer or another disconnect
            // may have won the race since the check above.
            self.still_assigned(user, id)?;
            let now = now_ms();
            order.changes += 1;
            let offers = self.router.finish(id, required, now);
            // The workflow's `on_disconnect` is a durable job recorded with the end: it
            // runs even if this request is cancelled or the host stops right after.
            let done = self.store_submit(move |c| {
                queries::finish(c, id, Some(user), required, false, now)?;
                jobs::enqueue(c, JobKind::OnDisconnect, id, now)?;
                Ok(())
            });
            let pending = self.record_offers(&offers);
            (offers, done, pending)
        };
        wait(done).await?;
        self.kick_jobs();
        if required {
            self.arm_wrapup_timer(&workgroup, id, user);
        }
        self.finish_offers(offers, pending).await;
        self.changed(id).await
    }

    /// Sets the wrap-up code of an interaction the agent finished. Checked and recorded
    /// in one step: the store's transaction checks that it is ended and was theirs, and
    /// an owed wrap-up is settled in the router in the step that submits it.
    pub async fn wrapup(
        self: &Arc<Self>,
        user: i64,
        id: i64,
        code: String,
    ) -> Result<Interaction, ActionError> {
        let ix = self
            .store
            .read(move |c| queries::interaction(c, id))
            .await?
            .ok_or(ActionError::NotFound(id))?;
        if ix.assigned_user_id != Some(user) {
            return Err(ActionError::NotFound(id));
        }
        if ix.state == State::Alerting {
            // Offered, not taken: the same answer every other action gives.
            self.require_connected(user, id)?;
        }
        let rules = self.rules(&ix.workgroup);
        if !rules.wrapup_codes.contains(&code) {
            return Err(ActionError::Invalid(format!(
                "“{code}” is not a wrap-up code of {}; choose one of: {}.",
                ix.workgroup,
                rules.wrapup_codes.join(", ")
            )));
        }
        let (offers, done, pending, owed) = {
            let _order = self.order.lock().unwrap();
            let now = now_ms();
            // Owed in the router only once the disconnect that owes it was submitted, so
            // the store's check below passes exactly when this settles something.
            let owed = self.router.wrapup_owed(user, id);
            let offers = if owed {
                self.router.wrapup_done(user, id, now)
            } else {
                Vec::new()
            };
            let done = self.store_submit_with(move |c| {
                let ix = queries::interaction(c, id)?
                    .ok_or_else(|| anyhow::anyhow!("interaction {id} vanished"))?;
                if ix.assigned_user_id != Some(user) {
                    return Ok(Err(ActionError::NotFound(id)));
                }
                if ix.state != State::Disconnected {
                    return Ok(Err(ActionError::Conflict(format!(
                        "This conversation is {}; disconnect it before choosing a wrap-up code.",
                        ix.state.in_words()
                    ))));
                }
                queries::set_wrapup(c, id, Some(&code), Some(user), now)?;
                Ok(Ok(()))
            });
            let pending = self.record_offers(&offers);
            (offers, done, pending, owed)
        };
        let done = wait(done).await;
        if done.is_err() && owed {
            // Not recorded: the store still owes it, so the router does again.
            let _order = self.order.lock().unwrap();
            self.router.restore_wrapup(user, id);
        }
        self.finish_offers(offers, pending).await;
        done??;
        self.changed(id).await
    }

    /// Moves an interaction the agent holds to another agent or workgroup.
    ///
    /// A transfer to an agent waits for them in the queue of the workgroup it came from,
    /// keeping its time in queue (the router's preferred-agent wait, as a workflow's
    /// stickiness uses): offered to them alone for the workgroup's alert timeout, then to
    /// anyone in that workgroup. An agent who is not available now is not waited for.
    pub async fn transfer(
        self: &Arc<Self>,
        user: i64,
        id: i64,
        to: TransferTarget,
    ) -> Result<Transferred, ActionError> {
        self.require_connected(user, id)?;
        if let Some(expr) = &to.skills {
            SkillExpr::parse(expr).map_err(ActionError::Invalid)?;
        }
        if !self.rules.lock().unwrap().contains_key(&to.workgroup) {
            return Err(ActionError::Invalid(format!(
                "There is no workgroup named “{}”.",
                to.workgroup
            )));
        }
        if to.agent == Some(user) {
            return Err(ActionError::Invalid(
                "This conversation is already yours; pick another agent or a workgroup.".into(),
            ));
        }
        let note = to
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(|n| n.chars().take(NOTE_MAX_CHARS).collect::<String>());
        let ix = self
            .store
            .read(move |c| queries::interaction(c, id))
            .await?
            .ok_or(ActionError::NotFound(id))?;
        let now = now_ms();
        let available = to
            .agent
            .map(|agent| self.router.status(agent) == Some(AgentStatus::Available));
        let wait_ms = self.rules(&to.workgroup).alert_timeout.as_millis() as i64;
        let preferred = match (to.agent, available) {
            (Some(agent), Some(true)) => Some((agent, now + wait_ms)),
            _ => None,
        };
        let mut req: Request = self.request_for(&ix);
        req.workgroup = to.workgroup.clone();
        req.priority = to.priority;
        // To an agent: it keeps its place in the queue it falls back to. To another
        // workgroup: it joins that queue now.
        if to.agent.is_none() {
            req.queued_at = now;
        }
        req.skills = to.skills.as_deref().and_then(|s| SkillExpr::parse(s).ok());
        req.target = match preferred {
            Some((agent, until)) => Target::Preferred { agent, until },
            None => Target::Anyone,
        };
        let stored = queries::Requeue {
            workgroup: to.workgroup.clone(),
            priority: to.priority,
            skills: to.skills.clone(),
            preferred,
            queued_at: req.queued_at,
            by: user,
            from_workgroup: ix.workgroup.clone(),
            note,
            decided: to.decided.clone(),
        };
        let (offers, done, pending) = {
            let _order = self.order.lock().unwrap();
            // Checked again in the step that changes it: a disconnect or another transfer
            // may have won the race since the check above.
            self.still_assigned(user, id)?;
            let offers = self.router.requeue(req, now);
            let done = self.store_submit(move |c| queries::requeue(c, id, &stored, now));
            let pending = self.record_offers(&offers);
            (offers, done, pending)
        };
        wait(done).await?;
        self.hub.send(
            user,
            "revoked",
            serde_json::json!({ "id": id, "reason": "transferred" }),
        );
        if let Some((_, until)) = preferred {
            self.arm_reconsider_timer(id, until);
        }
        self.finish_offers(offers, pending).await;
        Ok(Transferred {
            interaction: self.changed(id).await?,
            agent_available: available,
            workgroup: to.workgroup,
            wait_ms: preferred.map(|_| wait_ms),
        })
    }

    /// The agent declines an offer: it goes to the next agent and they stay available.
    /// They are not offered it again before the workgroup's alert timeout has passed,
    /// unless every other agent who could take it declined it too. Recorded for reports.
    pub async fn decline(self: &Arc<Self>, user: i64, id: i64) -> Result<(), ActionError> {
        let ix = self
            .store
            .read(move |c| queries::interaction(c, id))
            .await?
            .ok_or(ActionError::NotFound(id))?;
        let again_in = self.rules(&ix.workgroup).alert_timeout.as_millis() as i64;
        let (offers, done, pending) = {
            let _order = self.order.lock().unwrap();
            let now = now_ms();
            let Some(offers) = self.router.decline(user, id, now + again_in, now) else {
                return Err(ActionError::Conflict(
                    "This conversation is no longer offered to you.".into(),
                ));
            };
            let done = self.store_submit(move |c| queries::decline(c, id, user, now));
            let pending = self.record_offers(&offers);
            (offers, done, pending)
        };
        wait(done).await?;
        self.hub.send(
            user,
            "revoked",
            serde_json::json!({ "id": id, "reason": "declined" }),
        );
        // When the decline ends, the decliner may be offered it again.
        self.arm_reconsider_timer(id, now_ms() + again_in);
        self.finish_offers(offers, pending).await;
        Ok(())
    }

    /// The customer removed everything they wrote before anyone answered: the
    /// interaction ends as abandoned (counted apart in the service level). One an agent
    /// picked up meanwhile is theirs and stays.
    pub async fn abandon(self: &Arc<Self>, id: i64) -> Result<(), ActionError> {
        let ix = self
            .store
            .read(move |c| queries::interaction(c, id))
            .await?
            .ok_or(ActionError::NotFound(id))?;
        if !matches!(ix.state, State::Queued | State::Alerting) {
            return Ok(());
        }
        let (offers, done, pending, offered_to) = {
            let mut order = self.order.lock().unwrap();
            // Checked again in the step that ends it: a pickup may have won the race.
            let offered_to = match self.router.holder(id) {
                Some((_, true)) => return Ok(()),
                Some((agent, false)) => Some(agent),
                None => None,
            };
            let now = now_ms();
            order.changes += 1;
            let offers = self.router.finish(id, false, now);
            let done = self.store_submit_with(move |c| {
                // The store's turn: only a row still waiting or offered ends (routing may
                // not know it yet; a pickup recorded first keeps it).
                let waiting = queries::interaction(c, id)?
                    .is_some_and(|ix| matches!(ix.state, State::Queued | State::Alerting));
                if waiting {
                    queries::finish(c, id, None, false, true, now)?;
                }
                Ok(waiting)
            });
            let pending = self.record_offers(&offers);
            (offers, done, pending, offered_to)
        };
        let ended = wait(done).await?;
        if let (true, Some(agent)) = (ended, offered_to) {
            self.hub.send(
                agent,
                "revoked",
                serde_json::json!({ "id": id, "reason": "abandoned" }),
            );
        }
        self.finish_offers(offers, pending).await;
        Ok(())
    }

    /// A supervisor ends a live interaction that is stuck (queued, offered, connected or
    /// held), with a reason recorded in its history. Whoever held it is told and owes no
    /// wrap-up; the workflow's `on_disconnect` runs as after any end. Checked in the step
    /// that ends it, so an interaction ended meanwhile is a conflict, never ended twice.
    pub async fn close(
        self: &Arc<Self>,
        by: i64,
        id: i64,
        reason: String,
    ) -> Result<Interaction, ActionError> {
        let ix = self
            .store
            .read(move |c| queries::interaction(c, id))
            .await?
            .ok_or(ActionError::NotFound(id))?;
        still_live(&ix, "close")?;
        let (offers, done, pending, holder) = {
            let mut order = self.order.lock().unwrap();
            let holder = self.router.holder(id).map(|(agent, _)| agent);
            let now = now_ms();
            order.changes += 1;
            let offers = self.router.finish(id, false, now);
            let done = self.store_submit_with(move |c| {
                let live = queries::interaction(c, id)?.is_some_and(|ix| {
                    matches!(
                        ix.state,
                        State::Queued | State::Alerting | State::Connected | State::Held
                    )
                });
                if live {
                    queries::finish(c, id, Some(by), false, false, now)?;
                    queries::record_event(
                        c,
                        id,
                        now,
                        "closed_by_supervisor",
                        State::Disconnected,
                        Some(by),
                        Some(&reason),
                    )?;
                    jobs::enqueue(c, JobKind::OnDisconnect, id, now)?;
                }
                Ok(live)
            });
            let pending = self.record_offers(&offers);
            (offers, done, pending, holder)
        };
        let ended = wait(done).await?;
        if !ended {
            self.finish_offers(offers, pending).await;
            return Err(ActionError::Conflict(format!(
                "Conversation {id} ended meanwhile."
            )));
        }
        self.kick_jobs();
        if let Some(agent) = holder {
            self.hub.send(
                agent,
                "revoked",
                serde_json::json!({ "id": id, "reason": "closed" }),
            );
        }
        self.finish_offers(offers, pending).await;
        self.changed(id).await
    }

    /// The media type of an interaction, for choosing the transfer initiator.
    pub async fn media_of(&self, id: i64) -> Result<MediaType, ActionError> {
        Ok(self
            .store
            .read(move |c| queries::interaction(c, id))
            .await?
            .ok_or(ActionError::NotFound(id))?
            .media_type)
    }
}

/// That a supervisor may still act on `ix` (to `verb` it): queued, offered, connected or
/// held; an ended one, or one the workflow holds, is a conflict in plain words.
pub(super) fn still_live(ix: &Interaction, verb: &str) -> Result<(), ActionError> {
    let id = ix.id;
    match ix.state {
        State::Queued | State::Alerting | State::Connected | State::Held => Ok(()),
        State::Disconnected => Err(ActionError::Conflict(format!(
            "Conversation {id} has already ended."
        ))),
        State::Buffered => Err(ActionError::Conflict(format!(
            "Conversation {id} is held by the workflow until its deadline; {verb} it once it is queued."
        ))),
    }
}
