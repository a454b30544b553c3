//! A hand-computed scenario, recorded through the store's own writes, on the engine under
//! test: pickups inside and outside the target, a hold, a transfer, an abandon, wrap-ups,
//! a live interaction, and the night clocks go back in Paris.

use super::*;
use crate::model::interaction::State;
use crate::store::queries::{self, Requeue};
use crate::store::{Tx, directory, params, testing};

fn ms(s: &str) -> i64 {
    s.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

const S: i64 = 1000;

fn interaction(c: &Tx, workgroup: &str, at: i64) -> i64 {
    let id: i64 = c
        .query_row(
            "INSERT INTO interactions (channel, thread_id, media_type, state, workgroup,
                 customer_id, customer_name, created_at, queued_at, updated_at)
             VALUES ('fb', ?1, 'social_conversation', 'queued', ?2, 'c', 'Cat', ?3, ?3, ?3)
             RETURNING id",
            params![format!("t{at}"), workgroup, at],
            |r| r.get(0),
        )
        .unwrap();
    queries::record_event(c, id, at, "created", State::Queued, None, None).unwrap();
    id
}

fn pick_up(c: &Tx, id: i64, agent: i64, at: i64) {
    queries::set_state(c, id, State::Alerting, Some(agent), "offered", at - S).unwrap();
    queries::set_state(c, id, State::Connected, Some(agent), "picked_up", at).unwrap();
}

struct Scenario {
    _db: testing::TestDb,
    store: Store,
    now: i64,
}

/// Ann (id 1) and Bob (id 2); sales (target 30 s) and support (target 60 s).
async fn scenario() -> Scenario {
    let db = testing::db();
    let store = db.store();
    let now = ms("2026-10-26T10:01:00Z");
    store
        .write(|c| {
            c.execute_batch(
                "INSERT INTO users (id, username, display_name, password_hash) VALUES
                     (1, 'ann', 'Ann', 'x'), (2, 'bob', 'Bob', 'x');
                 INSERT INTO workgroups (name, sl_target_s) VALUES ('sales', 30), ('support', 60);",
            )?;
            let (ann, bob) = (1, 2);
            // 1: sales, Ann picks up after 10 s, holds 30 s, 120 s connected, wrap-up 20 s.
            let t = ms("2026-10-24T08:00:00Z");
            let i1 = interaction(c, "sales", t);
            pick_up(c, i1, ann, t + 10 * S);
            queries::set_state(c, i1, State::Held, Some(ann), "held", t + 70 * S)?;
            queries::set_state(c, i1, State::Connected, Some(ann), "resumed", t + 100 * S)?;
            queries::finish(c, i1, Some(ann), true, false, t + 160 * S)?;
            queries::set_wrapup(c, i1, Some("sold"), Some(ann), t + 180 * S)?;
            // 2: sales, Bob after 45 s (outside 30 s), transfers to support after 60 s;
            // Ann picks up there after 10 s, 60 s connected, wrap-up 10 s.
            let t = ms("2026-10-24T09:00:00Z");
            let i2 = interaction(c, "sales", t);
            pick_up(c, i2, bob, t + 45 * S);
            queries::requeue(
                c,
                i2,
                &Requeue {
                    workgroup: "support".into(),
                    priority: 0,
                    skills: None,
                    preferred: None,
                    queued_at: t + 105 * S,
                    by: bob,
                    from_workgroup: "sales".into(),
                    note: None,
                    decided: None,
                },
                t + 105 * S,
            )?;
            pick_up(c, i2, ann, t + 115 * S);
            queries::finish(c, i2, Some(ann), true, false, t + 175 * S)?;
            queries::set_wrapup(c, i2, Some("refund"), Some(ann), t + 185 * S)?;
            // 3: sales, abandoned after 20 s, in the first 02:30 of the night (+02:00).
            let t = ms("2026-10-25T00:30:00Z");
            let i3 = interaction(c, "sales", t);
            queries::finish(c, i3, None, false, true, t + 20 * S)?;
            // 4: support, in the second 02:30 (+01:00): Bob after 70 s (outside 60 s),
            // 60 s connected, no wrap-up owed.
            let t = ms("2026-10-25T01:30:00Z");
            let i4 = interaction(c, "support", t);
            pick_up(c, i4, bob, t + 70 * S);
            queries::finish(c, i4, Some(bob), false, false, t + 130 * S)?;
            // 5: support, still waiting now.
            interaction(c, "support", ms("2026-10-26T10:00:00Z"));
            // Ann: available 07:00–12:00 UTC, away until 13:00, then logged out.
            directory::set_status(c, ann, "available", ms("2026-10-24T07:00:00Z"))?;
            directory::set_status(c, ann, "away", ms("2026-10-24T12:00:00Z"))?;
            directory::set_status(c, ann, "logged_out", ms("2026-10-24T13:00:00Z"))?;
            Ok(())
        })
        .await
        .unwrap();
    Scenario {
        _db: db,
        store,
        now,
    }
}

