//! The outbox: the durable record of every reply. A reply is stored before the first
//! attempt, so a crash between "agent pressed send" and "platform accepted it" loses
//! nothing, and each attempt is recorded as `attempting` *before* the platform call, so a
//! crash, trap or timeout during it is never followed by a blind second send: the host
//! asks the connector whether the message exists, and otherwise marks it `unknown` for
//! the agent to decide (see `outbound::send`).
//!
//! States: `pending` (due at `next_attempt_at`), `attempting`, `sent`, `failed`,
//! `suppressed` (the RPC cache), `unknown`.

use crate::store::{OptionalExtension, Tx, params};
use anyhow::Result;

use crate::model::interaction::Visibility;

pub use crate::model::reply::{Extras, ListItem, OutboundReply, Template};

const COLUMNS: &str = "id, idempotency_key, interaction_id, channel, thread_id, reply_to,
    recipient_id, visibility, text, state, attempts, platform_message_id, last_error, author_user_id,
    max_attempts, backoff_ms, extras, delivery, delivery_error, next_attempt_at, last_attempt_at";

fn from_row(r: &crate::store::Row) -> anyhow::Result<OutboundReply> {
    let visibility: String = r.get(7)?;
    Ok(OutboundReply {
        id: r.get(0)?,
        idempotency_key: r.get(1)?,
        interaction_id: r.get(2)?,
        channel: r.get(3)?,
        thread_id: r.get(4)?,
        reply_to: r.get(5)?,
        recipient_id: r.get(6)?,
        visibility: Visibility::parse(&visibility),
        text: r.get(8)?,
        state: r.get(9)?,
        attempts: r.get(10)?,
        platform_message_id: r.get(11)?,
        last_error: r.get(12)?,
        author_user_id: r.get(13)?,
        max_attempts: r.get(14)?,
        backoff_ms: r.get(15)?,
        extras: serde_json::from_str(&r.get::<_, String>(16)?).unwrap_or_default(),
        delivery: r.get(17)?,
        delivery_error: r.get(18)?,
        next_attempt_at: r.get(19)?,
        last_attempt_at: r.get(20)?,
    })
}

/// How long the scheduler leaves a new reply to whoever stored it (the agent's request, the
/// workflow's effects), which attempts it at once. Only if that never happens (a crash in
/// between) does the scheduler take it.
pub const FIRST_ATTEMPT_GRACE_MS: i64 = 5_000;

/// Puts a reply in the outbox as `pending`.
pub fn enqueue(conn: &Tx, reply: &OutboundReply, now: i64) -> Result<i64> {
    conn.query_row(
        "INSERT INTO outbound (idempotency_key, interaction_id, channel, thread_id, reply_to,
             recipient_id, visibility, text, author_user_id, state, created_at, updated_at,
             max_attempts, backoff_ms, extras, next_attempt_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending', ?10, ?10, ?11, ?12, ?13, ?14)
         RETURNING id",
        params![
            reply.idempotency_key,
            reply.interaction_id,
            reply.channel,
            reply.thread_id,
            reply.reply_to,
            reply.recipient_id,
            reply.visibility.as_str(),
            reply.text,
            reply.author_user_id,
            now,
            reply.max_attempts.max(1),
            reply.backoff_ms.max(1),
            serde_json::to_string(&reply.extras)?,
            now + FIRST_ATTEMPT_GRACE_MS
        ],
        |r| r.get(0),
    )
}

/// One reply.
pub fn get(conn: &Tx, id: i64) -> Result<Option<OutboundReply>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM outbound WHERE id = ?1"),
            [id],
            from_row,
        )
        .optional()?)
}

/// Pending replies due at `now` (their `next_attempt_at` has come), oldest first.
pub fn due(conn: &Tx, now: i64, limit: usize) -> Result<Vec<OutboundReply>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM outbound WHERE state = 'pending' AND next_attempt_at <= ?1
         ORDER BY next_attempt_at, id LIMIT +?2"
    ))?;
    let rows = stmt.query_map(params![now, limit as i64], from_row)?;
    Ok(rows.collect::<anyhow::Result<_>>()?)
}

