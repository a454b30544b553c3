//! Typed queries. Every function takes a connection so callers choose the transaction:
//! the ingest path runs them inside one group-committed write.

use crate::store::{OptionalExtension, Row, Tx, params};
use anyhow::Result;

use crate::model::event::InboundMessage;
use crate::model::interaction::{
    Interaction, InteractionDetail, MediaType, State, TransferredFrom,
};
use crate::model::route::RouteRequest;

/// Whether a channel's message is stored already (the dedupe check; the unique
/// constraint stands behind it).
pub fn message_seen(conn: &Tx, channel: &str, pmid: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM messages WHERE channel = ?1 AND platform_message_id = ?2")?
        .exists(params![channel, pmid])?)
}

/// Inserts one inbound (or the business's own) message, in `interaction_id` if any, with
/// a download to make for each of its files; answers its row id.
pub fn insert_message(
    conn: &Tx,
    channel: &str,
    msg: &InboundMessage,
    interaction_id: Option<i64>,
    now: i64,
) -> Result<i64> {
    let direction = if msg.from_business {
        "outbound"
    } else {
        "inbound"
    };
    // Where the platform keeps the bytes stays with the download, not the message.
    let kept: Vec<_> = msg.attachments.iter().map(|a| a.without_source()).collect();
    let id: i64 = conn.prepare_cached(
        "INSERT INTO messages (channel, platform_message_id, interaction_id, thread_id, parent_id,
            direction, visibility, author_id, author_name, author_handle, text, attachments,
            language, from_business, created_at, stored_at, followers, metadata)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)
         RETURNING id",
    )?
    .query_row(params![
        channel,
        msg.platform_message_id,
        interaction_id,
        msg.thread_id,
        msg.parent_id,
        direction,
        msg.visibility.as_str(),
        msg.author_id,
        msg.author_name,
        msg.author_handle,
        msg.text,
        serde_json::to_string(&kept)?,
        msg.language,
        msg.from_business,
        msg.created_at,
        now,
        msg.followers,
        serde_json::to_string(&msg.metadata)?,
    ], |r| r.get(0))?;
    for (position, a) in msg.attachments.iter().enumerate() {
        if a.has_file() {
            crate::store::media::insert_pending(conn, channel, id, position, a, now)?;
        }
    }
    Ok(id)
}

/// The username of user `id`.
pub fn username(conn: &Tx, id: i64) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT username FROM users WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?)
}

/// A user's id by username.
pub fn user_id(conn: &Tx, username: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT id FROM users WHERE username = ?1")?
        .query_row([username], |r| r.get(0))
        .optional()?)
}

/// Changes where a waiting interaction is queued (a workflow's `route` on it).
pub fn set_route(conn: &Tx, id: i64, route: &RouteRequest, now: i64) -> Result<()> {
    // The whole route is replaced: a route without a preferred agent clears it.
    let preferred_agent = match &route.preferred_agent {
        Some(name) => Some(
            user_id(conn, name)?
                .ok_or_else(|| anyhow::anyhow!("there is no user named `{name}`"))?,
        ),
        None => None,
    };
    conn.execute(
        "UPDATE interactions SET workgroup = ?2, priority = ?3, skills = ?4,
             preferred_agent = ?5, preferred_until = ?6
         WHERE id = ?1",
        params![
            id,
            route.workgroup,
            route.priority,
            route.skills,
            preferred_agent,
            now + route.wait_ms.max(0)
        ],
    )?;
    Ok(())
}

/// Sets an interaction's queue priority.
pub fn set_priority(conn: &Tx, id: i64, priority: i64) -> Result<()> {
    conn.prepare_cached("UPDATE interactions SET priority = ?2 WHERE id = ?1")?
        .execute(params![id, priority])?;
    Ok(())
}

