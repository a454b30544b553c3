//! The interaction service: routing, agent actions, restore after restart.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;

use super::model::{Interaction, State};
use super::notify::Hub;
use crate::routing::{AgentStatus, Offer, Router, UtilizationTable};
use crate::store::{Store, directory, now_ms, queries};

/// Why an agent action was refused.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// No such interaction, or not this agent's to see.
    #[error("interaction {0} not found")]
    NotFound(i64),
    /// The action does not fit the interaction's state.
    #[error("{0}")]
    Conflict(String),
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

/// Interactions in flight.
pub struct Interactions {
    store: Store,
    router: Router,
    /// Live notifications to agents.
    pub hub: Hub,
    /// Serializes "router decides, store records" so records keep the router's order.
    order: Mutex<()>,
    alert_timeouts: Mutex<HashMap<String, Duration>>,
}

type Pending = tokio::sync::oneshot::Receiver<Result<()>>;

impl Interactions {
    /// Loads workgroups, agents and every live interaction from the store.
    pub async fn restore(store: Store) -> Result<Arc<Interactions>> {
        let (groups, users, live) = store
            .read(|c| {
                Ok((
                    directory::workgroups(c)?,
                    directory::users(c)?,
                    queries::live_interactions(c)?,
                ))
            })
            .await?;
        let router = Router::new();
        let mut alert_timeouts = HashMap::new();
        for g in &groups {
            router.set_workgroup(
                &g.name,
                &g.members,
                UtilizationTable::from_json(&g.utilization),
            );
            alert_timeouts.insert(
                g.name.clone(),
                Duration::from_millis(g.alert_timeout_ms.max(1) as u64),
            );
        }
        let now = now_ms();
        for u in &users {
            let status = AgentStatus::parse(&u.status).unwrap_or(AgentStatus::Away);
            router.add_agent(u.id, status, now);
        }
        let this = Arc::new(Interactions {
            store,
            router,
            hub: Hub::default(),
            order: Mutex::new(()),
            alert_timeouts: Mutex::new(alert_timeouts),
        });
        let mut waiting = Vec::new();
        for ix in live {
            match (ix.state, ix.assigned_user_id) {
                (State::Alerting, Some(agent)) => {
                    this.router.restore_assigned(
                        ix.id,
                        &ix.workgroup,
                        ix.media_type,
                        ix.priority,
                        ix.queued_at,
                        agent,
                        true,
                    );
                    this.arm_alert_timer(&ix.workgroup, ix.id, agent);
                }
                (State::Connected | State::Held, Some(agent)) => {
                    this.router.restore_assigned(
                        ix.id,
                        &ix.workgroup,
                        ix.media_type,
                        ix.priority,
                        ix.queued_at,
                        agent,
                        false,
                    );
                }
                _ => waiting.push(ix),
            }
        }
        for ix in waiting {
            this.route_new(ix).await;
        }
        // Agents who were available get whatever is waiting.
        for u in users.iter().filter(|u| u.status == "available") {
            let offers = {
                let _order = this.order.lock().unwrap();
                let offers = this.router.set_status(u.id, AgentStatus::Available, now);
                let pending = this.record_offers(&offers);
                (offers, pending)
            };
            this.finish_offers(offers.0, offers.1).await;
        }
        Ok(this)
    }

    /// Queues a newly created (or restored) interaction and offers it if someone fits.
    pub async fn route_new(self: &Arc<Self>, ix: Interaction) {
        let (offers, pending) = {
            let _order = self.order.lock().unwrap();
            let offers = self.router.enqueue(
                ix.id,
                &ix.workgroup,
                ix.media_type,
                ix.priority,
                ix.queued_at,
            );
            let pending = self.record_offers(&offers);
            (offers, pending)
        };
        self.finish_offers(offers, pending).await;
    }

    /// Tells the assigned agent that an interaction changed (a new message, an edit).
    pub async fn notify_changed(&self, id: i64) {
        if let Ok(Some(ix)) = self.store.read(move |c| queries::interaction(c, id)).await
            && let Some(agent) = ix.assigned_user_id
        {
            self.hub.send(agent, "interaction", &ix);
        }
    }