/// When the next pending reply is due, if any.
pub fn next_due_at(conn: &Tx) -> Result<Option<i64>> {
    Ok(conn.query_row(
        "SELECT MIN(next_attempt_at) FROM outbound WHERE state = 'pending'",
        (),
        |r| r.get(0),
    )?)
}

/// Replies whose attempt was under way when the host stopped: each may or may not have
/// reached the platform.
pub fn in_doubt(conn: &Tx) -> Result<Vec<OutboundReply>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM outbound WHERE state = 'attempting' ORDER BY id"
    ))?;
    let rows = stmt.query_map((), from_row)?;
    Ok(rows.collect::<anyhow::Result<_>>()?)
}

/// What [`begin_attempt`] decided.
#[derive(Debug)]
pub enum Begin {
    /// Recorded as `attempting`: call the platform now.
    Go(Box<OutboundReply>),
    /// The same text went to the same target within the window this long ago (ms): the
    /// reply is now `suppressed`.
    Repeat(i64),
    /// Not pending (already under way elsewhere, sent, failed, gone): nothing to do.
    NotPending,
}

/// Claims a pending reply for one attempt, in one transaction: checks the RPC-cache
/// window (`window_ms`, 0 for none) and records `attempting` before any platform call.
/// A reply sent, under way, of unknown fate or suppressed within the window, with the
/// same text to the same target, makes this one a repeat. Failed and pending ones do
/// not count: a resend after a failure is never suppressed.
pub fn begin_attempt(conn: &Tx, id: i64, window_ms: i64, now: i64) -> Result<Begin> {
    let Some(mut reply) = get(conn, id)? else {
        return Ok(Begin::NotPending);
    };
    if reply.state != "pending" {
        return Ok(Begin::NotPending);
    }
    if window_ms > 0 {
        let earlier: Option<i64> = conn
            .query_row(
                "SELECT MAX(last_attempt_at) FROM outbound
                 WHERE channel = ?1 AND last_attempt_at > ?2 AND id != ?3 AND text = ?4
                   AND state IN ('attempting', 'sent', 'unknown', 'suppressed')
                   AND COALESCE(recipient_id, reply_to, thread_id) = ?5",
                params![
                    reply.channel,
                    now - window_ms,
                    id,
                    reply.text,
                    reply.target()
                ],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        if let Some(at) = earlier {
            let ago = (now - at).max(0);
            let why = format!(
                "Not sent: the same text went to this customer {} s ago (RPC cache).",
                ago / 1000
            );
            // A suppressed attempt restarts the window, as every attempt does.
            conn.execute(
                "UPDATE outbound SET state = 'suppressed', last_error = ?2, last_attempt_at = ?3,
                     updated_at = ?3 WHERE id = ?1",
                params![id, why, now],
            )?;
            return Ok(Begin::Repeat(ago));
        }
    }
    conn.execute(
        "UPDATE outbound SET state = 'attempting', last_attempt_at = ?2, updated_at = ?2
         WHERE id = ?1",
        params![id, now],
    )?;
    reply.state = "attempting".into();
    reply.last_attempt_at = Some(now);
    Ok(Begin::Go(Box::new(reply)))
}

/// Puts a reply back to `pending`, due at `next_at`, after an attempt that certainly did
/// not reach the platform. `spend` counts the attempt (a rate limit's wait does not).
pub fn retry_later(
    conn: &Tx,
    id: i64,
    error: &str,
    next_at: i64,
    spend: bool,
    now: i64,
) -> Result<()> {
    conn.execute(
        "UPDATE outbound SET state = 'pending', next_attempt_at = ?2, last_error = ?3,
             attempts = attempts + ?4, updated_at = ?5
         WHERE id = ?1 AND state IN ('pending', 'attempting')",
        params![id, next_at, error, i64::from(spend), now],
    )?;
    Ok(())
}

/// Marks a reply whose fate the platform cannot tell: the agent sees it and may resend.
pub fn mark_unknown(conn: &Tx, id: i64, why: &str, now: i64) -> Result<()> {
    conn.execute(
        "UPDATE outbound SET state = 'unknown', last_error = ?2, attempts = attempts + 1,
             updated_at = ?3 WHERE id = ?1 AND state IN ('pending', 'attempting')",
        params![id, why, now],
    )?;
    Ok(())
}

/// Sends a reply of unknown fate (or a failed one) again, deliberately: `pending`, due
/// now, its attempts afresh and its idempotency key kept. Returns the reply, or why not
/// (plain words) when it is in another state or not of interaction `interaction`.
pub fn resend(
    conn: &Tx,
    interaction: i64,
    id: i64,
    now: i64,
) -> Result<Result<OutboundReply, String>> {
    let Some(reply) = get(conn, id)?.filter(|r| r.interaction_id == interaction) else {
        return Ok(Err(format!(
            "Reply {id} is not part of conversation {interaction}."
        )));
    };
    if !matches!(reply.state.as_str(), "unknown" | "failed") {
        return Ok(Err(format!(
            "This reply is {}; only a reply that failed or whose delivery is unknown can be resent.",
            reply.state
        )));
    }
    conn.execute(
        "UPDATE outbound SET state = 'pending', attempts = 0, last_error = NULL,
             delivery = NULL, delivery_error = NULL, next_attempt_at = ?2, updated_at = ?3
         WHERE id = ?1",
        params![id, now + FIRST_ATTEMPT_GRACE_MS, now],
    )?;
    Ok(Ok(get(conn, id)?.expect("just updated")))
}

/// Ends the unfinished replies of a deleted channel: nothing can send them any more.
/// Pending ones become `failed`; one whose attempt was under way becomes `unknown`.
/// Returns how many changed.
pub fn end_for_deleted_channel(conn: &Tx, channel: &str, now: i64) -> Result<usize> {
    let failed = conn.execute(
        "UPDATE outbound SET state = 'failed', updated_at = ?2,
             last_error = 'Not sent: the channel was deleted.'
         WHERE channel = ?1 AND state = 'pending'",
        params![channel, now],
    )?;
    let unknown = conn.execute(
        "UPDATE outbound SET state = 'unknown', updated_at = ?2,
             last_error = 'The channel was deleted while this reply was being sent; it may or may not have reached the customer.'
         WHERE channel = ?1 AND state = 'attempting'",
        params![channel, now],
    )?;
    Ok(failed + unknown)
}

/// Whether another reply of the channel was already recorded with this platform id (an
/// existence check that finds it found someone else's message).
pub fn platform_id_taken(
    conn: &Tx,
    channel: &str,
    platform_message_id: &str,
    id: i64,
) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM outbound WHERE channel = ?1 AND platform_message_id = ?2 AND id != ?3",
            params![channel, platform_message_id, id],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// Records a failed last attempt: the reply is `failed` for good.
pub fn mark_failed(conn: &Tx, id: i64, error: &str, now: i64) -> Result<()> {
    conn.execute(
        "UPDATE outbound SET state = 'failed', attempts = attempts + 1, last_error = ?2,
             updated_at = ?3 WHERE id = ?1 AND state IN ('pending', 'attempting')",
        params![id, error, now],
    )?;
    Ok(())
}

/// Marks a reply sent and adds it to the transcript. The platform may already have told us
/// about it by webhook (the page's own comment): then that row becomes this reply.
pub fn mark_sent(
    conn: &Tx,
    reply: &OutboundReply,
    platform_message_id: &str,
    author_name: &str,
    now: i64,
) -> Result<()> {
    conn.execute(
        "UPDATE outbound SET state = 'sent', attempts = attempts + 1, platform_message_id = ?2,
             last_error = NULL, updated_at = ?3 WHERE id = ?1",
        params![reply.id, platform_message_id, now],
    )?;
    apply_early_deliveries(conn, &reply.channel, platform_message_id, now)?;
    conn.execute(
        "INSERT INTO messages (channel, platform_message_id, interaction_id, thread_id, parent_id,
             direction, visibility, author_id, author_name, text, from_business, created_at, stored_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'outbound', ?6, 'business', ?7, ?8, 1, ?9, ?9)
         ON CONFLICT (channel, platform_message_id) DO UPDATE SET
             interaction_id = excluded.interaction_id, direction = 'outbound',
             author_name = excluded.author_name",
        params![
            reply.channel,
            platform_message_id,
            reply.interaction_id,
            reply.thread_id,
            reply.reply_to,
            reply.visibility.as_str(),
            author_name,
            reply.text,
            now
        ],
    )?;
    Ok(())
}

