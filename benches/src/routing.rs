//! `switchboard bench routing`: the ACD router alone, in memory, at contact-center scale.
//!
//! The world: agents each a member of 1-3 of the workgroups, all with both access rights,
//! random skills (levels 0-5 over eight skill names) and, for some, their own utilization;
//! workgroups with random utilization. N interactions wait across the workgroups, most
//! with a skill expression such as `english >= 3 and billing`.
//!
//! Two figures:
//! - latency from an agent becoming available to the offers they get: one
//!   `set_status(agent, Available)` timed at a time; the agent is then set away again,
//!   the offered interactions finished and as many equivalent ones queued, so the depth
//!   stays at N;
//! - routing decisions per second: every router call that evaluates eligibility and
//!   either offers or leaves work waiting, in a tight loop for over a second. Two loops:
//!   arrivals and finishes with every agent available and busy (an arrival is a decision,
//!   and so is each finish: the freed agent is given the best waiting work it may take),
//!   and the status flips of the latency loop (becoming available, finishing, queueing).

use std::time::{Duration, Instant};

use anyhow::Result;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::{Percentiles, fmt_us};
use switchboard::model::interaction::MediaType;
use switchboard::routing::{
    AgentProfile, AgentStatus, Offer, Request, Right, Router, SkillExpr, Target, Utilization,
    UtilizationTable,
};

/// Skill names agents have and interactions ask for.
const SKILLS: [&str; 8] = [
    "english", "spanish", "french", "billing", "refunds", "shipping", "vip", "tech",
];
const MEDIA: [MediaType; 2] = [
    MediaType::SocialConversation,
    MediaType::SocialDirectMessage,
];

/// The targets the figures are held to.
const P99_TARGET: Duration = Duration::from_millis(1);
const DECISIONS_TARGET: f64 = 50_000.0;

/// What to build.
#[derive(Clone, Debug)]
pub struct RoutingBench {
    /// Interactions waiting.
    pub waiting: usize,
    /// Workgroups.
    pub workgroups: usize,
    /// Agents.
    pub agents: usize,
    /// Whether interactions carry skill expressions.
    pub skills: bool,
    /// Agents becoming available, timed one by one.
    pub samples: usize,
    /// Seed of everything random.
    pub seed: u64,
}

/// The figures of one run.
#[derive(Clone, Debug)]
pub struct RoutingReport {
    /// Interactions waiting.
    pub waiting: usize,
    /// Building the world and queueing the interactions.
    pub setup: Duration,
    /// Agent becomes available -> offers returned.
    pub latency: Percentiles,
    /// Offers made in those samples (on average per sample).
    pub offers_per_sample: f64,
    /// Arrivals and finishes with every agent available.
    pub mixed_per_sec: f64,
    /// Status flips, finishes and re-queueing of the latency loop.
    pub flips_per_sec: f64,
}

