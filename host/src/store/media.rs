//! Attachment files: rows only. The bytes live in the blob store (`media::blobs`), named
//! by their SHA-256; what fetches, serves and sends them lives in `media`.
//!
//! A customer's file gets a row (`pending`) in the same transaction as its message, so an
//! accepted message never loses its attachments to a crash: the fetcher finds the row.
//! The row keeps what the download needs (`source`: the connector's attachment with the
//! platform's URL or media id) until the file is `stored`, and then forgets it; a
//! download that keeps failing ends `failed` with the reason. A claim holds a row for a
//! lease, so one host at a time downloads it; a host that dies lets the lease run out.
//! An agent's file gets a row (`stored`) when the reply that carries it is accepted.
//!
//! Erasure (retention, a customer erased, a message or an author removed on the
//! platform) sets rows `erased` and drops their hash; the fetcher deletes blobs no row
//! names any more.

use anyhow::Result;

use crate::model::attachment::{MediaRow, MediaState};
use crate::model::event::Attachment;
use crate::store::{OptionalExtension, Tx, params};

/// How long a claimed download is held before another host may take it, ms.
pub const LEASE_MS: i64 = 10 * 60_000;

/// A download claimed for this host.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub id: i64,
    pub channel: String,
    pub source: Attachment,
    /// Tries before this one.
    pub attempts: i64,
}

/// What serving a file needs: the bytes' name and who may see them.
#[derive(Clone, Debug)]
pub struct Serving {
    pub state: MediaState,
    pub content_hash: Option<String>,
    pub content_type: Option<String>,
    pub size: Option<i64>,
    pub file_name: Option<String>,
    /// The interaction the file belongs to (through its message or reply); none for a
    /// message kept without one (only supervisors see those).
    pub interaction_id: Option<i64>,
}

/// Records a customer's file to download (inside the transaction storing its message).
pub fn insert_pending(
    conn: &Tx,
    channel: &str,
    message_id: i64,
    position: usize,
    source: &Attachment,
    now: i64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO media (channel, message_id, position, state, source, file_name, attempts,
             next_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, 'pending', ?4, ?5, 0, ?6, ?6, ?6)",
    )?
    .execute(params![
        channel,
        message_id,
        position as i64,
        serde_json::to_string(source)?,
        source.file_name,
        now
    ])?;
    Ok(())
}

/// Records an agent's file, already in the blob store, for reply `outbound_id`.
#[allow(clippy::too_many_arguments)]
pub fn insert_outbound(
    conn: &Tx,
    channel: &str,
    outbound_id: i64,
    position: usize,
    hash: &str,
    size: i64,
    content_type: &str,
    file_name: &str,
    now: i64,
) -> Result<i64> {
    conn.prepare_cached(
        "INSERT INTO media (channel, outbound_id, position, state, source, file_name,
             content_hash, size, content_type, attempts, created_at, updated_at)
         VALUES (?1, ?2, ?3, 'stored', '{}', ?4, ?5, ?6, ?7, 0, ?8, ?8) RETURNING id",
    )?
    .query_row(
        params![
            channel,
            outbound_id,
            position as i64,
            file_name,
            hash,
            size,
            content_type,
            now
        ],
        |r| r.get(0),
    )
}

/// When the next download is due, if any.
pub fn next_due(conn: &Tx) -> Result<Option<i64>> {
    conn.prepare_cached(
        "SELECT MIN(CASE WHEN claimed_until IS NOT NULL AND claimed_until > next_at
                         THEN claimed_until ELSE next_at END)
         FROM media WHERE state = 'pending'",
    )?
    .query_row((), |r| r.get(0))
}

