//! What `switchboard workflow replay` reads: the customer messages stored in a period, and
//! the world as it was just before each one (which interactions were live, in what state,
//! with whom), rebuilt from the interactions' event log. Read-only: it opens the database
//! beside a running host without touching live work.

use anyhow::{Context, Result};

use crate::store::{OptionalExtension, PgTarget, StoreUrl, Tx, params};

/// Opens a database for reading only.
pub fn open(url: &StoreUrl) -> Result<Tx> {
    match url {
        StoreUrl::Sqlite(path) => {
            if !path.exists() {
                anyhow::bail!("no database at {}", path.display());
            }
            let conn = rusqlite::Connection::open_with_flags(
                path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
            )
            .with_context(|| format!("opening {} for reading", path.display()))?;
            Ok(Tx::sqlite(conn))
        }
        StoreUrl::Postgres(url) => {
            let tx = Tx::postgres(&PgTarget::new(url))?;
            tx.execute_batch("SET default_transaction_read_only = on")?;
            Ok(tx)
        }
    }
}

/// A customer message as it was stored.
#[derive(Clone, Debug, Default)]
pub struct Recorded {
    /// Channel.
    pub channel: String,
    /// Platform id.
    pub message_id: String,
    /// Thread.
    pub thread_id: String,
    /// What it answers.
    pub parent_id: Option<String>,
    /// `public` or `private`.
    pub visibility: String,
    /// Author id, name and handle.
    pub author_id: String,
    /// Author display name.
    pub author_name: String,
    /// Author handle.
    pub author_handle: Option<String>,
    /// Text.
    pub text: String,
    /// Language tag.
    pub language: Option<String>,
    /// Follower count.
    pub followers: Option<i64>,
    /// Platform facts (JSON object of strings).
    pub metadata: String,
    /// When it was stored, unix ms: the replay's clock for it.
    pub stored_at: i64,
    /// The interaction it went to (`None`: stopped).
    pub interaction_id: Option<i64>,
    /// What the workflow decided then (`vN script on_inbound: ...`), when it was kept.
    pub decided: Option<String>,
    /// The workflow failed and the channel's route was taken.
    pub failed: bool,
    /// The workgroup its interaction is in (for channels the replay has no config of).
    pub workgroup: Option<String>,
}

/// The customer messages stored in `[from, to)`, oldest first.
pub fn messages(conn: &Tx, from: i64, to: i64) -> Result<Vec<Recorded>> {
    let mut stmt = conn.prepare(
        "SELECT m.channel, m.platform_message_id, m.thread_id, m.parent_id, m.visibility,
                m.author_id, m.author_name, m.author_handle, m.text, m.language, m.followers,
                m.metadata, m.stored_at, m.interaction_id,
                (SELECT e.detail FROM interaction_events e
                  WHERE e.interaction_id = m.interaction_id AND e.at = m.stored_at
                    AND e.kind IN ('created', 'message', 'buffered') AND e.detail LIKE 'v% on_inbound: %'
                  ORDER BY e.id LIMIT 1),
                EXISTS (SELECT 1 FROM interaction_events e
                  WHERE e.interaction_id = m.interaction_id AND e.at = m.stored_at
                    AND e.kind = 'workflow_fallback'),
                (SELECT i.workgroup FROM interactions i WHERE i.id = m.interaction_id)
         FROM messages m
         WHERE m.direction = 'inbound' AND m.from_business = 0
           AND m.stored_at >= ?1 AND m.stored_at < ?2
         ORDER BY m.stored_at, m.id",
    )?;
    let rows = stmt.query_map(params![from, to], |r| {
        Ok(Recorded {
            channel: r.get(0)?,
            message_id: r.get(1)?,
            thread_id: r.get(2)?,
            parent_id: r.get(3)?,
            visibility: r.get(4)?,
            author_id: r.get(5)?,
            author_name: r.get(6)?,
            author_handle: r.get(7)?,
            text: r.get(8)?,
            language: r.get(9)?,
            followers: r.get(10)?,
            metadata: r.get(11)?,
            stored_at: r.get(12)?,
            interaction_id: r.get(13)?,
            decided: r.get(14)?,
            failed: r.get(15)?,
            workgroup: r.get(16)?,
        })
    })?;
    Ok(rows.collect::<anyhow::Result<_>>()?)
}

