//! Property tests of the router: random small worlds and long random sequences of
//! operations, checked after every operation against the router's own invariants
//! (`check_invariants`) and against an independent model of who may be offered what.
//!
//! The model keeps every agent, workgroup and interaction the test created and decides
//! eligibility with its own code (not the router's), so a rule the router gets wrong in
//! `eligible` shows up here even where `check_invariants` (which uses `eligible`) agrees
//! with itself. After each operation:
//! - every offer it returned is for an interaction the model has waiting (never offered
//!   twice without a release in between), to an agent the model says is eligible right
//!   then (available, no wrap-up owed, feature on, user or station right, member or
//!   target, skills, utilization), and is the best choice (queue order for an agent,
//!   skill score then longest idle for an interaction);
//! - `check_invariants(now)` is Ok, and no waiting interaction is eligible for anyone by
//!   the model either;
//! - the router's agents (holdings, status, wrap-ups, utilization) and queue depths equal
//!   the model's, and every interaction that arrived is finished or still present.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use proptest::prelude::*;
use proptest::test_runner::Config;

use super::skills::Op as Cmp;
use super::*;
use crate::model::interaction::MediaType;

const SKILL_NAMES: [&str; 3] = ["english", "billing", "refunds"];
const RIGHTS: [&str; 2] = ["acd_social_media", "acd_whatsapp"];
const MEDIA: [MediaType; 2] = [
    MediaType::SocialConversation,
    MediaType::SocialDirectMessage,
];
const MAX_AGENTS: usize = 6;

// ---------------------------------------------------------------------------------------
// What the generators produce.

#[derive(Clone, Debug)]
struct ProfileSpec {
    rights: [bool; 2],
    /// Level per skill name; `None`: the agent does not have it at all.
    skills: [Option<u32>; 3],
    /// Per-user override per media type.
    util: [Option<Utilization>; 2],
}

#[derive(Clone, Debug)]
struct AgentSpec {
    registered: bool,
    profile: ProfileSpec,
    station: [bool; 2],
    status: AgentStatus,
}

#[derive(Clone, Debug)]
struct GroupSpec {
    members: [bool; MAX_AGENTS],
    util: [Option<Utilization>; 2],
}

#[derive(Clone, Debug)]
struct WorldSpec {
    skill_names: usize,
    agents: Vec<AgentSpec>,
    groups: Vec<GroupSpec>,
}

#[derive(Clone, Debug)]
enum ExprSpec {
    Has(usize),
    Cmp(usize, Cmp, u32),
    And(Box<ExprSpec>, Box<ExprSpec>),
    Or(Box<ExprSpec>, Box<ExprSpec>),
    Not(Box<ExprSpec>),
}

#[derive(Clone, Debug)]
enum Action {
    Arrive {
        group: usize,
        dm: bool,
        whatsapp: bool,
        priority: i64,
        back: i64,
        skills: Option<ExprSpec>,
        preferred: Option<(usize, i64)>,
    },
    Status {
        agent: usize,
        status: AgentStatus,
    },
    Pickup {
        pick: usize,
        wrong_agent: bool,
    },
    PickupWaiting {
        pick: usize,
    },
    Timeout {
        pick: usize,
    },
    StaleTimeout {
        pick: usize,
    },
    Finish {
        pick: usize,
        wrapup: bool,
    },
    FinishStale {
        pick: usize,
    },
    WrapupDone {
        pick: usize,
    },
    TransferGroup {
        pick: usize,
        group: usize,
        priority: i64,
    },
    TransferAgent {
        pick: usize,
        agent: usize,
    },
    Reconsider {
        pick: usize,
    },
    Profile {
        agent: usize,
        profile: ProfileSpec,
        status: AgentStatus,
    },
    Members {
        group: usize,
        members: [bool; MAX_AGENTS],
        util: Option<[Option<Utilization>; 2]>,
    },
    Station {
        agent: usize,
        rights: [bool; 2],
    },
    Features {
        social: bool,
        whatsapp: bool,
    },
    Advance {
        ms: i64,
    },
}

fn utilization() -> impl Strategy<Value = Utilization> {
    // Small maxima and large percentages make capacity bind often.
    (0u32..=100, prop_oneof![3 => 1u32..=3, 1 => 1u32..=25])
        .prop_map(|(percent, max)| Utilization { percent, max })
}

fn util_pair() -> impl Strategy<Value = [Option<Utilization>; 2]> {
    (
        proptest::option::of(utilization()),
        proptest::option::of(utilization()),
    )
        .prop_map(|(a, b)| [a, b])
}

fn status() -> impl Strategy<Value = AgentStatus> {
    prop_oneof![
        4 => Just(AgentStatus::Available),
        2 => Just(AgentStatus::Away),
        1 => Just(AgentStatus::NotResponding),
        1 => Just(AgentStatus::LoggedOut),
    ]
}