/// Inserts a new interaction started by `msg`, queued as `route` says, in `state`.
pub fn insert_interaction(
    conn: &Tx,
    channel: &str,
    msg: &InboundMessage,
    route: &RouteRequest,
    state: State,
    workflow_version: i64,
    now: i64,
) -> Result<Interaction> {
    let preferred_agent = match &route.preferred_agent {
        Some(name) => user_id(conn, name)?,
        None => None,
    };
    // Kept without a preferred agent too: a released buffer waits this long for the
    // agent who had the thread.
    let preferred_until = Some(now + route.wait_ms.max(0));
    let id: i64 = conn
        .prepare_cached(
            "INSERT INTO interactions (channel, thread_id, media_type, state, workgroup, priority,
            customer_id, customer_name, workflow_version, skills, preferred_agent, preferred_until,
            created_at, queued_at, updated_at)
         VALUES (?1, ?2, ?3, ?13, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?12)
         RETURNING id",
        )?
        .query_row(
            params![
                channel,
                msg.thread_id,
                route.media_type.as_str(),
                route.workgroup,
                route.priority,
                msg.author_id,
                msg.author_name,
                workflow_version,
                route.skills,
                preferred_agent,
                preferred_until,
                now,
                state.as_str(),
            ],
            |r| r.get(0),
        )?;
    Ok(Interaction {
        id,
        state,
        media_type: route.media_type,
        channel: channel.to_owned(),
        thread_id: msg.thread_id.clone(),
        workgroup: route.workgroup.clone(),
        priority: route.priority,
        assigned_to: None,
        customer_id: msg.author_id.clone(),
        customer_name: msg.author_name.clone(),
        workflow_version,
        skills: route.skills.clone(),
        preferred_agent,
        preferred_until,
        transfer_to: None,
        answered_at: None,
        abandoned: false,
        wrapup_code: None,
        wrapup_pending: false,
        created_at: now,
        queued_at: now,
        updated_at: now,
        assigned_user_id: None,
        attributes: Default::default(),
        transferred_from: None,
    })
}

/// Replaces the text of an edited message. Returns the interaction it belongs to.
pub fn edit_message(conn: &Tx, channel: &str, pmid: &str, text: &str) -> Result<Option<i64>> {
    conn.execute(
        "UPDATE messages SET text = ?3 WHERE channel = ?1 AND platform_message_id = ?2 AND deleted = 0",
        params![channel, pmid, text],
    )?;
    message_interaction(conn, channel, pmid)
}

/// Erases the content of a message the platform removed.
pub fn erase_message(conn: &Tx, channel: &str, pmid: &str) -> Result<Option<i64>> {
    crate::store::media::erase_message(conn, channel, pmid, crate::clock::now_ms())?;
    conn.execute(
        "UPDATE messages SET text = '', attachments = '[]', deleted = 1
         WHERE channel = ?1 AND platform_message_id = ?2",
        params![channel, pmid],
    )?;
    message_interaction(conn, channel, pmid)
}

/// Whether every customer message of an interaction has been removed by the platform.
pub fn all_inbound_deleted(conn: &Tx, id: i64) -> Result<bool> {
    let left: i64 = conn.query_row(
        "SELECT count(*) FROM messages WHERE interaction_id = ?1 AND direction = 'inbound' AND deleted = 0",
        [id],
        |r| r.get(0),
    )?;
    Ok(left == 0)
}

fn message_interaction(conn: &Tx, channel: &str, pmid: &str) -> Result<Option<i64>> {
    Ok(conn
        .query_row(
            "SELECT interaction_id FROM messages WHERE channel = ?1 AND platform_message_id = ?2",
            params![channel, pmid],
            |r| r.get::<_, Option<i64>>(0),
        )
        .optional()?
        .flatten())
}

/// Appends a state change to the interaction's history, with the workgroup it is in after
/// the change. A change that leaves it finished with nothing owed sums it up for reports
/// in the same transaction ([`super::rollup`]).
pub fn record_event(
    conn: &Tx,
    interaction_id: i64,
    at: i64,
    kind: &str,
    state: State,
    user_id: Option<i64>,
    detail: Option<&str>,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO interaction_events (interaction_id, at, kind, state, user_id, detail, workgroup)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, (SELECT workgroup FROM interactions WHERE id = ?1))",
    )?
    .execute(params![
        interaction_id,
        at,
        kind,
        state.as_str(),
        user_id,
        detail
    ])?;
    if state == State::Disconnected {
        super::rollup::sum_up(conn, interaction_id, at)?;
    }
    Ok(())
}

/// Moves an interaction to `state` with `assigned_to`, and records why.
pub fn set_state(
    conn: &Tx,
    id: i64,
    state: State,
    assigned_to: Option<i64>,
    kind: &str,
    now: i64,
) -> Result<()> {
    let requeue = state == State::Queued && kind != "alert_timeout";
    conn.prepare_cached(
        "UPDATE interactions SET state = ?2, assigned_to = ?3, updated_at = ?4,
             queued_at = CASE WHEN ?5 THEN ?4 ELSE queued_at END
         WHERE id = ?1",
    )?
    .execute(params![id, state.as_str(), assigned_to, now, requeue])?;
    record_event(conn, id, now, kind, state, assigned_to, None)
}

