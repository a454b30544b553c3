//! The outbox's exactly-once rules, against a real schema.

use crate::store::Tx;

use super::*;

const WINDOW: i64 = 90_000;

fn reply(c: &Tx, text: &str, now: i64) -> i64 {
    let mut r = OutboundReply::from_workflow(
        1,
        "fb",
        "post_1",
        Some("comment_1".into()),
        None,
        Visibility::Public,
        &crate::model::plan::Send {
            text: text.into(),
            visibility: None,
            retries: 3,
            backoff_ms: 1000,
        },
    );
    r.id = 0;
    enqueue(c, &r, now).unwrap()
}

fn state(c: &Tx, id: i64) -> (String, i64) {
    let r = get(c, id).unwrap().unwrap();
    (r.state, r.attempts)
}

fn go(c: &Tx, id: i64, now: i64) -> OutboundReply {
    match begin_attempt(c, id, WINDOW, now).unwrap() {
        Begin::Go(r) => *r,
        other => panic!("expected to send {id}, got {other:?}"),
    }
}

fn setup() -> (crate::store::testing::TestDb, Tx) {
    let db = crate::store::testing::db();
    let c = db.tx();
    crate::store::testing::without_foreign_keys(&c);
    (db, c)
}

#[test]
fn an_attempt_is_recorded_before_the_call_and_claimed_once() {
    let (_dir, c) = setup();
    let id = reply(&c, "hi", 0);
    let r = go(&c, id, 10);
    assert_eq!(r.state, "attempting");
    assert_eq!(r.last_attempt_at, Some(10));
    assert_eq!(
        state(&c, id).0,
        "attempting",
        "stored before the platform call"
    );
    assert!(
        matches!(
            begin_attempt(&c, id, WINDOW, 11).unwrap(),
            Begin::NotPending
        ),
        "a second claim of the same reply does nothing"
    );
}

#[test]
fn an_attempt_under_way_at_a_crash_is_in_doubt_never_due_again() {
    let (dir, c) = setup();
    let id = reply(&c, "hi", 0);
    go(&c, id, 10);
    drop(c);
    // The host stopped during the platform call; at start:
    let c = dir.tx();
    crate::store::testing::without_foreign_keys(&c);
    let doubt: Vec<i64> = in_doubt(&c).unwrap().iter().map(|r| r.id).collect();
    assert_eq!(doubt, vec![id]);
    assert!(
        due(&c, i64::MAX, 10).unwrap().is_empty(),
        "not sent again blindly"
    );
    mark_unknown(&c, id, "cannot tell", 20).unwrap();
    assert_eq!(state(&c, id), ("unknown".into(), 1));
    assert!(in_doubt(&c).unwrap().is_empty());
}

#[test]
fn a_rate_limited_reply_waits_for_the_reset_across_a_restart_without_spending_attempts() {
    let (dir, c) = setup();
    let now = 1_000_000;
    let id = reply(&c, "hi", now);
    go(&c, id, now);
    let reset = now + 15 * 60_000;
    retry_later(&c, id, "rate limited", reset, false, now).unwrap();
    assert_eq!(state(&c, id), ("pending".into(), 0));
    assert!(due(&c, reset - 1, 10).unwrap().is_empty());
    drop(c);
    let c = dir.tx();
    crate::store::testing::without_foreign_keys(&c);
    assert_eq!(
        next_due_at(&c).unwrap(),
        Some(reset),
        "the schedule is in the store"
    );
    assert!(due(&c, reset - 1, 10).unwrap().is_empty());
    let ready: Vec<i64> = due(&c, reset, 10).unwrap().iter().map(|r| r.id).collect();
    assert_eq!(ready, vec![id]);
    // An ordinary failure does spend one.
    go(&c, id, reset);
    retry_later(&c, id, "503", reset + 1000, true, reset).unwrap();
    assert_eq!(state(&c, id), ("pending".into(), 1));
}

#[test]
fn the_same_text_to_the_same_customer_goes_once_per_window() {
    let (_dir, c) = setup();
    let first = reply(&c, "Yes", 0);
    go(&c, first, 0);
    mark_sent(&c, &get(&c, first).unwrap().unwrap(), "c1", "Ann", 0).unwrap();
    let again = reply(&c, "Yes", 5_000);
    assert!(matches!(
        begin_attempt(&c, again, WINDOW, 10_000).unwrap(),
        Begin::Repeat(10_000)
    ));
    assert_eq!(state(&c, again).0, "suppressed");
    let other = reply(&c, "Anything else?", 10_000);
    go(&c, other, 10_000);
    // The suppressed attempt at 10 s restarted the window: 95 s is still inside it.
    let third = reply(&c, "Yes", 95_000);
    assert!(matches!(
        begin_attempt(&c, third, WINDOW, 95_000).unwrap(),
        Begin::Repeat(85_000)
    ));
    let later = reply(&c, "Yes", 200_000);
    go(&c, later, 200_000);
    // No window, no suppression.
    let off = reply(&c, "Yes", 200_001);
    assert!(matches!(
        begin_attempt(&c, off, 0, 200_001).unwrap(),
        Begin::Go(_)
    ));
}

#[test]
fn a_resend_whose_first_attempt_failed_is_never_suppressed() {
    let (_dir, c) = setup();
    let first = reply(&c, "Your refund is on its way", 0);
    go(&c, first, 0);
    mark_failed(&c, first, "HTTP 400", 100).unwrap();
    let second = reply(&c, "Your refund is on its way", 1_000);
    go(&c, second, 1_000);
    // A pending retry of a failed attempt does not count either.
    let third_target = reply(&c, "Hello", 2_000);
    go(&c, third_target, 2_000);
    retry_later(&c, third_target, "503", 5_000, true, 2_000).unwrap();
    let fourth = reply(&c, "Hello", 3_000);
    go(&c, fourth, 3_000);
}

#[test]
fn only_unknown_or_failed_replies_are_resent_with_their_key() {
    let (_dir, c) = setup();
    let id = reply(&c, "hi", 0);
    let key = get(&c, id).unwrap().unwrap().idempotency_key;
    assert!(
        resend(&c, 1, id, 10).unwrap().is_err(),
        "pending: nothing to resend"
    );
    go(&c, id, 10);
    mark_unknown(&c, id, "cannot tell", 20).unwrap();
    assert!(
        resend(&c, 2, id, 30).unwrap().is_err(),
        "another conversation's reply"
    );
    let again = resend(&c, 1, id, 30).unwrap().unwrap();
    assert_eq!((again.state.as_str(), again.attempts), ("pending", 0));
    assert_eq!(again.idempotency_key, key);
    // Its own earlier attempt does not make it a repeat.
    go(&c, id, 40);
}

#[test]
fn replies_of_a_deleted_channel_end_in_a_clear_state() {
    let (_dir, c) = setup();
    let waiting = reply(&c, "one", 0);
    let under_way = reply(&c, "two", 0);
    go(&c, under_way, 1);
    let sent = reply(&c, "three", 0);
    go(&c, sent, 2);
    mark_sent(&c, &get(&c, sent).unwrap().unwrap(), "c3", "Ann", 3).unwrap();
    assert_eq!(end_for_deleted_channel(&c, "fb", 10).unwrap(), 2);
    let r = get(&c, waiting).unwrap().unwrap();
    assert_eq!(r.state, "failed");
    assert!(r.last_error.unwrap().contains("channel was deleted"));
    assert_eq!(state(&c, under_way).0, "unknown");
    assert_eq!(state(&c, sent).0, "sent");
    assert!(due(&c, i64::MAX, 10).unwrap().is_empty());
}
