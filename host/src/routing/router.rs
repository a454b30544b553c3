//! The router's state and its operations. Every operation takes the current time, runs
//! under one lock, and returns the offers it made; nothing here waits on I/O.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Mutex;

use super::model::*;
use super::utilization::{Utilization, UtilizationTable};
use crate::model::interaction::MediaType;

// Beside this file, a child of it: it reads the router's private state.
#[path = "explain.rs"]
pub(crate) mod explain;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Waiting,
    Alerting(i64),
    Assigned(i64),
}

#[derive(Clone, Debug)]
struct Routed {
    req: Request,
    key: QueueKey,
    phase: Phase,
    /// Agents who declined it, with when they may be offered it again (unix ms).
    declined: HashMap<i64, i64>,
}

/// The agent who has an interaction in their own queue (`Agent::direct`): the only one it
/// may go to, or the one it waits for first. A preferred interaction is in its
/// workgroup's queue as well, so queue figures count it and it falls back there.
fn direct_agent(target: &Target) -> Option<i64> {
    match target {
        Target::Only(agent) | Target::Preferred { agent, .. } => Some(*agent),
        Target::Anyone => None,
    }
}

/// Whether an interaction sits in its workgroup's queue (everything but a transfer to one
/// agent only).
fn in_workgroup_queue(target: &Target) -> bool {
    !matches!(target, Target::Only(_))
}

/// Queue order: higher priority first, then longer in queue, then lower id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct QueueKey {
    neg_priority: i64,
    queued_at: i64,
    id: i64,
}

impl QueueKey {
    fn of(req: &Request) -> QueueKey {
        QueueKey {
            neg_priority: -req.priority,
            queued_at: req.queued_at,
            id: req.id,
        }
    }
}

impl QueueKey {
    /// Before any other key.
    const FIRST: QueueKey = QueueKey {
        neg_priority: i64::MIN,
        queued_at: i64::MIN,
        id: i64::MIN,
    };
}

/// The two media types, in the order of the arrays indexed by [`media_index`].
const MEDIA: [MediaType; 2] = [
    MediaType::SocialConversation,
    MediaType::SocialDirectMessage,
];

fn media_index(media: MediaType) -> usize {
    match media {
        MediaType::SocialConversation => 0,
        MediaType::SocialDirectMessage => 1,
    }
}

fn right_index(right: Right) -> usize {
    match right {
        Right::SocialMedia => 0,
        Right::Whatsapp => 1,
    }
}

/// What an agent's held work takes, by media type (indexed by [`media_index`]).
struct Load {
    /// Sum of the percentages.
    used: u32,
    /// Interactions held.
    count: [u32; 2],
    /// The smallest maximum among the settings of those held (`u32::MAX`: none held).
    max: [u32; 2],
}

#[derive(Clone, Debug)]
struct Agent {
    status: AgentStatus,
    idle_since: i64,
    profile: AgentProfile,
    station_rights: HashSet<String>,
    /// Interactions alerting or assigned (held included), with their media type.
    holding: HashMap<i64, MediaType>,
    /// Disconnected interactions whose required wrap-up keeps the agent out of routing.
    wrapup: HashSet<i64>,
    workgroups: HashSet<String>,
    /// Interactions transferred to this agent personally.
    direct: BTreeSet<QueueKey>,
}

#[derive(Clone, Debug, Default)]
struct Workgroup {
    members: HashSet<i64>,
    utilization: UtilizationTable,
    waiting: BTreeSet<QueueKey>,
}

#[derive(Default)]
struct Inner {
    features: Features,
    agents: HashMap<i64, Agent>,
    workgroups: HashMap<String, Workgroup>,
    interactions: HashMap<i64, Routed>,
}

/// The ACD router.
#[derive(Default)]
pub struct Router {
    inner: Mutex<Inner>,
}

impl Router {
    /// An empty router with every feature on.
    pub fn new() -> Router {
        Router::default()
    }