/// An agent declined an offer: back in the queue (keeping its time in queue), the decline
/// recorded with who declined.
pub fn decline(conn: &Tx, id: i64, by: i64, now: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE interactions SET state = 'queued', assigned_to = NULL, updated_at = ?2
         WHERE id = ?1",
    )?
    .execute(params![id, now])?;
    record_event(conn, id, now, "declined", State::Queued, Some(by), None)
}

/// The workflow versions live interactions started on.
pub fn live_workflow_versions(conn: &Tx) -> Result<std::collections::HashSet<i64>> {
    let mut stmt = conn.prepare(
        "SELECT DISTINCT workflow_version FROM interactions WHERE state <> 'disconnected'",
    )?;
    let rows = stmt.query_map((), |r| r.get(0))?;
    Ok(rows.collect::<anyhow::Result<_>>()?)
}

/// Records the first pickup (for service level).
pub fn mark_answered(conn: &Tx, id: i64, now: i64) -> Result<()> {
    conn.prepare_cached(
        "UPDATE interactions SET answered_at = COALESCE(answered_at, ?2) WHERE id = ?1",
    )?
    .execute(params![id, now])?;
    Ok(())
}

/// Queues an interaction again after a transfer, in `workgroup` (or for one agent).
pub fn requeue(conn: &Tx, id: i64, to: &Requeue, now: i64) -> Result<()> {
    conn.execute(
        "UPDATE interactions SET state = 'queued', assigned_to = NULL, workgroup = ?2, priority = ?3,
             skills = ?4, transfer_to = NULL, preferred_agent = ?5, preferred_until = ?6,
             queued_at = ?7, updated_at = ?8, transferred_by = ?9,
             transferred_by_name = (SELECT coalesce(nullif(display_name, ''), username) FROM users WHERE id = ?9),
             transferred_from = ?10, transfer_note = ?11, transferred_at = ?8
         WHERE id = ?1",
        params![
            id,
            to.workgroup,
            to.priority,
            to.skills,
            to.preferred.map(|p| p.0),
            to.preferred.map(|p| p.1),
            to.queued_at,
            now,
            to.by,
            to.from_workgroup,
            to.note,
        ],
    )?;
    let mut detail = match to.preferred {
        Some((agent, _)) => {
            let name = username(conn, agent)?.unwrap_or_else(|| format!("user {agent}"));
            format!("to {name}, else workgroup {}", to.workgroup)
        }
        None => format!("to workgroup {}", to.workgroup),
    };
    if let Some(note) = to.note.as_deref().filter(|n| !n.trim().is_empty()) {
        detail.push_str(&format!(", note: {note}"));
    }
    if let Some(decided) = &to.decided {
        detail.push_str(&format!("; {decided}"));
    }
    record_event(
        conn,
        id,
        now,
        "transferred",
        State::Queued,
        Some(to.by),
        Some(&detail),
    )
}

/// A transfer as stored: where the interaction waits now and who sent it there.
#[derive(Clone, Debug)]
pub struct Requeue {
    /// The workgroup whose queue it is in (for a transfer to an agent: the one it came
    /// from, where it falls back).
    pub workgroup: String,
    pub priority: i64,
    pub skills: Option<String>,
    /// The agent it waits for, and until when (unix ms).
    pub preferred: Option<(i64, i64)>,
    /// Its time in queue counts from here.
    pub queued_at: i64,
    /// The agent who transferred it.
    pub by: i64,
    /// The workgroup it was in.
    pub from_workgroup: String,
    /// The sender's note to whoever receives it.
    pub note: Option<String>,
    /// What the workflow's transfer initiator decided (for the trace).
    pub decided: Option<String>,
}

/// Ends an interaction: by its agent (maybe owing a wrap-up), or abandoned in queue.
pub fn finish(
    conn: &Tx,
    id: i64,
    by: Option<i64>,
    wrapup_pending: bool,
    abandoned: bool,
    now: i64,
) -> Result<()> {
    conn.execute(
        "UPDATE interactions SET state = 'disconnected', wrapup_pending = ?2, abandoned = ?3,
             updated_at = ?4
         WHERE id = ?1",
        params![id, wrapup_pending, abandoned, now],
    )?;
    let kind = if abandoned {
        "abandoned"
    } else {
        "disconnected"
    };
    record_event(conn, id, now, kind, State::Disconnected, by, None)
}

