//! Queries behind workflow effects and lookups: attributes, buffered and grouped
//! interactions, timers, and what `find_active` / `agent_handling` / `last_agent` see.

use crate::store::{OptionalExtension, Tx, params};
use anyhow::Result;

use super::queries::{self, record_event};
use crate::model::interaction::{Interaction, State};
use crate::workflow::{Active, FindBy, Subject};

/// The routable (not buffered, not finished) interaction of a thread; comments split off
/// it (a buffer that waited its longest) are beside it, not it.
pub fn live_routable(conn: &Tx, channel: &str, thread: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached(
            "SELECT id FROM interactions WHERE channel = ?1 AND thread_id = ?2
             AND state NOT IN ('disconnected', 'buffered') AND split_off = 0",
        )?
        .query_row(params![channel, thread], |r| r.get(0))
        .optional()?)
}

/// The open buffer of a thread (see `buffer`).
pub fn open_buffer(conn: &Tx, channel: &str, thread: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached(
            "SELECT id FROM interactions WHERE channel = +?1 AND thread_id = +?2
             AND state = 'buffered' AND buffer_thread IS NOT NULL ORDER BY id LIMIT 1",
        )?
        .query_row(params![channel, thread], |r| r.get(0))
        .optional()?)
}

/// The open group with `key` on a channel (see `group`).
pub fn open_group(conn: &Tx, channel: &str, key: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached(
            "SELECT id FROM interactions WHERE channel = +?1 AND group_key = +?2
             AND state = 'buffered' ORDER BY id LIMIT 1",
        )?
        .query_row(params![channel, key], |r| r.get(0))
        .optional()?)
}

/// Whether an interaction is still live.
pub fn is_live(conn: &Tx, id: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM interactions WHERE id = ?1 AND state <> 'disconnected'")?
        .exists([id])?)
}

/// Records why a new buffered interaction is held: for `buffer` (waiting for `agent` to
/// be free of `thread`) or for `group` (`key`).
pub fn mark_buffered(
    conn: &Tx,
    id: i64,
    buffer: Option<&BufferFor>,
    group_key: Option<&str>,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE interactions SET buffer_thread = ?2, buffer_agent = ?3, buffer_until = ?4,
             group_key = ?5
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        buffer.map(|b| &b.thread),
        buffer.and_then(|b| b.agent),
        buffer.and_then(|b| b.until),
        group_key
    ])?;
    Ok(())
}

/// What a buffered interaction waits for (`buffer`).
#[derive(Clone, Debug, PartialEq)]
pub struct BufferFor {
    /// The thread whose agent it waits for.
    pub thread: String,
    /// That agent's user id, when someone had the thread.
    pub agent: Option<i64>,
    /// The end of its wait for that agent (`max_wait_ms`), unix ms.
    pub until: Option<i64>,
}

/// Drops interaction `id`'s pending `schedule` timers named `name` (`cancel`).
pub fn cancel_timers(conn: &Tx, id: i64, name: &str) -> Result<usize> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM workflow_timers WHERE interaction_id = ?1 AND kind = 'script' AND name = ?2",
        )?
        .execute(params![id, name])?)
}

/// The queued (not yet offered) interaction of a thread: what a released buffer joins.
/// One an agent has is left alone, or the buffered message would reach only the agent
/// it stopped waiting for.
fn queued_of(conn: &Tx, channel: &str, thread: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached(
            "SELECT id FROM interactions WHERE channel = ?1 AND thread_id = ?2 AND state = 'queued'
             AND split_off = 0",
        )?
        .query_row(params![channel, thread], |r| r.get(0))
        .optional()?)
}

/// Merges `attrs` into an interaction's attributes.
pub fn set_attrs(conn: &Tx, id: i64, attrs: &[(String, String)]) -> Result<()> {
    if attrs.is_empty() {
        return Ok(());
    }
    let current: String = conn
        .prepare_cached("SELECT attributes FROM interactions WHERE id = ?1")?
        .query_row([id], |r| r.get(0))?;
    let mut map: std::collections::BTreeMap<String, String> =
        serde_json::from_str(&current).unwrap_or_default();
    map.extend(attrs.iter().cloned());
    conn.prepare_cached("UPDATE interactions SET attributes = ?2 WHERE id = ?1")?
        .execute(params![id, serde_json::to_string(&map)?])?;
    Ok(())
}

