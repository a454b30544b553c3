//! The interaction service: routing lifecycle, timers, restore after restart.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use anyhow::Result;

use super::notify::Hub;
use crate::clock::now_ms;
use crate::model::interaction::{Interaction, State};
use crate::routing::{
    AgentProfile, AgentStatus, Features, Offer, Request, Right, Router, SkillExpr, Target,
};
use crate::store::cluster::{Fence, check_fence};
use crate::store::directory::{self, Station, User, Workgroup};
use crate::store::{Store, queries};

/// Why an agent action was refused.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// No such interaction, or not this agent's to see.
    #[error("Conversation {0} was not found, or it is no longer yours.")]
    NotFound(i64),
    /// The action does not fit the interaction's state.
    #[error("{0}")]
    Conflict(String),
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// The reply is longer than the platform takes for its kind (counted the platform's way).
    #[error(
        "This reply is {length} characters long; the platform takes at most {limit}. Shorten it by {} and send again.",
        length.saturating_sub(*limit)
    )]
    TooLong { limit: u32, length: u32 },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

/// The per-workgroup rules the service applies around the router.
#[derive(Clone, Debug)]
pub(super) struct Rules {
    pub alert_timeout: Duration,
    /// The service-level target: answered within this of being queued.
    pub sl_target_ms: i64,
    pub wrapup_codes: Vec<String>,
    pub wrapup_required: bool,
    pub wrapup_timeout: Duration,
}

impl Rules {
    pub(super) fn of(g: &Workgroup) -> Rules {
        Rules {
            alert_timeout: Duration::from_millis(g.alert_timeout_ms.max(1) as u64),
            sl_target_ms: g.sl_target_s * 1000,
            wrapup_codes: g.wrapup_codes.clone(),
            wrapup_required: g.wrapup_required,
            wrapup_timeout: Duration::from_millis(g.wrapup_timeout_ms.max(1) as u64),
        }
    }
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            alert_timeout: Duration::from_secs(30),
            sl_target_ms: 60_000,
            wrapup_codes: Vec::new(),
            wrapup_required: false,
            wrapup_timeout: Duration::from_secs(120),
        }
    }
}

/// Interactions in flight.
pub struct Interactions {
    pub(super) store: Store,
    pub(super) router: Router,
    /// Live notifications to agents.
    pub hub: Hub,
    /// Serializes "router decides, store records" so records keep the router's order.
    pub(super) order: Mutex<Order>,
    pub(super) rules: Mutex<HashMap<String, Rules>>,
    pub(super) stations: Mutex<HashMap<String, Station>>,
    /// The access right each channel's interactions need; channels added at runtime
    /// are added here too.
    channel_rights: RwLock<HashMap<String, Right>>,
    /// Wakes the follow-up job worker (`interactions::jobs`) after a job was recorded.
    jobs_wake: tokio::sync::Notify,
    /// Held from an administrator's change to users, stations or workgroups until
    /// routing has been told, so changes reach routing in the order they were committed.
    pub(super) directory_order: tokio::sync::Mutex<()>,
    /// Platform families routing takes.
    features: Features,
    /// Whether this host may route: it leads (on SQLite, always once loaded).
    term: RwLock<Term>,
}

/// The stretch of time this host routes: from loading the router as the leader to
/// stepping down. Timers armed in one term do nothing in a later one.
#[derive(Clone, Debug, Default)]
pub(super) struct Term {
    /// Counts the terms; 0 before the first.
    pub number: u64,
    /// Whether the router holds the store's live interactions (this host leads).
    pub leading: bool,
    /// What every routing write carries and the store checks (`None` on SQLite: no
    /// other host can write).
    pub fence: Option<Fence>,
    /// Whether a write needs the fence (the store is shared).
    pub shared: bool,
}

pub(super) type Pending<R = ()> = tokio::sync::oneshot::Receiver<Result<R>>;

