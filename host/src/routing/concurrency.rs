//! Many threads on one router at once: "never one assignment too many" and "nothing
//! lost" must hold under any interleaving, not just in sequence.
//!
//! Worker threads hammer one `Arc<Router>` with arrivals, status changes, pickups, alert
//! timeouts, finishes (with and without required wrap-up), wrap-ups and transfers, while
//! a checker thread calls `check_invariants` (and reads the supervisor views) over and over.
//! Each worker owns the interactions it created: only it finishes or transfers them, so
//! each is finished exactly once; offers, pickups and timeouts cross threads freely.
//! At the end every interaction that arrived is either finished or found held, queued in
//! its workgroup or waiting for the agent it was transferred to.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::thread;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::*;
use crate::model::interaction::MediaType;

const THREADS: usize = 8;
const OPS_PER_THREAD: usize = 3_000;
const AGENTS: i64 = 24;
const WORKGROUPS: usize = 4;
const MEDIA: [MediaType; 2] = [
    MediaType::SocialConversation,
    MediaType::SocialDirectMessage,
];
const SKILLS: [&str; 3] = ["english", "billing", "refunds"];

fn group(i: usize) -> String {
    format!("wg{i}")
}

fn random_table(rng: &mut StdRng) -> UtilizationTable {
    let mut t = UtilizationTable::default();
    for media in MEDIA {
        if rng.random_bool(0.8) {
            let u = Utilization {
                percent: rng.random_range(0..=60),
                max: rng.random_range(1..=4),
            };
            t.by_type.insert(media.as_str().into(), u);
        }
    }
    t
}

/// Where a worker last sent one of its interactions.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Sent {
    Group(String),
    Agent(i64),
}

struct Shared {
    router: Router,
    clock: AtomicI64,
    next_id: AtomicI64,
    done: AtomicBool,
}

impl Shared {
    fn now(&self) -> i64 {
        self.clock.fetch_add(1, Ordering::SeqCst)
    }
}

struct Worker {
    rng: StdRng,
    /// Interactions this worker created and has not finished, with where they went.
    own: HashMap<i64, Sent>,
    /// Offers this worker's operations returned (any owner), to pick up or time out.
    offers: Vec<Offer>,
    arrived: usize,
    finished: usize,
    accepted: usize,
}

impl Worker {
    fn request(&mut self, id: i64, now: i64) -> Request {
        let rng = &mut self.rng;
        let workgroup = group(rng.random_range(0..WORKGROUPS));
        let skills = rng.random_bool(0.3).then(|| {
            let name = SKILLS[rng.random_range(0..SKILLS.len())];
            SkillExpr::parse(&format!("{name} >= {}", rng.random_range(1..=3))).unwrap()
        });
        Request {
            id,
            workgroup,
            media: MEDIA[rng.random_range(0..2)],
            priority: rng.random_range(0..3),
            queued_at: now,
            right: if rng.random_bool(0.1) {
                Right::Whatsapp
            } else {
                Right::SocialMedia
            },
            skills,
            target: Target::Anyone,
        }
    }

    fn random_own(&mut self) -> Option<i64> {
        if self.own.is_empty() {
            return None;
        }
        let mut ids: Vec<i64> = self.own.keys().copied().collect();
        ids.sort_unstable();
        Some(ids[self.rng.random_range(0..ids.len())])
    }

    fn take_offer(&mut self) -> Option<Offer> {
        if self.offers.is_empty() {
            return None;
        }
        let i = self.rng.random_range(0..self.offers.len());
        Some(self.offers.swap_remove(i))
    }