fn rights() -> impl Strategy<Value = [bool; 2]> {
    // Mostly with the social right, so that work flows.
    (prop::bool::weighted(0.8), any::<bool>()).prop_map(|(a, b)| [a, b])
}

fn profile_spec() -> impl Strategy<Value = ProfileSpec> {
    let level = proptest::option::weighted(0.7, 0u32..=5);
    (
        rights(),
        [level.clone(), level.clone(), level],
        prop_oneof![2 => Just([None, None]), 1 => util_pair()],
    )
        .prop_map(|(rights, skills, util)| ProfileSpec {
            rights,
            skills,
            util,
        })
}

fn agent_spec() -> impl Strategy<Value = AgentSpec> {
    (
        prop::bool::weighted(0.9),
        profile_spec(),
        (prop::bool::weighted(0.2), prop::bool::weighted(0.2)),
        status(),
    )
        .prop_map(|(registered, profile, (s, w), status)| AgentSpec {
            registered,
            profile,
            station: [s, w],
            status,
        })
}

fn members() -> impl Strategy<Value = [bool; MAX_AGENTS]> {
    proptest::array::uniform6(prop::bool::weighted(0.6))
}

fn group_spec() -> impl Strategy<Value = GroupSpec> {
    (members(), util_pair()).prop_map(|(members, util)| GroupSpec { members, util })
}

fn world() -> impl Strategy<Value = WorldSpec> {
    (
        2usize..=3,
        proptest::collection::vec(agent_spec(), 3..=MAX_AGENTS),
        proptest::collection::vec(group_spec(), 2..=3),
    )
        .prop_map(|(skill_names, agents, groups)| WorldSpec {
            skill_names,
            agents,
            groups,
        })
}

fn cmp() -> impl Strategy<Value = Cmp> {
    prop_oneof![
        Just(Cmp::Ge),
        Just(Cmp::Gt),
        Just(Cmp::Le),
        Just(Cmp::Lt),
        Just(Cmp::Eq),
        Just(Cmp::Ne)
    ]
}

fn expr() -> impl Strategy<Value = ExprSpec> {
    let leaf = prop_oneof![
        (0usize..3).prop_map(ExprSpec::Has),
        (0usize..3, cmp(), 0u32..=5).prop_map(|(n, op, v)| ExprSpec::Cmp(n, op, v)),
    ];
    leaf.prop_recursive(2, 6, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| ExprSpec::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| ExprSpec::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|a| ExprSpec::Not(Box::new(a))),
        ]
    })
}

fn action(config_changes: u32) -> impl Strategy<Value = Action> {
    let pick = any::<usize>;
    prop_oneof![
        12 => (0usize..3, any::<bool>(), prop::bool::weighted(0.25), 0i64..3, 0i64..50,
               proptest::option::weighted(0.4, expr()),
               proptest::option::weighted(0.2, (0usize..MAX_AGENTS, 0i64..2000)))
            .prop_map(|(group, dm, whatsapp, priority, back, skills, preferred)| Action::Arrive {
                group, dm, whatsapp, priority, back, skills, preferred
            }),
        6 => (0usize..MAX_AGENTS, status()).prop_map(|(agent, status)| Action::Status { agent, status }),
        8 => (pick(), prop::bool::weighted(0.1)).prop_map(|(pick, wrong_agent)| Action::Pickup { pick, wrong_agent }),
        1 => pick().prop_map(|pick| Action::PickupWaiting { pick }),
        3 => pick().prop_map(|pick| Action::Timeout { pick }),
        1 => pick().prop_map(|pick| Action::StaleTimeout { pick }),
        9 => (pick(), prop::bool::weighted(0.3)).prop_map(|(pick, wrapup)| Action::Finish { pick, wrapup }),
        1 => pick().prop_map(|pick| Action::FinishStale { pick }),
        3 => pick().prop_map(|pick| Action::WrapupDone { pick }),
        2 => (pick(), 0usize..3, 0i64..3).prop_map(|(pick, group, priority)| Action::TransferGroup { pick, group, priority }),
        2 => (pick(), 0usize..MAX_AGENTS).prop_map(|(pick, agent)| Action::TransferAgent { pick, agent }),
        1 => pick().prop_map(|pick| Action::Reconsider { pick }),
        config_changes => (0usize..MAX_AGENTS, profile_spec(), status())
            .prop_map(|(agent, profile, status)| Action::Profile { agent, profile, status }),
        config_changes => (0usize..3, members(), proptest::option::weighted(0.5, util_pair()))
            .prop_map(|(group, members, util)| Action::Members { group, members, util }),
        config_changes => (0usize..MAX_AGENTS, rights()).prop_map(|(agent, rights)| Action::Station { agent, rights }),
        1 => (prop::bool::weighted(0.85), prop::bool::weighted(0.85))
            .prop_map(|(social, whatsapp)| Action::Features { social, whatsapp }),
        4 => prop_oneof![0i64..50, 0i64..1500].prop_map(|ms| Action::Advance { ms }),
    ]
}

