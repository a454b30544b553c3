//! The router's state and its operations.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Mutex;

use serde::Serialize;

use super::utilization::UtilizationTable;
use crate::interactions::model::MediaType;

/// An agent's routing status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    /// Takes new work.
    Available,
    /// Logged in, takes no new work.
    Away,
    /// Let an offer time out; takes no new work until they change status.
    NotResponding,
    /// Not logged in.
    LoggedOut,
}

impl AgentStatus {
    /// Stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentStatus::Available => "available",
            AgentStatus::Away => "away",
            AgentStatus::NotResponding => "not_responding",
            AgentStatus::LoggedOut => "logged_out",
        }
    }

    /// Parses a stored or requested name.
    pub fn parse(s: &str) -> Option<AgentStatus> {
        Some(match s {
            "available" => AgentStatus::Available,
            "away" => AgentStatus::Away,
            "not_responding" => AgentStatus::NotResponding,
            "logged_out" => AgentStatus::LoggedOut,
            _ => return None,
        })
    }
}

/// An interaction offered to an agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offer {
    /// The interaction.
    pub interaction: i64,
    /// The agent (user id).
    pub agent: i64,
}

/// Why a router operation was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RouterError {
    /// The interaction is not routed here (unknown or finished).
    #[error("interaction {0} is not in routing")]
    UnknownInteraction(i64),
    /// The interaction is not offered to or held by this agent.
    #[error("interaction {0} is not assigned to this agent")]
    NotYours(i64),
    /// The interaction is not alerting.
    #[error("interaction {0} is not alerting")]
    NotAlerting(i64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Waiting,
    Alerting(i64),
    Assigned(i64),
}

#[derive(Clone, Debug)]
struct Routed {
    workgroup: String,
    media: MediaType,
    key: QueueKey,
    phase: Phase,
}

/// Queue order: higher priority first, then longer in queue, then lower id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct QueueKey {
    neg_priority: i64,
    queued_at: i64,
    id: i64,
}

#[derive(Clone, Debug)]
struct Agent {
    status: AgentStatus,
    idle_since: i64,
    /// Interactions alerting or assigned to the agent, with their media type.
    holding: HashMap<i64, MediaType>,
    workgroups: HashSet<String>,
}

#[derive(Clone, Debug, Default)]
struct Workgroup {
    members: HashSet<i64>,
    utilization: UtilizationTable,
    /// Interactions waiting for an agent (not alerting, not assigned).
    waiting: BTreeSet<QueueKey>,
}

#[derive(Default)]
struct Inner {
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
    /// An empty router.
    pub fn new() -> Router {
        Router::default()
    }

    /// Defines (or redefines) a workgroup, its members and utilization defaults.
    pub fn set_workgroup(&self, name: &str, members: &[i64], utilization: UtilizationTable) {
        let mut inner = self.inner.lock().unwrap();
        let group = inner.workgroups.entry(name.to_owned()).or_default();
        group.members = members.iter().copied().collect();
        group.utilization = utilization;
        for agent in inner.agents.values_mut() {
            agent.workgroups.remove(name);
        }
        for member in members {
            if let Some(agent) = inner.agents.get_mut(member) {
                agent.workgroups.insert(name.to_owned());
            }
        }
    }

    /// Registers an agent (at startup, or when a user is created).
    pub fn add_agent(&self, id: i64, status: AgentStatus, now: i64) {
        let mut inner = self.inner.lock().unwrap();
        let workgroups = inner
            .workgroups
            .iter()
            .filter(|(_, g)| g.members.contains(&id))
            .map(|(n, _)| n.clone())
            .collect();
        inner.agents.entry(id).or_insert(Agent {
            status,
            idle_since: now,
            holding: HashMap::new(),
            workgroups,
        });
    }

