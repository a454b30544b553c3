//! Scenario tests of the routing rules, one per rule.

use std::collections::HashSet;

use super::*;
use crate::model::interaction::MediaType;

const SOCIAL: MediaType = MediaType::SocialConversation;
const DM: MediaType = MediaType::SocialDirectMessage;

fn table(entries: &[(MediaType, u32, u32)]) -> UtilizationTable {
    let mut t = UtilizationTable::default();
    for (media, percent, max) in entries {
        t.by_type.insert(
            media.as_str().into(),
            Utilization {
                percent: *percent,
                max: *max,
            },
        );
    }
    t
}

fn profile(rights: &[&str], skills: &[(&str, u32)]) -> AgentProfile {
    AgentProfile {
        rights: rights.iter().map(|r| r.to_string()).collect(),
        skills: skills.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        utilization: UtilizationTable::default(),
    }
}

fn social() -> AgentProfile {
    profile(&["acd_social_media"], &[])
}

fn router(members: &[i64], util: &[(MediaType, u32, u32)]) -> Router {
    let r = Router::new();
    r.set_workgroup("Social", members, table(util), 0);
    for m in members {
        r.upsert_agent(*m, social(), AgentStatus::Away, 0);
    }
    r
}

fn req(id: i64, priority: i64, queued_at: i64) -> Request {
    Request {
        id,
        workgroup: "Social".into(),
        media: SOCIAL,
        priority,
        queued_at,
        right: Right::SocialMedia,
        skills: None,
        target: Target::Anyone,
    }
}

fn offer(interaction: i64, agent: i64) -> Offer {
    Offer { interaction, agent }
}

#[test]
fn waits_until_an_agent_is_available_then_offers_oldest_first() {
    let r = router(&[1], &[(SOCIAL, 50, 1)]);
    assert!(r.enqueue(req(10, 0, 5), 5).is_empty());
    assert!(r.enqueue(req(11, 0, 3), 5).is_empty());
    assert_eq!(
        r.set_status(1, AgentStatus::Available, 10),
        vec![offer(11, 1)]
    );
    r.check_invariants(10).unwrap();
}

#[test]
fn priority_beats_time_in_queue() {
    let r = router(&[1], &[(SOCIAL, 100, 1)]);
    r.enqueue(req(10, 0, 1), 1);
    r.enqueue(req(11, 5, 9), 9);
    assert_eq!(
        r.set_status(1, AgentStatus::Available, 10),
        vec![offer(11, 1)]
    );
}

#[test]
fn longest_idle_agent_gets_the_offer() {
    let r = router(&[1, 2], &[(SOCIAL, 25, 4)]);
    r.set_status(2, AgentStatus::Available, 100);
    r.set_status(1, AgentStatus::Available, 200);
    assert_eq!(r.enqueue(req(10, 0, 300), 300)[0].agent, 2);
}

#[test]
fn utilization_caps_percent_and_count_and_held_work_counts() {
    let r = router(&[1], &[(SOCIAL, 40, 4)]);
    r.set_status(1, AgentStatus::Available, 0);
    let offered: usize = (0..5).map(|i| r.enqueue(req(i, 0, i), i).len()).sum();
    assert_eq!(offered, 2, "40% each: two fit under 100%");
    let r = router(&[1], &[(SOCIAL, 10, 3)]);
    r.set_status(1, AgentStatus::Available, 0);
    let offered: usize = (0..5).map(|i| r.enqueue(req(i, 0, i), i).len()).sum();
    assert_eq!(offered, 3, "max 3 of the type");
    r.check_invariants(10).unwrap();
}

#[test]
fn user_utilization_overrides_the_workgroup_per_type() {
    let r = router(&[1], &[(SOCIAL, 100, 1), (DM, 100, 1)]);
    let mut p = social();
    p.utilization = table(&[(SOCIAL, 30, 3)]);
    r.upsert_agent(1, p, AgentStatus::Available, 0);
    r.set_status(1, AgentStatus::Available, 0);
    let offered: usize = (0..4).map(|i| r.enqueue(req(i, 0, i), i).len()).sum();
    assert_eq!(
        offered, 3,
        "the user's 30%/3 applies, not the workgroup's 100%/1"
    );
    let mut dm = req(9, 0, 9);
    dm.media = DM;
    assert!(
        r.enqueue(dm, 9).is_empty(),
        "the DM's inherited 100% no longer fits"
    );
}

#[test]
fn finishing_frees_capacity_for_the_next_in_queue() {
    let r = router(&[1], &[(SOCIAL, 100, 1)]);
    r.set_status(1, AgentStatus::Available, 0);
    r.enqueue(req(1, 0, 1), 1);
    assert!(r.enqueue(req(2, 0, 2), 2).is_empty());
    r.pickup(1, 1).unwrap();
    assert_eq!(r.finish(1, false, 5), vec![offer(2, 1)]);
}

