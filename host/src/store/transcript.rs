//! Transcripts: an interaction's messages, and the earlier conversation of its thread
//! (the post, earlier comments and the business's own replies; for a direct message the
//! messages before this interaction), which agents read beside it.

use anyhow::Result;

use crate::model::interaction::{TranscriptMessage, Visibility};
use crate::store::{Row, Tx, params};

/// The columns [`message_from_row`] reads, over `messages m` with its outbound row `o`.
const COLUMNS: &str = "m.direction, m.text, m.author_name, m.created_at, m.platform_message_id,
    m.parent_id, m.visibility, m.deleted, o.delivery, o.delivery_error,
    m.author_handle, m.followers, m.attachments, m.author_id,
    EXISTS (SELECT 1 FROM interaction_events e
            WHERE e.interaction_id = m.interaction_id
              AND e.kind = 'hidden_on_platform'
              AND e.detail = m.platform_message_id)";

fn message_from_row(r: &Row) -> anyhow::Result<TranscriptMessage> {
    let visibility: String = r.get(6)?;
    Ok(TranscriptMessage {
        direction: r.get(0)?,
        text: r.get(1)?,
        author: r.get(2)?,
        created_at: r.get(3)?,
        platform_message_id: r.get(4)?,
        parent_id: r.get(5)?,
        visibility: Visibility::parse(&visibility),
        deleted: r.get(7)?,
        delivery: r.get(8)?,
        delivery_error: r.get(9)?,
        author_handle: r.get(10)?,
        followers: r.get(11)?,
        // Written by ingest from the same type; an unreadable list shows none.
        attachments: serde_json::from_str(&r.get::<_, String>(12)?).unwrap_or_default(),
        author_id: r.get(13)?,
        hidden: r.get(14)?,
    })
}

/// An interaction's messages, oldest first.
pub fn messages_of(conn: &Tx, id: i64) -> Result<Vec<TranscriptMessage>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM messages m LEFT JOIN outbound o
             ON o.channel = m.channel AND o.platform_message_id = m.platform_message_id
         WHERE m.interaction_id = ?1 ORDER BY m.created_at, m.id"
    ))?;
    let rows = stmt.query_map([id], message_from_row)?;
    Ok(rows.collect::<anyhow::Result<_>>()?)
}

/// The last `limit` messages of interaction `id`'s thread from before its first message
/// (those of earlier interactions, and those kept without one, such as the business's own
/// post), oldest first. Platform times tie often (many give whole seconds): a tie goes by
/// the order they were stored in.
pub fn earlier_in_thread(conn: &Tx, id: i64, limit: i64) -> Result<Vec<TranscriptMessage>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM messages m LEFT JOIN outbound o
             ON o.channel = m.channel AND o.platform_message_id = m.platform_message_id
         JOIN interactions i ON i.id = ?1
         WHERE m.channel = i.channel AND m.thread_id = i.thread_id
           AND (m.interaction_id IS NULL OR m.interaction_id <> i.id)
           AND (m.created_at, m.id) < (SELECT f.created_at, f.id FROM messages f
                                       WHERE f.interaction_id = i.id
                                       ORDER BY f.created_at, f.id LIMIT 1)
         ORDER BY m.created_at DESC, m.id DESC LIMIT +?2"
    ))?;
    let rows = stmt.query_map(params![id, limit], message_from_row)?;
    let mut out: Vec<TranscriptMessage> = rows.collect::<anyhow::Result<_>>()?;
    out.reverse();
    Ok(out)
}