    fn step(&mut self, s: &Shared) {
        let router = &s.router;
        let roll = self.rng.random_range(0..100);
        match roll {
            0..20 => {
                let id = s.next_id.fetch_add(1, Ordering::SeqCst);
                let now = s.now();
                let req = self.request(id, now);
                self.own.insert(id, Sent::Group(req.workgroup.clone()));
                self.arrived += 1;
                self.offers.extend(router.enqueue(req, now));
            }
            20..40 => {
                let agent = self.rng.random_range(1..=AGENTS);
                let status = match self.rng.random_range(0..10) {
                    0..6 => AgentStatus::Available,
                    6..8 => AgentStatus::Away,
                    8 => AgentStatus::NotResponding,
                    _ => AgentStatus::LoggedOut,
                };
                self.offers
                    .extend(router.set_status(agent, status, s.now()));
            }
            40..58 => {
                if let Some(o) = self.take_offer() {
                    match router.pickup(o.agent, o.interaction) {
                        Ok(()) => self.accepted += 1,
                        // Timed out, transferred or finished by another thread meanwhile.
                        Err(
                            RouterError::NotYours(_)
                            | RouterError::UnknownInteraction(_)
                            | RouterError::NotAlerting(_),
                        ) => {}
                        Err(e) => panic!("pickup: {e}"),
                    }
                }
            }
            58..62 => {
                if let Some(o) = self.take_offer()
                    && let Some(offers) = router.alert_timeout(o.agent, o.interaction, s.now())
                {
                    self.offers.extend(offers);
                }
            }
            62..82 => {
                if let Some(id) = self.random_own() {
                    self.own.remove(&id);
                    self.finished += 1;
                    let wrapup = self.rng.random_bool(0.2);
                    self.offers.extend(router.finish(id, wrapup, s.now()));
                }
            }
            82..92 => {
                if let Some(id) = self.random_own() {
                    let now = s.now();
                    let mut req = self.request(id, now);
                    let sent = if self.rng.random_bool(0.3) {
                        let agent = self.rng.random_range(1..=AGENTS);
                        req.target = Target::Only(agent);
                        Sent::Agent(agent)
                    } else {
                        Sent::Group(req.workgroup.clone())
                    };
                    self.own.insert(id, sent);
                    self.offers.extend(router.requeue(req, now));
                }
            }
            _ => {
                // Wrap-ups owed by some agent are entered (another thread's finish may
                // have caused them; a stale one is ignored).
                let agent = self.rng.random_range(1..=AGENTS);
                let pending: Vec<i64> = router
                    .agents()
                    .into_iter()
                    .find(|a| a.id == agent)
                    .map(|a| a.wrapup_pending)
                    .unwrap_or_default();
                for id in pending {
                    self.offers.extend(router.wrapup_done(agent, id, s.now()));
                }
            }
        }
    }
}

fn setup(seed: u64) -> Shared {
    let mut rng = StdRng::seed_from_u64(seed);
    let router = Router::new();
    let mut members: Vec<Vec<i64>> = vec![Vec::new(); WORKGROUPS];
    for agent in 1..=AGENTS {
        let first = rng.random_range(0..WORKGROUPS);
        members[first].push(agent);
        if rng.random_bool(0.5) {
            let second = (first + rng.random_range(1..WORKGROUPS)) % WORKGROUPS;
            members[second].push(agent);
        }
    }
    for (i, m) in members.iter().enumerate() {
        router.set_workgroup(&group(i), m, random_table(&mut rng), 0);
    }
    for agent in 1..=AGENTS {
        let mut rights: HashSet<String> = ["acd_social_media".to_string()].into();
        if rng.random_bool(0.5) {
            rights.insert("acd_whatsapp".into());
        }
        let mut skills = super::skills::Skills::new();
        for name in SKILLS {
            if rng.random_bool(0.6) {
                skills.insert(name.to_string(), rng.random_range(1..=5));
            }
        }
        let utilization = if rng.random_bool(0.3) {
            random_table(&mut rng)
        } else {
            UtilizationTable::default()
        };
        router.upsert_agent(
            agent,
            AgentProfile {
                rights,
                skills,
                utilization,
            },
            AgentStatus::Away,
            0,
        );
    }
    router.check_invariants(0).unwrap();
    Shared {
        router,
        clock: AtomicI64::new(1),
        next_id: AtomicI64::new(1),
        done: AtomicBool::new(false),
    }
}

