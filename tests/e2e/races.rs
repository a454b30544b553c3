//! Races: each pair of conflicting actions fired at once through the API, 100 rounds a
//! pair (`RACE_ROUNDS` scales it): disconnect × transfer, transfer × transfer, disconnect ×
//! reply, hold × disconnect, pickup × decline, pickup × transfer, pickup × the customer
//! removing their comment (which abandons an unanswered interaction), wrap-up ×
//! disconnect, and a workflow timer's `stop` or `route` × an agent taking the interaction.
//!
//! Rounds run in waves of up to [`WAVE`] at once, on one host per pair, so the suite stays
//! quick. Each pair checks that the winner's result stands and the loser was refused in
//! words (409, or 404 once the winner took the interaction away), never a success that did
//! nothing. After every wave, [`Race::check`]:
//! - no finished interaction came back: nothing in any history follows its end, and the
//!   router does not know it;
//! - the router and the store agree: `GET /agents` (the router's view) against each
//!   agent's `GET /me/interactions` (the store's), and `GET /queues` against the queued
//!   rows; nobody holds more than their utilization allows.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::future::join_all;
use serde_json::{Value, json};
use switchboard::config::{Config, UserSeed};
use switchboard::routing::{Utilization, UtilizationTable};

use crate::harness::{Agent, World, id_of, wait_until};

/// Rounds fired at once.
const WAVE: usize = 25;
/// Conversations an agent may hold at once here (2 % each).
const ROOM: usize = 50;
/// The agents, in [`Race::agents`] order.
const NAMES: [&str; 3] = ["agent1", "agent2", "agent3"];