/// What a workflow timer does when it falls due.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimerKind {
    /// Calls `on_timer(ix, name)`.
    Script,
    /// Releases a group.
    Release,
    /// Checks whether a buffer can be released; repeats every `every_ms`.
    Recheck,
}

impl TimerKind {
    fn as_str(&self) -> &'static str {
        match self {
            TimerKind::Script => "script",
            TimerKind::Release => "release",
            TimerKind::Recheck => "recheck",
        }
    }
}

/// A stored timer.
#[derive(Clone, Debug)]
pub struct Timer {
    /// Timer id.
    pub id: i64,
    /// Whose.
    pub interaction_id: i64,
    /// What it does.
    pub kind: TimerKind,
    /// For `Script`: the name passed to `on_timer`.
    pub name: String,
    /// For `Recheck`: the interval.
    pub every_ms: i64,
    /// Failed tries before this one.
    pub attempts: i64,
}

/// Adds a timer.
pub fn add_timer(
    conn: &Tx,
    interaction: i64,
    kind: TimerKind,
    name: &str,
    every_ms: i64,
    due_at: i64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO workflow_timers (interaction_id, kind, name, every_ms, due_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![interaction, kind.as_str(), name, every_ms, due_at])?;
    Ok(())
}

/// Timers due at `now`, oldest first.
pub fn due_timers(conn: &Tx, now: i64, limit: i64) -> Result<Vec<Timer>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, interaction_id, kind, name, every_ms, attempts FROM workflow_timers
         WHERE due_at <= ?1 AND failed_at IS NULL ORDER BY due_at, id LIMIT +?2",
    )?;
    let rows = stmt.query_map(params![now, limit], |r| {
        let kind: String = r.get(2)?;
        Ok(Timer {
            id: r.get(0)?,
            interaction_id: r.get(1)?,
            kind: match kind.as_str() {
                "release" => TimerKind::Release,
                "recheck" => TimerKind::Recheck,
                _ => TimerKind::Script,
            },
            name: r.get(3)?,
            every_ms: r.get(4)?,
            attempts: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<anyhow::Result<_>>()?)
}

/// A timer's handler failed: it fires again at `retry_at`, or, with `None`, it is kept as
/// failed (shown to operators) and fires no more.
pub fn timer_failed(
    conn: &Tx,
    id: i64,
    error: &str,
    retry_at: Option<i64>,
    now: i64,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE workflow_timers SET attempts = attempts + 1, last_error = ?2,
             due_at = coalesce(?3, due_at), failed_at = CASE WHEN ?3 IS NULL THEN CAST(?4 AS BIGINT) END
         WHERE id = ?1",
    )?
    .execute(params![id, error, retry_at, now])?;
    Ok(())
}

/// When the next timer falls due.
pub fn next_due(conn: &Tx) -> Result<Option<i64>> {
    Ok(conn.query_row(
        "SELECT min(due_at) FROM workflow_timers WHERE failed_at IS NULL",
        (),
        |r| r.get(0),
    )?)
}

/// Removes a timer that fired; false when it was already gone.
pub fn take_timer(conn: &Tx, id: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM workflow_timers WHERE id = ?1")?
        .execute([id])?
        > 0)
}

/// Moves a repeating timer to its next time.
pub fn postpone_timer(conn: &Tx, id: i64, due_at: i64) -> Result<()> {
    conn.prepare_cached("UPDATE workflow_timers SET due_at = ?2 WHERE id = ?1")?
        .execute(params![id, due_at])?;
    Ok(())
}