#[test]
fn alert_timeout_makes_agent_not_responding_and_offers_next() {
    let r = router(&[1, 2], &[(SOCIAL, 100, 1)]);
    r.set_status(1, AgentStatus::Available, 0);
    r.set_status(2, AgentStatus::Available, 10);
    assert_eq!(r.enqueue(req(7, 0, 20), 20)[0].agent, 1);
    assert_eq!(r.alert_timeout(1, 7, 50).unwrap(), vec![offer(7, 2)]);
    assert_eq!(r.status(1), Some(AgentStatus::NotResponding));
    assert!(
        r.alert_timeout(1, 7, 60).is_none(),
        "a stale timer is ignored"
    );
    assert_eq!(r.pickup(1, 7), Err(RouterError::NotYours(7)));
    r.check_invariants(60).unwrap();
}

#[test]
fn rights_come_from_the_user_or_the_station_and_features_gate_families() {
    let r = Router::new();
    r.set_workgroup("Social", &[1], table(&[(SOCIAL, 100, 1)]), 0);
    r.upsert_agent(1, profile(&[], &[]), AgentStatus::Available, 0);
    r.set_status(1, AgentStatus::Available, 0);
    assert!(r.enqueue(req(1, 0, 0), 0).is_empty(), "no right, no offer");
    let station: HashSet<String> = ["acd_social_media".to_string()].into();
    assert_eq!(
        r.set_station_rights(1, station, 1),
        vec![offer(1, 1)],
        "the station's right is enough"
    );

    let r = router(&[1], &[(DM, 100, 1)]);
    r.set_status(1, AgentStatus::Available, 0);
    let mut wa = req(2, 0, 0);
    wa.media = DM;
    wa.right = Right::Whatsapp;
    assert!(
        r.enqueue(wa, 0).is_empty(),
        "acd_social_media does not cover WhatsApp"
    );
    r.upsert_agent(
        1,
        profile(&["acd_social_media", "acd_whatsapp"], &[]),
        AgentStatus::Available,
        1,
    );
    assert_eq!(r.queues()[0].waiting, 0, "a rights change brings the offer");

    let r = router(&[1], &[(SOCIAL, 100, 1)]);
    r.set_features(
        Features {
            social_media: false,
            whatsapp: true,
        },
        0,
    );
    r.set_status(1, AgentStatus::Available, 0);
    assert!(
        r.enqueue(req(3, 0, 0), 0).is_empty(),
        "feature off: nothing routed"
    );
    assert_eq!(r.set_features(Features::default(), 1), vec![offer(3, 1)]);
}

#[test]
fn skills_filter_then_rank_before_idle_time() {
    let r = Router::new();
    r.set_workgroup("Social", &[1, 2, 3], table(&[(SOCIAL, 100, 1)]), 0);
    r.upsert_agent(
        1,
        profile(&["acd_social_media"], &[("english", 5)]),
        AgentStatus::Away,
        0,
    );
    r.upsert_agent(
        2,
        profile(&["acd_social_media"], &[("english", 3), ("billing", 2)]),
        AgentStatus::Away,
        0,
    );
    r.upsert_agent(
        3,
        profile(&["acd_social_media"], &[("english", 5), ("billing", 4)]),
        AgentStatus::Away,
        0,
    );
    for (agent, at) in [(1, 1), (2, 2), (3, 3)] {
        r.set_status(agent, AgentStatus::Available, at);
    }
    let mut billing = req(1, 0, 10);
    billing.skills = Some(SkillExpr::parse("english >= 3 and billing").unwrap());
    assert_eq!(
        r.enqueue(billing, 10),
        vec![offer(1, 3)],
        "3 matches best though 1 idled longest"
    );
    let mut hard = req(2, 0, 11);
    hard.skills = Some(SkillExpr::parse("english >= 3 and billing >= 3").unwrap());
    assert!(r.enqueue(hard, 11).is_empty(), "nobody free fits; it waits");
    let mut p = profile(&["acd_social_media"], &[("english", 3), ("billing", 3)]);
    p.utilization = UtilizationTable::default();
    assert_eq!(
        r.upsert_agent(2, p, AgentStatus::Available, 12),
        vec![offer(2, 2)],
        "a skill change brings it"
    );
}