/// Sets (or clears the owed) wrap-up of a finished interaction.
pub fn set_wrapup(conn: &Tx, id: i64, code: Option<&str>, by: Option<i64>, now: i64) -> Result<()> {
    conn.execute(
        "UPDATE interactions SET wrapup_code = COALESCE(?2, wrapup_code), wrapup_pending = 0,
             updated_at = ?3 WHERE id = ?1",
        params![id, code, now],
    )?;
    let detail = code.unwrap_or("wrap-up timed out");
    record_event(
        conn,
        id,
        now,
        "wrapup",
        State::Disconnected,
        by,
        Some(detail),
    )
}

/// Interactions whose required wrap-up is still owed, with the agent who owes it.
pub fn pending_wrapups(conn: &Tx) -> Result<Vec<(i64, i64, String)>> {
    let mut stmt = conn.prepare(
        "SELECT id, assigned_to, workgroup FROM interactions
         WHERE wrapup_pending = 1 AND assigned_to IS NOT NULL",
    )?;
    let rows = stmt.query_map((), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<anyhow::Result<_>>()?)
}

/// Service level per workgroup since `since` (unix ms): answered, answered within the
/// target, abandoned.
pub fn service_level(conn: &Tx, since: i64) -> Result<Vec<(String, i64, i64, i64)>> {
    let mut stmt = conn.prepare(
        "SELECT i.workgroup,
                count(*) FILTER (WHERE i.answered_at IS NOT NULL),
                count(*) FILTER (WHERE i.answered_at - i.queued_at <= w.sl_target_s * 1000),
                count(*) FILTER (WHERE i.abandoned <> 0)
         FROM interactions i JOIN workgroups w ON w.name = i.workgroup
         WHERE i.created_at >= ?1
         GROUP BY i.workgroup",
    )?;
    let rows = stmt.query_map([since], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })?;
    Ok(rows.collect::<anyhow::Result<_>>()?)
}

/// The columns [`interaction_from_row`] reads, in order, for a query over `interactions i`.
/// User names come from scalar subqueries, not a join: see "Queries that stay prepared" in
/// the store's module notes.
pub(crate) const INTERACTION_COLUMNS: &str = "i.id, i.state, i.media_type, i.channel, i.thread_id,
    i.workgroup, i.priority, (SELECT u.username FROM users u WHERE u.id = i.assigned_to), i.customer_id, i.customer_name, i.workflow_version,
    i.created_at, i.queued_at, i.updated_at, i.assigned_to, i.skills, i.preferred_agent,
    i.preferred_until, i.transfer_to, i.answered_at, i.abandoned, i.wrapup_code, i.wrapup_pending, i.attributes,
    (SELECT tu.username FROM users tu WHERE tu.id = i.transferred_by), i.transferred_by_name,
    i.transferred_from, i.transfer_note, i.transferred_at";

/// How many columns [`INTERACTION_COLUMNS`] selects (a query adding its own reads after).
pub(crate) const INTERACTION_COLUMN_COUNT: usize = 29;

/// An interaction from the first [`INTERACTION_COLUMN_COUNT`] columns of a row selected with [`INTERACTION_COLUMNS`].
pub(crate) fn interaction_from_row(r: &Row) -> anyhow::Result<Interaction> {
    let state: String = r.get(1)?;
    let media: String = r.get(2)?;
    Ok(Interaction {
        id: r.get(0)?,
        state: State::parse(&state).unwrap_or(State::Disconnected),
        media_type: MediaType::parse(&media).unwrap_or(MediaType::SocialConversation),
        channel: r.get(3)?,
        thread_id: r.get(4)?,
        workgroup: r.get(5)?,
        priority: r.get(6)?,
        assigned_to: r.get(7)?,
        customer_id: r.get(8)?,
        customer_name: r.get(9)?,
        workflow_version: r.get(10)?,
        created_at: r.get(11)?,
        queued_at: r.get(12)?,
        updated_at: r.get(13)?,
        assigned_user_id: r.get(14)?,
        skills: r.get(15)?,
        preferred_agent: r.get(16)?,
        preferred_until: r.get(17)?,
        transfer_to: r.get(18)?,
        answered_at: r.get(19)?,
        abandoned: r.get(20)?,
        wrapup_code: r.get(21)?,
        wrapup_pending: r.get(22)?,
        attributes: serde_json::from_str(&r.get::<_, String>(23)?).unwrap_or_default(),
        transferred_from: match r.get::<_, Option<i64>>(28)? {
            Some(at) => Some(TransferredFrom {
                user: r.get::<_, Option<String>>(24)?.unwrap_or_default(),
                display_name: r.get::<_, Option<String>>(25)?.unwrap_or_default(),
                workgroup: r.get::<_, Option<String>>(26)?.unwrap_or_default(),
                note: r.get(27)?,
                at,
            }),
            None => None,
        },
    })
}