/// What releasing a buffered interaction did.
#[derive(Debug)]
pub enum Released {
    /// It is queued now.
    Queued(Box<Interaction>),
    /// Its thread had a routable interaction meanwhile: its messages moved there.
    Merged(i64),
    /// It was not buffered any more.
    Gone,
}

/// Releases a buffered interaction into its queue (optionally waiting for one agent).
pub fn release(conn: &Tx, id: i64, preferred: Option<(i64, i64)>, now: i64) -> Result<Released> {
    let Some(ix) = queries::interaction(conn, id)? else {
        return Ok(Released::Gone);
    };
    if ix.state != State::Buffered {
        return Ok(Released::Gone);
    }
    // A group joins whatever its thread has now; a buffer only work nobody has yet.
    let buffer = buffer_of(conn, id)?;
    let join = match buffer {
        Some(_) => queued_of(conn, &ix.channel, &ix.thread_id)?,
        None => live_routable(conn, &ix.channel, &ix.thread_id)?,
    };
    if let Some(other) = join {
        conn.execute(
            "UPDATE messages SET interaction_id = ?2 WHERE interaction_id = ?1",
            params![id, other],
        )?;
        queries::finish(conn, id, None, false, false, now)?;
        record_event(
            conn,
            other,
            now,
            "merged",
            State::Queued,
            None,
            Some(&format!("from {id}")),
        )?;
        return Ok(Released::Merged(other));
    }
    // A buffer released while an agent still has its thread (it waited its longest) goes
    // to anyone as its own interaction beside theirs.
    let apart = buffer.is_some() && live_routable(conn, &ix.channel, &ix.thread_id)?.is_some();
    let (agent, until) = preferred.unzip();
    conn.execute(
        "UPDATE interactions SET state = 'queued', queued_at = ?2, updated_at = ?2,
             preferred_agent = COALESCE(?3, preferred_agent),
             preferred_until = COALESCE(?4, preferred_until),
             buffer_thread = NULL, buffer_until = NULL, group_key = NULL, split_off = ?5
         WHERE id = ?1",
        params![id, now, agent, until, apart],
    )?;
    let why = apart.then_some("waited its longest for the agent who has the thread: to anyone");
    record_event(conn, id, now, "released", State::Queued, None, why)?;
    Ok(match queries::interaction(conn, id)? {
        Some(ix) => Released::Queued(Box::new(ix)),
        None => Released::Gone,
    })
}

/// What a buffered interaction waits for.
pub fn buffer_of(conn: &Tx, id: i64) -> Result<Option<BufferFor>> {
    Ok(conn
        .prepare_cached(
            "SELECT buffer_thread, buffer_agent, buffer_until FROM interactions
             WHERE id = ?1 AND buffer_thread IS NOT NULL",
        )?
        .query_row([id], |r| {
            Ok(BufferFor {
                thread: r.get(0)?,
                agent: r.get(1)?,
                until: r.get(2)?,
            })
        })
        .optional()?)
}

/// `find_active`: a live interaction by thread (the routable one first), customer or group.
pub fn find_active(conn: &Tx, channel: &str, by: &FindBy) -> Result<Option<Active>> {
    let (filter, value) = match by {
        FindBy::Thread(t) => ("i.thread_id = +?2", t),
        FindBy::Author(a) => ("i.customer_id = +?2", a),
        FindBy::Group(g) => ("i.group_key = +?2 AND i.state = 'buffered'", g),
        FindBy::Message(m) => (
            "i.id IN (SELECT interaction_id FROM messages WHERE channel = ?1 AND platform_message_id = ?2
                      UNION SELECT interaction_id FROM outbound WHERE channel = ?1 AND platform_message_id = ?2)",
            m,
        ),
    };
    let sql = format!(
        "SELECT i.id, i.state, i.thread_id, i.workgroup,
            (SELECT u.username FROM users u WHERE u.id = i.assigned_to),
            (SELECT count(*) FROM messages m WHERE m.interaction_id = i.id AND m.direction = 'inbound'),
            i.customer_id
         FROM interactions i
         WHERE i.channel = +?1 AND {filter} AND i.state <> 'disconnected'
         ORDER BY i.state = 'buffered', i.split_off, i.id DESC LIMIT 1"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params![channel, value], |r| {
            Ok(Active {
                id: r.get(0)?,
                state: r.get(1)?,
                thread_id: r.get(2)?,
                workgroup: r.get(3)?,
                agent: r.get(4)?,
                message_count: r.get(5)?,
                customer_id: r.get(6)?,
            })
        })
        .optional()?)
}