    /// Forgets everything: agents, workgroups and interactions (a host that stops
    /// leading, or one about to load them again from the store).
    pub fn clear(&self) {
        *self.inner.lock().unwrap() = Inner::default();
    }

    /// Turns platform families on or off for routing.
    pub fn set_features(&self, features: Features, now: i64) -> Vec<Offer> {
        let mut inner = self.inner.lock().unwrap();
        inner.features = features;
        inner.fill_all(now)
    }

    /// Defines (or redefines) a workgroup; new members or room may bring offers.
    pub fn set_workgroup(
        &self,
        name: &str,
        members: &[i64],
        utilization: UtilizationTable,
        now: i64,
    ) -> Vec<Offer> {
        let mut inner = self.inner.lock().unwrap();
        let group = inner.workgroups.entry(name.to_owned()).or_default();
        group.members = members.iter().copied().collect();
        group.utilization = utilization;
        for (id, agent) in inner.agents.iter_mut() {
            if members.contains(id) {
                agent.workgroups.insert(name.to_owned());
            } else {
                agent.workgroups.remove(name);
            }
        }
        inner.fill_all(now)
    }

    /// Registers an agent or updates their rights, skills and utilization.
    pub fn upsert_agent(
        &self,
        id: i64,
        profile: AgentProfile,
        status: AgentStatus,
        now: i64,
    ) -> Vec<Offer> {
        let mut inner = self.inner.lock().unwrap();
        let workgroups = inner
            .workgroups
            .iter()
            .filter(|(_, g)| g.members.contains(&id))
            .map(|(n, _)| n.clone())
            .collect();
        // Work that waits for this agent by name, queued before they were registered.
        let direct: BTreeSet<QueueKey> = inner
            .interactions
            .values()
            .filter(|r| r.phase == Phase::Waiting && direct_agent(&r.req.target) == Some(id))
            .map(|r| r.key)
            .collect();
        match inner.agents.get_mut(&id) {
            Some(agent) => agent.profile = profile,
            None => {
                inner.agents.insert(
                    id,
                    Agent {
                        status,
                        idle_since: now,
                        profile,
                        station_rights: HashSet::new(),
                        holding: HashMap::new(),
                        wrapup: HashSet::new(),
                        workgroups,
                        direct,
                    },
                );
            }
        }
        inner.fill_agent(id, now)
    }

    /// The rights of the station the agent is logged in at (empty: none).
    pub fn set_station_rights(&self, agent: i64, rights: HashSet<String>, now: i64) -> Vec<Offer> {
        let mut inner = self.inner.lock().unwrap();
        if let Some(a) = inner.agents.get_mut(&agent) {
            a.station_rights = rights;
        }
        inner.fill_agent(agent, now)
    }

    /// Changes an agent's status; becoming available brings offers.
    pub fn set_status(&self, agent: i64, status: AgentStatus, now: i64) -> Vec<Offer> {
        let mut inner = self.inner.lock().unwrap();
        let Some(a) = inner.agents.get_mut(&agent) else {
            return Vec::new();
        };
        if a.status != AgentStatus::Available && status == AgentStatus::Available {
            a.idle_since = now;
        }
        a.status = status;
        inner.fill_agent(agent, now)
    }

    /// Queues an interaction and offers it if someone fits. An interaction the router
    /// already has is left as it is (queuing is idempotent: a durable route job may run
    /// again after a restart).
    pub fn enqueue(&self, req: Request, now: i64) -> Vec<Offer> {
        let mut inner = self.inner.lock().unwrap();
        let id = req.id;
        if inner.interactions.contains_key(&id) {
            return Vec::new();
        }
        inner.insert_waiting(req);
        inner.offer_interaction(id, now).into_iter().collect()
    }