    /// Sets an agent's status; becoming available brings offers.
    pub async fn set_status(
        self: &Arc<Self>,
        user: i64,
        status: AgentStatus,
    ) -> Result<(), ActionError> {
        if status == AgentStatus::NotResponding {
            return Err(ActionError::Invalid(
                "not_responding is set by the router, not by agents".into(),
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

    /// The agent accepts an offer: alerting becomes connected.
    pub async fn pickup(self: &Arc<Self>, user: i64, id: i64) -> Result<Interaction, ActionError> {
        let pending = {
            let _order = self.order.lock().unwrap();
            self.router
                .pickup(user, id)
                .map_err(|e| ActionError::Conflict(e.to_string()))?;
            let now = now_ms();
            self.store_submit(move |c| {
                queries::set_state(c, id, State::Connected, Some(user), "picked_up", now)
            })
        };
        wait(pending).await?;
        self.changed(id).await
    }

    /// The agent ends an interaction; capacity it frees goes to the queue.
    pub async fn disconnect(
        self: &Arc<Self>,
        user: i64,
        id: i64,
    ) -> Result<Interaction, ActionError> {
        if !self.router.holds(user, id) {
            return Err(ActionError::NotFound(id));
        }
        let (offers, done, pending) = {
            let _order = self.order.lock().unwrap();
            let now = now_ms();
            let offers = self.router.finish(id, now);
            let done = self.store_submit(move |c| {
                queries::set_state(c, id, State::Disconnected, Some(user), "disconnected", now)
            });
            let pending = self.record_offers(&offers);
            (offers, done, pending)
        };
        wait(done).await?;
        self.finish_offers(offers, pending).await;
        self.changed(id).await
    }

    /// Whether `user` holds interaction `id` (offered or assigned).
    pub fn holds(&self, user: i64, id: i64) -> bool {
        self.router.holds(user, id)
    }

    /// Current router status of an agent.
    pub fn status(&self, user: i64) -> Option<AgentStatus> {
        self.router.status(user)
    }

    /// Waiting interactions per workgroup.
    pub fn queue_depths(&self) -> HashMap<String, usize> {
        self.router.queue_depths()
    }

    async fn changed(&self, id: i64) -> Result<Interaction, ActionError> {
        let ix = self
            .store
            .read(move |c| queries::interaction(c, id))
            .await?
            .ok_or(ActionError::NotFound(id))?;
        if let Some(agent) = ix.assigned_user_id {
            self.hub.send(agent, "interaction", &ix);
        }
        Ok(ix)
    }

    /// Queues a write in router order (call under `order`); await it after unlocking.
    fn store_submit<F>(&self, f: F) -> Pending
    where
        F: FnOnce(&rusqlite::Connection) -> Result<()> + Send + 'static,
    {
        self.store.submit_now(f).unwrap_or_else(|e| {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let _ = tx.send(Err(e));
            rx
        })
    }

    fn record_offers(&self, offers: &[Offer]) -> Vec<Pending> {
        let now = now_ms();
        offers
            .iter()
            .map(|o| {
                let (id, agent) = (o.interaction, o.agent);
                self.store_submit(move |c| {
                    queries::set_state(c, id, State::Alerting, Some(agent), "offered", now)
                })
            })
            .collect()
    }

    async fn finish_offers(self: &Arc<Self>, offers: Vec<Offer>, pending: Vec<Pending>) {
        for (offer, write) in offers.into_iter().zip(pending) {
            if let Err(e) = wait(write).await {
                tracing::error!(interaction = offer.interaction, error = %e, "offer not recorded");
                continue;
            }
            if let Ok(ix) = self.changed(offer.interaction).await {
                self.hub.send(offer.agent, "offer", &ix);
                self.arm_alert_timer(&ix.workgroup, ix.id, offer.agent);
            }
        }
    }

    fn arm_alert_timer(self: &Arc<Self>, workgroup: &str, id: i64, agent: i64) {
        let timeout = self
            .alert_timeouts
            .lock()
            .unwrap()
            .get(workgroup)
            .copied()
            .unwrap_or(Duration::from_secs(30));
        let this = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            this.alert_timed_out(agent, id).await;
        });
    }

    async fn alert_timed_out(self: &Arc<Self>, agent: i64, id: i64) {
        let (offers, writes, pending) = {
            let _order = self.order.lock().unwrap();
            let Some(offers) = self.router.alert_timeout(agent, id) else {
                return; // answered in time
            };
            let now = now_ms();
            let requeue = self.store_submit(move |c| {
                queries::set_state(c, id, State::Queued, None, "alert_timeout", now)
            });
            let status =
                self.store_submit(move |c| directory::set_status(c, agent, "not_responding", now));
            let pending = self.record_offers(&offers);
            (offers, [requeue, status], pending)
        };
        for w in writes {
            if let Err(e) = wait(w).await {
                tracing::error!(interaction = id, error = %e, "alert timeout not recorded");
            }
        }
        tracing::info!(
            interaction = id,
            agent,
            "offer timed out; agent set to not_responding"
        );
        self.hub.send(
            agent,
            "status",
            serde_json::json!({ "status": AgentStatus::NotResponding }),
        );
        self.hub
            .send(agent, "revoked", serde_json::json!({ "id": id }));
        self.finish_offers(offers, pending).await;
    }
}

async fn wait(rx: Pending) -> Result<()> {
    rx.await
        .unwrap_or_else(|_| Err(anyhow::anyhow!("store writer stopped")))
}