/// Records a delivery status the platform reported for one of our messages. A failure
/// also marks the message failed, with the platform's error for the agent. Returns the
/// interaction it belongs to, when the message is ours.
pub fn record_delivery(
    conn: &Tx,
    channel: &str,
    platform_message_id: &str,
    state: &str,
    error: Option<&str>,
    now: i64,
) -> Result<Option<i64>> {
    let failed = state == "failed";
    let updated = conn.execute(
        "UPDATE outbound SET delivery = ?3, delivery_error = COALESCE(?4, delivery_error),
             state = CASE WHEN ?5 THEN 'failed' ELSE state END,
             last_error = CASE WHEN ?5 THEN ?4 ELSE last_error END, updated_at = ?6
         WHERE channel = ?1 AND platform_message_id = ?2",
        params![channel, platform_message_id, state, error, failed, now],
    )?;
    if updated == 0 {
        // Not ours, or ours but not recorded as sent yet: keep it for `mark_sent`.
        conn.execute(
            "INSERT INTO early_deliveries (channel, platform_message_id, state, error, at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![channel, platform_message_id, state, error, now],
        )?;
        // Statuses of messages that are not ours would otherwise pile up.
        conn.execute(
            "DELETE FROM early_deliveries WHERE at < ?1",
            params![now - 86_400_000],
        )?;
    }
    Ok(conn
        .query_row(
            "SELECT interaction_id FROM outbound WHERE channel = ?1 AND platform_message_id = ?2",
            params![channel, platform_message_id],
            |r| r.get(0),
        )
        .optional()?)
}