    /// Brings back an interaction that was alerting or assigned before a restart.
    pub fn restore_assigned(&self, req: Request, agent: i64, alerting: bool) {
        let mut inner = self.inner.lock().unwrap();
        let phase = if alerting {
            Phase::Alerting(agent)
        } else {
            Phase::Assigned(agent)
        };
        if let Some(a) = inner.agents.get_mut(&agent) {
            a.holding.insert(req.id, req.media);
        }
        inner.workgroups.entry(req.workgroup.clone()).or_default();
        inner.interactions.insert(
            req.id,
            Routed {
                key: QueueKey::of(&req),
                req,
                phase,
                declined: HashMap::new(),
            },
        );
    }

    /// Brings back a required wrap-up that was outstanding before a restart.
    pub fn restore_wrapup(&self, agent: i64, id: i64) {
        let mut inner = self.inner.lock().unwrap();
        if let Some(a) = inner.agents.get_mut(&agent) {
            a.wrapup.insert(id);
        }
    }

    /// The agent accepts an offered interaction.
    pub fn pickup(&self, agent: i64, id: i64) -> Result<(), RouterError> {
        let mut inner = self.inner.lock().unwrap();
        let routed = inner
            .interactions
            .get_mut(&id)
            .ok_or(RouterError::UnknownInteraction(id))?;
        match routed.phase {
            Phase::Alerting(a) if a == agent => {
                routed.phase = Phase::Assigned(agent);
                Ok(())
            }
            Phase::Assigned(a) if a == agent => Ok(()),
            Phase::Alerting(_) | Phase::Assigned(_) => Err(RouterError::NotYours(id)),
            Phase::Waiting => Err(RouterError::NotAlerting(id)),
        }
    }

    /// Undoes what could not be recorded: an offer whose write failed goes back to
    /// waiting (the agent's capacity is theirs again); a pickup whose write failed is an
    /// offer again. The store still has the state before, so both agree.
    pub fn undo(&self, agent: i64, id: i64, picked_up: bool) {
        let mut inner = self.inner.lock().unwrap();
        let Some(routed) = inner.interactions.get_mut(&id) else {
            return;
        };
        match routed.phase {
            Phase::Assigned(a) if a == agent && picked_up => {
                routed.phase = Phase::Alerting(agent);
            }
            Phase::Alerting(a) if a == agent && !picked_up => {
                inner.release(id);
            }
            _ => {}
        }
    }

    /// Whether interaction `id` is in routing at all (waiting, offered or assigned).
    pub fn knows(&self, id: i64) -> bool {
        self.inner.lock().unwrap().interactions.contains_key(&id)
    }

    /// Whether `agent` holds (offered or assigned) interaction `id`.
    pub fn holds(&self, agent: i64, id: i64) -> bool {
        let inner = self.inner.lock().unwrap();
        matches!(
            inner.interactions.get(&id).map(|r| r.phase),
            Some(Phase::Alerting(a) | Phase::Assigned(a)) if a == agent
        )
    }

    /// The agent interaction `id` is offered to (`picked_up: false`) or taken by
    /// (`true`); `None` when it waits in a queue or routing does not know it.
    pub fn holder(&self, id: i64) -> Option<(i64, bool)> {
        let inner = self.inner.lock().unwrap();
        match inner.interactions.get(&id)?.phase {
            Phase::Waiting => None,
            Phase::Alerting(a) => Some((a, false)),
            Phase::Assigned(a) => Some((a, true)),
        }
    }

    /// Whether `agent` has picked up interaction `id`.
    pub fn assigned(&self, agent: i64, id: i64) -> bool {
        let inner = self.inner.lock().unwrap();
        inner.interactions.get(&id).map(|r| r.phase) == Some(Phase::Assigned(agent))
    }

    /// An offer was not picked up in time: the agent stops receiving work and the
    /// interaction goes to the next agent, keeping its place in the queue. `None` when
    /// the offer was already answered.
    pub fn alert_timeout(&self, agent: i64, id: i64, now: i64) -> Option<Vec<Offer>> {
        let mut inner = self.inner.lock().unwrap();
        if inner.interactions.get(&id)?.phase != Phase::Alerting(agent) {
            return None;
        }
        inner.release(id);
        if let Some(a) = inner.agents.get_mut(&agent) {
            a.status = AgentStatus::NotResponding;
        }
        Some(inner.offer_interaction(id, now).into_iter().collect())
    }

