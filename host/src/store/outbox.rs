//! The outbox: replies waiting to be sent. A reply is stored before the first attempt, so
//! a crash between "agent pressed send" and "platform accepted it" loses nothing; the
//! idempotency key travels with every retry so the platform sees one reply.

use anyhow::Result;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::interactions::model::Visibility;

/// A message template (WhatsApp), sent instead of free text.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Template {
    /// The template's name, as approved on the platform.
    pub name: String,
    /// Its language code (`en_US`).
    pub language: String,
    /// Body parameters, in order.
    #[serde(default)]
    pub parameters: Vec<String>,
}

/// One choice of an interactive list (Apple list picker).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ListItem {
    /// Returned when the customer picks it.
    pub id: String,
    /// What the customer sees.
    pub title: String,
}

/// What an outbound message carries besides its text.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Extras {
    /// Send this template instead of the text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<Template>,
    /// Which of the channel's accounts sends it (an X handle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_handle: Option<String>,
    /// Choices of an interactive list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub list_items: Vec<ListItem>,
}

/// One reply in the outbox.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct OutboundReply {
    /// Outbox id.
    pub id: i64,
    /// Sent with every attempt; the same key means the same reply.
    pub idempotency_key: String,
    /// The interaction it answers.
    pub interaction_id: i64,
    /// Channel to send on.
    pub channel: String,
    /// Thread on the platform.
    pub thread_id: String,
    /// The message it answers.
    pub reply_to: Option<String>,
    /// The customer, for private replies.
    pub recipient_id: Option<String>,
    /// Public or private.
    pub visibility: Visibility,
    /// Text to send.
    pub text: String,
    /// `pending`, `sent` or `failed`.
    pub state: String,
    /// Attempts so far.
    pub attempts: i64,
    /// Platform id once sent.
    pub platform_message_id: Option<String>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// The agent who wrote it; `None`: the workflow sent it.
    #[serde(skip)]
    pub author_user_id: Option<i64>,
    /// Attempts before it is marked failed (the first plus the retries).
    pub max_attempts: i64,
    /// Wait before the first retry, ms; doubled for each further one.
    pub backoff_ms: i64,
    /// Template, sender handle, list choices.
    #[serde(flatten)]
    pub extras: Extras,
    /// What the platform last said about delivery: `sent`, `delivered`, `read`, `failed`.
    pub delivery: Option<String>,
    /// The platform's error for a failed delivery (code and title).
    pub delivery_error: Option<String>,
}

impl OutboundReply {
    /// A message the workflow sends (`send`) on interaction `id`.
    pub fn from_workflow(
        id: i64,
        channel: &str,
        thread: &str,
        reply_to: Option<String>,
        recipient: Option<String>,
        customer_visibility: Visibility,
        send: &crate::ingest::plan::Send,
    ) -> OutboundReply {
        let visibility = match send.visibility.as_deref() {
            Some(v) => Visibility::parse(v),
            None => customer_visibility,
        };
        OutboundReply {
            id: 0,
            idempotency_key: uuid::Uuid::new_v4().to_string(),
            interaction_id: id,
            channel: channel.to_owned(),
            thread_id: thread.to_owned(),
            reply_to,
            recipient_id: recipient,
            visibility,
            text: send.text.clone(),
            state: "pending".into(),
            attempts: 0,
            platform_message_id: None,
            last_error: None,
            author_user_id: None,
            max_attempts: send.retries + 1,
            backoff_ms: send.backoff_ms,
            extras: Extras::default(),
            delivery: None,
            delivery_error: None,
        }
    }
}

const COLUMNS: &str = "id, idempotency_key, interaction_id, channel, thread_id, reply_to,
    recipient_id, visibility, text, state, attempts, platform_message_id, last_error, author_user_id,
    max_attempts, backoff_ms, extras, delivery, delivery_error";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<OutboundReply> {
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
    })
}

/// Puts a reply in the outbox as `pending`.
pub fn enqueue(conn: &Connection, reply: &OutboundReply, now: i64) -> Result<i64> {
    conn.execute(
        "INSERT INTO outbound (idempotency_key, interaction_id, channel, thread_id, reply_to,
             recipient_id, visibility, text, author_user_id, state, created_at, updated_at,
             max_attempts, backoff_ms, extras)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending', ?10, ?10, ?11, ?12, ?13)",
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
            serde_json::to_string(&reply.extras)?
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// One reply.
pub fn get(conn: &Connection, id: i64) -> Result<Option<OutboundReply>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM outbound WHERE id = ?1"),
            [id],
            from_row,
        )
        .optional()?)
}

/// Every reply still waiting to be sent, oldest first.
pub fn pending(conn: &Connection) -> Result<Vec<OutboundReply>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM outbound WHERE state = 'pending' ORDER BY id"
    ))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Records a failed attempt; `give_up` marks the reply `failed` for good.
pub fn attempt_failed(
    conn: &Connection,
    id: i64,
    error: &str,
    give_up: bool,
    now: i64,
) -> Result<()> {
    conn.execute(
        "UPDATE outbound SET attempts = attempts + 1, last_error = ?2, updated_at = ?3,
             state = CASE WHEN ?4 THEN 'failed' ELSE state END
         WHERE id = ?1",
        params![id, error, now, give_up],
    )?;
    Ok(())
}

/// Marks a reply sent and adds it to the transcript. The platform may already have told us
/// about it by webhook (the page's own comment): then that row becomes this reply.
pub fn mark_sent(
    conn: &Connection,
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
    conn: &Connection,
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
pub fn of_interaction(conn: &Connection, id: i64) -> Result<Vec<OutboundReply>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM outbound WHERE interaction_id = ?1 ORDER BY id"
    ))?;
    let rows = stmt.query_map([id], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Marks a reply not sent because the same text just went to the same customer.
pub fn mark_suppressed(conn: &Connection, id: i64, why: &str, now: i64) -> Result<()> {
    conn.execute(
        "UPDATE outbound SET state = 'suppressed', last_error = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, why, now],
    )?;
    Ok(())
}

/// Applies statuses that arrived before the send was recorded, in arrival order, then
/// forgets them.
fn apply_early_deliveries(conn: &Connection, channel: &str, pmid: &str, now: i64) -> Result<()> {
    let early: Vec<(String, Option<String>)> = {
        let mut stmt = conn.prepare_cached(
            "SELECT state, error FROM early_deliveries
             WHERE channel = ?1 AND platform_message_id = ?2 ORDER BY rowid",
        )?;
        let rows = stmt.query_map(params![channel, pmid], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
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
