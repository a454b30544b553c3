//! Paused channels and the events that wait for them: rows only. What a pause means for
//! ingest (what is held, how a resume drains it) lives in `ingest::held`.
//!
//! A channel is paused while it has a row in `channel_pauses` without `resumed_at`. A
//! resume sets `resumed_at`: the row stays until every held event of the channel has been
//! routed, so what arrives meanwhile queues behind them ([`holding`]) and arrival order is
//! kept. Held events (`held_events`) are kept in arrival order (their id), each platform
//! message once per channel (`message_id` is unique per channel; edits have none). An
//! event taken by a drain is deleted in the same transaction that stores it ([`take`]),
//! so a crash leaves it either held or stored, never both and never neither.

use std::collections::HashMap;

use anyhow::Result;
use serde::Serialize;
use utoipa::ToSchema;

use crate::store::{OptionalExtension, Tx, params};

/// A channel's pause as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Pause {
    /// The channel's name.
    pub channel: String,
    /// When it was paused, unix ms.
    pub paused_at: i64,
    /// Who paused it (a username).
    pub paused_by: String,
    /// When it was resumed, unix ms: its held events are being routed. `None`: paused.
    pub resumed_at: Option<i64>,
    /// Who resumed it.
    pub resumed_by: Option<String>,
}

impl Pause {
    /// Paused now (not resuming).
    pub fn paused(&self) -> bool {
        self.resumed_at.is_none()
    }
}

type PauseRow = (String, i64, String, Option<i64>, Option<String>);

fn pause_row(r: &crate::store::Row<'_>) -> Result<PauseRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn to_pause((channel, paused_at, paused_by, resumed_at, resumed_by): PauseRow) -> Pause {
    Pause {
        channel,
        paused_at,
        paused_by,
        resumed_at,
        resumed_by,
    }
}

/// The pause of `channel`, if it has one (paused or still resuming).
pub fn get(conn: &Tx, channel: &str) -> Result<Option<Pause>> {
    Ok(conn
        .prepare_cached(
            "SELECT channel, paused_at, paused_by, resumed_at, resumed_by
             FROM channel_pauses WHERE channel = ?1",
        )?
        .query_row([channel], pause_row)
        .optional()?
        .map(to_pause))
}

/// Every pause (paused or still resuming), by channel.
pub fn all(conn: &Tx) -> Result<Vec<Pause>> {
    let mut stmt = conn.prepare_cached(
        "SELECT channel, paused_at, paused_by, resumed_at, resumed_by
         FROM channel_pauses ORDER BY channel",
    )?;
    let rows = stmt.query_map((), pause_row)?;
    Ok(rows
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .map(to_pause)
        .collect())
}

/// Pauses `channel`. Already paused: unchanged (who paused it first and when stay).
/// Resuming: paused again, and its drain stops before its next batch. Returns the pause.
pub fn pause(conn: &Tx, channel: &str, by: &str, now: i64) -> Result<Pause> {
    match get(conn, channel)? {
        Some(p) if p.paused() => return Ok(p),
        Some(_) => {
            conn.execute(
                "UPDATE channel_pauses SET paused_at = ?2, paused_by = ?3, resumed_at = NULL,
                     resumed_by = NULL
                 WHERE channel = ?1",
                params![channel, now, by],
            )?;
        }
        None => {
            conn.execute(
                "INSERT INTO channel_pauses (channel, paused_at, paused_by) VALUES (?1, ?2, ?3)",
                params![channel, now, by],
            )?;
        }
    }
    Ok(Pause {
        channel: channel.to_owned(),
        paused_at: now,
        paused_by: by.to_owned(),
        resumed_at: None,
        resumed_by: None,
    })
}

/// Resumes `channel`: its held events are to be routed. `false` when it was not paused
/// (never paused, or resuming already).
pub fn resume(conn: &Tx, channel: &str, by: &str, now: i64) -> Result<bool> {
    let changed = conn.execute(
        "UPDATE channel_pauses SET resumed_at = ?2, resumed_by = ?3
         WHERE channel = ?1 AND resumed_at IS NULL",
        params![channel, now, by],
    )?;
    Ok(changed == 1)
}