    /// The agent declined an offer: it goes to the next agent and the agent stays
    /// available. The decliner is not offered it again before `again_at` (unix ms) unless
    /// every other eligible agent declined it too, so a lone agent is not offered the same
    /// interaction in a loop. `None` when it was not alerting for this agent.
    pub fn decline(&self, agent: i64, id: i64, again_at: i64, now: i64) -> Option<Vec<Offer>> {
        let mut inner = self.inner.lock().unwrap();
        let routed = inner.interactions.get_mut(&id)?;
        if routed.phase != Phase::Alerting(agent) {
            return None;
        }
        routed.declined.insert(agent, again_at);
        inner.release(id);
        if let Some(a) = inner.agents.get_mut(&agent)
            && a.holding.is_empty()
        {
            a.idle_since = now;
        }
        let mut offers: Vec<Offer> = inner.offer_interaction(id, now).into_iter().collect();
        offers.extend(inner.fill_agent(agent, now));
        Some(offers)
    }

    /// The interaction ended. With `wrapup_required`, its agent stays out of routing
    /// until [`Router::wrapup_done`]. Offers whatever the freed capacity allows.
    pub fn finish(&self, id: i64, wrapup_required: bool, now: i64) -> Vec<Offer> {
        let mut inner = self.inner.lock().unwrap();
        let Some(agent) = inner.release(id) else {
            inner.remove(id);
            return Vec::new();
        };
        inner.remove(id);
        if let Some(a) = inner.agents.get_mut(&agent) {
            if wrapup_required {
                a.wrapup.insert(id);
            }
            if a.holding.is_empty() {
                a.idle_since = now;
            }
        }
        inner.fill_agent(agent, now)
    }

    /// Whether `agent` owes a required wrap-up of interaction `id`.
    pub fn wrapup_owed(&self, agent: i64, id: i64) -> bool {
        let inner = self.inner.lock().unwrap();
        inner
            .agents
            .get(&agent)
            .is_some_and(|a| a.wrapup.contains(&id))
    }

    /// A required wrap-up was entered (or timed out): the agent routes again.
    pub fn wrapup_done(&self, agent: i64, id: i64, now: i64) -> Vec<Offer> {
        let mut inner = self.inner.lock().unwrap();
        let removed = inner
            .agents
            .get_mut(&agent)
            .is_some_and(|a| a.wrapup.remove(&id));
        if removed {
            inner.fill_agent(agent, now)
        } else {
            Vec::new()
        }
    }

    /// Moves an interaction to a new request (a transfer): its agent is freed and it is
    /// queued again as `req` says.
    pub fn requeue(&self, req: Request, now: i64) -> Vec<Offer> {
        let mut inner = self.inner.lock().unwrap();
        let id = req.id;
        let freed = inner.release(id);
        inner.remove(id);
        inner.insert_waiting(req);
        let mut offers: Vec<Offer> = inner.offer_interaction(id, now).into_iter().collect();
        if let Some(agent) = freed {
            offers.extend(inner.fill_agent(agent, now));
        }
        offers
    }

    /// A preferred agent's reserved time ran out: anyone eligible may have it now.
    pub fn reconsider(&self, id: i64, now: i64) -> Vec<Offer> {
        let mut inner = self.inner.lock().unwrap();
        inner.offer_interaction(id, now).into_iter().collect()
    }

    /// Current status of an agent.
    pub fn status(&self, agent: i64) -> Option<AgentStatus> {
        self.inner
            .lock()
            .unwrap()
            .agents
            .get(&agent)
            .map(|a| a.status)
    }