/// Claims up to `limit` due downloads for `LEASE_MS`.
pub fn claim_due(conn: &Tx, now: i64, limit: i64) -> Result<Vec<Claimed>> {
    let rows: Vec<(i64, String, String, i64)> = {
        let mut stmt = conn.prepare_cached(
            "SELECT id, channel, source, attempts FROM media
             WHERE state = 'pending' AND next_at <= ?1
               AND (claimed_until IS NULL OR claimed_until <= ?1)
             ORDER BY next_at LIMIT +?2",
        )?;
        let rows = stmt.query_map(params![now, limit], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
        rows.collect::<Result<_>>()?
    };
    let mut claimed = Vec::with_capacity(rows.len());
    for (id, channel, source, attempts) in rows {
        conn.prepare_cached("UPDATE media SET claimed_until = ?2 WHERE id = ?1")?
            .execute(params![id, now + LEASE_MS])?;
        // Written by ingest from the same type; an unreadable one downloads nothing and
        // ends failed with that said.
        let source = serde_json::from_str(&source).unwrap_or_default();
        claimed.push(Claimed {
            id,
            channel,
            source,
            attempts,
        });
    }
    Ok(claimed)
}

/// A download finished: the bytes are in the blob store under `hash`. A row erased
/// meanwhile stays erased (the blob is then collected).
pub fn stored(
    conn: &Tx,
    id: i64,
    hash: &str,
    size: i64,
    content_type: &str,
    now: i64,
) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "UPDATE media SET state = 'stored', content_hash = ?2, size = ?3, content_type = ?4,
                 source = '{}', error = NULL, claimed_until = NULL, updated_at = ?5
             WHERE id = ?1 AND state = 'pending'",
        )?
        .execute(params![id, hash, size, content_type, now])?
        > 0)
}

/// A download failed: tried again at `retry_at`, or (none) given up for good. The reason
/// is shown either way.
pub fn failed(conn: &Tx, id: i64, error: &str, retry_at: Option<i64>, now: i64) -> Result<()> {
    match retry_at {
        Some(at) => conn
            .prepare_cached(
                "UPDATE media SET error = ?2, attempts = attempts + 1, next_at = ?3,
                     claimed_until = NULL, updated_at = ?4
                 WHERE id = ?1 AND state = 'pending'",
            )?
            .execute(params![id, error, at, now])?,
        None => conn
            .prepare_cached(
                "UPDATE media SET state = 'failed', error = ?2, attempts = attempts + 1,
                     source = '{}', claimed_until = NULL, updated_at = ?3
                 WHERE id = ?1 AND state = 'pending'",
            )?
            .execute(params![id, error, now])?,
    };
    Ok(())
}

/// The files of message `message_id` (by the message's row id), in order.
pub fn of_message(conn: &Tx, message_id: i64) -> Result<Vec<MediaRow>> {
    rows(conn, "message_id", message_id)
}

/// The files of reply `outbound_id`, in order.
pub fn of_outbound(conn: &Tx, outbound_id: i64) -> Result<Vec<MediaRow>> {
    rows(conn, "outbound_id", outbound_id)
}

fn rows(conn: &Tx, column: &str, owner: i64) -> Result<Vec<MediaRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, position, state, error, size, content_type FROM media
         WHERE {column} = ?1 ORDER BY position"
    ))?;
    let rows = stmt.query_map([owner], |r| {
        Ok(MediaRow {
            id: r.get(0)?,
            position: r.get(1)?,
            state: MediaState::parse(&r.get::<_, String>(2)?),
            error: r.get(3)?,
            size: r.get(4)?,
            content_type: r.get(5)?,
        })
    })?;
    rows.collect()
}

/// What serving file `id` needs, if it exists.
pub fn serving(conn: &Tx, id: i64) -> Result<Option<Serving>> {
    conn.prepare_cached(
        "SELECT f.state, f.content_hash, f.content_type, f.size, f.file_name,
                COALESCE(m.interaction_id, o.interaction_id)
         FROM media f
         LEFT JOIN messages m ON m.id = f.message_id
         LEFT JOIN outbound o ON o.id = f.outbound_id
         WHERE f.id = ?1",
    )?
    .query_row([id], |r| {
        Ok(Serving {
            state: MediaState::parse(&r.get::<_, String>(0)?),
            content_hash: r.get(1)?,
            content_type: r.get(2)?,
            size: r.get(3)?,
            file_name: r.get(4)?,
            interaction_id: r.get(5)?,
        })
    })
    .optional()
}