/// Runs the benchmark at `bench.waiting` and, with `scaling`, at 1k, 10k and 100k too;
/// prints the table and answers the figures.
pub fn run(bench: RoutingBench, scaling: bool) -> Result<Vec<RoutingReport>> {
    let mut sizes = vec![bench.waiting];
    if scaling {
        for n in [1_000, 10_000, 100_000] {
            if !sizes.contains(&n) {
                sizes.push(n);
            }
        }
        sizes.sort_unstable();
    }
    println!(
        "routing benchmark: {} agents in {} workgroups (1-3 each), skills {}, {} samples per size",
        bench.agents,
        bench.workgroups,
        if bench.skills {
            "on (8 skill names)"
        } else {
            "off"
        },
        bench.samples
    );
    println!(
        "targets: agent available -> offer p99 < {} us; > {:.0} routing decisions/s",
        P99_TARGET.as_micros(),
        DECISIONS_TARGET
    );
    println!();
    println!(
        "{:>8} | {:>8} | {:>9} {:>9} {:>9} | {:>7} | {:>13} {:>13} | targets",
        "waiting",
        "setup ms",
        "median us",
        "p99 us",
        "max us",
        "offers",
        "mixed dec/s",
        "flips dec/s",
    );
    let mut reports: Vec<RoutingReport> = Vec::new();
    for waiting in sizes {
        let report = measure(&RoutingBench {
            waiting,
            ..bench.clone()
        });
        let ok = report.latency.p99 < P99_TARGET
            && report.mixed_per_sec > DECISIONS_TARGET
            && report.flips_per_sec > DECISIONS_TARGET;
        println!(
            "{:>8} | {:>8.0} | {:>9} {:>9} {:>9} | {:>7.2} | {:>13.0} {:>13.0} | {}",
            report.waiting,
            report.setup.as_secs_f64() * 1000.0,
            fmt_us(report.latency.median),
            fmt_us(report.latency.p99),
            fmt_us(report.latency.max),
            report.offers_per_sample,
            report.mixed_per_sec,
            report.flips_per_sec,
            if ok { "met" } else { "MISSED" }
        );
        reports.push(report);
    }
    if reports.len() > 1 {
        let base = &reports[0];
        println!();
        println!("cost growth relative to {} waiting:", base.waiting);
        for r in &reports[1..] {
            let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
            println!(
                "  {:>7} waiting ({:>4.0}x): p99 x{:.2}, median x{:.2}, mixed decisions/s x{:.2}, flips decisions/s x{:.2}",
                r.waiting,
                r.waiting as f64 / base.waiting as f64,
                ratio(r.latency.p99, base.latency.p99),
                ratio(r.latency.median, base.latency.median),
                r.mixed_per_sec / base.mixed_per_sec,
                r.flips_per_sec / base.flips_per_sec,
            );
        }
    }
    Ok(reports)
}

/// The arguments that make another build's `bench routing` measure the same worlds.
pub(crate) fn same_worlds(bench: &RoutingBench, scaling: bool) -> Vec<String> {
    let mut args = vec![
        "routing".to_string(),
        format!("--waiting={}", bench.waiting),
        format!("--workgroups={}", bench.workgroups),
        format!("--agents={}", bench.agents),
        format!("--skills={}", bench.skills),
        format!("--samples={}", bench.samples),
        format!("--seed={}", bench.seed),
    ];
    if scaling {
        args.push("--scaling".into());
    }
    args
}

/// The p99 latency per number waiting, in microseconds, read off a routing report's
/// table rows (`waiting | setup ms | median p99 max | ...`).
pub(crate) fn p99_of(report: &str) -> Vec<(usize, f64)> {
    report
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let waiting = cells.first()?.parse().ok()?;
            let p99 = cells.get(2)?.split_whitespace().nth(1)?.parse().ok()?;
            Some((waiting, p99))
        })
        .collect()
}