    /// Every agent, for supervisors.
    pub fn agents(&self) -> Vec<AgentView> {
        let inner = self.inner.lock().unwrap();
        let mut views: Vec<AgentView> = inner
            .agents
            .iter()
            .map(|(id, a)| {
                let mut interactions: Vec<i64> = a.holding.keys().copied().collect();
                interactions.sort_unstable();
                let mut wrapup_pending: Vec<i64> = a.wrapup.iter().copied().collect();
                wrapup_pending.sort_unstable();
                AgentView {
                    id: *id,
                    status: a.status,
                    interactions,
                    utilization_used: inner.used_percent(a),
                    wrapup_pending,
                }
            })
            .collect();
        views.sort_by_key(|v| v.id);
        views
    }

    /// Every queue, for supervisors.
    pub fn queues(&self) -> Vec<QueueView> {
        let inner = self.inner.lock().unwrap();
        let mut views: Vec<QueueView> = inner
            .workgroups
            .iter()
            .map(|(name, g)| QueueView {
                workgroup: name.clone(),
                waiting: g.waiting.len(),
                oldest_queued_at: g.waiting.iter().map(|k| k.queued_at).min(),
            })
            .collect();
        views.sort_by(|a, b| a.workgroup.cmp(&b.workgroup));
        views
    }

    /// One workgroup's queue for workflows (`queue_facts`): interactions waiting, members
    /// who are Available and owe no wrap-up, and when the longest-waiting one was queued.
    pub fn queue_facts(&self, workgroup: &str) -> (usize, usize, Option<i64>) {
        let inner = self.inner.lock().unwrap();
        let Some(g) = inner.workgroups.get(workgroup) else {
            return (0, 0, None);
        };
        let available = g
            .members
            .iter()
            .filter_map(|id| inner.agents.get(id))
            .filter(|a| a.status == AgentStatus::Available && a.wrapup.is_empty())
            .count();
        let oldest = g.waiting.iter().map(|k| k.queued_at).min();
        (g.waiting.len(), available, oldest)
    }

    /// Checks the invariants the tests rely on; returns the first one broken.
    pub fn check_invariants(&self, now: i64) -> Result<(), String> {
        self.inner.lock().unwrap().check(now)
    }
}

impl Inner {
    fn insert_waiting(&mut self, req: Request) {
        let key = QueueKey::of(&req);
        self.queue(key, &req.target, &req.workgroup);
        self.interactions.insert(
            req.id,
            Routed {
                req,
                key,
                phase: Phase::Waiting,
                declined: HashMap::new(),
            },
        );
    }

    /// Puts a waiting interaction's key in the queues it waits in.
    fn queue(&mut self, key: QueueKey, target: &Target, workgroup: &str) {
        if let Some(agent) = direct_agent(target)
            && let Some(a) = self.agents.get_mut(&agent)
        {
            a.direct.insert(key);
        }
        if in_workgroup_queue(target) {
            self.workgroups
                .entry(workgroup.to_owned())
                .or_default()
                .waiting
                .insert(key);
        }
    }

    /// Takes an interaction's key out of every queue (it is offered, or gone).
    fn unqueue(&mut self, key: QueueKey, target: &Target, workgroup: &str) {
        if let Some(agent) = direct_agent(target)
            && let Some(a) = self.agents.get_mut(&agent)
        {
            a.direct.remove(&key);
        }
        if let Some(g) = self.workgroups.get_mut(workgroup) {
            g.waiting.remove(&key);
        }
    }

    /// Takes an interaction off its agent (back to waiting); returns that agent.
    fn release(&mut self, id: i64) -> Option<i64> {
        let routed = self.interactions.get_mut(&id)?;
        let agent = match routed.phase {
            Phase::Alerting(a) | Phase::Assigned(a) => a,
            Phase::Waiting => return None,
        };
        routed.phase = Phase::Waiting;
        let (key, target, workgroup) = (
            routed.key,
            routed.req.target.clone(),
            routed.req.workgroup.clone(),
        );
        if let Some(a) = self.agents.get_mut(&agent) {
            a.holding.remove(&id);
        }
        self.queue(key, &target, &workgroup);
        Some(agent)
    }