#[test]
fn a_preferred_agent_is_waited_for_then_anyone_may_have_it() {
    let r = router(&[1, 2], &[(SOCIAL, 100, 1)]);
    r.set_status(2, AgentStatus::Available, 0);
    let mut sticky = req(1, 0, 0);
    sticky.target = Target::Preferred {
        agent: 1,
        until: 1000,
    };
    assert!(
        r.enqueue(sticky, 10).is_empty(),
        "agent 2 is free but 1 is preferred"
    );
    assert!(r.reconsider(1, 500).is_empty());
    assert_eq!(
        r.reconsider(1, 1000),
        vec![offer(1, 2)],
        "after the wait, anyone"
    );

    let r = router(&[1, 2], &[(SOCIAL, 100, 1)]);
    let mut sticky = req(1, 0, 0);
    sticky.target = Target::Preferred {
        agent: 1,
        until: 1000,
    };
    r.set_status(2, AgentStatus::Available, 0);
    r.enqueue(sticky, 0);
    assert_eq!(
        r.set_status(1, AgentStatus::Available, 5),
        vec![offer(1, 1)],
        "the preferred agent gets it"
    );
}

#[test]
fn transfer_to_an_agent_or_a_workgroup() {
    let r = Router::new();
    r.set_workgroup("Social", &[1, 2], table(&[(SOCIAL, 100, 1)]), 0);
    r.set_workgroup("Billing", &[3], table(&[(SOCIAL, 100, 1)]), 0);
    for a in [1, 2, 3] {
        r.upsert_agent(a, social(), AgentStatus::Available, 0);
        r.set_status(a, AgentStatus::Available, a);
    }
    assert_eq!(r.enqueue(req(1, 0, 0), 5), vec![offer(1, 1)]);
    r.pickup(1, 1).unwrap();
    let mut to_agent = req(1, 0, 6);
    to_agent.target = Target::Only(3);
    let offers = r.requeue(to_agent, 6);
    assert_eq!(
        offers,
        vec![offer(1, 3)],
        "only agent 3, though not a Social member"
    );
    r.pickup(3, 1).unwrap();
    let mut to_group = req(1, 0, 7);
    to_group.workgroup = "Social".into();
    let offers = r.requeue(to_group, 7);
    assert_eq!(offers[0].interaction, 1);
    assert!(offers[0].agent == 1 || offers[0].agent == 2);
    r.check_invariants(7).unwrap();
}

#[test]
fn a_required_wrap_up_keeps_the_agent_out_of_routing_until_done() {
    let r = router(&[1], &[(SOCIAL, 100, 1)]);
    r.set_status(1, AgentStatus::Available, 0);
    r.enqueue(req(1, 0, 0), 0);
    r.pickup(1, 1).unwrap();
    r.enqueue(req(2, 0, 1), 1);
    assert!(r.finish(1, true, 2).is_empty(), "wrap-up owed: no new work");
    assert_eq!(r.agents()[0].wrapup_pending, vec![1]);
    assert_eq!(r.wrapup_done(1, 1, 3), vec![offer(2, 1)]);
    let r = router(&[1], &[(SOCIAL, 100, 1)]);
    r.set_status(1, AgentStatus::Available, 0);
    r.enqueue(req(1, 0, 0), 0);
    r.enqueue(req(2, 0, 1), 1);
    assert_eq!(
        r.finish(1, false, 2),
        vec![offer(2, 1)],
        "optional wrap-up does not block"
    );
}

#[test]
fn a_transfer_to_an_agent_waits_for_them_in_the_workgroup_queue_then_falls_back() {
    // Agent 3 is not a Social member: someone chose them by name.
    let r = Router::new();
    r.set_workgroup("Social", &[1, 2], table(&[(SOCIAL, 100, 1)]), 0);
    for a in [1, 2, 3] {
        r.upsert_agent(a, social(), AgentStatus::Away, 0);
    }
    r.set_status(1, AgentStatus::Available, 1);
    assert_eq!(r.enqueue(req(1, 0, 0), 5), vec![offer(1, 1)]);
    r.pickup(1, 1).unwrap();
    // Agent 3 is away: the transfer waits for them, counted in Social's queue, agent 2
    // (available) is not offered it during the wait.
    r.set_status(2, AgentStatus::Available, 6);
    let mut to_3 = req(1, 0, 0);
    to_3.target = Target::Preferred {
        agent: 3,
        until: 1000,
    };
    assert_eq!(
        r.requeue(to_3, 10),
        vec![],
        "agent 1 is freed, agent 2 must wait"
    );
    let queue = r
        .queues()
        .into_iter()
        .find(|q| q.workgroup == "Social")
        .unwrap();
    assert_eq!(queue.waiting, 1, "the queue figures count it");
    assert_eq!(
        queue.oldest_queued_at,
        Some(0),
        "it keeps its original time in queue"
    );
    r.check_invariants(10).unwrap();
    // When the wait ends, the workgroup it came from has it.
    assert_eq!(r.reconsider(1, 1000), vec![offer(1, 1)]);
    r.check_invariants(1000).unwrap();

    // Had agent 3 become available during the wait, they would have had it.
    let r = Router::new();
    r.set_workgroup("Social", &[1], table(&[(SOCIAL, 100, 1)]), 0);
    for a in [1, 3] {
        r.upsert_agent(a, social(), AgentStatus::Available, 0);
    }
    r.set_status(3, AgentStatus::Away, 0);
    assert_eq!(r.enqueue(req(1, 0, 0), 5), vec![offer(1, 1)]);
    r.pickup(1, 1).unwrap();
    let mut to_3 = req(1, 0, 0);
    to_3.target = Target::Preferred {
        agent: 3,
        until: 1000,
    };
    assert_eq!(r.requeue(to_3, 10), vec![]);
    assert_eq!(
        r.set_status(3, AgentStatus::Available, 20),
        vec![offer(1, 3)]
    );
    r.check_invariants(20).unwrap();
    // They let it alert past the timeout: back to the workgroup (agent 1).
    assert_eq!(r.alert_timeout(3, 1, 1000), Some(vec![offer(1, 1)]));
    r.check_invariants(1000).unwrap();
}