// ---------------------------------------------------------------------------------------
// The model.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Waiting,
    Alerting(i64),
    Assigned(i64),
}

impl Phase {
    fn agent(self) -> Option<i64> {
        match self {
            Phase::Waiting => None,
            Phase::Alerting(a) | Phase::Assigned(a) => Some(a),
        }
    }
}

#[derive(Clone, Debug)]
struct MAgent {
    registered: bool,
    status: AgentStatus,
    idle_since: i64,
    profile: AgentProfile,
    station: HashSet<String>,
    wrapup: BTreeSet<i64>,
}

#[derive(Clone, Debug)]
struct MGroup {
    members: BTreeSet<i64>,
    util: UtilizationTable,
}

#[derive(Clone, Debug)]
struct MInteraction {
    req: Request,
    phase: Phase,
}

/// How the router picks for the offers of one operation.
#[derive(Clone, Copy, Debug)]
enum Fill {
    /// Nothing can be offered.
    Nothing,
    /// The best agent for this interaction (enqueue, reconsider, alert timeout).
    Interaction(i64),
    /// The best work for this agent, as long as they have room.
    Agent(i64),
    /// `Interaction(id)` then `Agent(freed)` (a transfer).
    Transfer(i64, Option<i64>),
    /// The best work for any agent (workgroup or feature changes).
    Everyone,
}

struct Model {
    router: Router,
    /// Whether utilization may change under held work (then `check_invariants` may
    /// rightly report an agent over capacity, and is asserted only when nobody is).
    loose_config: bool,
    now: i64,
    features: Features,
    skill_names: usize,
    agents: BTreeMap<i64, MAgent>,
    groups: BTreeMap<String, MGroup>,
    interactions: BTreeMap<i64, MInteraction>,
    next_id: i64,
    arrived: usize,
    finished: Vec<i64>,
}

fn group_name(i: usize) -> String {
    format!("wg{i}")
}

fn table(util: &[Option<Utilization>; 2]) -> UtilizationTable {
    let mut t = UtilizationTable::default();
    for (media, u) in MEDIA.iter().zip(util) {
        if let Some(u) = u {
            t.by_type.insert(media.as_str().into(), *u);
        }
    }
    t
}

fn right_set(rights: [bool; 2]) -> HashSet<String> {
    RIGHTS
        .iter()
        .zip(rights)
        .filter(|(_, on)| *on)
        .map(|(r, _)| r.to_string())
        .collect()
}

fn key(req: &Request) -> (i64, i64, i64) {
    (-req.priority, req.queued_at, req.id)
}

impl Model {
    fn new(world: &WorldSpec, loose_config: bool) -> Model {
        let mut m = Model {
            router: Router::new(),
            loose_config,
            now: 1_000,
            features: Features::default(),
            skill_names: world.skill_names,
            agents: BTreeMap::new(),
            groups: BTreeMap::new(),
            interactions: BTreeMap::new(),
            next_id: 1,
            arrived: 0,
            finished: Vec::new(),
        };
        for (i, _) in world.agents.iter().enumerate() {
            m.agents.insert(
                i as i64 + 1,
                MAgent {
                    registered: false,
                    status: AgentStatus::LoggedOut,
                    idle_since: 0,
                    profile: AgentProfile::default(),
                    station: HashSet::new(),
                    wrapup: BTreeSet::new(),
                },
            );
        }
        for (g, spec) in world.groups.iter().enumerate() {
            m.set_members(g, spec.members, Some(spec.util));
        }
        for (i, spec) in world.agents.iter().enumerate() {
            if spec.registered {
                m.upsert(i, &spec.profile, spec.status);
                m.station(i, spec.station);
            }
        }
        m
    }

    fn agent_id(&self, index: usize) -> i64 {
        (index % self.agents.len()) as i64 + 1
    }

    fn profile(&self, spec: &ProfileSpec) -> AgentProfile {
        AgentProfile {
            rights: right_set(spec.rights),
            skills: SKILL_NAMES[..self.skill_names]
                .iter()
                .zip(spec.skills)
                .filter_map(|(name, level)| level.map(|l| (name.to_string(), l)))
                .collect(),
            utilization: table(&spec.util),
        }
    }

