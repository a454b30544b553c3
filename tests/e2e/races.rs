//! Races: each pair of conflicting actions fired at once through the API, 100 rounds a
//! pair (`RACE_ROUNDS` scales it): disconnect × transfer, transfer × transfer, disconnect ×
//! reply, hold × disconnect, pickup × decline, pickup × transfer, pickup × the customer
//! removing their comment (which abandons an unanswered interaction), wrap-up ×
//! disconnect, and a workflow timer's `stop` or `route` × an agent taking the interaction.
//!
//! Rounds run in waves of up to [`race::WAVE`] at once, on one host per pair, so the suite stays
//! quick. Each pair checks that the winner's result stands and the loser was refused in
//! words (409, or 404 once the winner took the interaction away), never a success that did
//! nothing. After every wave, [`Race::check`]:
//! - no finished interaction came back: nothing in any history follows its end, and the
//!   router does not know it;
//! - the router and the store agree: `GET /agents` (the router's view) against each
//!   agent's `GET /me/interactions` (the store's), and `GET /queues` against the queued
//!   rows; nobody holds more than their utilization allows.

mod race;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures::future::join_all;
use serde_json::{Value, json};

use crate::harness::{id_of, wait_until};
use race::{NAMES, Race, assert_refused, one_wins, waves, won};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_x_transfer() {
    let race = Race::start(|_| {}).await;
    for (w, n) in waves().into_iter().enumerate() {
        let ids = race.connected(n).await;
        race.status(1, "available").await;
        let to = json!({ "to_user": "agent2" });
        let (ends, moves) = race
            .pair(
                &ids,
                (0, "/interactions/{id}/disconnect", None),
                (0, "/interactions/{id}/transfer", Some(to)),
            )
            .await;
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
        let (first, second) = race
            .pair(
                &ids,
                (0, "/interactions/{id}/transfer", Some(to2)),
                (0, "/interactions/{id}/transfer", Some(to3)),
            )
            .await;
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
        let replies = join_all(ids.iter().enumerate().map(|(k, id)| {
            let text = format!("Reply {w}-{id}");
            // Either may reach the host first (see `Race::pair`).
            let (a, b) = ((k % 4) as u64, (3 - k % 4) as u64);
            let reply = json!({ "text": text, "visibility": "public" });
            let agent = &race.agents[0];
            async move {
                let (end_path, path) = (
                    format!("/interactions/{id}/disconnect"),
                    format!("/interactions/{id}/reply"),
                );
                let (end, reply) = tokio::join!(
                    async {
                        tokio::time::sleep(Duration::from_millis(a)).await;
                        agent.call("POST", &end_path, None).await
                    },
                    async {
                        tokio::time::sleep(Duration::from_millis(b)).await;
                        agent.call("POST", &path, Some(reply)).await
                    },
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
        let (holds, ends) = race
            .pair(
                &ids,
                (0, "/interactions/{id}/hold", None),
                (0, "/interactions/{id}/disconnect", None),
            )
            .await;
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
        let (pickups, declines) = race
            .pair(
                &ids,
                (0, "/interactions/{id}/pickup", None),
                (0, "/interactions/{id}/decline", None),
            )
            .await;
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
        let (ends, wrapups) = race
            .pair(
                &ids,
                (0, "/interactions/{id}/disconnect", None),
                (0, "/interactions/{id}/wrapup", Some(code)),
            )
            .await;
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