/// `agent_handling`: the agent who has the routable interaction of a thread.
pub fn agent_handling(conn: &Tx, channel: &str, thread: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT (SELECT u.username FROM users u WHERE u.id = i.assigned_to)
             FROM interactions i
             WHERE i.channel = ?1 AND i.thread_id = ?2 AND i.assigned_to IS NOT NULL
             AND i.state IN ('alerting', 'connected', 'held') AND i.split_off = 0",
        )?
        .query_row(params![channel, thread], |r| r.get::<_, Option<String>>(0))
        .optional()?
        .flatten())
}

/// `last_agent`: who last picked up this customer's work on this channel.
pub fn last_agent(conn: &Tx, channel: &str, customer: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT (SELECT u.username FROM users u WHERE u.id = i.assigned_to)
             FROM interactions i
             WHERE i.channel = +?1 AND i.customer_id = +?2 AND i.answered_at IS NOT NULL
             AND i.assigned_to IS NOT NULL
             ORDER BY i.answered_at DESC LIMIT 1",
        )?
        .query_row(params![channel, customer], |r| {
            r.get::<_, Option<String>>(0)
        })
        .optional()?
        .flatten())
}

/// A stored interaction as a script subject: its newest customer message and counts.
/// The caller adds the channel's settings.
pub fn subject(conn: &Tx, id: i64) -> Result<Option<(Interaction, Subject)>> {
    let Some(ix) = queries::interaction(conn, id)? else {
        return Ok(None);
    };
    let last = conn
        .query_row(
            "SELECT platform_message_id, text, author_id, author_name, author_handle, parent_id,
                    language, visibility, followers, metadata
             FROM messages WHERE interaction_id = ?1 AND direction = 'inbound'
             ORDER BY created_at DESC, id DESC LIMIT 1",
            [id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, Option<i64>>(8)?,
                    r.get::<_, String>(9)?,
                ))
            },
        )
        .optional()?;
    let count: i64 = conn.query_row(
        "SELECT count(*) FROM messages WHERE interaction_id = ?1 AND direction = 'inbound'",
        [id],
        |r| r.get(0),
    )?;
    let mut subject = Subject {
        id: Some(ix.id),
        channel: ix.channel.clone(),
        thread_id: ix.thread_id.clone(),
        author_id: ix.customer_id.clone(),
        author_name: ix.customer_name.clone(),
        visibility: match ix.media_type {
            crate::model::interaction::MediaType::SocialDirectMessage => "private",
            crate::model::interaction::MediaType::SocialConversation => "public",
        }
        .into(),
        state: Some(ix.state.as_str().into()),
        agent: ix.assigned_to.clone(),
        message_count: count,
        attrs: ix.attributes.clone(),
        arrived_at: ix.created_at,
        route: Some(crate::workflow::CurrentRoute {
            workgroup: ix.workgroup.clone(),
            priority: ix.priority,
            skills: ix.skills.clone(),
            preferred_agent: match ix.preferred_agent {
                Some(user) => queries::username(conn, user)?,
                None => None,
            },
            preferred_until: ix.preferred_until,
            queued_at: ix.queued_at,
        }),
        ..Default::default()
    };
    if let Some((pmid, text, _author, _name, handle, parent, language, followers, metadata)) = last
    {
        subject.message_id = pmid;
        subject.text = text;
        subject.author_handle = handle;
        subject.parent_id = parent;
        subject.language = language;
        subject.followers = followers;
        subject.metadata = serde_json::from_str(&metadata).unwrap_or_default();
    }
    Ok(Some((ix, subject)))
}