/// Everything the business sent or tries to send in an interaction, oldest first.
pub fn of_interaction(conn: &Tx, id: i64) -> Result<Vec<OutboundReply>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM outbound WHERE interaction_id = ?1 ORDER BY id"
    ))?;
    let rows = stmt.query_map([id], from_row)?;
    Ok(rows.collect::<anyhow::Result<_>>()?)
}

/// Applies statuses that arrived before the send was recorded, in arrival order, then
/// forgets them.
fn apply_early_deliveries(conn: &Tx, channel: &str, pmid: &str, now: i64) -> Result<()> {
    let early: Vec<(String, Option<String>)> = {
        let mut stmt = conn.prepare_cached(
            "SELECT state, error FROM early_deliveries
             WHERE channel = +?1 AND platform_message_id = +?2 ORDER BY rowid",
        )?;
        let rows = stmt.query_map(params![channel, pmid], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<anyhow::Result<_>>()?
    };
    if early.is_empty() {
        return Ok(());
    }
    conn.execute(
        "DELETE FROM early_deliveries WHERE channel = ?1 AND platform_message_id = ?2",
        params![channel, pmid],
    )?;
    for (state, error) in early {
        record_delivery(conn, channel, pmid, &state, error.as_deref(), now)?;
    }
    Ok(())
}

#[cfg(test)]
#[path = "outbox_tests.rs"]
mod tests;
