//! The rows historical reports read: each finished interaction summed up into its segments
//! (see [`crate::model::segments`]), and agents' status changes.
//!
//! An interaction is summed up in the transaction that finishes it (its end with nothing
//! owed, or its wrap-up), and marked `reported`. One that was finished without (by a host
//! older than the reports, during a rolling upgrade) is caught by [`catch_up`], which the
//! leader runs when its term begins. Interactions still live, or finished but not yet
//! summed up, are cut into segments when a report asks ([`unreported`]), so a report
//! always covers everything up to the moment it is asked.

use anyhow::Result;

use crate::model::segments::{self, Change, Segment};
use crate::store::{OptionalExtension, Tx, params};

/// A segment as stored, with what reports group it by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentRow {
    pub interaction_id: i64,
    pub segment: Segment,
    pub channel: String,
    pub media_type: String,
    /// The agent's username, when one picked it up (and still exists); filled by the
    /// reader from [`crate::store::trace::usernames`].
    pub agent: Option<String>,
    /// Answered within the workgroup's service-level target as it was then.
    pub in_target: bool,
    /// The wrap-up code, on the segment that ended the interaction.
    pub wrapup_code: Option<String>,
}

/// The history of one interaction, oldest first.
pub fn changes(conn: &Tx, id: i64) -> Result<Vec<Change>> {
    let mut stmt = conn.prepare_cached(
        "SELECT at, kind, state, user_id, workgroup FROM interaction_events
         WHERE interaction_id = ?1 ORDER BY at, id",
    )?;
    let rows = stmt.query_map([id], |r| {
        Ok(Change {
            at: r.get(0)?,
            kind: r.get(1)?,
            state: r.get(2)?,
            user_id: r.get(3)?,
            workgroup: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<anyhow::Result<_>>()?)
}

struct Basics {
    workgroup: String,
    channel: String,
    media_type: String,
    wrapup_code: Option<String>,
}

fn basics(conn: &Tx, id: i64) -> Result<Option<(Basics, bool)>> {
    Ok(conn
        .prepare_cached(
            "SELECT workgroup, channel, media_type, wrapup_code,
                    state = 'disconnected' AND wrapup_pending = 0
             FROM interactions WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok((
                Basics {
                    workgroup: r.get(0)?,
                    channel: r.get(1)?,
                    media_type: r.get(2)?,
                    wrapup_code: r.get(3)?,
                },
                r.get::<_, bool>(4)?,
            ))
        })
        .optional()?)
}

fn target_s(conn: &Tx, workgroup: &str) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT sl_target_s FROM workgroups WHERE name = ?1")?
        .query_row([workgroup], |r| r.get(0))
        .optional()?
        .unwrap_or(60))
}

fn rows_of(conn: &Tx, id: i64, b: &Basics, now: i64) -> Result<Vec<SegmentRow>> {
    let segs = segments::segments(&changes(conn, id)?, &b.workgroup, now);
    let last = segs.len().saturating_sub(1);
    let mut out = Vec::with_capacity(segs.len());
    for (k, segment) in segs.into_iter().enumerate() {
        let in_target = segment.in_target(target_s(conn, &segment.workgroup)?);
        out.push(SegmentRow {
            interaction_id: id,
            channel: b.channel.clone(),
            media_type: b.media_type.clone(),
            agent: None,
            in_target,
            wrapup_code: if k == last {
                b.wrapup_code.clone()
            } else {
                None
            },
            segment,
        });
    }
    Ok(out)
}

/// Sums up interaction `id` if it is finished with nothing owed; does nothing otherwise.
/// Summing up again replaces what was there (a wrap-up after the end).
pub fn sum_up(conn: &Tx, id: i64, now: i64) -> Result<()> {
    let Some((b, done)) = basics(conn, id)? else {
        return Ok(());
    };
    if !done {
        return Ok(());
    }
    conn.prepare_cached("DELETE FROM report_segments WHERE interaction_id = ?1")?
        .execute([id])?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO report_segments (interaction_id, seq, workgroup, agent_id, channel,
             media_type, entered_at, answered_at, ended_at, abandoned, in_target, connected_ms,
             held_ms, wrapup_ms, transfer_in, transfer_out, wrapup_code)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
    )?;
    for row in rows_of(conn, id, &b, now)? {
        let s = &row.segment;
        insert.execute(params![
            id,
            s.seq,
            s.workgroup,
            s.agent_id,
            row.channel,
            row.media_type,
            s.entered_at,
            s.answered_at,
            s.ended_at.unwrap_or(now),
            s.abandoned,
            row.in_target,
            s.connected_ms,
            s.held_ms,
            s.wrapup_ms,
            s.transfer_in,
            s.transfer_out,
            row.wrapup_code,
        ])?;
    }
    conn.prepare_cached("UPDATE interactions SET reported = 1 WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// Sums up at most `limit` finished interactions that were not; how many it did.
pub fn catch_up(conn: &Tx, limit: i64, now: i64) -> Result<usize> {
    let ids: Vec<i64> = {
        let mut stmt = conn.prepare(
            "SELECT id FROM interactions WHERE state = 'disconnected' AND reported = 0
             AND wrapup_pending = 0 ORDER BY id LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], |r| r.get(0))?;
        rows.collect::<anyhow::Result<_>>()?
    };
    for &id in &ids {
        sum_up(conn, id, now)?;
    }
    Ok(ids.len())
}