    /// Puts a new interaction in its workgroup's queue and offers it if someone fits.
    pub fn enqueue(
        &self,
        id: i64,
        workgroup: &str,
        media: MediaType,
        priority: i64,
        queued_at: i64,
    ) -> Vec<Offer> {
        let mut inner = self.inner.lock().unwrap();
        let key = QueueKey {
            neg_priority: -priority,
            queued_at,
            id,
        };
        inner.interactions.insert(
            id,
            Routed {
                workgroup: workgroup.to_owned(),
                media,
                key,
                phase: Phase::Waiting,
            },
        );
        inner
            .workgroups
            .entry(workgroup.to_owned())
            .or_default()
            .waiting
            .insert(key);
        inner.offer_interaction(id).into_iter().collect()
    }

    /// Brings back an interaction that was alerting or assigned before a restart.
    pub fn restore_assigned(
        &self,
        id: i64,
        workgroup: &str,
        media: MediaType,
        priority: i64,
        queued_at: i64,
        agent: i64,
        alerting: bool,
    ) {
        let mut inner = self.inner.lock().unwrap();
        let key = QueueKey {
            neg_priority: -priority,
            queued_at,
            id,
        };
        let phase = if alerting {
            Phase::Alerting(agent)
        } else {
            Phase::Assigned(agent)
        };
        inner.interactions.insert(
            id,
            Routed {
                workgroup: workgroup.to_owned(),
                media,
                key,
                phase,
            },
        );
        inner.workgroups.entry(workgroup.to_owned()).or_default();
        if let Some(a) = inner.agents.get_mut(&agent) {
            a.holding.insert(id, media);
        }
    }

    /// Changes an agent's status; becoming available offers them waiting work.
    pub fn set_status(&self, agent: i64, status: AgentStatus, now: i64) -> Vec<Offer> {
        let mut inner = self.inner.lock().unwrap();
        let Some(a) = inner.agents.get_mut(&agent) else {
            return Vec::new();
        };
        if a.status != AgentStatus::Available && status == AgentStatus::Available {
            a.idle_since = now;
        }
        a.status = status;
        inner.fill_agent(agent)
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

    /// Whether `agent` holds (offered or assigned) interaction `id`.
    pub fn holds(&self, agent: i64, id: i64) -> bool {
        let inner = self.inner.lock().unwrap();
        matches!(
            inner.interactions.get(&id).map(|r| r.phase),
            Some(Phase::Alerting(a) | Phase::Assigned(a)) if a == agent
        )
    }

    /// An offer was not picked up in time: the agent stops receiving work and the
    /// interaction goes to the next agent, keeping its place in the queue. Returns `None`
    /// when the offer was already answered.
    pub fn alert_timeout(&self, agent: i64, id: i64) -> Option<Vec<Offer>> {
        let mut inner = self.inner.lock().unwrap();
        let routed = inner.interactions.get_mut(&id)?;
        if routed.phase != Phase::Alerting(agent) {
            return None;
        }
        routed.phase = Phase::Waiting;
        let (workgroup, key) = (routed.workgroup.clone(), routed.key);
        inner
            .workgroups
            .entry(workgroup)
            .or_default()
            .waiting
            .insert(key);
        if let Some(a) = inner.agents.get_mut(&agent) {
            a.holding.remove(&id);
            a.status = AgentStatus::NotResponding;
        }
        Some(inner.offer_interaction(id).into_iter().collect())
    }

    /// The interaction ended (disconnected, or removed by the customer): frees its agent
    /// and offers whatever that frees up.
    pub fn finish(&self, id: i64, now: i64) -> Vec<Offer> {
        let mut inner = self.inner.lock().unwrap();
        let Some(routed) = inner.interactions.remove(&id) else {
            return Vec::new();
        };
        if let Some(group) = inner.workgroups.get_mut(&routed.workgroup) {
            group.waiting.remove(&routed.key);
        }
        match routed.phase {
            Phase::Alerting(agent) | Phase::Assigned(agent) => {
                if let Some(a) = inner.agents.get_mut(&agent) {
                    a.holding.remove(&id);
                    if a.holding.is_empty() {
                        a.idle_since = now;
                    }
                }
                inner.fill_agent(agent)
            }
            Phase::Waiting => Vec::new(),
        }
    }

    /// Number of interactions waiting in each workgroup's queue.
    pub fn queue_depths(&self) -> HashMap<String, usize> {
        let inner = self.inner.lock().unwrap();
        inner
            .workgroups
            .iter()
            .map(|(n, g)| (n.clone(), g.waiting.len()))
            .collect()
    }

    /// An agent's status.
    pub fn status(&self, agent: i64) -> Option<AgentStatus> {
        self.inner
            .lock()
            .unwrap()
            .agents
            .get(&agent)
            .map(|a| a.status)
    }
}

impl Inner {
    /// Whether `agent` may take one more interaction of `media` from `workgroup`.
    fn fits(&self, agent_id: i64, workgroup: &str, media: MediaType) -> bool {
        let (Some(agent), Some(group)) =
            (self.agents.get(&agent_id), self.workgroups.get(workgroup))
        else {
            return false;
        };
        if agent.status != AgentStatus::Available || !group.members.contains(&agent_id) {
            return false;
        }
        let want = group.utilization.get(media);
        let mut percent = want.percent;
        let mut same_type = 0;
        for (held_id, held_media) in &agent.holding {
            let held_group = self.interactions.get(held_id).map(|r| r.workgroup.as_str());
            let util = held_group
                .and_then(|g| self.workgroups.get(g))
                .map(|g| g.utilization.get(*held_media))
                .unwrap_or_default();
            percent += util.percent;
            if *held_media == media {
                same_type += 1;
            }
        }
        percent <= 100 && same_type < want.max
    }