#[test]
fn a_declined_offer_goes_to_the_next_agent_and_the_decliner_stays_available() {
    let r = router(&[1, 2], &[(SOCIAL, 100, 1)]);
    r.set_status(1, AgentStatus::Available, 0);
    r.set_status(2, AgentStatus::Available, 1);
    assert_eq!(r.enqueue(req(1, 0, 0), 5), vec![offer(1, 1)]);
    assert_eq!(r.decline(2, 1, 100, 6), None, "not offered to agent 2");
    assert_eq!(r.decline(1, 1, 100, 6), Some(vec![offer(1, 2)]));
    assert_eq!(r.status(1), Some(AgentStatus::Available));
    r.check_invariants(6).unwrap();
    // Agent 2 declines too: every eligible agent has declined, so agent 1 may have it
    // again (the others were tried).
    let again = r.decline(2, 1, 100, 7).unwrap();
    assert_eq!(again, vec![offer(1, 1)]);
    r.check_invariants(7).unwrap();
    // Other work still reaches a decliner.
    let r = router(&[1, 2], &[(SOCIAL, 100, 2)]);
    r.set_status(1, AgentStatus::Available, 0);
    assert_eq!(r.enqueue(req(1, 0, 0), 5), vec![offer(1, 1)]);
    assert_eq!(r.decline(1, 1, 100, 6), Some(vec![]));
    assert_eq!(r.enqueue(req(2, 0, 6), 7), vec![offer(2, 1)]);
}

#[test]
fn a_lone_agent_who_declines_is_not_offered_the_same_interaction_in_a_loop() {
    let r = router(&[1], &[(SOCIAL, 100, 1)]);
    r.set_status(1, AgentStatus::Available, 0);
    assert_eq!(r.enqueue(req(1, 0, 0), 5), vec![offer(1, 1)]);
    assert_eq!(r.decline(1, 1, 1000, 6), Some(vec![]), "no loop");
    assert_eq!(r.set_status(1, AgentStatus::Available, 7), vec![]);
    assert_eq!(r.reconsider(1, 999), vec![]);
    r.check_invariants(999).unwrap();
    let waiting = r
        .queues()
        .into_iter()
        .find(|q| q.workgroup == "Social")
        .unwrap();
    assert_eq!(waiting.waiting, 1, "it waits in the queue meanwhile");
    assert_eq!(
        r.reconsider(1, 1000),
        vec![offer(1, 1)],
        "once the alert timeout passed"
    );
}

#[test]
fn what_could_not_be_recorded_is_undone() {
    let r = router(&[1], &[(SOCIAL, 50, 2)]);
    r.set_status(1, AgentStatus::Available, 0);
    assert_eq!(r.enqueue(req(1, 0, 0), 5), vec![offer(1, 1)]);
    // The pickup's write failed: an offer again, still theirs to pick up.
    r.pickup(1, 1).unwrap();
    r.undo(1, 1, true);
    assert!(!r.assigned(1, 1) && r.holds(1, 1));
    // The offer's write failed: back to waiting, capacity free.
    r.undo(1, 1, false);
    assert!(!r.holds(1, 1));
    let queue = r
        .queues()
        .into_iter()
        .find(|q| q.workgroup == "Social")
        .unwrap();
    assert_eq!(queue.waiting, 1);
}