/// Whether what arrives for `channel` now must be held: it is paused, or events held
/// before are not all routed yet (they go first).
pub fn holding(conn: &Tx, channel: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 WHERE EXISTS (SELECT 1 FROM channel_pauses WHERE channel = ?1)
                OR EXISTS (SELECT 1 FROM held_events WHERE channel = ?1 AND error IS NULL)",
        )?
        .exists([channel])?)
}

/// Whether `channel` is paused (not resuming).
pub fn paused(conn: &Tx, channel: &str) -> Result<bool> {
    Ok(get(conn, channel)?.is_some_and(|p| p.paused()))
}

/// The channels whose arrivals are held now (see [`holding`]).
pub fn holding_channels(conn: &Tx) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT channel FROM channel_pauses
         UNION SELECT DISTINCT channel FROM held_events WHERE error IS NULL",
    )?;
    let rows = stmt.query_map((), |r| r.get::<_, String>(0))?;
    let mut names = rows.collect::<Result<Vec<_>>>()?;
    names.sort();
    names.dedup();
    Ok(names)
}

/// Channels with held events to route now: not paused (resumed, or never paused: held
/// by an arrival that raced a resume).
pub fn to_drain(conn: &Tx) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT channel FROM held_events h
         WHERE error IS NULL AND NOT EXISTS (
             SELECT 1 FROM channel_pauses p WHERE p.channel = h.channel AND p.resumed_at IS NULL)
         ORDER BY channel",
    )?;
    let rows = stmt.query_map((), |r| r.get::<_, String>(0))?;
    rows.collect()
}

/// Ends the resumes whose held events are all routed; returns those channels.
pub fn finish_resumes(conn: &Tx) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "DELETE FROM channel_pauses
         WHERE resumed_at IS NOT NULL AND NOT EXISTS (
             SELECT 1 FROM held_events h WHERE h.channel = channel_pauses.channel
                 AND h.error IS NULL)
         RETURNING channel",
    )?;
    let rows = stmt.query_map((), |r| r.get::<_, String>(0))?;
    rows.collect()
}

/// What kind of event is held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeldKind {
    /// A customer's new message: counted as waiting.
    Message,
    /// The business's own message (a page's post, an echo): kept in order, never routed.
    Own,
    /// A message's new text.
    Edit,
}

impl HeldKind {
    fn as_str(self) -> &'static str {
        match self {
            HeldKind::Message => "message",
            HeldKind::Own => "own",
            HeldKind::Edit => "edit",
        }
    }
}

/// What a held event is about.
#[derive(Clone, Copy, Debug)]
pub struct About<'a> {
    pub kind: HeldKind,
    /// A new message's platform id (`None` for an edit): held once per channel.
    pub message_id: Option<&'a str>,
    /// The platform message the event is about (the message itself, or the one edited).
    pub target: &'a str,
    /// A new message's author (platform id), for an account's erasure.
    pub author: Option<&'a str>,
}

/// Holds an event of `channel` (`event`, its JSON). `false` when that message is held
/// already (a platform's redelivery).
pub fn hold(conn: &Tx, channel: &str, about: About<'_>, event: &str, now: i64) -> Result<bool> {
    let added = conn
        .prepare_cached(
            "INSERT INTO held_events (channel, kind, message_id, target, author, event, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            channel,
            about.kind.as_str(),
            about.message_id,
            about.target,
            about.author,
            event,
            now
        ])?;
    Ok(added == 1)
}

/// Forgets what is held of `author` on `channel` (their account was deleted): their
/// messages and the edits of them. Returns how many events that was.
pub fn forget_author(conn: &Tx, channel: &str, author: &str) -> Result<usize> {
    conn.prepare_cached(
        "DELETE FROM held_events WHERE channel = ?1 AND target IN (
             SELECT message_id FROM held_events
             WHERE channel = ?1 AND author = ?2 AND message_id IS NOT NULL)",
    )?
    .execute(params![channel, author])
}