    fn skill_expr(&self, spec: &ExprSpec) -> SkillExpr {
        let name = |i: &usize| SKILL_NAMES[*i % self.skill_names].to_string();
        match spec {
            ExprSpec::Has(n) => SkillExpr::Has(name(n)),
            ExprSpec::Cmp(n, op, v) => SkillExpr::Cmp(name(n), *op, *v),
            ExprSpec::And(a, b) => {
                SkillExpr::And(Box::new(self.skill_expr(a)), Box::new(self.skill_expr(b)))
            }
            ExprSpec::Or(a, b) => {
                SkillExpr::Or(Box::new(self.skill_expr(a)), Box::new(self.skill_expr(b)))
            }
            ExprSpec::Not(a) => SkillExpr::Not(Box::new(self.skill_expr(a))),
        }
    }

    // ----- the model's own routing rules -----

    fn setting(&self, agent: &MAgent, group: &str, media: MediaType) -> Utilization {
        if let Some(u) = agent.profile.utilization.by_type.get(media.as_str()) {
            return *u;
        }
        self.groups
            .get(group)
            .and_then(|g| g.util.by_type.get(media.as_str()).copied())
            .unwrap_or_default()
    }

    fn held(&self, agent: i64) -> impl Iterator<Item = &MInteraction> {
        self.interactions
            .values()
            .filter(move |i| i.phase.agent() == Some(agent))
    }

    fn used_percent(&self, id: i64) -> u32 {
        let agent = &self.agents[&id];
        self.held(id)
            .map(|i| self.setting(agent, &i.req.workgroup, i.req.media).percent)
            .sum()
    }

    /// Whether the agent holds more than some applicable setting allows (possible only
    /// when utilization was lowered under held work).
    fn over_capacity(&self, id: i64) -> bool {
        let agent = &self.agents[&id];
        if self.used_percent(id) > 100 {
            return true;
        }
        MEDIA.iter().any(|media| {
            let count = self.held(id).filter(|i| i.req.media == *media).count() as u32;
            self.held(id)
                .filter(|i| i.req.media == *media)
                .any(|i| count > self.setting(agent, &i.req.workgroup, *media).max)
        })
    }

    fn eligible(&self, agent_id: i64, interaction: i64) -> bool {
        let Some(agent) = self.agents.get(&agent_id) else {
            return false;
        };
        let req = &self.interactions[&interaction].req;
        if !agent.registered || agent.status != AgentStatus::Available || !agent.wrapup.is_empty() {
            return false;
        }
        if !self.features.allows(req.right) {
            return false;
        }
        let right = req.right.as_str();
        if !agent.profile.rights.contains(right) && !agent.station.contains(right) {
            return false;
        }
        let member = self
            .groups
            .get(&req.workgroup)
            .is_some_and(|g| g.members.contains(&agent_id));
        let allowed = match req.target {
            Target::Anyone => member,
            // While it waits for its preferred agent, only they may have it (member or
            // not: they were chosen by name); then any member.
            Target::Preferred { agent, until } if self.now < until => agent == agent_id,
            Target::Preferred { .. } => member,
            Target::Only(only) => only == agent_id,
        };
        if !allowed {
            return false;
        }
        if let Some(expr) = &req.skills
            && !expr.matches(&agent.profile.skills)
        {
            return false;
        }
        // Room: the sum of percentages stays within 100, and the count of the type stays
        // within the maximum of every setting that applies to it (the new one's and
        // those of the held ones of the same type).
        let want = self.setting(agent, &req.workgroup, req.media);
        if self.used_percent(agent_id) + want.percent > 100 {
            return false;
        }
        let same: Vec<&MInteraction> = self
            .held(agent_id)
            .filter(|i| i.req.media == req.media)
            .collect();
        let count = same.len() as u32 + 1;
        count <= want.max
            && same
                .iter()
                .all(|i| count <= self.setting(agent, &i.req.workgroup, req.media).max)
    }

    fn waiting(&self) -> Vec<i64> {
        self.interactions
            .iter()
            .filter(|(_, i)| i.phase == Phase::Waiting)
            .map(|(id, _)| *id)
            .collect()
    }

    /// The agent the router must choose for a waiting interaction: best skill score, then
    /// longest idle, then lowest id.
    fn best_agent(&self, interaction: i64) -> Option<i64> {
        let req = &self.interactions[&interaction].req;
        self.agents
            .iter()
            .filter(|(id, _)| self.eligible(**id, interaction))
            .min_by_key(|(id, a)| {
                let score = req
                    .skills
                    .as_ref()
                    .map_or(0, |e| e.score(&a.profile.skills));
                (std::cmp::Reverse(score), a.idle_since, **id)
            })
            .map(|(id, _)| *id)
    }

    /// The work the router must offer an agent next: queue order among what they may take.
    fn best_work(&self, agent: i64) -> Option<i64> {
        self.waiting()
            .into_iter()
            .filter(|id| self.eligible(agent, *id))
            .min_by_key(|id| key(&self.interactions[id].req))
    }

    // ----- checking what an operation returned -----