/// What the ordering lock guards besides the order itself.
#[derive(Default)]
pub(super) struct Order {
    /// Counts the changes a queued interaction's stored row can undergo without the
    /// router holding it: it ended (left routing for good) or the workflow re-routed it.
    /// Whoever routes from a stored row reads it, then checks under the lock that this
    /// did not move meanwhile (`from_store`, `route_claimed`), so a row read before such a change never
    /// brings the interaction back to a queue.
    pub changes: u64,
}

/// The router's view of a user.
pub(super) fn profile(user: &User) -> AgentProfile {
    AgentProfile {
        rights: user.rights.iter().cloned().collect(),
        skills: user
            .skills
            .iter()
            .map(|(k, v)| (k.to_lowercase(), *v))
            .collect(),
        utilization: user.utilization.clone(),
    }
}

impl Interactions {
    /// Interactions with nothing routed yet: [`Interactions::take_lead`] loads the
    /// router. `channel_rights` maps each channel to the access right its platform needs;
    /// `shared`: the store is PostgreSQL, so routing writes carry the leader's fence.
    pub fn new(
        store: Store,
        channel_rights: HashMap<String, Right>,
        features: Features,
        shared: bool,
    ) -> Arc<Interactions> {
        Arc::new(Interactions {
            store,
            router: Router::new(),
            hub: Hub::default(),
            order: Mutex::new(Order::default()),
            rules: Mutex::new(HashMap::new()),
            stations: Mutex::new(HashMap::new()),
            channel_rights: RwLock::new(channel_rights),
            jobs_wake: tokio::sync::Notify::new(),
            directory_order: tokio::sync::Mutex::new(()),
            features,
            term: RwLock::new(Term {
                shared,
                ..Term::default()
            }),
        })
    }

    /// Sends notices for users connected to other hosts, and job wake-ups to the leader,
    /// over `bus` too.
    pub fn join_bus(&self, bus: Arc<crate::cluster::bus::Bus>) {
        self.hub.join_bus(bus);
    }

    /// This host leads (under `fence`, on a shared store): loads stations, workgroups,
    /// agents and every live interaction from the store into a fresh router and routes
    /// what waits. Timers of an earlier term lapse.
    pub async fn take_lead(self: &Arc<Self>, fence: Option<Fence>) -> Result<()> {
        {
            let mut term = self.term.write().unwrap();
            term.number += 1;
            term.leading = true;
            term.fence = fence;
        }
        let loaded = self.load().await;
        if loaded.is_err() {
            self.step_down();
        }
        loaded
    }

    /// This host no longer leads: routing forgets everything and refuses to write, and
    /// the term's timers lapse. Another host routes from the store now.
    pub fn step_down(&self) {
        {
            let mut term = self.term.write().unwrap();
            term.number += 1;
            term.leading = false;
            term.fence = None;
        }
        let _order = self.order.lock().unwrap();
        self.router.clear();
    }

    /// Whether this host routes now.
    pub fn leads(&self) -> bool {
        self.term.read().unwrap().leading
    }

    /// The current term's number (timers compare it when they fire).
    pub(super) fn term_number(&self) -> u64 {
        self.term.read().unwrap().number
    }