    /// Removes a (waiting) interaction from routing entirely.
    fn remove(&mut self, id: i64) {
        let Some(routed) = self.interactions.remove(&id) else {
            return;
        };
        self.unqueue(routed.key, &routed.req.target, &routed.req.workgroup);
    }

    /// The utilization setting that applies to `agent` for `media` in `workgroup`:
    /// the user's own, else the workgroup's, else the default.
    fn setting(&self, agent: &Agent, workgroup: &str, media: MediaType) -> Utilization {
        agent
            .profile
            .utilization
            .by_type
            .get(media.as_str())
            .copied()
            .or_else(|| {
                self.workgroups
                    .get(workgroup)
                    .and_then(|g| g.utilization.by_type.get(media.as_str()).copied())
            })
            .unwrap_or_default()
    }

    fn used_percent(&self, agent: &Agent) -> u32 {
        self.load(agent).used
    }

    /// What an agent's held work takes, by the settings that apply to each interaction.
    fn load(&self, agent: &Agent) -> Load {
        let mut load = Load {
            used: 0,
            count: [0; 2],
            max: [u32::MAX; 2],
        };
        for (id, media) in &agent.holding {
            let group = self
                .interactions
                .get(id)
                .map(|r| r.req.workgroup.as_str())
                .unwrap_or("");
            let setting = self.setting(agent, group, *media);
            let m = media_index(*media);
            load.used += setting.percent;
            load.count[m] += 1;
            load.max[m] = load.max[m].min(setting.max);
        }
        load
    }

    /// Whether an agent carrying `load` has room for one more `media` interaction of
    /// `workgroup`: the sum of percentages stays within 100 %, and the count of the type
    /// within the maximum of every setting that applies to it: the new interaction's and
    /// those of the held ones of the same type (which may come from other workgroups
    /// with other settings).
    fn room(&self, agent: &Agent, load: &Load, workgroup: &str, media: MediaType) -> bool {
        let want = self.setting(agent, workgroup, media);
        let m = media_index(media);
        load.count[m] < want.max.min(load.max[m]) && load.used + want.percent <= 100
    }

    /// Per access right (see [`right_index`]): whether its family's feature is on and the
    /// user or their station holds it.
    fn rights(&self, agent: &Agent) -> [bool; 2] {
        [Right::SocialMedia, Right::Whatsapp].map(|right| {
            let name = right.as_str();
            self.features.allows(right)
                && (agent.profile.rights.contains(name) || agent.station_rights.contains(name))
        })
    }

    /// Whether `agent_id` may be offered `r` now. Every routing rule lives here, in
    /// [`Inner::admits`] and [`Inner::room`].
    fn eligible(&self, agent_id: i64, r: &Routed, now: i64) -> bool {
        let Some(agent) = self.agents.get(&agent_id) else {
            return false;
        };
        if agent.status != AgentStatus::Available || !agent.wrapup.is_empty() {
            return false; // (also in `admits`; here first as the cheapest test)
        }
        let member = agent.workgroups.contains(&r.req.workgroup);
        self.admits(agent_id, agent, self.rights(agent), member, r, now)
            && self.room(agent, &self.load(agent), &r.req.workgroup, r.req.media)
    }

    /// Every rule but utilization: available with no wrap-up owed, feature and right
    /// (`rights`, from [`Inner::rights`]), member of the workgroup (`member`) or the
    /// interaction's target, skills.
    fn admits(
        &self,
        agent_id: i64,
        agent: &Agent,
        rights: [bool; 2],
        member: bool,
        r: &Routed,
        now: i64,
    ) -> bool {
        let req = &r.req;
        if agent.status != AgentStatus::Available || !agent.wrapup.is_empty() {
            return false;
        }
        if !rights[right_index(req.right)] {
            return false;
        }
        // A preferred agent was chosen by name (a transfer, the workflow's stickiness):
        // they need not be a member while the interaction waits for them.
        let allowed = match &req.target {
            Target::Only(only) => *only == agent_id,
            Target::Preferred {
                agent: preferred,
                until,
            } if now < *until => *preferred == agent_id,
            _ => member,
        };
        if !allowed {
            return false;
        }
        if r.declined.get(&agent_id).is_some_and(|again| now < *again) {
            return false;
        }
        if let Some(expr) = &req.skills
            && !expr.matches(&agent.profile.skills)
        {
            return false;
        }
        true
    }