/// Forgets what is held about platform message `target` of `channel` (it was deleted on
/// the platform); returns how many events that was.
pub fn forget_target(conn: &Tx, channel: &str, target: &str) -> Result<usize> {
    conn.prepare_cached("DELETE FROM held_events WHERE channel = ?1 AND target = ?2")?
        .execute(params![channel, target])
}

/// One held event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    pub id: i64,
    /// Its JSON, as [`hold`] was given it.
    pub event: String,
    pub received_at: i64,
}

/// Up to `limit` held events of `channel` still to route, oldest first.
pub fn next(conn: &Tx, channel: &str, limit: i64) -> Result<Vec<Held>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, event, received_at FROM held_events
         WHERE channel = ?1 AND error IS NULL ORDER BY id LIMIT +?2",
    )?;
    let rows = stmt.query_map(params![channel, limit], |r| {
        Ok(Held {
            id: r.get(0)?,
            event: r.get(1)?,
            received_at: r.get(2)?,
        })
    })?;
    rows.collect()
}

/// Takes held events for routing (call in the transaction that stores them): deletes
/// those of `ids` still held and returns them. One another drain took already is not
/// returned (it blocks on PostgreSQL until that drain commits, then finds it gone).
pub fn take(conn: &Tx, ids: &[i64]) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached("DELETE FROM held_events WHERE id = ?1")?;
    let mut taken = Vec::with_capacity(ids.len());
    for &id in ids {
        if stmt.execute([id])? == 1 {
            taken.push(id);
        }
    }
    Ok(taken)
}

/// Sets a held event aside with why it cannot be routed (its JSON no longer reads): it
/// stays in the store, out of the drain.
pub fn set_aside(conn: &Tx, id: i64, error: &str) -> Result<()> {
    conn.execute(
        "UPDATE held_events SET error = ?2 WHERE id = ?1",
        params![id, error],
    )?;
    Ok(())
}

/// Customers' new messages held per channel, still to route (the business's own
/// messages, edits and set-aside events are not counted).
pub fn waiting(conn: &Tx) -> Result<HashMap<String, i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT channel, count(*) FROM held_events
         WHERE kind = 'message' AND error IS NULL GROUP BY channel",
    )?;
    let rows = stmt.query_map((), |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    rows.collect()
}

/// Events of `channel` still to route (messages and edits).
pub fn held_count(conn: &Tx, channel: &str) -> Result<i64> {
    conn.query_row(
        "SELECT count(*) FROM held_events WHERE channel = ?1 AND error IS NULL",
        [channel],
        |r| r.get(0),
    )
}