    /// Offers one waiting interaction to the longest-idle agent that fits.
    fn offer_interaction(&mut self, id: i64) -> Option<Offer> {
        let routed = self.interactions.get(&id)?;
        if routed.phase != Phase::Waiting {
            return None;
        }
        let group = self.workgroups.get(&routed.workgroup)?;
        let agent = group
            .members
            .iter()
            .filter(|a| self.fits(**a, &routed.workgroup, routed.media))
            .min_by_key(|a| (self.agents[*a].idle_since, **a))
            .copied()?;
        Some(self.assign_offer(id, agent))
    }

    /// Offers an agent the best waiting work of their workgroups while it fits.
    fn fill_agent(&mut self, agent: i64) -> Vec<Offer> {
        let mut offers = Vec::new();
        loop {
            let Some(a) = self.agents.get(&agent) else {
                return offers;
            };
            if a.status != AgentStatus::Available {
                return offers;
            }
            let best = a
                .workgroups
                .iter()
                .filter_map(|name| {
                    let group = self.workgroups.get(name)?;
                    group
                        .waiting
                        .iter()
                        .find(|key| {
                            let media = self.interactions[&key.id].media;
                            self.fits(agent, name, media)
                        })
                        .copied()
                })
                .min();
            match best {
                Some(key) => offers.push(self.assign_offer(key.id, agent)),
                None => return offers,
            }
        }
    }