    /// Offers one waiting interaction to the best eligible agent: best skill match,
    /// then longest idle.
    fn offer_interaction(&mut self, id: i64, now: i64) -> Option<Offer> {
        let routed = self.interactions.get(&id)?;
        if routed.phase != Phase::Waiting {
            return None;
        }
        let mut candidates: Vec<i64> = match routed.req.target {
            Target::Only(agent) => vec![agent],
            _ => self
                .workgroups
                .get(&routed.req.workgroup)
                .map(|g| g.members.iter().copied().collect())
                .unwrap_or_default(),
        };
        if let Target::Preferred { agent, .. } = routed.req.target
            && !candidates.contains(&agent)
        {
            candidates.push(agent);
        }
        let mut eligible: Vec<i64> = candidates
            .iter()
            .copied()
            .filter(|a| self.eligible(*a, routed, now))
            .collect();
        // Everyone who could take it declined it: once two or more did, each has seen the
        // others tried, so they may have it again (one alone waits out their decline).
        let declined_now = |a: &i64| routed.declined.get(a).is_some_and(|t| now < *t);
        if eligible.is_empty() && routed.declined.values().filter(|t| now < **t).count() >= 2 {
            let mut open = routed.clone();
            open.declined.clear();
            eligible = candidates
                .into_iter()
                .filter(|a| declined_now(a) && self.eligible(*a, &open, now))
                .collect();
        }
        let agent = eligible.into_iter().min_by_key(|a| {
            let agent = &self.agents[a];
            let score = routed
                .req
                .skills
                .as_ref()
                .map_or(0, |e| e.score(&agent.profile.skills));
            (std::cmp::Reverse(score), agent.idle_since, *a)
        })?;
        Some(self.assign_offer(id, agent))
    }

    /// Offers an agent the best waiting work they may take, while they have room.
    ///
    /// Each queue is scanned once per call, not once per offer: taking an offer only
    /// uses up room (nothing else an agent's eligibility depends on changes meanwhile),
    /// so work passed over stays out of reach and the next look at a queue resumes where
    /// the last one stopped. What the agent's side of the rules needs (rights, load, room
    /// per type in a workgroup) is worked out once per offer, not once per interaction.
    fn fill_agent(&mut self, agent: i64, now: i64) -> Vec<Offer> {
        let mut offers = Vec::new();
        let Some(a) = self.agents.get(&agent) else {
            return offers;
        };
        // Queue 0 is the agent's own (transfers to them); then their workgroups'.
        let groups: Vec<String> = a.workgroups.iter().cloned().collect();
        // Where to resume each queue; `None` once nothing more in it can be taken.
        let mut from: Vec<Option<QueueKey>> = vec![Some(QueueKey::FIRST); groups.len() + 1];
        loop {
            let Some(a) = self.agents.get(&agent) else {
                return offers;
            };
            if a.status != AgentStatus::Available || !a.wrapup.is_empty() {
                return offers;
            }
            let rights = self.rights(a);
            let load = self.load(a);
            let mut best: Option<QueueKey> = None;
            for (i, resume) in from.iter_mut().enumerate() {
                let Some(start) = *resume else { continue };
                let found = if i == 0 {
                    a.direct.range(start..).find(|k| {
                        let r = &self.interactions[&k.id];
                        let member = a.workgroups.contains(&r.req.workgroup);
                        self.admits(agent, a, rights, member, r, now)
                            && self.room(a, &load, &r.req.workgroup, r.req.media)
                    })
                } else {
                    // Everything in a workgroup's queue is of that workgroup, of which
                    // the agent is a member: room depends on the type alone.
                    let name = groups[i - 1].as_str();
                    let fits = MEDIA.map(|media| self.room(a, &load, name, media));
                    match self.workgroups.get(name) {
                        Some(g) if fits.contains(&true) => g.waiting.range(start..).find(|k| {
                            let r = &self.interactions[&k.id];
                            fits[media_index(r.req.media)]
                                && self.admits(agent, a, rights, true, r, now)
                        }),
                        _ => None,
                    }
                };
                *resume = found.copied();
                if let Some(key) = found
                    && best.is_none_or(|b| *key < b)
                {
                    best = Some(*key);
                }
            }
            match best {
                Some(key) => offers.push(self.assign_offer(key.id, agent)),
                None => return offers,
            }
        }
    }