    fn take_offer(&mut self, offer: &Offer, what: &str) {
        let Some(inter) = self.interactions.get(&offer.interaction) else {
            panic!(
                "{what}: offered {} which the model does not have",
                offer.interaction
            );
        };
        assert_eq!(
            inter.phase,
            Phase::Waiting,
            "{what}: interaction {} offered to {} while {:?} (offered twice without a release)",
            offer.interaction,
            offer.agent,
            inter.phase
        );
        assert!(
            self.eligible(offer.agent, offer.interaction),
            "{what}: interaction {} offered to agent {} who may not take it: {:?}",
            offer.interaction,
            offer.agent,
            self.agents.get(&offer.agent)
        );
        self.interactions.get_mut(&offer.interaction).unwrap().phase = Phase::Alerting(offer.agent);
    }

    fn offers(&mut self, fill: Fill, offers: Vec<Offer>, what: &str) {
        let mut rest = offers.as_slice();
        let fill_interaction = |m: &mut Model, rest: &mut &[Offer], id: i64| {
            let best = m.best_agent(id);
            match rest.first() {
                Some(o) if o.interaction == id => {
                    assert_eq!(
                        Some(o.agent),
                        best,
                        "{what}: interaction {id} offered to {} not the best agent",
                        o.agent
                    );
                    m.take_offer(o, what);
                    *rest = &rest[1..];
                }
                _ => assert_eq!(
                    best, None,
                    "{what}: interaction {id} not offered though agent {best:?} could take it"
                ),
            }
        };
        let fill_agent = |m: &mut Model, rest: &mut &[Offer], agent: i64| {
            while let Some(o) = rest.first().filter(|o| o.agent == agent) {
                assert_eq!(
                    Some(o.interaction),
                    m.best_work(agent),
                    "{what}: agent {agent} offered {} out of queue order",
                    o.interaction
                );
                m.take_offer(o, what);
                *rest = &rest[1..];
            }
            assert_eq!(
                m.best_work(agent),
                None,
                "{what}: agent {agent} left with work they could take"
            );
        };
        match fill {
            Fill::Nothing => {}
            Fill::Interaction(id) => fill_interaction(self, &mut rest, id),
            Fill::Agent(agent) => fill_agent(self, &mut rest, agent),
            Fill::Transfer(id, freed) => {
                fill_interaction(self, &mut rest, id);
                if let Some(agent) = freed {
                    fill_agent(self, &mut rest, agent);
                }
            }
            Fill::Everyone => {
                // Agents are filled one after the other, longest idle first.
                while let Some(agent) = rest.first().map(|o| o.agent) {
                    fill_agent(self, &mut rest, agent);
                }
            }
        }
        assert!(rest.is_empty(), "{what}: unexpected offers {rest:?}");
    }

    /// Everything that must hold between operations.
    fn check(&self, what: &str) {
        let any_over = self.agents.keys().any(|a| self.over_capacity(*a));
        if (!self.loose_config || !any_over)
            && let Err(e) = self.router.check_invariants(self.now)
        {
            panic!("{what}: check_invariants: {e}");
        }
        for id in self.waiting() {
            for agent in self.agents.keys() {
                assert!(
                    !self.eligible(*agent, id),
                    "{what}: interaction {id} waits while agent {agent} could take it"
                );
            }
        }
        let views = self.router.agents();
        let registered: Vec<i64> = self
            .agents
            .iter()
            .filter(|(_, a)| a.registered)
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(
            views.iter().map(|v| v.id).collect::<Vec<_>>(),
            registered,
            "{what}: agents"
        );
        for v in &views {
            let a = &self.agents[&v.id];
            let held: Vec<i64> = self.held(v.id).map(|i| i.req.id).collect();
            assert_eq!(v.interactions, held, "{what}: agent {} holdings", v.id);
            assert_eq!(v.status, a.status, "{what}: agent {} status", v.id);
            assert_eq!(
                v.wrapup_pending,
                a.wrapup.iter().copied().collect::<Vec<_>>(),
                "{what}: agent {} wrap-ups",
                v.id
            );
            assert_eq!(
                v.utilization_used,
                self.used_percent(v.id),
                "{what}: agent {} utilization",
                v.id
            );
        }
        let queues = self.router.queues();
        let mut queued_in_groups = 0;
        for q in &queues {
            let expected = self
                .interactions
                .values()
                .filter(|i| i.phase == Phase::Waiting && i.req.workgroup == q.workgroup)
                .filter(|i| !matches!(i.req.target, Target::Only(_)))
                .count();
            assert_eq!(q.waiting, expected, "{what}: queue {} depth", q.workgroup);
            queued_in_groups += q.waiting;
        }
        let direct = self
            .interactions
            .values()
            .filter(|i| i.phase == Phase::Waiting && matches!(i.req.target, Target::Only(_)))
            .count();
        let held: usize = views.iter().map(|v| v.interactions.len()).sum();
        assert_eq!(
            held + queued_in_groups + direct,
            self.interactions.len(),
            "{what}: interactions lost"
        );
        assert_eq!(
            self.arrived,
            self.finished.len() + self.interactions.len(),
            "{what}: arrivals unaccounted for"
        );
    }

