//! One host for one pair of the races suite: its agents, conversations made to order, and
//! the checks after every wave (see `races`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::future::join_all;
use serde_json::{Value, json};
use switchboard::config::{Config, UserSeed};
use switchboard::routing::{Utilization, UtilizationTable};

use crate::harness::{Agent, World, id_of, wait_until};

/// Rounds fired at once.
pub(super) const WAVE: usize = 25;
/// Conversations an agent may hold at once here (2 % each).
pub(super) const ROOM: usize = 50;
/// The agents, in [`Race::agents`] order.
pub(super) const NAMES: [&str; 3] = ["agent1", "agent2", "agent3"];

/// The sizes of the waves that make up the rounds.
pub(super) fn waves() -> Vec<usize> {
    let total: usize = std::env::var("RACE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    (0..total.div_ceil(WAVE))
        .map(|w| WAVE.min(total - w * WAVE))
        .collect()
}

pub(super) fn won(status: u16) -> bool {
    (200..300).contains(&status)
}

/// The loser of a pair: refused, in words a person can read.
pub(super) fn assert_refused(what: &str, (status, body): &(u16, Value)) {
    assert!(
        matches!(status, 404 | 409),
        "{what}: the loser must be refused, got {status} {body}"
    );
    let words = body["error"].as_str().unwrap_or_default();
    assert!(words.len() > 20, "{what}: refused without words: {body}");
}

/// Exactly one of two conflicting requests wins; the other is refused. Answers whether
/// the first won.
pub(super) fn one_wins(what: &str, first: &(u16, Value), second: &(u16, Value)) -> bool {
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
pub(super) struct Race {
    pub(super) world: World,
    pub(super) agents: [Agent; 3],
    pub(super) sup: Agent,
    pub(super) made: AtomicUsize,
}

impl Race {
    pub(super) async fn start(tweak: impl FnOnce(&mut Config)) -> Race {
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

    pub(super) async fn status(&self, agent: usize, status: &str) {
        self.agents[agent]
            .ok("PUT", "/me/status", Some(json!({ "status": status })))
            .await;
    }

    /// Fires `path` for every interaction of `ids` at once.
    pub(super) async fn each(
        &self,
        agent: usize,
        ids: &[i64],
        path: &str,
        body: Option<Value>,
    ) -> Vec<(u16, Value)> {
        self.staggered(agent, ids, path, body, None).await
    }

    /// Fires a pair of conflicting requests (`agent` and path, with a body) for every
    /// interaction of `ids`, all at once. Round `k` starts the first `k % 4` ms and the
    /// second `3 - k % 4` ms late, so either may reach the host first.
    pub(super) async fn pair(
        &self,
        ids: &[i64],
        first: (usize, &str, Option<Value>),
        second: (usize, &str, Option<Value>),
    ) -> (Vec<(u16, Value)>, Vec<(u16, Value)>) {
        tokio::join!(
            self.staggered(first.0, ids, first.1, first.2, Some(false)),
            self.staggered(second.0, ids, second.1, second.2, Some(true)),
        )
    }

    async fn staggered(
        &self,
        agent: usize,
        ids: &[i64],
        path: &str,
        body: Option<Value>,
        second: Option<bool>,
    ) -> Vec<(u16, Value)> {
        let agent = &self.agents[agent];
        join_all(ids.iter().enumerate().map(|(k, id)| {
            let path = path.replace("{id}", &id.to_string());
            let body = body.clone();
            let late = match second {
                None => 0,
                Some(false) => k % 4,
                Some(true) => 3 - k % 4,
            };
            async move {
                tokio::time::sleep(Duration::from_millis(late as u64)).await;
                agent.call("POST", &path, body).await
            }
        }))
        .await
    }

    /// `n` new conversations created at once (customers' comments through the emulator).
    pub(super) async fn customers_write(&self, n: usize, text: &str) {
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
    pub(super) async fn offered(&self, n: usize) -> Vec<i64> {
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
    pub(super) async fn connected(&self, n: usize) -> Vec<i64> {
        let ids = self.offered(n).await;
        for answer in self.each(0, &ids, "/interactions/{id}/pickup", None).await {
            assert!(won(answer.0), "pickup: {answer:?}");
        }
        ids
    }

    /// Puts every agent's work away (offers taken, conversations ended, wrap-ups entered)
    /// and every agent away, for the next wave.
    pub(super) async fn clear(&self) {
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
                let rows = stmt.query_map((), |r| Ok((r.get(0)?, r.get(1)?)))?;
                Ok(rows.collect::<anyhow::Result<_>>()?)
            })
            .await
            .unwrap()
    }

    /// What must hold after every wave (see the module's notes).
    pub(super) async fn check(&self, label: &str) {
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