    /// Offers waiting work to every available agent (after a change that may affect many).
    fn fill_all(&mut self, now: i64) -> Vec<Offer> {
        let mut agents: Vec<(i64, i64)> = self
            .agents
            .iter()
            .filter(|(_, a)| a.status == AgentStatus::Available)
            .map(|(id, a)| (a.idle_since, *id))
            .collect();
        agents.sort_unstable();
        agents
            .into_iter()
            .flat_map(|(_, id)| self.fill_agent(id, now))
            .collect()
    }

    fn assign_offer(&mut self, id: i64, agent: i64) -> Offer {
        let routed = self.interactions.get_mut(&id).expect("routed interaction");
        routed.phase = Phase::Alerting(agent);
        let (key, media, target, workgroup) = (
            routed.key,
            routed.req.media,
            routed.req.target.clone(),
            routed.req.workgroup.clone(),
        );
        self.unqueue(key, &target, &workgroup);
        if let Some(a) = self.agents.get_mut(&agent) {
            a.holding.insert(id, media);
        }
        Offer {
            interaction: id,
            agent,
        }
    }

    fn check(&self, now: i64) -> Result<(), String> {
        let mut holders: HashMap<i64, i64> = HashMap::new();
        for (agent_id, agent) in &self.agents {
            let used = self.used_percent(agent);
            if used > 100 {
                return Err(format!("agent {agent_id} at {used}% utilization"));
            }
            for media in [
                MediaType::SocialConversation,
                MediaType::SocialDirectMessage,
            ] {
                let count = agent.holding.values().filter(|m| **m == media).count() as u32;
                for id in agent.holding.keys().filter(|i| agent.holding[i] == media) {
                    let group = &self.interactions[id].req.workgroup;
                    let max = self.setting(agent, group, media).max;
                    if count > max {
                        return Err(format!(
                            "agent {agent_id} holds {count} {} (max {max})",
                            media.as_str()
                        ));
                    }
                }
            }
            for id in agent.holding.keys() {
                if let Some(other) = holders.insert(*id, *agent_id) {
                    return Err(format!(
                        "interaction {id} held by agents {other} and {agent_id}"
                    ));
                }
            }
        }
        for (id, routed) in &self.interactions {
            match routed.phase {
                Phase::Alerting(a) | Phase::Assigned(a) => {
                    if holders.get(id) != Some(&a) {
                        return Err(format!(
                            "interaction {id} assigned to {a} but not in their holding"
                        ));
                    }
                }
                Phase::Waiting => {
                    let queued = match routed.req.target {
                        Target::Only(a) => self
                            .agents
                            .get(&a)
                            .is_some_and(|x| x.direct.contains(&routed.key)),
                        _ => self
                            .workgroups
                            .get(&routed.req.workgroup)
                            .is_some_and(|g| g.waiting.contains(&routed.key)),
                    };
                    if !queued {
                        return Err(format!("interaction {id} waiting but in no queue"));
                    }
                    if let Some(agent) =
                        self.agents.keys().find(|a| self.eligible(**a, routed, now))
                    {
                        return Err(format!(
                            "interaction {id} waits while agent {agent} could take it"
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}