    // ----- operations, on the router and the model together -----

    fn upsert(&mut self, index: usize, spec: &ProfileSpec, status: AgentStatus) {
        let id = self.agent_id(index);
        let mut profile = self.profile(spec);
        let holds = self.held(id).next().is_some();
        let agent = self.agents.get_mut(&id).unwrap();
        if agent.registered {
            if holds && !self.loose_config {
                profile.utilization = agent.profile.utilization.clone();
            }
            agent.profile = profile.clone();
        } else {
            *agent = MAgent {
                registered: true,
                status,
                idle_since: self.now,
                profile: profile.clone(),
                station: HashSet::new(),
                wrapup: BTreeSet::new(),
            };
        }
        let offers = self.router.upsert_agent(id, profile, status, self.now);
        self.offers(Fill::Agent(id), offers, "upsert_agent");
    }

    fn station(&mut self, index: usize, rights: [bool; 2]) {
        let id = self.agent_id(index);
        let rights = right_set(rights);
        let agent = self.agents.get_mut(&id).unwrap();
        if agent.registered {
            agent.station = rights.clone();
        }
        let offers = self.router.set_station_rights(id, rights, self.now);
        self.offers(Fill::Agent(id), offers, "set_station_rights");
    }

    fn set_members(
        &mut self,
        group: usize,
        members: [bool; MAX_AGENTS],
        util: Option<[Option<Utilization>; 2]>,
    ) {
        let name = group_name(group);
        let ids: Vec<i64> = members
            .iter()
            .enumerate()
            .filter(|(i, on)| **on && *i < self.agents.len())
            .map(|(i, _)| i as i64 + 1)
            .collect();
        let held_here = self
            .interactions
            .values()
            .any(|i| i.phase != Phase::Waiting && i.req.workgroup == name);
        let current = self
            .groups
            .get(&name)
            .map(|g| g.util.clone())
            .unwrap_or_default();
        let util = match util {
            Some(u) if self.loose_config || !held_here => table(&u),
            _ => current,
        };
        self.groups.insert(
            name.clone(),
            MGroup {
                members: ids.iter().copied().collect(),
                util: util.clone(),
            },
        );
        let offers = self.router.set_workgroup(&name, &ids, util, self.now);
        self.offers(Fill::Everyone, offers, "set_workgroup");
    }

    fn pick(&self, pick: usize, filter: impl Fn(&MInteraction) -> bool) -> Option<i64> {
        let ids: Vec<i64> = self
            .interactions
            .iter()
            .filter(|(_, i)| filter(i))
            .map(|(id, _)| *id)
            .collect();
        (!ids.is_empty()).then(|| ids[pick % ids.len()])
    }

    /// The agent holding an interaction (alerting or assigned).
    fn holder(&self, id: i64) -> Option<i64> {
        self.interactions.get(&id).and_then(|i| i.phase.agent())
    }

    fn finish(&mut self, id: i64, wrapup: bool) {
        let now = self.now;
        let holder = self.holder(id);
        self.interactions.remove(&id);
        self.finished.push(id);
        if let Some(agent) = holder {
            let still_holds = self.held(agent).next().is_some();
            let a = self.agents.get_mut(&agent).unwrap();
            if wrapup {
                a.wrapup.insert(id);
            }
            if !still_holds {
                a.idle_since = now;
            }
        }
        let offers = self.router.finish(id, wrapup, now);
        self.offers(holder.map_or(Fill::Nothing, Fill::Agent), offers, "finish");
    }