/// The row id of reply `outbound_id`'s file at `position`.
pub fn outbound_file_id(conn: &Tx, outbound_id: i64, position: i64) -> Result<Option<i64>> {
    conn.prepare_cached("SELECT id FROM media WHERE outbound_id = ?1 AND position = ?2")?
        .query_row(params![outbound_id, position], |r| r.get(0))
        .optional()
}

/// What serving a reply's file by its signed link needs: its hash, type and size, when
/// it is an agent's file still stored.
pub fn linked(conn: &Tx, id: i64) -> Result<Option<(String, String, i64)>> {
    conn.prepare_cached(
        "SELECT content_hash, content_type, size FROM media
         WHERE id = ?1 AND outbound_id IS NOT NULL AND state = 'stored'",
    )?
    .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
    .optional()
}

/// Whether any row still names blob `hash` (the collector keeps it then).
pub fn hash_in_use(conn: &Tx, hash: &str) -> Result<bool> {
    conn.prepare_cached("SELECT 1 FROM media WHERE content_hash = ?1 LIMIT 1")?
        .exists([hash])
}

const ERASE: &str = "UPDATE media SET state = 'erased', content_hash = NULL, source = '{}',
         error = NULL, file_name = NULL, claimed_until = NULL, updated_at = ?2";

/// Erases the files of interaction `id`'s messages and replies.
pub fn erase_interaction(conn: &Tx, id: i64, now: i64) -> Result<()> {
    conn.prepare_cached(&format!(
        "{ERASE} WHERE state <> 'erased' AND (
             message_id IN (SELECT id FROM messages WHERE interaction_id = ?1)
             OR outbound_id IN (SELECT id FROM outbound WHERE interaction_id = ?1))"
    ))?
    .execute(params![id, now])?;
    Ok(())
}

/// Erases the files of one message (removed on the platform).
pub fn erase_message(conn: &Tx, channel: &str, platform_message_id: &str, now: i64) -> Result<()> {
    conn.prepare_cached(&format!(
        "{ERASE} WHERE state <> 'erased' AND message_id IN
             (SELECT id FROM messages WHERE channel = ?1 AND platform_message_id = ?3)"
    ))?
    .execute(params![channel, now, platform_message_id])?;
    Ok(())
}

/// Erases the files of messages whose author is `author` on `channel` and that belong to
/// no interaction (call before their author is blanked).
pub fn erase_author_unrouted(conn: &Tx, channel: &str, author: &str, now: i64) -> Result<()> {
    conn.prepare_cached(&format!(
        "{ERASE} WHERE state <> 'erased' AND message_id IN
             (SELECT id FROM messages WHERE channel = ?1 AND author_id = ?3
              AND interaction_id IS NULL)"
    ))?
    .execute(params![channel, now, author])?;
    Ok(())
}

/// Erases the files of every message `author` wrote on `channel` (their account was
/// deleted on the platform).
pub fn erase_author(conn: &Tx, channel: &str, author: &str, now: i64) -> Result<()> {
    conn.prepare_cached(&format!(
        "{ERASE} WHERE state <> 'erased' AND message_id IN
             (SELECT id FROM messages WHERE channel = ?1 AND author_id = ?3)"
    ))?
    .execute(params![channel, now, author])?;
    Ok(())
}

/// Erases the files of every message of `channel` kept without an interaction and stored
/// before `cutoff` (the retention purge).
pub fn erase_unrouted_before(conn: &Tx, channel: &str, cutoff: i64, now: i64) -> Result<()> {
    conn.prepare_cached(&format!(
        "{ERASE} WHERE state <> 'erased' AND message_id IN
             (SELECT id FROM messages WHERE channel = ?1 AND interaction_id IS NULL
              AND stored_at < ?3)"
    ))?
    .execute(params![channel, now, cutoff])?;
    Ok(())
}