/// This build's p99 beside the baseline's, per size: the median of each build's rounds.
pub(crate) fn print_against(ours: &[Vec<RoutingReport>], theirs: &[Vec<(usize, f64)>]) {
    fn median(mut v: Vec<f64>) -> Option<f64> {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied()
    }
    println!();
    println!(
        "against the baseline build, same worlds, p99 agent available -> offer, median of {} rounds each (goal: at most 1.20x):",
        ours.len()
    );
    let Some(sizes) = ours.first() else { return };
    for size in sizes.iter().map(|r| r.waiting) {
        let mine: Vec<f64> = ours
            .iter()
            .flatten()
            .filter(|r| r.waiting == size)
            .map(|r| r.latency.p99.as_secs_f64() * 1e6)
            .collect();
        let base: Vec<f64> = theirs
            .iter()
            .flatten()
            .filter(|(w, _)| *w == size)
            .map(|(_, p99)| *p99)
            .collect();
        let each = |v: &[f64]| {
            v.iter()
                .map(|x| format!("{x:.1}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match (median(mine.clone()), median(base.clone())) {
            (Some(m), Some(b)) => println!(
                "  {size:>7} waiting: this build {m:.1} us ({}), baseline {b:.1} us ({}), ratio {:.2}",
                each(&mine),
                each(&base),
                m / b.max(1e-9)
            ),
            _ => println!("  {size:>7} waiting: the baseline did not measure it"),
        }
    }
}

#[cfg(test)]
mod report_tests {
    #[test]
    fn the_p99_per_size_is_read_from_a_report() {
        let report = "  waiting | setup ms | median us    p99 us    max us | offers | ...\n\
                          1000 |       12 |       2.1       8.0      40.2 |    1.00 | 1 2 | met\n\
                        100000 |      900 |       9.9      28.4     120.0 |    1.00 | 1 2 | met\n";
        assert_eq!(super::p99_of(report), vec![(1000, 8.0), (100000, 28.4)]);
    }
}

/// The world, reproducible from the seed.
struct World {
    rng: StdRng,
    workgroups: Vec<String>,
    next_id: i64,
    now: i64,
    skills: bool,
}

impl World {
    fn skill_expr(&mut self) -> Option<SkillExpr> {
        if !self.skills || self.rng.random_bool(0.2) {
            return None;
        }
        let rng = &mut self.rng;
        let names: Vec<&str> = (0..3)
            .map(|_| SKILLS[rng.random_range(0..SKILLS.len())])
            .collect();
        let (a, b, c) = (names[0], names[1], names[2]);
        let level = rng.random_range(1..=4);
        let text = match rng.random_range(0..5) {
            0 => format!("{a} >= {level}"),
            1 => format!("{a} >= {level} and {b}"),
            2 => format!("{a} or {b}"),
            3 => format!("({a} or {b}) and {c} >= {}", level.min(3)),
            _ => format!("{a} and not {b}"),
        };
        Some(SkillExpr::parse(&text).expect("a valid skill expression"))
    }

    fn utilization(&mut self) -> UtilizationTable {
        let mut t = UtilizationTable::default();
        for media in MEDIA {
            let percent = [10, 20, 25, 33, 50][self.rng.random_range(0..5)];
            let max = self.rng.random_range(1..=4);
            t.by_type
                .insert(media.as_str().into(), Utilization { percent, max });
        }
        t
    }

    fn request(&mut self) -> Request {
        let id = self.next_id;
        self.next_id += 1;
        let workgroup = self.workgroups[self.rng.random_range(0..self.workgroups.len())].clone();
        let media = MEDIA[self.rng.random_range(0..2)];
        Request {
            id,
            workgroup,
            media,
            priority: self.rng.random_range(0..3),
            queued_at: self.now,
            right: if self.rng.random_bool(0.2) {
                Right::Whatsapp
            } else {
                Right::SocialMedia
            },
            skills: self.skill_expr(),
            target: Target::Anyone,
        }
    }

    /// The same kind of request again, as a new interaction queued now.
    fn like(&mut self, old: &Request) -> Request {
        let id = self.next_id;
        self.next_id += 1;
        Request {
            id,
            queued_at: self.now,
            ..old.clone()
        }
    }
}

fn build(bench: &RoutingBench) -> (Router, World, std::collections::HashMap<i64, Request>) {
    let mut world = World {
        rng: StdRng::seed_from_u64(bench.seed),
        workgroups: (0..bench.workgroups).map(|i| format!("wg{i:03}")).collect(),
        next_id: 1,
        now: 1_000_000,
        skills: bench.skills,
    };
    let router = Router::new();
    let mut members: Vec<Vec<i64>> = vec![Vec::new(); bench.workgroups];
    for agent in 1..=bench.agents as i64 {
        let count = world.rng.random_range(1..=3).min(bench.workgroups);
        let mut groups: Vec<usize> = Vec::new();
        while groups.len() < count {
            let g = world.rng.random_range(0..bench.workgroups);
            if !groups.contains(&g) {
                groups.push(g);
            }
        }
        for g in groups {
            members[g].push(agent);
        }
    }
    for (name, m) in world.workgroups.clone().iter().zip(&members) {
        let table = world.utilization();
        router.set_workgroup(name, m, table, world.now);
    }
    for agent in 1..=bench.agents as i64 {
        let rights = ["acd_social_media".to_string(), "acd_whatsapp".to_string()].into();
        let mut skills = switchboard::routing::skills::Skills::new();
        for name in SKILLS {
            if world.rng.random_bool(0.5) {
                skills.insert(name.to_string(), world.rng.random_range(0..=5));
            }
        }
        let utilization = if world.rng.random_bool(0.3) {
            world.utilization()
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
            world.now,
        );
    }
    let mut queued = std::collections::HashMap::new();
    for _ in 0..bench.waiting {
        let req = world.request();
        queued.insert(req.id, req.clone());
        let offers = router.enqueue(req, world.now);
        assert!(offers.is_empty(), "everyone is away");
    }
    (router, world, queued)
}

/// One size: the world, the latency samples, the two decision loops.
pub fn measure(bench: &RoutingBench) -> RoutingReport {
    let started = Instant::now();
    let (router, mut world, mut queued) = build(bench);
    let setup = started.elapsed();

    // (a) Agent becomes available -> offers.
    let mut samples = Vec::with_capacity(bench.samples);
    let mut offered = 0usize;
    let flip = |router: &Router,
                world: &mut World,
                queued: &mut std::collections::HashMap<i64, Request>| {
        world.now += 1;
        let agent = world.rng.random_range(1..=bench.agents as i64);
        let t = Instant::now();
        let offers = router.set_status(agent, AgentStatus::Available, world.now);
        let elapsed = t.elapsed();
        // Back to the same depth: away again, the offers finished, as many queued anew.
        router.set_status(agent, AgentStatus::Away, world.now);
        let mut decisions = 2;
        for Offer { interaction, .. } in &offers {
            router.finish(*interaction, false, world.now);
            let old = queued.remove(interaction).expect("offered work was queued");
            let new = world.like(&old);
            queued.insert(new.id, new.clone());
            router.enqueue(new, world.now);
            decisions += 2;
        }
        (elapsed, offers.len(), decisions)
    };
    // Warm-up.
    for _ in 0..bench.samples.min(200) {
        flip(&router, &mut world, &mut queued);
    }
    for _ in 0..bench.samples {
        let (elapsed, n, _) = flip(&router, &mut world, &mut queued);
        samples.push(elapsed);
        offered += n;
    }
    let latency = Percentiles::of(&mut samples);

    // (b1) Status flips, for at least a second.
    let mut decisions = 0usize;
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(1) {
        for _ in 0..100 {
            decisions += flip(&router, &mut world, &mut queued).2;
        }
    }
    let flips_per_sec = decisions as f64 / t.elapsed().as_secs_f64();
    router
        .check_invariants(world.now)
        .expect("router invariants after the flips");

    // (b2) Everyone available and busy; arrivals and finishes alternate.
    let mut held: Vec<i64> = Vec::new();
    for agent in 1..=bench.agents as i64 {
        held.extend(
            router
                .set_status(agent, AgentStatus::Available, world.now)
                .into_iter()
                .map(|o| o.interaction),
        );
    }
    let mut decisions = 0usize;
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(1) {
        for _ in 0..100 {
            world.now += 1;
            let req = world.request();
            held.extend(
                router
                    .enqueue(req, world.now)
                    .into_iter()
                    .map(|o| o.interaction),
            );
            if !held.is_empty() {
                let i = world.rng.random_range(0..held.len());
                let id = held.swap_remove(i);
                held.extend(
                    router
                        .finish(id, false, world.now)
                        .into_iter()
                        .map(|o| o.interaction),
                );
            }
            decisions += 2;
        }
    }
    let mixed_per_sec = decisions as f64 / t.elapsed().as_secs_f64();
    router
        .check_invariants(world.now)
        .expect("router invariants after the mixed loop");

    RoutingReport {
        waiting: bench.waiting,
        setup,
        latency,
        offers_per_sample: offered as f64 / bench.samples.max(1) as f64,
        mixed_per_sec,
        flips_per_sec,
    }
}