    fn run(&mut self, action: &Action) {
        let now = self.now;
        match action.clone() {
            Action::Arrive {
                group,
                dm,
                whatsapp,
                priority,
                back,
                skills,
                preferred,
            } => {
                let id = self.next_id;
                self.next_id += 1;
                let target = match preferred {
                    Some((agent, wait)) => Target::Preferred {
                        agent: self.agent_id(agent),
                        until: now + wait,
                    },
                    None => Target::Anyone,
                };
                let req = Request {
                    id,
                    workgroup: group_name(group % self.groups.len()),
                    media: MEDIA[dm as usize],
                    priority,
                    queued_at: now - back,
                    right: if whatsapp {
                        Right::Whatsapp
                    } else {
                        Right::SocialMedia
                    },
                    skills: skills.map(|s| self.skill_expr(&s)),
                    target,
                };
                self.arrived += 1;
                self.interactions.insert(
                    id,
                    MInteraction {
                        req: req.clone(),
                        phase: Phase::Waiting,
                    },
                );
                let offers = self.router.enqueue(req, now);
                self.offers(Fill::Interaction(id), offers, "enqueue");
            }
            Action::Status { agent, status } => {
                let id = self.agent_id(agent);
                let a = self.agents.get_mut(&id).unwrap();
                if a.registered {
                    if a.status != AgentStatus::Available && status == AgentStatus::Available {
                        a.idle_since = now;
                    }
                    a.status = status;
                }
                let offers = self.router.set_status(id, status, now);
                self.offers(Fill::Agent(id), offers, "set_status");
            }
            Action::Pickup { pick, wrong_agent } => {
                let Some(id) = self.pick(pick, |i| i.phase != Phase::Waiting) else {
                    return;
                };
                let holder = self.interactions[&id].phase.agent().unwrap();
                if wrong_agent {
                    let other = holder % self.agents.len() as i64 + 1;
                    assert_eq!(
                        self.router.pickup(other, id),
                        Err(RouterError::NotYours(id)),
                        "pickup by another agent"
                    );
                } else {
                    assert_eq!(self.router.pickup(holder, id), Ok(()), "pickup");
                    self.interactions.get_mut(&id).unwrap().phase = Phase::Assigned(holder);
                }
            }
            Action::PickupWaiting { pick } => {
                let Some(id) = self.pick(pick, |i| i.phase == Phase::Waiting) else {
                    return;
                };
                assert_eq!(
                    self.router.pickup(1, id),
                    Err(RouterError::NotAlerting(id)),
                    "pickup of waiting work"
                );
            }
            Action::Timeout { pick } => {
                let Some(id) = self.pick(pick, |i| matches!(i.phase, Phase::Alerting(_))) else {
                    return;
                };
                let agent = self.holder(id).unwrap();
                self.interactions.get_mut(&id).unwrap().phase = Phase::Waiting;
                self.agents.get_mut(&agent).unwrap().status = AgentStatus::NotResponding;
                let offers = self
                    .router
                    .alert_timeout(agent, id, now)
                    .expect("the offer was alerting");
                self.offers(Fill::Interaction(id), offers, "alert_timeout");
            }
            Action::StaleTimeout { pick } => {
                let Some(id) = self.pick(pick, |i| !matches!(i.phase, Phase::Alerting(_))) else {
                    return;
                };
                let agent = self.holder(id).unwrap_or(1);
                assert_eq!(
                    self.router.alert_timeout(agent, id, now),
                    None,
                    "a stale alert timer"
                );
            }
            Action::Finish { pick, wrapup } => {
                let Some(id) = self.pick(pick, |_| true) else {
                    return;
                };
                self.finish(id, wrapup);
            }
            Action::FinishStale { pick } => {
                if self.finished.is_empty() {
                    return;
                }
                let id = self.finished[pick % self.finished.len()];
                assert!(
                    self.router.finish(id, true, now).is_empty(),
                    "finishing a finished interaction"
                );
            }
            Action::WrapupDone { pick } => {
                let pending: Vec<(i64, i64)> = self
                    .agents
                    .iter()
                    .flat_map(|(a, m)| m.wrapup.iter().map(move |id| (*a, *id)))
                    .collect();
                if pending.is_empty() {
                    // A wrap-up nobody owes changes nothing.
                    if let Some(id) = self.finished.last() {
                        assert!(self.router.wrapup_done(1, *id + 1_000_000, now).is_empty());
                    }
                    return;
                }
                let (agent, id) = pending[pick % pending.len()];
                self.agents.get_mut(&agent).unwrap().wrapup.remove(&id);
                let offers = self.router.wrapup_done(agent, id, now);
                self.offers(Fill::Agent(agent), offers, "wrapup_done");
            }
            Action::TransferGroup {
                pick,
                group,
                priority,
            } => {
                let Some(id) = self.pick(pick, |_| true) else {
                    return;
                };
                let mut req = self.interactions[&id].req.clone();
                req.workgroup = group_name(group % self.groups.len());
                req.priority = priority;
                req.queued_at = now;
                req.target = Target::Anyone;
                self.transfer(id, req);
            }
            Action::TransferAgent { pick, agent } => {
                let Some(id) = self.pick(pick, |_| true) else {
                    return;
                };
                let to = self.agent_id(agent);
                if !self.agents[&to].registered {
                    return;
                }
                let mut req = self.interactions[&id].req.clone();
                req.queued_at = now;
                req.target = Target::Only(to);
                self.transfer(id, req);
            }
            Action::Reconsider { pick } => {
                let Some(id) = self.pick(pick, |i| i.phase == Phase::Waiting) else {
                    return;
                };
                let offers = self.router.reconsider(id, now);
                self.offers(Fill::Interaction(id), offers, "reconsider");
            }
            Action::Profile {
                agent,
                profile,
                status,
            } => self.upsert(agent, &profile, status),
            Action::Members {
                group,
                members,
                util,
            } => self.set_members(group % self.groups.len(), members, util),
            Action::Station { agent, rights } => self.station(agent, rights),
            Action::Features { social, whatsapp } => {
                self.features = Features {
                    social_media: social,
                    whatsapp,
                };
                let offers = self.router.set_features(self.features, now);
                self.offers(Fill::Everyone, offers, "set_features");
            }
            Action::Advance { ms } => {
                self.now += ms;
                // What the host's timer does: once a preferred agent's wait is over, the
                // interaction is reconsidered for anyone.
                let expired: Vec<i64> = self
                    .interactions
                    .iter()
                    .filter(|(_, i)| i.phase == Phase::Waiting)
                    .filter(|(_, i)| matches!(i.req.target, Target::Preferred { until, .. } if until <= self.now))
                    .map(|(id, _)| *id)
                    .collect();
                for id in expired {
                    let offers = self.router.reconsider(id, self.now);
                    self.offers(
                        Fill::Interaction(id),
                        offers,
                        "reconsider after the preferred wait",
                    );
                }
            }
        }
    }