    async fn load(self: &Arc<Self>) -> Result<()> {
        let (groups, users, stations, live, wrapups) = self
            .store
            .read(|c| {
                Ok((
                    directory::workgroups(c)?,
                    directory::users(c)?,
                    directory::stations(c)?,
                    queries::live_interactions(c)?,
                    queries::pending_wrapups(c)?,
                ))
            })
            .await?;
        let now = now_ms();
        {
            let _order = self.order.lock().unwrap();
            let router = &self.router;
            router.clear();
            router.set_features(self.features, now);
            for g in &groups {
                router.set_workgroup(&g.name, &g.members, g.utilization.clone(), now);
            }
            let stations: HashMap<String, Station> =
                stations.into_iter().map(|s| (s.name.clone(), s)).collect();
            for u in &users {
                // Everyone starts away in the router; statuses come back below, once
                // every interaction is in place, so nothing is offered twice.
                router.upsert_agent(u.id, profile(u), AgentStatus::Away, now);
                if let Some(station) = u.station.as_ref().and_then(|s| stations.get(s)) {
                    router.set_station_rights(u.id, station.rights.iter().cloned().collect(), now);
                }
            }
            *self.rules.lock().unwrap() = groups
                .iter()
                .map(|g| (g.name.clone(), Rules::of(g)))
                .collect();
            *self.stations.lock().unwrap() = stations;
        }
        for (id, agent, workgroup) in wrapups {
            self.router.restore_wrapup(agent, id);
            self.arm_wrapup_timer(&workgroup, id, agent);
        }
        let mut waiting = Vec::new();
        for ix in live {
            match (ix.state, ix.assigned_user_id) {
                (State::Alerting, Some(agent)) => {
                    self.router
                        .restore_assigned(self.request_for(&ix), agent, true);
                    self.arm_alert_timer(&ix.workgroup, ix.id, agent);
                }
                (State::Connected | State::Held, Some(agent)) => {
                    self.router
                        .restore_assigned(self.request_for(&ix), agent, false);
                }
                // Held by the workflow: its timers (in the store) release it.
                (State::Buffered, _) => {}
                _ => waiting.push(ix),
            }
        }
        for ix in waiting {
            self.route_new(ix).await;
        }
        for u in &users {
            let status = AgentStatus::parse(&u.status).unwrap_or(AgentStatus::Away);
            if status != AgentStatus::Away {
                self.apply(|r| r.set_status(u.id, status, now)).await;
            }
        }
        Ok(())
    }

    /// A workgroup's queue for workflows: waiting, available members, oldest queue time.
    pub fn queue_facts(&self, workgroup: &str) -> (usize, usize, Option<i64>) {
        self.router.queue_facts(workgroup)
    }

    /// The routing request for a stored interaction.
    pub(super) fn request_for(&self, ix: &Interaction) -> Request {
        let target = match (ix.transfer_to, ix.preferred_agent, ix.preferred_until) {
            (Some(agent), _, _) => Target::Only(agent),
            (None, Some(agent), Some(until)) => Target::Preferred { agent, until },
            _ => Target::Anyone,
        };
        Request {
            id: ix.id,
            workgroup: ix.workgroup.clone(),
            media: ix.media_type,
            priority: ix.priority,
            queued_at: ix.queued_at,
            right: self
                .channel_rights
                .read()
                .unwrap()
                .get(&ix.channel)
                .copied()
                .unwrap_or(Right::SocialMedia),
            skills: ix.skills.as_deref().and_then(|s| SkillExpr::parse(s).ok()),
            target,
        }
    }

    /// Sets the access right a channel's interactions need (a channel added or replaced
    /// at runtime). Interactions already queued keep the right they were queued with.
    /// A removed channel's right stays: its live interactions still route.
    pub fn set_channel_right(&self, channel: &str, right: Right) {
        self.channel_rights
            .write()
            .unwrap()
            .insert(channel.to_owned(), right);
    }

    /// Queues a restored interaction and offers it if someone fits (at start, before
    /// anything else can change it).
    async fn route_new(self: &Arc<Self>, ix: Interaction) {
        let req = self.request_for(&ix);
        if let Target::Preferred { until, .. } = req.target {
            self.arm_reconsider_timer(ix.id, until);
        }
        let now = now_ms();
        self.apply(move |r| r.enqueue(req, now)).await;
    }

    /// Wakes the follow-up job worker: a job was just recorded. In a cluster the worker
    /// runs on the leader, which may be another host.
    pub fn kick_jobs(&self) {
        self.jobs_wake.notify_one();
        if let Some(bus) = self.hub.bus()
            && !self.leads()
        {
            let _ = bus.publish(crate::cluster::bus::Message::Jobs);
        }
    }

    /// Wakes the job worker for a message from another host.
    pub fn kick_jobs_here(&self) {
        self.jobs_wake.notify_one();
    }

    /// Resolves when [`Interactions::kick_jobs`] was called (at most one kick is kept).
    pub async fn jobs_kicked(&self) {
        self.jobs_wake.notified().await
    }

