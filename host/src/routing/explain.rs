//! Why an interaction waits: every agent the router would consider for it, sorted by the
//! first rule that passes them over, in the order [`Inner::eligible`] applies the rules.
//! What a supervisor reads in the interaction's trace ("3 away, 1 lacks the skills,
//! 1 at capacity"). Kept small on purpose: counts per reason and at most a few agents by
//! name, so recording it with every queueing costs little however large the workgroup.

use serde::{Deserialize, Serialize};

use super::{Inner, Phase, Router, Target};
use crate::routing::AgentStatus;

/// Agents named per reason.
const NAMED: usize = 3;

/// Why an agent was not offered the interaction: the first rule that failed.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PassReason {
    /// Away, Not responding or logged out.
    NotAvailable,
    /// Owes a wrap-up for an earlier interaction.
    WrapupOwed,
    /// Neither the user nor their station has the access right (or its feature is off).
    NoRight,
    /// It waits for its preferred agent first.
    WaitingForPreferred,
    /// Declined it a moment ago.
    Declined,
    /// Lacks the skills its expression needs.
    Skills,
    /// Utilization: the percentages or the maximum per type leave no room.
    AtCapacity,
}

/// One reason with how many agents it passed over and the first few of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Passed {
    /// The rule.
    pub reason: PassReason,
    /// Agents it passed over.
    pub count: usize,
    /// Up to three of them, by user id.
    pub agents: Vec<i64>,
}

/// The router's view of one interaction now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Explanation {
    /// `waiting`, `alerting` or `assigned`.
    pub phase: String,
    /// The queue it waits in.
    pub workgroup: String,
    /// The agent it waits for first, and until when (unix ms).
    pub preferred: Option<(i64, i64)>,
    /// Agents considered: the workgroup's members and a preferred or target agent.
    pub considered: usize,
    /// Agents who could be offered it now (more than none while it waits means an
    /// offer is on its way).
    pub eligible: Vec<i64>,
    /// The others, by the first rule that passed them over.
    pub passed_over: Vec<Passed>,
}

impl Inner {
    /// The first rule that keeps `agent_id` from being offered `id` now, or `None`.
    fn pass_reason(&self, agent_id: i64, id: i64, now: i64) -> Option<PassReason> {
        let r = self.interactions.get(&id)?;
        let Some(agent) = self.agents.get(&agent_id) else {
            return Some(PassReason::NotAvailable);
        };
        if agent.status != AgentStatus::Available {
            return Some(PassReason::NotAvailable);
        }
        if !agent.wrapup.is_empty() {
            return Some(PassReason::WrapupOwed);
        }
        if !self.rights(agent)[super::right_index(r.req.right)] {
            return Some(PassReason::NoRight);
        }
        let allowed = match &r.req.target {
            Target::Only(only) => *only == agent_id,
            Target::Preferred { agent, until } if now < *until => *agent == agent_id,
            _ => agent.workgroups.contains(&r.req.workgroup),
        };
        if !allowed {
            return Some(PassReason::WaitingForPreferred);
        }
        if r.declined.get(&agent_id).is_some_and(|again| now < *again) {
            return Some(PassReason::Declined);
        }
        if let Some(expr) = &r.req.skills
            && !expr.matches(&agent.profile.skills)
        {
            return Some(PassReason::Skills);
        }
        if !self.room(agent, &self.load(agent), &r.req.workgroup, r.req.media) {
            return Some(PassReason::AtCapacity);
        }
        None
    }
}

impl Router {
    /// Why interaction `id` is where it is; `None` when the router does not have it.
    pub fn explain(&self, id: i64, now: i64) -> Option<Explanation> {
        let inner = self.inner.lock().unwrap();
        let r = inner.interactions.get(&id)?;
        let mut candidates: Vec<i64> = inner
            .workgroups
            .get(&r.req.workgroup)
            .map(|g| g.members.iter().copied().collect())
            .unwrap_or_default();
        let preferred = match r.req.target {
            Target::Preferred { agent, until } => Some((agent, until)),
            Target::Only(agent) => Some((agent, i64::MAX)),
            Target::Anyone => None,
        };
        if let Some((agent, _)) = preferred
            && !candidates.contains(&agent)
        {
            candidates.push(agent);
        }
        candidates.sort_unstable();
        let mut eligible = Vec::new();
        let mut passed: std::collections::BTreeMap<PassReason, Passed> = Default::default();
        for agent in &candidates {
            match inner.pass_reason(*agent, id, now) {
                None => eligible.push(*agent),
                Some(reason) => {
                    let entry = passed.entry(reason).or_insert(Passed {
                        reason,
                        count: 0,
                        agents: Vec::new(),
                    });
                    entry.count += 1;
                    if entry.agents.len() < NAMED {
                        entry.agents.push(*agent);
                    }
                }
            }
        }
        Some(Explanation {
            phase: match r.phase {
                Phase::Waiting => "waiting",
                Phase::Alerting(_) => "alerting",
                Phase::Assigned(_) => "assigned",
            }
            .into(),
            workgroup: r.req.workgroup.clone(),
            preferred,
            considered: candidates.len(),
            eligible,
            passed_over: passed.into_values().collect(),
        })
    }
}