    fn transfer(&mut self, id: i64, req: Request) {
        let freed = self.holder(id);
        self.interactions.insert(
            id,
            MInteraction {
                req: req.clone(),
                phase: Phase::Waiting,
            },
        );
        let offers = self.router.requeue(req, self.now);
        self.offers(Fill::Transfer(id, freed), offers, "requeue");
    }
}

fn run_sequence(world: &WorldSpec, actions: &[Action], loose_config: bool) {
    let mut model = Model::new(world, loose_config);
    model.check("setup");
    for (step, action) in actions.iter().enumerate() {
        model.run(action);
        model.check(&format!("step {step} {action:?}"));
    }
    // Finish everything: nothing may be left anywhere.
    while let Some(id) = model.interactions.keys().next().copied() {
        model.finish(id, false);
        model.check(&format!("finishing {id} at the end"));
    }
    assert!(
        model
            .router
            .agents()
            .iter()
            .all(|a| a.interactions.is_empty() && a.utilization_used == 0)
    );
    assert!(
        model
            .router
            .queues()
            .iter()
            .all(|q| q.waiting == 0 && q.oldest_queued_at.is_none())
    );
}

fn config(cases: u32) -> Config {
    Config {
        // PROPTEST_CASES=N runs a deeper search.
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(cases),
        // Minimal failures are turned into unit tests below by hand; no files written.
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config(320))]

    /// Every operation keeps `check_invariants` Ok and agrees with the model. Utilization
    /// changes only where no held work is affected (lowering it under held work may
    /// rightly leave an agent over 100 %; the next property covers that).
    #[test]
    fn random_operations_keep_every_invariant(
        world in world(),
        actions in proptest::collection::vec(action(1), 100..400),
    ) {
        run_sequence(&world, &actions, false);
    }

    /// Utilization, membership, rights and skills change at any time, held work or not:
    /// offers still never exceed the settings in force, and `check_invariants` holds
    /// whenever no agent was pushed over capacity by a settings change.
    #[test]
    fn settings_changes_under_load_never_add_one_assignment_too_many(
        world in world(),
        actions in proptest::collection::vec(action(4), 100..300),
    ) {
        run_sequence(&world, &actions, true);
    }
}

// ---------------------------------------------------------------------------------------
// Minimal cases found by the properties above.

fn request(id: i64, workgroup: &str, media: MediaType) -> Request {
    Request {
        id,
        workgroup: workgroup.into(),
        media,
        priority: 0,
        queued_at: id,
        right: Right::SocialMedia,
        skills: None,
        target: Target::Anyone,
    }
}

fn social_agent() -> AgentProfile {
    AgentProfile {
        rights: right_set([true, false]),
        ..AgentProfile::default()
    }
}

/// An agent in two workgroups whose settings for the same type differ: holding one from
/// the workgroup that allows one at a time, they must not be given a second of the type
/// from the other workgroup (that would put them over the first one's maximum).
#[test]
fn the_type_maximum_of_held_work_from_another_workgroup_still_applies() {
    let r = Router::new();
    let one = Utilization {
        percent: 10,
        max: 1,
    };
    let four = Utilization {
        percent: 10,
        max: 4,
    };
    r.set_workgroup("strict", &[1], table(&[Some(one), None]), 0);
    r.set_workgroup("loose", &[1], table(&[Some(four), None]), 0);
    r.upsert_agent(1, social_agent(), AgentStatus::Available, 0);
    assert_eq!(
        r.enqueue(request(1, "strict", MediaType::SocialConversation), 1)
            .len(),
        1
    );
    assert!(
        r.enqueue(request(2, "loose", MediaType::SocialConversation), 2)
            .is_empty()
    );
    r.check_invariants(2).unwrap();
}