/// The sizes of the waves that make up the rounds.
fn waves() -> Vec<usize> {
    let total: usize = std::env::var("RACE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    (0..total.div_ceil(WAVE))
        .map(|w| WAVE.min(total - w * WAVE))
        .collect()
}

fn won(status: u16) -> bool {
    (200..300).contains(&status)
}

/// The loser of a pair: refused, in words a person can read.
fn assert_refused(what: &str, (status, body): &(u16, Value)) {
    assert!(
        matches!(status, 404 | 409),
        "{what}: the loser must be refused, got {status} {body}"
    );
    let words = body["error"].as_str().unwrap_or_default();
    assert!(words.len() > 20, "{what}: refused without words: {body}");
}

/// Exactly one of two conflicting requests wins; the other is refused. Answers whether
/// the first won.
fn one_wins(what: &str, first: &(u16, Value), second: &(u16, Value)) -> bool {
    match (won(first.0), won(second.0)) {
        (true, false) => assert_refused(what, second),
        (false, true) => assert_refused(what, first),
        _ => panic!("{what}: exactly one must win: {first:?} / {second:?}"),
    }
    won(first.0)
}

/// The demo organisation's Facebook page with room for a wave: every agent may hold [`ROOM`]
/// conversations, offers do not time out, a third agent in Social, and an
/// `Escalations` workgroup only agent2 is in.
fn roomy(config: &mut Config) {
    // Only the page the customers write on: a host starts faster with one plugin.
    config.channels.retain(|c| c.name == "facebook");
    let agent2 = config
        .users
        .iter()
        .find(|u| u.username == "agent2")
        .unwrap();
    config.users.push(UserSeed {
        username: "agent3".into(),
        display_name: Some("Casey Agent".into()),
        ..agent2.clone()
    });
    let mut escalations = config.workgroups[0].clone();
    escalations.name = "Escalations".into();
    escalations.members = vec!["agent2".into()];
    config.workgroups.push(escalations);
    for g in &mut config.workgroups {
        g.alert_timeout_ms = 600_000;
        let mut t = UtilizationTable::default();
        let room = Utilization {
            percent: 2,
            max: ROOM as u32,
        };
        t.by_type.insert("social_conversation".into(), room);
        g.utilization = t;
        if g.name == "Social" {
            g.members.push("agent3".into());
        }
    }
}

/// One host for one pair, its agents and a supervisor.
struct Race {
    world: World,
    agents: [Agent; 3],
    sup: Agent,
    made: AtomicUsize,
}

impl Race {
    async fn start(tweak: impl FnOnce(&mut Config)) -> Race {
        let world = World::start(|c| {
            roomy(c);
            tweak(c);
        })
        .await;
        let agents = [
            world.login(NAMES[0]).await,
            world.login(NAMES[1]).await,
            world.login(NAMES[2]).await,
        ];
        let sup = world.login("super").await;
        Race {
            world,
            agents,
            sup,
            made: AtomicUsize::new(0),
        }
    }

    async fn status(&self, agent: usize, status: &str) {
        self.agents[agent]
            .ok("PUT", "/me/status", Some(json!({ "status": status })))
            .await;
    }

    /// Fires `path` for every interaction of `ids` at once.
    async fn each(
        &self,
        agent: usize,
        ids: &[i64],
        path: &str,
        body: Option<Value>,
    ) -> Vec<(u16, Value)> {
        let agent = &self.agents[agent];
        join_all(ids.iter().map(|id| {
            let path = path.replace("{id}", &id.to_string());
            let body = body.clone();
            async move { agent.call("POST", &path, body).await }
        }))
        .await
    }

    /// `n` new conversations created at once (customers' comments through the emulator).
    async fn customers_write(&self, n: usize, text: &str) {
        let first = self.made.fetch_add(n, Ordering::Relaxed);
        join_all((first..first + n).map(|i| {
            let text = format!("{text} {i}");
            async move {
                self.world
                    .post_and_comment(&format!("Racer {i}"), &text)
                    .await
            }
        }))
        .await;
    }

    /// `n` new conversations, all offered to agent1 (the others are away meanwhile).
    async fn offered(&self, n: usize) -> Vec<i64> {
        self.status(1, "away").await;
        self.status(2, "away").await;
        self.status(0, "available").await;
        self.customers_write(n, "race").await;
        wait_until(&format!("{n} offers to agent1"), || async {
            let offers: Vec<i64> = self.agents[0]
                .interactions()
                .await
                .iter()
                .filter(|ix| ix["state"] == "alerting")
                .map(id_of)
                .collect();
            (offers.len() == n).then_some(offers)
        })
        .await
    }

    /// `n` new conversations, all connected to agent1.
    async fn connected(&self, n: usize) -> Vec<i64> {
        let ids = self.offered(n).await;
        for answer in self.each(0, &ids, "/interactions/{id}/pickup", None).await {
            assert!(won(answer.0), "pickup: {answer:?}");
        }
        ids
    }

    /// Puts every agent's work away (offers taken, conversations ended, wrap-ups entered)
    /// and every agent away, for the next wave.
    async fn clear(&self) {
        for (n, agent) in self.agents.iter().enumerate() {
            self.status(n, "away").await;
            loop {
                let mine = agent.interactions().await;
                if mine.is_empty() {
                    break;
                }
                for ix in mine {
                    let id = id_of(&ix);
                    match ix["state"].as_str().unwrap() {
                        "alerting" => {
                            agent
                                .call("POST", &format!("/interactions/{id}/pickup"), None)
                                .await
                        }
                        "disconnected" => {
                            let code = json!({ "code": "Resolved" });
                            agent
                                .call("POST", &format!("/interactions/{id}/wrapup"), Some(code))
                                .await
                        }
                        _ => {
                            agent
                                .call("POST", &format!("/interactions/{id}/disconnect"), None)
                                .await
                        }
                    };
                }
            }
        }
    }

    async fn rows(&self, sql: &'static str) -> Vec<(i64, String)> {
        let store = self.world.host.as_ref().unwrap().app.store.clone();
        store
            .read(move |c| {
                let mut stmt = c.prepare(sql)?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
            .await
            .unwrap()
    }

    /// What must hold after every wave (see the module's notes).
    async fn check(&self, label: &str) {
        // Routing follows a commit within moments; then both views must agree exactly.
        let deadline = Instant::now() + Duration::from_secs(5);
        while let Some(diff) = self.disagreement().await {
            assert!(
                Instant::now() < deadline,
                "{label}: router and store disagree: {diff}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let back = self
            .rows(
                "SELECT e.interaction_id, e.kind || ' -> ' || e.state FROM interaction_events e
                 JOIN interaction_events d ON d.interaction_id = e.interaction_id
                      AND d.state = 'disconnected' AND d.id < e.id
                 WHERE e.state <> 'disconnected'",
            )
            .await;
        assert!(
            back.is_empty(),
            "{label}: finished interactions came back: {back:?}"
        );
        let ended = self
            .rows("SELECT id, state FROM interactions WHERE state = 'disconnected'")
            .await;
        let router = self.world.host.as_ref().unwrap().app.interactions.clone();
        let known: Vec<i64> = ended
            .iter()
            .map(|(id, _)| *id)
            .filter(|id| router.router().knows(*id))
            .collect();
        assert!(
            known.is_empty(),
            "{label}: finished interactions are in routing: {known:?}"
        );
    }

    /// How the router's view and the store's differ, if they do.
    async fn disagreement(&self) -> Option<String> {
        let views = self.sup.ok("GET", "/agents", None).await;
        for (agent, name) in self.agents.iter().zip(NAMES) {
            let row = views
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["username"] == name)
                .unwrap();
            let ids = |v: &Value| -> BTreeSet<i64> {
                v.as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i.as_i64().unwrap())
                    .collect()
            };
            let (router_live, router_wrapup) =
                (ids(&row["interactions"]), ids(&row["wrapup_pending"]));
            let used = row["utilization_used"].as_u64().unwrap();
            let mine = agent.interactions().await;
            let store_live: BTreeSet<i64> = mine
                .iter()
                .filter(|ix| ix["state"] != "disconnected")
                .map(id_of)
                .collect();
            let store_wrapup: BTreeSet<i64> = mine
                .iter()
                .filter(|ix| ix["state"] == "disconnected")
                .map(id_of)
                .collect();
            assert!(
                used <= 100 && store_live.len() <= ROOM,
                "{name} holds more than their utilization allows: {used} %, {store_live:?}"
            );
            if router_live != store_live || router_wrapup != store_wrapup {
                return Some(format!(
                    "{name}: router holds {router_live:?} owing {router_wrapup:?}, \
                     store {store_live:?} owing {store_wrapup:?}"
                ));
            }
        }
        let queues = self.sup.ok("GET", "/queues", None).await;
        let router: BTreeMap<String, i64> = queues
            .as_array()
            .unwrap()
            .iter()
            .map(|q| {
                (
                    q["workgroup"].as_str().unwrap().to_owned(),
                    q["waiting"].as_i64().unwrap(),
                )
            })
            .filter(|(_, n)| *n > 0)
            .collect();
        let stored: BTreeMap<String, i64> = self
            .rows("SELECT count(*), workgroup FROM interactions WHERE state = 'queued' GROUP BY workgroup")
            .await
            .into_iter()
            .map(|(n, g)| (g, n))
            .collect();
        (router != stored).then(|| format!("waiting: router {router:?}, store {stored:?}"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_x_transfer() {
    let race = Race::start(|_| {}).await;
    for (w, n) in waves().into_iter().enumerate() {
        let ids = race.connected(n).await;
        race.status(1, "available").await;
        let to = json!({ "to_user": "agent2" });
        let (ends, moves) = tokio::join!(
            race.each(0, &ids, "/interactions/{id}/disconnect", None),
            race.each(0, &ids, "/interactions/{id}/transfer", Some(to)),
        );
        for ((id, end), moved) in ids.iter().zip(&ends).zip(&moves) {
            let detail = race
                .sup
                .ok("GET", &format!("/interactions/{id}"), None)
                .await;
            let state = &detail["state"];
            if one_wins("disconnect × transfer", end, moved) {
                assert_eq!(state, "disconnected", "wave {w}: {detail}");
            } else {
                assert_ne!(
                    state, "disconnected",
                    "wave {w}: a won transfer was ended: {detail}"
                );
                assert_eq!(detail["assigned_to"], "agent2", "wave {w}: {detail}");
            }
        }
        race.check(&format!("disconnect × transfer, wave {w}"))
            .await;
        race.clear().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_x_transfer() {
    let race = Race::start(|_| {}).await;
    for (w, n) in waves().into_iter().enumerate() {
        let ids = race.connected(n).await;
        race.status(1, "available").await;
        race.status(2, "available").await;
        let (to2, to3) = (
            json!({ "to_user": "agent2" }),
            json!({ "to_user": "agent3" }),
        );
        let (first, second) = tokio::join!(
            race.each(0, &ids, "/interactions/{id}/transfer", Some(to2)),
            race.each(0, &ids, "/interactions/{id}/transfer", Some(to3)),
        );
        race.check(&format!("transfer × transfer, wave {w}")).await;
        for ((id, a), b) in ids.iter().zip(&first).zip(&second) {
            // The winner's offer stands: the second transfer did not take it back.
            let (winner, answer) = if one_wins("transfer × transfer", a, b) {
                (1, a)
            } else {
                (2, b)
            };
            assert_eq!(answer.1["agent_available"], true, "{answer:?}");
            let offered: Vec<i64> = race.agents[winner]
                .interactions()
                .await
                .iter()
                .map(id_of)
                .collect();
            assert!(
                offered.contains(id),
                "wave {w}: {id} was transferred to {} but is not offered to them: {offered:?}",
                NAMES[winner]
            );
        }
        race.clear().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_x_reply() {
    let race = Race::start(|_| {}).await;
    for (w, n) in waves().into_iter().enumerate() {
        let ids = race.connected(n).await;
        let replies = join_all(ids.iter().map(|id| {
            let text = format!("Reply {w}-{id}");
            let reply = json!({ "text": text, "visibility": "public" });
            let agent = &race.agents[0];
            async move {
                let (end_path, path) = (
                    format!("/interactions/{id}/disconnect"),
                    format!("/interactions/{id}/reply"),
                );
                let (end, reply) = tokio::join!(
                    agent.call("POST", &end_path, None),
                    agent.call("POST", &path, Some(reply)),
                );
                (end, reply, text)
            }
        }))
        .await;
        let posted = |text: &str| {
            let out = race.world.emulator.outbound();
            out.iter()
                .filter(|o| o.text.as_deref() == Some(text))
                .count()
        };
        for (end, reply, text) in &replies {
            assert!(won(end.0), "wave {w}: the disconnect must win: {end:?}");
            if won(reply.0) {
                wait_until(&format!("{text} posted"), || async {
                    (posted(text) > 0).then_some(())
                })
                .await;
            } else {
                assert_refused("disconnect × reply", reply);
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        for (_, reply, text) in &replies {
            let expected = usize::from(won(reply.0));
            assert_eq!(
                posted(text),
                expected,
                "wave {w}: {text}, answered {reply:?}"
            );
        }
        race.check(&format!("disconnect × reply, wave {w}")).await;
        race.clear().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_x_disconnect() {
    let race = Race::start(|_| {}).await;
    for (w, n) in waves().into_iter().enumerate() {
        let ids = race.connected(n).await;
        let (holds, ends) = tokio::join!(
            race.each(0, &ids, "/interactions/{id}/hold", None),
            race.each(0, &ids, "/interactions/{id}/disconnect", None),
        );
        for ((id, hold), end) in ids.iter().zip(&holds).zip(&ends) {
            assert!(won(end.0), "wave {w}: the disconnect must win: {end:?}");
            if !won(hold.0) {
                assert_refused("hold × disconnect", hold);
            }
            let detail = race
                .sup
                .ok("GET", &format!("/interactions/{id}"), None)
                .await;
            assert_eq!(detail["state"], "disconnected", "wave {w}: {detail}");
        }
        race.check(&format!("hold × disconnect, wave {w}")).await;
        race.clear().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pickup_x_decline_and_transfer() {
    let race = Race::start(|_| {}).await;
    for (w, n) in waves().into_iter().enumerate() {
        // The offer's agent picks it up and declines it at once.
        let ids = race.offered(n).await;
        race.status(1, "available").await;
        let (pickups, declines) = tokio::join!(
            race.each(0, &ids, "/interactions/{id}/pickup", None),
            race.each(0, &ids, "/interactions/{id}/decline", None),
        );
        let mine: Vec<Value> = race.agents[0].interactions().await;
        for ((id, pickup), decline) in ids.iter().zip(&pickups).zip(&declines) {
            let held = mine.iter().find(|ix| id_of(ix) == *id);
            if one_wins("pickup × decline", pickup, decline) {
                assert_eq!(
                    held.map(|ix| &ix["state"]),
                    Some(&json!("connected")),
                    "wave {w}: {id}"
                );
            } else {
                assert!(
                    held.is_none(),
                    "wave {w}: {id} was declined but is still agent1's: {held:?}"
                );
            }
        }
        race.check(&format!("pickup × decline, wave {w}")).await;
        race.clear().await;

        // An agent transfers to agent2, who picks it up as the offer arrives.
        let ids = race.connected(n).await;
        race.status(1, "available").await;
        let to = json!({ "to_user": "agent2" });
        let (moves, pickups) = tokio::join!(
            race.each(0, &ids, "/interactions/{id}/transfer", Some(to)),
            async {
                // As soon as an offer shows, the way an agent's desktop answers it.
                let deadline = Instant::now() + Duration::from_secs(5);
                let mut answers = BTreeMap::new();
                while answers.len() < ids.len() && Instant::now() < deadline {
                    let offers: Vec<i64> = race.agents[1]
                        .interactions()
                        .await
                        .iter()
                        .filter(|ix| ix["state"] == "alerting")
                        .map(id_of)
                        .filter(|id| !answers.contains_key(id))
                        .collect();
                    for (id, answer) in offers.iter().zip(
                        race.each(1, &offers, "/interactions/{id}/pickup", None)
                            .await,
                    ) {
                        answers.insert(*id, answer);
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                answers
            },
        );
        for (id, moved) in ids.iter().zip(&moves) {
            assert!(won(moved.0), "wave {w}: transfer {id}: {moved:?}");
            let pickup = pickups
                .get(id)
                .unwrap_or_else(|| panic!("wave {w}: {id} never offered to agent2"));
            assert!(
                won(pickup.0),
                "wave {w}: agent2's pickup of a standing offer: {pickup:?}"
            );
        }
        race.check(&format!("pickup × transfer, wave {w}")).await;
        race.clear().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pickup_x_the_customer_removing_their_comment() {
    let race = Race::start(|_| {}).await;
    let mut removed = 0;
    for (w, n) in waves().into_iter().enumerate() {
        let ids = race.offered(n).await;
        let sup = &race.sup;
        let comments = join_all(ids.iter().map(|id| async move {
            let detail = sup.ok("GET", &format!("/interactions/{id}"), None).await;
            detail["messages"][0]["platform_message_id"]
                .as_str()
                .unwrap()
                .to_owned()
        }))
        .await;
        let url = format!(
            "http://{}/_emulator/facebook/remove",
            race.world.emulator_addr
        );
        let (pickups, _) = tokio::join!(
            race.each(0, &ids, "/interactions/{id}/pickup", None),
            join_all(comments.iter().map(|c| {
                let remove = race.world.http.post(&url).json(&json!({ "comment_id": c }));
                async move { assert!(remove.send().await.unwrap().status().is_success()) }
            })),
        );
        removed += n as i64;
        let sql = "SELECT count(*) FROM messages WHERE deleted = 1";
        race.world.wait_count(sql, removed).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        race.check(&format!("pickup × removal, wave {w}")).await;
        for (id, pickup) in ids.iter().zip(&pickups) {
            let detail = race
                .sup
                .ok("GET", &format!("/interactions/{id}"), None)
                .await;
            if won(pickup.0) {
                // Taken before the customer removed it: the agent keeps it.
                assert_eq!(detail["state"], "connected", "wave {w}: {detail}");
                assert_eq!(detail["abandoned"], false, "wave {w}: {detail}");
            } else {
                assert_refused("pickup × removal", pickup);
                assert_eq!(detail["state"], "disconnected", "wave {w}: {detail}");
                assert_eq!(detail["abandoned"], true, "wave {w}: {detail}");
            }
        }
        race.clear().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrapup_x_disconnect() {
    let race = Race::start(|c| {
        for g in &mut c.workgroups {
            g.wrapup_required = true;
            g.wrapup_timeout_ms = 600_000;
        }
    })
    .await;
    for (w, n) in waves().into_iter().enumerate() {
        let ids = race.connected(n).await;
        let code = json!({ "code": "Resolved" });
        let (ends, wrapups) = tokio::join!(
            race.each(0, &ids, "/interactions/{id}/disconnect", None),
            race.each(0, &ids, "/interactions/{id}/wrapup", Some(code)),
        );
        // The router and the store agree on which wrap-ups are still owed.
        race.check(&format!("wrap-up × disconnect, wave {w}")).await;
        let owed: Vec<i64> = race.agents[0]
            .interactions()
            .await
            .iter()
            .map(id_of)
            .collect();
        for ((id, end), wrapup) in ids.iter().zip(&ends).zip(&wrapups) {
            assert!(won(end.0), "wave {w}: the disconnect must win: {end:?}");
            if won(wrapup.0) {
                assert!(
                    !owed.contains(id),
                    "wave {w}: {id}'s wrap-up was taken but is owed again"
                );
            } else {
                assert_refused("wrap-up × disconnect", wrapup);
                assert!(
                    owed.contains(id),
                    "wave {w}: {id} was refused a wrap-up yet owes none"
                );
            }
        }
        race.clear().await;
        race.check(&format!("wrap-up × disconnect, wave {w}, cleared"))
            .await;
    }
}

/// A workflow whose timer, 300 ms after a message, ends the interaction (`stop …`) or
/// moves it to Escalations (`route …`) if it still waits.
const TIMER_SCRIPT: &str = r#"
fn on_inbound(ix) {
    route(ix, #{ workgroup: "Social" });
    schedule(ix, "race", 300);
}

fn on_timer(ix, name) {
    if ix.text.starts_with("stop") {
        stop(ix, "the workflow ended it");
    } else {
        route(ix, #{ workgroup: "Escalations", priority: 1 });
    }
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workflow_timer_x_an_agent_taking_the_interaction() {
    let race = Race::start(|c| {
        std::fs::write(c.server.workflows_dir.join("race.rhai"), TIMER_SCRIPT).unwrap();
        c.channels[0].workflow = "race.rhai".into();
    })
    .await;
    for (w, n) in waves().into_iter().enumerate() {
        race.clear().await;
        let kind = if w % 2 == 0 { "stop" } else { "route" };
        race.customers_write(n, kind).await;
        let made = race.made.load(Ordering::Relaxed) as i64;
        race.world
            .wait_count("SELECT count(*) FROM interactions", made)
            .await;
        // The timers fire one after another; agent1 becomes available while they do, and
        // takes every offer at once.
        let deadline = Instant::now() + Duration::from_secs(10);
        while race
            .world
            .count("SELECT count(*) FROM workflow_timers")
            .await
            > n as i64 * 3 / 4
        {
            assert!(
                Instant::now() < deadline,
                "wave {w}: the timers never fired"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        race.status(0, "available").await;
        let offers: Vec<i64> = race.agents[0]
            .interactions()
            .await
            .iter()
            .map(id_of)
            .collect();
        let pickups = race
            .each(0, &offers, "/interactions/{id}/pickup", None)
            .await;
        race.world
            .wait_count("SELECT count(*) FROM workflow_timers", 0)
            .await;
        race.check(&format!("timer {kind} × pickup, wave {w}"))
            .await;
        // An offer the agent saw stands: the timer left it alone, and the pickup holds.
        let mine: Vec<Value> = race.agents[0].interactions().await;
        for (id, pickup) in offers.iter().zip(&pickups) {
            assert!(
                won(pickup.0),
                "wave {w}: the offer of {id} was taken back: {pickup:?}"
            );
            let held = mine.iter().find(|ix| id_of(ix) == *id);
            assert_eq!(
                held.map(|ix| &ix["state"]),
                Some(&json!("connected")),
                "wave {w}: {id} was picked up"
            );
        }
    }
}