/// The agent's name is not read here (a lookup per row would cost more than the rest of
/// the report): callers name agents from [`crate::store::trace::usernames`].
const SEGMENT_COLUMNS: &str = "s.interaction_id, s.seq, s.workgroup, s.agent_id, s.channel,
    s.media_type, s.entered_at, s.answered_at, s.ended_at, s.abandoned, s.in_target,
    s.connected_ms, s.held_ms, s.wrapup_ms, s.transfer_in, s.transfer_out, s.wrapup_code";

fn segment_from_row(r: &crate::store::Row) -> anyhow::Result<SegmentRow> {
    Ok(SegmentRow {
        interaction_id: r.get(0)?,
        segment: Segment {
            seq: r.get(1)?,
            workgroup: r.get(2)?,
            agent_id: r.get(3)?,
            entered_at: r.get(6)?,
            answered_at: r.get(7)?,
            ended_at: Some(r.get(8)?),
            abandoned: r.get(9)?,
            connected_ms: r.get(11)?,
            held_ms: r.get(12)?,
            wrapup_ms: r.get(13)?,
            transfer_in: r.get(14)?,
            transfer_out: r.get(15)?,
        },
        channel: r.get(4)?,
        media_type: r.get(5)?,
        in_target: r.get(10)?,
        wrapup_code: r.get(16)?,
        agent: None,
    })
}

/// Calls `each` for every summed-up segment that entered its queue in `[from, to)`, in no
/// particular order, without holding them all.
pub fn each_segment(conn: &Tx, from: i64, to: i64, mut each: impl FnMut(SegmentRow)) -> Result<()> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {SEGMENT_COLUMNS} FROM report_segments s
         WHERE s.entered_at >= ?1 AND s.entered_at < ?2"
    ))?;
    let rows = stmt.query_map(params![from, to], segment_from_row)?;
    for row in rows {
        each(row?);
    }
    Ok(())
}

/// The segments of interactions not summed up yet (live ones, and finished ones waiting
/// for a wrap-up or for [`catch_up`]) that entered their queue in `[from, to)`.
pub fn unreported(conn: &Tx, from: i64, to: i64, now: i64) -> Result<Vec<SegmentRow>> {
    // Two halves, each answered from its own index (the live states', the unreported
    // ones'), never a scan of the whole history.
    let ids: Vec<i64> = {
        let mut stmt = conn.prepare(
            "SELECT id FROM interactions
             WHERE state IN ('buffered', 'queued', 'alerting', 'connected', 'held') AND created_at < ?1
             UNION
             SELECT id FROM interactions
             WHERE state = 'disconnected' AND reported = 0 AND created_at < ?1",
        )?;
        let rows = stmt.query_map([to], |r| r.get(0))?;
        rows.collect::<anyhow::Result<_>>()?
    };
    let mut out = Vec::new();
    for id in ids {
        let Some((b, _)) = basics(conn, id)? else {
            continue;
        };
        for row in rows_of(conn, id, &b, now)? {
            if row.segment.entered_at < from || row.segment.entered_at >= to {
                continue;
            }
            out.push(row);
        }
    }
    Ok(out)
}

/// Records an agent's change of status.
pub fn log_status(conn: &Tx, user_id: i64, status: &str, at: i64) -> Result<()> {
    conn.prepare_cached("INSERT INTO agent_status_log (user_id, status, at) VALUES (?1, ?2, ?3)")?
        .execute(params![user_id, status, at])?;
    Ok(())
}

/// One agent's status from `at` on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusChange {
    pub username: String,
    pub status: String,
    pub at: i64,
}

/// Every agent's status changes in `[from, to)`, each agent's last one before `from`
/// first (when it has one), ordered by agent then time.
pub fn status_changes(conn: &Tx, from: i64, to: i64) -> Result<Vec<StatusChange>> {
    // The last change before `from` is looked up per user through the (user_id, at)
    // index, so a report over a month does not read the year before it.
    let mut stmt = conn.prepare(
        "SELECT u.username, p.status, p.at, p.id FROM users u
         JOIN agent_status_log p ON p.id = (SELECT q.id FROM agent_status_log q
             WHERE q.user_id = u.id AND q.at < ?1 ORDER BY q.at DESC, q.id DESC LIMIT 1)
         UNION ALL
         SELECT u.username, l.status, l.at, l.id FROM agent_status_log l
         JOIN users u ON u.id = l.user_id
         WHERE l.at >= ?1 AND l.at < ?2
         ORDER BY 1, 3, 4",
    )?;
    let rows = stmt.query_map(params![from, to], |r| {
        Ok(StatusChange {
            username: r.get(0)?,
            status: r.get(1)?,
            at: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<anyhow::Result<_>>()?)
}