/// One interaction.
pub fn interaction(conn: &Tx, id: i64) -> Result<Option<Interaction>> {
    let sql = format!("SELECT {INTERACTION_COLUMNS} FROM interactions i WHERE i.id = ?1");
    // Cached: the job worker reads every routed interaction back through here.
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id], interaction_from_row)
        .optional()?)
}

/// Every interaction that is not finished, oldest first (what a restart restores).
pub fn live_interactions(conn: &Tx) -> Result<Vec<Interaction>> {
    let sql = format!(
        "SELECT {INTERACTION_COLUMNS} FROM interactions i
         WHERE i.state <> 'disconnected' ORDER BY i.id"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map((), interaction_from_row)?;
    Ok(rows.collect::<anyhow::Result<_>>()?)
}

/// The live interactions offered or assigned to one agent, and the finished ones whose
/// required wrap-up they still owe.
pub fn interactions_of(conn: &Tx, user_id: i64) -> Result<Vec<Interaction>> {
    let sql = format!(
        "SELECT {INTERACTION_COLUMNS} FROM interactions i
         WHERE i.assigned_to = ?1 AND (i.state <> 'disconnected' OR i.wrapup_pending = 1)
         ORDER BY i.id"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([user_id], interaction_from_row)?;
    Ok(rows.collect::<anyhow::Result<_>>()?)
}

/// An interaction with its transcript.
pub fn interaction_detail(conn: &Tx, id: i64) -> Result<Option<InteractionDetail>> {
    let Some(interaction) = interaction(conn, id)? else {
        return Ok(None);
    };
    let messages = super::transcript::messages_of(conn, id)?;
    Ok(Some(InteractionDetail {
        interaction,
        messages,
        outbound: crate::store::outbox::of_interaction(conn, id)?,
        reply_window: None,
        platform: String::new(),
        customer: Default::default(),
        wrapup: Default::default(),
        templates: Vec::new(),
        contact: super::contacts::of_interaction(conn, id)?.map(|c| {
            crate::model::interaction::ContactRef {
                id: c.id,
                name: c.name,
            }
        }),
        earlier: super::transcript::earlier_in_thread(conn, id, 50)?,
    }))
}

/// The newest inbound customer message of an interaction (what a reply answers).
pub fn last_customer_message(conn: &Tx, id: i64) -> Result<Option<(String, String)>> {
    Ok(conn
        .query_row(
            "SELECT platform_message_id, author_id FROM messages
             WHERE interaction_id = ?1 AND direction = 'inbound'
             ORDER BY created_at DESC, id DESC LIMIT 1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// When the customer last wrote in an interaction's conversation (platform time, ms).
pub fn last_customer_at(conn: &Tx, id: i64) -> Result<Option<i64>> {
    Ok(conn.query_row(
        "SELECT max(created_at) FROM messages WHERE interaction_id = ?1 AND direction = 'inbound'",
        [id],
        |r| r.get(0),
    )?)
}

/// Whether a channel has stored a platform message (used by tests and tools).
pub fn message_count(conn: &Tx, channel: &str, pmid: &str) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM messages WHERE channel = ?1 AND platform_message_id = ?2",
        params![channel, pmid],
        |r| r.get(0),
    )?)
}

// ---- polling cursors -------------------------------------------------------------------

/// The saved polling cursor of a channel.
pub fn cursor(conn: &Tx, channel: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT cursor FROM channel_cursors WHERE channel = ?1",
            [channel],
            |r| r.get(0),
        )
        .optional()?)
}

/// Saves a channel's polling cursor.
pub fn save_cursor(conn: &Tx, channel: &str, cursor: &str, now: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO channel_cursors (channel, cursor, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (channel) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
        params![channel, cursor, now],
    )?;
    Ok(())
}

// ---- plugin key-value store ------------------------------------------------------------