/// What the checker saw while the workers ran.
fn checker(s: &Shared) -> usize {
    let mut checks = 0;
    loop {
        let finished = s.done.load(Ordering::SeqCst);
        if let Err(e) = s.router.check_invariants(s.clock.load(Ordering::SeqCst)) {
            panic!("invariant broken under concurrency after {checks} checks: {e}");
        }
        let mut held = HashSet::new();
        for a in s.router.agents() {
            assert!(
                a.utilization_used <= 100,
                "agent {} at {} %",
                a.id,
                a.utilization_used
            );
            for id in a.interactions {
                assert!(held.insert(id), "interaction {id} held twice");
            }
        }
        checks += 1;
        if finished {
            return checks;
        }
    }
}

#[test]
fn eight_threads_never_overfill_an_agent_nor_lose_an_interaction() {
    let shared = Arc::new(setup(0x5eed));
    let accepted = Arc::new(AtomicUsize::new(0));
    let check = {
        let s = shared.clone();
        thread::spawn(move || checker(&s))
    };
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (s, accepted) = (shared.clone(), accepted.clone());
            thread::spawn(move || {
                let mut w = Worker {
                    rng: StdRng::seed_from_u64(1000 + t as u64),
                    own: HashMap::new(),
                    offers: Vec::new(),
                    arrived: 0,
                    finished: 0,
                    accepted: 0,
                };
                for _ in 0..OPS_PER_THREAD {
                    w.step(&s);
                }
                accepted.fetch_add(w.accepted, Ordering::SeqCst);
                (w.own, w.arrived, w.finished)
            })
        })
        .collect();
    let results: Vec<_> = workers
        .into_iter()
        .map(|w| w.join().expect("worker panicked"))
        .collect();
    shared.done.store(true, Ordering::SeqCst);
    let checks = check.join().expect("checker found a broken invariant");
    assert!(checks > 1, "the checker ran alongside the workers");
    eprintln!(
        "{THREADS} threads x {OPS_PER_THREAD} operations, {checks} invariant checks alongside, {} offers picked up",
        accepted.load(Ordering::SeqCst)
    );

    let router = &shared.router;
    let now = shared.clock.load(Ordering::SeqCst);
    router.check_invariants(now).unwrap();

    // Accounting at rest: every interaction that arrived is finished or present.
    let mut live: HashMap<i64, Sent> = HashMap::new();
    let (mut arrived, mut finished) = (0, 0);
    for (own, a, f) in results {
        arrived += a;
        finished += f;
        live.extend(own);
    }
    assert_eq!(arrived, finished + live.len());
    assert!(
        arrived > THREADS * OPS_PER_THREAD / 10,
        "work arrived: {arrived}"
    );
    assert!(
        accepted.load(Ordering::SeqCst) > 0,
        "some offers were picked up"
    );
    let held: BTreeSet<i64> = router
        .agents()
        .into_iter()
        .flat_map(|a| a.interactions)
        .collect();
    for id in &held {
        assert!(
            live.contains_key(id),
            "finished interaction {id} still held"
        );
    }
    let mut expected: HashMap<String, usize> = HashMap::new();
    for (id, sent) in &live {
        if let (Sent::Group(g), false) = (sent, held.contains(id)) {
            *expected.entry(g.clone()).or_default() += 1;
        }
    }
    for q in router.queues() {
        assert_eq!(
            q.waiting,
            expected.get(&q.workgroup).copied().unwrap_or(0),
            "queue {}",
            q.workgroup
        );
    }

    // Finish everything: nothing may be left anywhere.
    let mut ids: Vec<i64> = live.keys().copied().collect();
    ids.sort_unstable();
    for id in ids {
        router.finish(id, false, now);
    }
    router.check_invariants(now).unwrap();
    assert!(router.agents().iter().all(|a| a.interactions.is_empty()));
    assert!(router.queues().iter().all(|q| q.waiting == 0));
}