    /// Runs a router operation, records its offers in order, then tells the agents.
    pub(super) async fn apply(self: &Arc<Self>, op: impl FnOnce(&Router) -> Vec<Offer>) {
        let (offers, pending) = {
            let _order = self.order.lock().unwrap();
            let offers = op(&self.router);
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

    /// Current router status of an agent.
    pub fn status(&self, user: i64) -> Option<AgentStatus> {
        self.router.status(user)
    }

    /// The router, for supervisors' views.
    pub fn router(&self) -> &Router {
        &self.router
    }

    pub(super) async fn changed(&self, id: i64) -> Result<Interaction, ActionError> {
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
    pub(super) fn store_submit<F>(&self, f: F) -> Pending
    where
        F: FnOnce(&crate::store::Tx) -> Result<()> + Send + 'static,
    {
        self.store_submit_with(f)
    }

    /// [`Interactions::store_submit`] for a write (or an ordered read) with a result.
    pub(super) fn store_submit_with<R, F>(&self, f: F) -> Pending<R>
    where
        R: Send + 'static,
        F: FnOnce(&crate::store::Tx) -> Result<R> + Send + 'static,
    {
        let refused = |e: anyhow::Error| {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let _ = tx.send(Err(e));
            rx
        };
        // A routing write: supervisors' figures follow it (a moment later, coalesced).
        self.hub.figures_changed();
        let term = self.term.read().unwrap().clone();
        if !term.shared {
            return self.store.submit_now(f).unwrap_or_else(refused);
        }
        // A routing write on a shared store carries the leader's fence, checked in the
        // same transaction: a host that lost the lease (paused, cut off) writes nothing.
        let Some(fence) = term.fence.filter(|_| term.leading) else {
            return refused(anyhow::anyhow!(
                "this host does not lead the cluster, so it cannot change routing"
            ));
        };
        self.store
            .submit_now(move |c| {
                check_fence(c, &fence)?;
                f(c)
            })
            .unwrap_or_else(refused)
    }

    /// Why interaction `id` is where it is in routing now (`None`: routing does not have
    /// it: ended, buffered by the workflow, or not yet routed).
    pub fn explain(&self, id: i64) -> Option<crate::routing::Explanation> {
        self.router.explain(id, now_ms())
    }

    /// Records why a queued interaction was not offered at once (event `waiting`, detail:
    /// the router's explanation as JSON), so its trace shows who was passed over and why.
    /// Call under the ordering lock, after the router step that queued it.
    pub(super) fn record_waiting(&self, id: i64, offers: &[Offer]) {
        if offers.iter().any(|o| o.interaction == id) {
            return;
        }
        let now = now_ms();
        let Some(why) = self.router.explain(id, now) else {
            return;
        };
        if why.phase != "waiting" {
            return;
        }
        let detail = serde_json::to_string(&why).unwrap_or_default();
        // Nothing waits on it: a lost trace line is not worth holding routing for.
        drop(self.store_submit(move |c| {
            queries::record_event(c, id, now, "waiting", State::Queued, None, Some(&detail))
        }));
    }

    pub(super) fn record_offers(&self, offers: &[Offer]) -> Vec<Pending> {
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

    pub(super) async fn finish_offers(self: &Arc<Self>, offers: Vec<Offer>, pending: Vec<Pending>) {
        for (offer, write) in offers.into_iter().zip(pending) {
            if let Err(e) = wait(write).await {
                // The store keeps the interaction waiting: so does the router.
                tracing::error!(interaction = offer.interaction, agent = offer.agent, error = %e,
                    "offer not recorded; taken back");
                let _order = self.order.lock().unwrap();
                self.router.undo(offer.agent, offer.interaction, false);
                continue;
            }
            if let Ok(ix) = self.changed(offer.interaction).await {
                // The offer is durable: counted once, whatever the agent then does.
                crate::metrics::workgroup_offer(&ix.workgroup);
                self.hub.send(offer.agent, "offer", &ix);
                self.arm_alert_timer(&ix.workgroup, ix.id, offer.agent);
            }
        }
    }

    pub(super) fn rules(&self, workgroup: &str) -> Rules {
        self.rules
            .lock()
            .unwrap()
            .get(workgroup)
            .cloned()
            .unwrap_or_default()
    }

    fn arm_alert_timer(self: &Arc<Self>, workgroup: &str, id: i64, agent: i64) {
        let timeout = self.rules(workgroup).alert_timeout;
        let (this, term) = (self.clone(), self.term_number());
        tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            if this.term_number() == term {
                this.alert_timed_out(agent, id).await;
            }
        });
    }

    pub(super) fn arm_reconsider_timer(self: &Arc<Self>, id: i64, until: i64) {
        let (this, term) = (self.clone(), self.term_number());
        // On the host's clock, so a test that moves it sees the wait end.
        tokio::spawn(async move {
            crate::clock::sleep_until(until).await;
            if this.term_number() == term {
                this.apply(|r| r.reconsider(id, now_ms())).await;
            }
        });
    }

    pub(super) fn arm_wrapup_timer(self: &Arc<Self>, workgroup: &str, id: i64, agent: i64) {
        let timeout = self.rules(workgroup).wrapup_timeout;
        let (this, term) = (self.clone(), self.term_number());
        tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            if this.term_number() == term {
                this.wrapup_timed_out(agent, id).await;
            }
        });
    }

