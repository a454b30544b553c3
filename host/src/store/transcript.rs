//! Transcripts: an interaction's messages, and the earlier conversation of its thread
//! (the post, earlier comments and the business's own replies; for a direct message the
//! messages before this interaction), which agents read beside it.

use anyhow::Result;

use crate::model::event::Attachment;
use crate::model::interaction::{TranscriptMessage, Visibility};
use crate::store::media;
use crate::store::{Row, Tx, params};

/// The columns [`message_from_row`] reads, over `messages m` with its outbound row `o`.
const COLUMNS: &str = "m.direction, m.text, m.author_name, m.created_at, m.platform_message_id,
    m.parent_id, m.visibility, m.deleted, o.delivery, o.delivery_error,
    m.author_handle, m.followers, m.attachments, m.author_id,
    EXISTS (SELECT 1 FROM interaction_events e
            WHERE e.interaction_id = m.interaction_id
              AND e.kind = 'hidden_on_platform'
              AND e.detail = m.platform_message_id),
    m.id, o.id";

/// A message as read, before its files are looked up.
struct Read {
    message: TranscriptMessage,
    row_id: i64,
    outbound_id: Option<i64>,
    attachments: Vec<Attachment>,
}

fn message_from_row(r: &Row) -> anyhow::Result<Read> {
    let visibility: String = r.get(6)?;
    let message = TranscriptMessage {
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
        attachments: Vec::new(),
        author_id: r.get(13)?,
        hidden: r.get(14)?,
    };
    Ok(Read {
        message,
        row_id: r.get(15)?,
        outbound_id: r.get(16)?,
        // Written by ingest from the same type; an unreadable list shows none.
        attachments: serde_json::from_str(&r.get::<_, String>(12)?).unwrap_or_default(),
    })
}

/// The messages with their attachments as agents see them: each file's row says where it
/// stands (an agent's file belongs to the reply that sent it).
fn with_files(conn: &Tx, read: Vec<Read>) -> Result<Vec<TranscriptMessage>> {
    let mut out = Vec::with_capacity(read.len());
    for mut r in read {
        let mut files = if r.attachments.is_empty() {
            Vec::new()
        } else {
            media::of_message(conn, r.row_id)?
        };
        if files.is_empty()
            && let Some(outbound) = r.outbound_id
        {
            files = media::of_outbound(conn, outbound)?;
            if r.attachments.is_empty() {
                r.attachments = vec![Attachment::default(); files.len()];
            }
        }
        r.message.attachments = r
            .attachments
            .iter()
            .enumerate()
            .map(|(i, a)| {
                crate::model::attachment::view(a, files.iter().find(|f| f.position == i as i64))
            })
            .collect();
        out.push(r.message);
    }
    Ok(out)
}

/// An interaction's messages, oldest first.
pub fn messages_of(conn: &Tx, id: i64) -> Result<Vec<TranscriptMessage>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM messages m LEFT JOIN outbound o
             ON o.channel = m.channel AND o.platform_message_id = m.platform_message_id
         WHERE m.interaction_id = ?1 ORDER BY m.created_at, m.id"
    ))?;
    let rows = stmt.query_map([id], message_from_row)?;
    let read = rows.collect::<anyhow::Result<_>>()?;
    with_files(conn, read)
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
    let mut read: Vec<Read> = rows.collect::<anyhow::Result<_>>()?;
    read.reverse();
    with_files(conn, read)
}