/// A plugin's stored value.
pub fn kv_get(conn: &Tx, channel: &str, key: &str) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .query_row(
            "SELECT value FROM plugin_kv WHERE channel = ?1 AND key = ?2",
            params![channel, key],
            |r| r.get(0),
        )
        .optional()?)
}

/// A plugin's values whose keys start with `prefix`, of one channel or all:
/// (channel, key, value), by channel and key.
pub fn kv_with_prefix(
    conn: &Tx,
    channel: Option<&str>,
    prefix: &str,
) -> Result<Vec<(String, String, Vec<u8>)>> {
    let pattern = format!("{}%", prefix.replace('%', "\\%").replace('_', "\\_"));
    let mut stmt = conn.prepare(
        "SELECT channel, key, value FROM plugin_kv
         WHERE key LIKE ?2 ESCAPE '\\' AND (CAST(?1 AS TEXT) IS NULL OR channel = ?1) ORDER BY channel, key",
    )?;
    let rows = stmt.query_map(params![channel, pattern], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })?;
    Ok(rows.collect::<anyhow::Result<_>>()?)
}

/// Removes a plugin's value; whether there was one.
pub fn kv_delete(conn: &Tx, channel: &str, key: &str) -> Result<bool> {
    let removed = conn.execute(
        "DELETE FROM plugin_kv WHERE channel = ?1 AND key = ?2",
        params![channel, key],
    )?;
    Ok(removed > 0)
}

/// Live interactions assigned to a user.
pub fn live_of_user(conn: &Tx, user: i64) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM interactions WHERE assigned_to = ?1 AND state <> 'disconnected'",
        [user],
        |r| r.get(0),
    )?)
}

/// Live interactions queued in (or held by agents of) a workgroup.
pub fn live_in_workgroup(conn: &Tx, name: &str) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM interactions WHERE workgroup = ?1 AND state <> 'disconnected'",
        [name],
        |r| r.get(0),
    )?)
}

/// The channel of a message (inbound or sent) in an interaction, if it belongs there.
pub fn message_channel(conn: &Tx, interaction: i64, pmid: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT channel FROM messages WHERE interaction_id = ?1 AND platform_message_id = ?2
             UNION SELECT channel FROM outbound WHERE interaction_id = ?1 AND platform_message_id = ?2",
            params![interaction, pmid],
            |r| r.get(0),
        )
        .optional()?)
}

/// How long an interaction waits for its preferred agent (its `wait_ms` as stored).
pub fn preferred_wait_ms(conn: &Tx, id: i64) -> Result<Option<i64>> {
    Ok(conn
        .query_row(
            "SELECT preferred_until - created_at FROM interactions WHERE id = ?1",
            [id],
            |r| r.get::<_, Option<i64>>(0),
        )
        .optional()?
        .flatten())
}

/// Whether the store answers a read at all (readiness).
pub fn ping(conn: &Tx) -> Result<()> {
    conn.query_row("SELECT 1", (), |_| Ok(()))?;
    Ok(())
}

/// Stores or (with `None`) removes a plugin's value.
pub fn kv_put(conn: &Tx, channel: &str, key: &str, value: Option<&[u8]>) -> Result<()> {
    match value {
        Some(v) => conn.execute(
            "INSERT INTO plugin_kv (channel, key, value) VALUES (?1, ?2, ?3)
             ON CONFLICT (channel, key) DO UPDATE SET value = excluded.value",
            params![channel, key, v],
        )?,
        None => conn.execute(
            "DELETE FROM plugin_kv WHERE channel = ?1 AND key = ?2",
            params![channel, key],
        )?,
    };
    Ok(())
}

/// A workgroup's queue as the store has it (for a host that does not route, so has no
/// router to ask): interactions queued, members available, and the oldest queue time.
pub fn queue_facts(c: &Tx, workgroup: &str) -> Result<(i64, i64, Option<i64>)> {
    let (waiting, oldest) = c.query_row(
        "SELECT count(*), min(queued_at) FROM interactions WHERE workgroup = ?1 AND state = 'queued'",
        [workgroup],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let available = c.query_row(
        "SELECT count(*) FROM users u
         JOIN workgroup_members m ON m.user_id = u.id
         JOIN workgroups g ON g.id = m.workgroup_id
         WHERE g.name = ?1 AND u.status = 'available'",
        [workgroup],
        |r| r.get(0),
    )?;
    Ok((waiting, available, oldest))
}