    async fn alert_timed_out(self: &Arc<Self>, agent: i64, id: i64) {
        let (offers, writes, pending) = {
            let _order = self.order.lock().unwrap();
            let now = now_ms();
            let Some(offers) = self.router.alert_timeout(agent, id, now) else {
                return; // answered in time
            };
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
        let workgroup = workgroup_of(&self.store, id).await;
        // "" when the interaction cannot be read: no workgroup to count it for.
        if !workgroup.is_empty() {
            crate::metrics::workgroup_alert_timeout(&workgroup);
        }
        let secs = self.rules(&workgroup).alert_timeout.as_secs();
        self.hub.send(
            agent,
            "status",
            serde_json::json!({
                "status": AgentStatus::NotResponding,
                "reason": format!(
                    "An offer was not picked up within {secs} s, so you were set to Not \
                     responding and it went back to the queue for the next available \
                     agent. Choose Available to take work again."
                ),
            }),
        );
        self.hub.send(
            agent,
            "revoked",
            serde_json::json!({ "id": id, "reason": "timeout" }),
        );
        self.finish_offers(offers, pending).await;
    }

    async fn wrapup_timed_out(self: &Arc<Self>, agent: i64, id: i64) {
        let (offers, done, pending) = {
            let _order = self.order.lock().unwrap();
            // Checked in the step that settles it: the agent may have entered one.
            if !self.router.wrapup_owed(agent, id) {
                return;
            }
            let now = now_ms();
            let offers = self.router.wrapup_done(agent, id, now);
            let done = self.store_submit(move |c| queries::set_wrapup(c, id, None, None, now));
            let pending = self.record_offers(&offers);
            (offers, done, pending)
        };
        match wait(done).await {
            Ok(()) => tracing::info!(
                interaction = id,
                agent,
                "required wrap-up timed out; agent routes again"
            ),
            Err(e) => {
                tracing::error!(interaction = id, error = %e, "wrap-up timeout not recorded");
                let _order = self.order.lock().unwrap();
                self.router.restore_wrapup(agent, id);
            }
        }
        self.finish_offers(offers, pending).await;
    }
}

/// The workgroup an interaction is in now ("" when it cannot be read: default rules).
async fn workgroup_of(store: &crate::store::Store, id: i64) -> String {
    store
        .read(move |c| queries::interaction(c, id))
        .await
        .ok()
        .flatten()
        .map(|ix| ix.workgroup)
        .unwrap_or_default()
}

pub(super) async fn wait<R>(rx: Pending<R>) -> Result<R> {
    rx.await
        .unwrap_or_else(|_| Err(anyhow::anyhow!("store writer stopped")))
}