fn request(dimension: Dimension, interval: Interval, from: &str, to: &str, now: i64) -> Request {
    Request {
        dimension,
        from: ms(from),
        to: ms(to),
        interval,
        tz: TimeZone::get("Europe/Paris").unwrap(),
        platforms: HashMap::from([("fb".to_owned(), "facebook".to_owned())]),
        now,
    }
}

fn cell<'a>(r: &'a Report, key: &str, start: &str) -> &'a Figures {
    r.cells
        .get(&(key.to_owned(), ms(start)))
        .unwrap_or_else(|| panic!("no figures for {key} at {start}: {:?}", r.cells.keys()))
}

const FROM: &str = "2026-10-23T22:00:00Z"; // 24 Oct, 00:00 in Paris
const TO: &str = "2026-10-26T23:00:00Z"; // 27 Oct, 00:00 in Paris

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workgroups_per_day_match_the_hand_computed_figures() {
    let s = scenario().await;
    let req = request(Dimension::Workgroups, Interval::Day, FROM, TO, s.now);
    let r = run(&s.store, req).await.unwrap();
    assert_eq!(
        r.intervals,
        [
            ms("2026-10-23T22:00:00Z"),
            ms("2026-10-24T22:00:00Z"),
            ms("2026-10-25T23:00:00Z")
        ],
        "the day clocks go back is 25 hours long"
    );
    let sales = cell(&r, "sales", "2026-10-23T22:00:00Z");
    assert_eq!((sales.arrivals, sales.answered, sales.abandoned), (2, 2, 0));
    assert_eq!(sales.answered_in_target, 1);
    assert_eq!(sales.service_level_percent(), Some(50.0));
    assert_eq!(sales.average_wait_s(), Some(27.5));
    assert_eq!(sales.longest_wait_ms, 45 * S);
    assert_eq!(
        sales.wait_bands,
        [1, 0, 1, 0, 0, 0, 0, 0],
        "10 s is in the first band, 45 s in the third"
    );
    assert_eq!(sales.average_speed_of_answer_s(), Some(27.5));
    assert_eq!(
        (sales.connected_ms, sales.held_ms, sales.wrapup_ms),
        (180 * S, 30 * S, 20 * S)
    );
    assert_eq!(sales.average_handle_s(), Some(115.0));
    assert_eq!((sales.transfers_in, sales.transfers_out), (0, 1));
    assert_eq!(sales.wrapup_codes, BTreeMap::from([("sold".to_owned(), 1)]));

    let support = cell(&r, "support", "2026-10-23T22:00:00Z");
    assert_eq!(
        (
            support.arrivals,
            support.answered,
            support.answered_in_target
        ),
        (1, 1, 1)
    );
    assert_eq!((support.transfers_in, support.transfers_out), (1, 0));
    assert_eq!(support.average_handle_s(), Some(70.0));
    assert_eq!(
        support.wrapup_codes,
        BTreeMap::from([("refund".to_owned(), 1)])
    );

    let sales = cell(&r, "sales", "2026-10-24T22:00:00Z");
    assert_eq!((sales.arrivals, sales.answered, sales.abandoned), (1, 0, 1));
    assert_eq!(sales.service_level_percent(), Some(0.0));
    assert_eq!(sales.average_wait_s(), Some(20.0));
    let support = cell(&r, "support", "2026-10-24T22:00:00Z");
    assert_eq!(
        (
            support.arrivals,
            support.answered,
            support.answered_in_target
        ),
        (1, 1, 0)
    );
    assert_eq!(support.average_wait_s(), Some(70.0));

    let live = cell(&r, "support", "2026-10-25T23:00:00Z");
    assert_eq!(
        (live.arrivals, live.answered, live.waits),
        (1, 0, 0),
        "still waiting: no wait yet"
    );

    let total = &r.totals["sales"];
    assert_eq!(
        (
            total.arrivals,
            total.answered,
            total.abandoned,
            total.answered_in_target
        ),
        (3, 2, 1, 1)
    );
    assert_eq!(total.service_level_percent(), Some(33.3));
    assert_eq!(r.overall.arrivals, 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_repeated_hour_is_two_intervals() {
    let s = scenario().await;
    let req = request(
        Dimension::Workgroups,
        Interval::Hour,
        "2026-10-25T00:00:00Z",
        "2026-10-25T02:00:00Z",
        s.now,
    );
    let r = run(&s.store, req).await.unwrap();
    assert_eq!(
        r.intervals,
        [ms("2026-10-25T00:00:00Z"), ms("2026-10-25T01:00:00Z")]
    );
    assert_eq!(cell(&r, "sales", "2026-10-25T00:00:00Z").abandoned, 1);
    assert_eq!(cell(&r, "support", "2026-10-25T01:00:00Z").answered, 1);
    assert_eq!(r.cells.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_get_their_pickups_status_time_and_occupancy() {
    let s = scenario().await;
    let req = request(Dimension::Agents, Interval::Day, FROM, TO, s.now);
    let r = run(&s.store, req).await.unwrap();
    let ann = cell(&r, "ann", "2026-10-23T22:00:00Z");
    assert_eq!((ann.arrivals, ann.answered), (2, 2));
    assert_eq!(ann.connected_ms + ann.held_ms + ann.wrapup_ms, 240 * S);
    assert_eq!(
        ann.status_ms,
        BTreeMap::from([
            ("available".to_owned(), 5 * 3600 * S),
            ("away".to_owned(), 3600 * S),
            ("logged_out".to_owned(), 9 * 3600 * S),
        ])
    );
    assert_eq!(ann.occupancy_percent(), Some(1.1));
    let next = cell(&r, "ann", "2026-10-24T22:00:00Z");
    assert_eq!(next.status_ms["logged_out"], 25 * 3600 * S);
    let today = cell(&r, "ann", "2026-10-25T23:00:00Z");
    assert_eq!(
        today.status_ms["logged_out"],
        (11 * 3600 + 60) * S,
        "counted up to now"
    );
    let bob = &r.totals["bob"];
    assert_eq!(
        (
            bob.arrivals,
            bob.answered,
            bob.answered_in_target,
            bob.transfers_out
        ),
        (2, 2, 0, 1)
    );
    assert!(
        !r.totals.contains_key("user 0"),
        "an unanswered segment counts for no agent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platforms_media_types_channels_and_drill_down() {
    let s = scenario().await;
    let r = run(
        &s.store,
        request(Dimension::Platforms, Interval::Week, FROM, TO, s.now),
    )
    .await
    .unwrap();
    assert_eq!(r.totals.keys().collect::<Vec<_>>(), ["facebook"]);
    assert_eq!(r.totals["facebook"].arrivals, 6);
    let r = run(
        &s.store,
        request(Dimension::MediaTypes, Interval::Week, FROM, TO, s.now),
    )
    .await
    .unwrap();
    assert_eq!(r.totals["social_conversation"].answered, 4);

    let req = request(Dimension::Workgroups, Interval::Day, FROM, TO, s.now);
    let (n, rows) = drill_down(&s.store, req.clone(), "sales".into(), Figure::Answered, 10)
        .await
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(
        rows.iter().map(|r| r.interaction_id).collect::<Vec<_>>(),
        [1, 2]
    );
    let (n, rows) = drill_down(
        &s.store,
        req.clone(),
        "support".into(),
        Figure::WrapupCode("refund".into()),
        10,
    )
    .await
    .unwrap();
    assert_eq!((n, rows[0].interaction_id, rows[0].segment.seq), (1, 2, 1));
    let (n, _) = drill_down(&s.store, req, "support".into(), Figure::TransfersIn, 10)
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_an_older_host_left_unsummed_is_caught_up_to_the_same_report() {
    let s = scenario().await;
    let req = request(Dimension::Workgroups, Interval::Day, FROM, TO, s.now);
    let before = run(&s.store, req.clone()).await.unwrap();
    let summed: i64 = s
        .store
        .read(|c| {
            Ok(
                c.query_row("SELECT count(*) FROM report_segments", (), |r| {
                    r.get::<_, i64>(0)
                })?,
            )
        })
        .await
        .unwrap();
    assert_eq!(summed, 5, "four finished interactions, one with a transfer");
    // As an older host leaves them: finished, never summed up.
    s.store
        .write(|c| {
            c.execute_batch("DELETE FROM report_segments; UPDATE interactions SET reported = 0")
        })
        .await
        .unwrap();
    let unsummed = run(&s.store, req.clone()).await.unwrap();
    assert_eq!(
        unsummed, before,
        "a report counts what is not summed up yet"
    );
    catch_up(&s.store, tokio::sync::watch::channel(false).1).await;
    let after = run(&s.store, req).await.unwrap();
    assert_eq!(after, before);
    let summed: i64 = s
        .store
        .read(|c| {
            Ok(
                c.query_row("SELECT count(*) FROM report_segments", (), |r| {
                    r.get::<_, i64>(0)
                })?,
            )
        })
        .await
        .unwrap();
    assert_eq!(summed, 5);
}