/// A live interaction as it was at some time.
#[derive(Clone, Debug, PartialEq)]
pub struct Then {
    /// Interaction id.
    pub id: i64,
    /// Its state then.
    pub state: String,
    /// Its thread.
    pub thread_id: String,
    /// Its workgroup.
    pub workgroup: String,
    /// The agent who had it then (offered, connected or held).
    pub agent: Option<String>,
    /// Customer messages it held then.
    pub message_count: i64,
    /// The customer who started it.
    pub customer_id: String,
}

/// How to pick the interactions [`live_at`] looks at.
pub enum Among<'a> {
    /// Of a thread.
    Thread(&'a str),
    /// Of a customer.
    Customer(&'a str),
    /// The one holding a platform message (the customer's or ours).
    Message(&'a str),
}

/// The live interactions of `channel` matching `among` just before `at` (each in the
/// state of its last event before `at`), routable ones first, then the newest.
pub fn live_at(conn: &Tx, channel: &str, among: Among, at: i64) -> Result<Vec<Then>> {
    let (filter, value) = match among {
        Among::Thread(t) => ("i.thread_id = ?2", t),
        Among::Customer(c) => ("i.customer_id = ?2", c),
        Among::Message(m) => (
            "i.id IN (SELECT interaction_id FROM messages WHERE channel = ?1 AND platform_message_id = ?2 AND stored_at < ?3
                      UNION SELECT interaction_id FROM outbound WHERE channel = ?1 AND platform_message_id = ?2)",
            m,
        ),
    };
    let sql = format!(
        "SELECT i.id, i.thread_id, i.workgroup, i.customer_id,
                (SELECT e.state || char(31) || COALESCE((SELECT u.username FROM users u WHERE u.id = e.user_id), '')
                   FROM interaction_events e WHERE e.interaction_id = i.id AND e.at < ?3
                   ORDER BY e.at DESC, e.id DESC LIMIT 1),
                (SELECT count(*) FROM messages m WHERE m.interaction_id = i.id
                   AND m.direction = 'inbound' AND m.stored_at < ?3)
         FROM interactions i
         WHERE i.channel = ?1 AND {filter} AND i.created_at < ?3"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![channel, value, at], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, i64>(5)?,
        ))
    })?;
    let mut live = Vec::new();
    for row in rows {
        let (id, thread_id, workgroup, customer_id, last, message_count) = row?;
        let Some(last) = last else { continue };
        let (state, user) = last.split_once('\u{1f}').unwrap_or((&last, ""));
        if state == "disconnected" {
            continue;
        }
        let with_agent = matches!(state, "alerting" | "connected" | "held");
        live.push(Then {
            id,
            state: state.to_owned(),
            thread_id,
            workgroup,
            agent: (with_agent && !user.is_empty()).then(|| user.to_owned()),
            message_count,
            customer_id,
        });
    }
    live.sort_by_key(|t| (t.state == "buffered", -t.id));
    Ok(live)
}

/// The agent who last picked up this customer's work on `channel` before `at`.
pub fn last_agent_at(conn: &Tx, channel: &str, customer: &str, at: i64) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT (SELECT u.username FROM users u WHERE u.id = e.user_id)
             FROM interaction_events e JOIN interactions i ON i.id = e.interaction_id
             WHERE i.channel = ?1 AND i.customer_id = ?2 AND e.kind = 'picked_up' AND e.at < ?3
             ORDER BY e.at DESC, e.id DESC LIMIT 1",
        )?
        .query_row(params![channel, customer, at], |r| {
            r.get::<_, Option<String>>(0)
        })
        .optional()?
        .flatten())
}

/// Interactions of `workgroup` waiting in its queue just before `at`.
pub fn waiting_at(conn: &Tx, workgroup: &str, at: i64) -> Result<i64> {
    Ok(conn
        .prepare_cached(
            "SELECT count(*) FROM interactions i
         WHERE i.workgroup = ?1 AND i.created_at < ?2
           AND (SELECT e.state FROM interaction_events e WHERE e.interaction_id = i.id AND e.at < ?2
                ORDER BY e.at DESC, e.id DESC LIMIT 1) = 'queued'",
        )?
        .query_row(params![workgroup, at], |r| r.get(0))?)
}

/// Whether a user of that name exists.
pub fn user_exists(conn: &Tx, username: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM users WHERE username = ?1")?
        .query_row([username], |_| Ok(()))
        .optional()?
        .is_some())
}