/// Forgets the pause of a deleted channel (nothing of it may be held: see
/// [`held_count`]).
pub fn forget(conn: &Tx, channel: &str) -> Result<()> {
    conn.execute("DELETE FROM channel_pauses WHERE channel = ?1", [channel])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(id: &str) -> About<'_> {
        About {
            kind: HeldKind::Message,
            message_id: Some(id),
            target: id,
            author: Some("ann"),
        }
    }

    fn edit(id: &str) -> About<'_> {
        About {
            kind: HeldKind::Edit,
            message_id: None,
            target: id,
            author: None,
        }
    }

    fn db() -> (crate::store::testing::TestDb, Tx) {
        let db = crate::store::testing::db();
        let tx = db.tx();
        (db, tx)
    }

    #[test]
    fn a_pause_is_idempotent_and_a_resume_holds_until_everything_is_routed() {
        let (_db, c) = db();
        assert!(!holding(&c, "fb").unwrap());
        assert!(!resume(&c, "fb", "admin", 5).unwrap(), "not paused");
        let p = pause(&c, "fb", "admin", 10).unwrap();
        assert!(p.paused());
        let again = pause(&c, "fb", "other", 20).unwrap();
        assert_eq!(
            (again.paused_at, again.paused_by.as_str()),
            (10, "admin"),
            "the first pause stays"
        );
        assert!(holding(&c, "fb").unwrap() && !holding(&c, "x").unwrap());
        assert!(hold(&c, "fb", msg("m1"), "{}", 11).unwrap());
        assert!(!hold(&c, "fb", msg("m1"), "{}", 12).unwrap(), "held once");
        assert!(hold(&c, "fb", edit("m1"), "{\"edit\":1}", 13).unwrap());
        assert!(hold(&c, "fb", edit("m1"), "{\"edit\":2}", 14).unwrap());
        assert!(hold(&c, "fb", msg("m2"), "{}", 15).unwrap());
        let own = About {
            kind: HeldKind::Own,
            author: None,
            ..msg("p1")
        };
        assert!(hold(&c, "fb", own, "{}", 16).unwrap());
        assert_eq!(
            waiting(&c).unwrap()["fb"],
            2,
            "customers' messages, not edits or the business's own"
        );
        assert!(to_drain(&c).unwrap().is_empty(), "paused: nothing drains");

        assert!(resume(&c, "fb", "admin", 30).unwrap());
        assert!(!resume(&c, "fb", "admin", 31).unwrap(), "resuming already");
        assert!(holding(&c, "fb").unwrap(), "held events go first");
        assert!(!get(&c, "fb").unwrap().unwrap().paused());
        assert_eq!(to_drain(&c).unwrap(), ["fb"]);
        assert!(finish_resumes(&c).unwrap().is_empty(), "events still held");

        let batch = next(&c, "fb", 2).unwrap();
        assert_eq!(batch.len(), 2);
        assert!(batch[0].id < batch[1].id, "in arrival order");
        let ids: Vec<i64> = batch.iter().map(|h| h.id).collect();
        assert_eq!(take(&c, &ids).unwrap(), ids);
        assert!(take(&c, &ids).unwrap().is_empty(), "taken once");
        let rest: Vec<i64> = next(&c, "fb", 10).unwrap().iter().map(|h| h.id).collect();
        assert_eq!(rest.len(), 3);
        set_aside(&c, rest[0], "unreadable").unwrap();
        take(&c, &rest[1..]).unwrap();
        assert!(!holding(&c, "fb").unwrap() || get(&c, "fb").unwrap().is_some());
        assert_eq!(finish_resumes(&c).unwrap(), ["fb"]);
        assert!(
            !holding(&c, "fb").unwrap(),
            "a set-aside event holds nothing"
        );
        assert_eq!(held_count(&c, "fb").unwrap(), 0);
        let kept: i64 = c
            .query_row("SELECT count(*) FROM held_events", (), |r| r.get(0))
            .unwrap();
        assert_eq!(kept, 1, "but it is kept");
        assert!(waiting(&c).unwrap().get("fb").is_none());
    }

    #[test]
    fn pausing_a_resuming_channel_stops_its_drain_and_a_deletion_forgets_held_events() {
        let (_db, c) = db();
        pause(&c, "fb", "admin", 10).unwrap();
        hold(&c, "fb", msg("m1"), "{}", 11).unwrap();
        hold(&c, "fb", edit("m1"), "{}", 12).unwrap();
        hold(&c, "fb", msg("m2"), "{}", 13).unwrap();
        resume(&c, "fb", "admin", 20).unwrap();
        let p = pause(&c, "fb", "super", 30).unwrap();
        assert_eq!((p.paused_at, p.paused_by.as_str()), (30, "super"));
        assert!(paused(&c, "fb").unwrap());
        assert!(to_drain(&c).unwrap().is_empty());
        assert_eq!(forget_target(&c, "fb", "m1").unwrap(), 2);
        assert_eq!(waiting(&c).unwrap()["fb"], 1);
        // An event held by an arrival that raced a resume drains though nothing paused.
        hold(&c, "x", msg("t1"), "{}", 40).unwrap();
        assert_eq!(to_drain(&c).unwrap(), ["x"]);
        assert_eq!(holding_channels(&c).unwrap(), ["fb", "x"]);
        assert_eq!(all(&c).unwrap().len(), 1);
        // An erased account takes its held messages and their edits.
        hold(&c, "x", edit("t1"), "{}", 41).unwrap();
        hold(
            &c,
            "x",
            About {
                author: Some("bo"),
                ..msg("t2")
            },
            "{}",
            42,
        )
        .unwrap();
        assert_eq!(forget_author(&c, "x", "ann").unwrap(), 2);
        assert_eq!(waiting(&c).unwrap()["x"], 1);
    }
}