    fn assign_offer(&mut self, id: i64, agent: i64) -> Offer {
        let routed = self.interactions.get_mut(&id).expect("routed interaction");
        routed.phase = Phase::Alerting(agent);
        let (workgroup, key, media) = (routed.workgroup.clone(), routed.key, routed.media);
        if let Some(group) = self.workgroups.get_mut(&workgroup) {
            group.waiting.remove(&key);
        }
        if let Some(a) = self.agents.get_mut(&agent) {
            a.holding.insert(id, media);
        }
        Offer {
            interaction: id,
            agent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::Utilization;

    const SOCIAL: MediaType = MediaType::SocialConversation;

    fn router_with(members: &[i64], util: Utilization) -> Router {
        let r = Router::new();
        let mut table = UtilizationTable::default();
        table.by_type.insert(SOCIAL.as_str().into(), util);
        r.set_workgroup("Social", members, table);
        for m in members {
            r.add_agent(*m, AgentStatus::Away, 0);
        }
        r
    }

    #[test]
    fn waits_until_an_agent_is_available_then_offers_oldest_first() {
        let r = router_with(
            &[1],
            Utilization {
                percent: 50,
                max: 1,
            },
        );
        assert!(r.enqueue(10, "Social", SOCIAL, 0, 5).is_empty());
        assert!(r.enqueue(11, "Social", SOCIAL, 0, 3).is_empty());
        let offers = r.set_status(1, AgentStatus::Available, 10);
        assert_eq!(
            offers,
            vec![Offer {
                interaction: 11,
                agent: 1
            }]
        );
    }

    #[test]
    fn priority_beats_time_in_queue() {
        let r = router_with(
            &[1],
            Utilization {
                percent: 100,
                max: 1,
            },
        );
        r.enqueue(10, "Social", SOCIAL, 0, 1);
        r.enqueue(11, "Social", SOCIAL, 5, 9);
        let offers = r.set_status(1, AgentStatus::Available, 10);
        assert_eq!(
            offers,
            vec![Offer {
                interaction: 11,
                agent: 1
            }]
        );
    }

    #[test]
    fn longest_idle_agent_gets_the_offer() {
        let r = router_with(
            &[1, 2],
            Utilization {
                percent: 25,
                max: 4,
            },
        );
        r.set_status(2, AgentStatus::Available, 100);
        r.set_status(1, AgentStatus::Available, 200);
        assert_eq!(r.enqueue(10, "Social", SOCIAL, 0, 300)[0].agent, 2);
    }

    #[test]
    fn utilization_caps_percent_and_count() {
        let r = router_with(
            &[1],
            Utilization {
                percent: 40,
                max: 4,
            },
        );
        r.set_status(1, AgentStatus::Available, 0);
        let offered: usize = (0..5)
            .map(|i| r.enqueue(i, "Social", SOCIAL, 0, i).len())
            .sum();
        assert_eq!(offered, 2, "40% each: two fit under 100%");
        let r = router_with(
            &[1],
            Utilization {
                percent: 10,
                max: 3,
            },
        );
        r.set_status(1, AgentStatus::Available, 0);
        let offered: usize = (0..5)
            .map(|i| r.enqueue(i, "Social", SOCIAL, 0, i).len())
            .sum();
        assert_eq!(offered, 3, "max 3 of the type");
    }

    #[test]
    fn finishing_frees_capacity_for_the_next_in_queue() {
        let r = router_with(
            &[1],
            Utilization {
                percent: 100,
                max: 1,
            },
        );
        r.set_status(1, AgentStatus::Available, 0);
        r.enqueue(1, "Social", SOCIAL, 0, 1);
        assert!(r.enqueue(2, "Social", SOCIAL, 0, 2).is_empty());
        r.pickup(1, 1).unwrap();
        assert_eq!(
            r.finish(1, 5),
            vec![Offer {
                interaction: 2,
                agent: 1
            }]
        );
    }

    #[test]
    fn alert_timeout_makes_agent_not_responding_and_offers_next() {
        let r = router_with(
            &[1, 2],
            Utilization {
                percent: 100,
                max: 1,
            },
        );
        r.set_status(1, AgentStatus::Available, 0);
        r.set_status(2, AgentStatus::Available, 10);
        assert_eq!(r.enqueue(7, "Social", SOCIAL, 0, 20)[0].agent, 1);
        let next = r.alert_timeout(1, 7).unwrap();
        assert_eq!(
            next,
            vec![Offer {
                interaction: 7,
                agent: 2
            }]
        );
        assert_eq!(r.status(1), Some(AgentStatus::NotResponding));
        assert!(r.alert_timeout(1, 7).is_none(), "stale timer is ignored");
        assert_eq!(r.pickup(1, 7), Err(RouterError::NotYours(7)));
    }
}
