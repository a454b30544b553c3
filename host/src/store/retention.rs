//! Retention and erasure: removing customers' content and personal data while keeping the
//! anonymised history reports are made of.
//!
//! What is removed from an interaction ([`scrub`]): its messages' text, authors, handles,
//! platform user ids, attachments and metadata; the customer's id and name; its workflow
//! attributes and transfer note; the details of its recorded state changes (notes and
//! reasons written by people); its replies' text, recipients and errors; its pending jobs
//! and timers. What stays: the interaction's times, states, workgroups, agents and wrap-up
//! code, its state changes (kind, state, who, when) and its report segments, so reports
//! over the period stay right. Contacts left without any interaction that still holds
//! content are removed with their identities.
//!
//! The periodic purge ([`purge`]) removes what ended before each channel's retention
//! period; [`erase_contact`] removes everything of one customer at once, whatever its age.

use anyhow::Result;

use crate::store::{OptionalExtension, Tx, params};

/// Removes the content and personal data of each interaction in `ids` (see the module
/// notes), and of every message stored from the same customers on the same channels
/// without an interaction (those a workflow stopped).
pub fn scrub(conn: &Tx, ids: &[i64], now: i64) -> Result<()> {
    for &id in ids {
        let who: Option<(String, String)> = conn
            .prepare_cached("SELECT channel, customer_id FROM interactions WHERE id = ?1")?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some((channel, customer)) = who.filter(|(_, c)| !c.is_empty()) {
            scrub_author(conn, &channel, &customer, now)?;
        }
        crate::store::media::erase_interaction(conn, id, now)?;
        conn.prepare_cached(
            "UPDATE messages SET text = '', author_id = '', author_name = '', author_handle = NULL,
                 attachments = '[]', metadata = '{}', followers = NULL, language = NULL
             WHERE interaction_id = ?1",
        )?
        .execute([id])?;
        conn.prepare_cached(
            "UPDATE interactions SET customer_id = '', customer_name = '', attributes = '{}',
                 transfer_note = NULL, group_key = NULL, buffer_thread = NULL, purged_at = ?2
             WHERE id = ?1",
        )?
        .execute(params![id, now])?;
        conn.prepare_cached(
            "UPDATE interaction_events SET detail = NULL WHERE interaction_id = ?1",
        )?
        .execute([id])?;
        conn.prepare_cached(
            "UPDATE outbound SET text = '', recipient_id = NULL, extras = '{}', last_error = NULL,
                 delivery_error = NULL
             WHERE interaction_id = ?1",
        )?
        .execute([id])?;
        conn.prepare_cached("DELETE FROM jobs WHERE interaction_id = ?1")?
            .execute([id])?;
        conn.prepare_cached("DELETE FROM workflow_timers WHERE interaction_id = ?1")?
            .execute([id])?;
    }
    Ok(())
}

/// Messages of one author on one channel that belong to no interaction.
fn scrub_author(conn: &Tx, channel: &str, author: &str, now: i64) -> Result<()> {
    crate::store::media::erase_author_unrouted(conn, channel, author, now)?;
    conn.prepare_cached(
        "UPDATE messages SET text = '', author_id = '', author_name = '', author_handle = NULL,
             attachments = '[]', metadata = '{}', followers = NULL, language = NULL
         WHERE channel = ?1 AND author_id = ?2 AND interaction_id IS NULL",
    )?
    .execute(params![channel, author])?;
    Ok(())
}

/// Removes contacts' identities whose every interaction has been scrubbed (made before
/// `before`), and contacts left without identities.
fn drop_emptied_contacts(conn: &Tx, before: i64) -> Result<()> {
    conn.prepare_cached(
        "DELETE FROM contact_identities WHERE created_at < ?1 AND NOT EXISTS
             (SELECT 1 FROM interactions i WHERE i.identity_id = contact_identities.id
              AND i.purged_at IS NULL)",
    )?
    .execute([before])?;
    conn.prepare_cached(
        "DELETE FROM contacts WHERE NOT EXISTS
             (SELECT 1 FROM contact_identities ci WHERE ci.contact_id = contacts.id)",
    )?
    .execute(())?;
    Ok(())
}

/// Scrubs at most `limit` interactions of `channel` that ended before `cutoff` (unix ms),
/// with the messages kept without an interaction from then; answers how many.
pub fn purge(conn: &Tx, channel: &str, cutoff: i64, limit: i64, now: i64) -> Result<usize> {
    let ids: Vec<i64> = {
        let mut stmt = conn.prepare_cached(
            "SELECT id FROM interactions
             WHERE channel = ?1 AND updated_at < ?2 AND purged_at IS NULL AND state = 'disconnected'
               AND wrapup_pending = 0
             ORDER BY updated_at LIMIT +?3",
        )?;
        let rows = stmt.query_map(params![channel, cutoff, limit], |r| r.get(0))?;
        rows.collect::<anyhow::Result<_>>()?
    };
    scrub(conn, &ids, now)?;
    crate::store::media::erase_unrouted_before(conn, channel, cutoff, now)?;
    conn.prepare_cached(
        "UPDATE messages SET text = '', author_id = '', author_name = '', author_handle = NULL,
             attachments = '[]', metadata = '{}', followers = NULL, language = NULL
         WHERE channel = ?1 AND interaction_id IS NULL AND stored_at < ?2
           AND (text <> '' OR author_id <> '')",
    )?
    .execute(params![channel, cutoff])?;
    drop_emptied_contacts(conn, cutoff)?;
    Ok(ids.len())
}

/// Why a contact cannot be erased now.
#[derive(Debug, PartialEq, Eq)]
pub enum EraseRefused {
    /// No such contact.
    Missing,
    /// One of its interactions is still being worked (its id).
    Live(i64),
}

/// Erases everything of one contact: the content of all its interactions (whatever their
/// age), its identities and itself. Answers how many interactions were scrubbed.
pub fn erase_contact(conn: &Tx, contact: i64, now: i64) -> Result<Result<usize, EraseRefused>> {
    if crate::store::contacts::get(conn, contact)?.is_none() {
        return Ok(Err(EraseRefused::Missing));
    }
    let live: Option<i64> = conn
        .prepare_cached(
            "SELECT i.id FROM interactions i JOIN contact_identities ci ON ci.id = i.identity_id
             WHERE ci.contact_id = ?1 AND (i.state <> 'disconnected' OR i.wrapup_pending <> 0)
             LIMIT 1",
        )?
        .query_row([contact], |r| r.get(0))
        .optional()?;
    if let Some(id) = live {
        return Ok(Err(EraseRefused::Live(id)));
    }
    let ids: Vec<i64> = {
        let mut stmt = conn.prepare_cached(
            "SELECT i.id FROM interactions i JOIN contact_identities ci ON ci.id = i.identity_id
             WHERE ci.contact_id = ?1",
        )?;
        let rows = stmt.query_map([contact], |r| r.get(0))?;
        rows.collect::<anyhow::Result<_>>()?
    };
    // Plain identities name their customer id: messages of theirs kept without an
    // interaction go too.
    let plain: Vec<(String, String)> = {
        let mut stmt = conn.prepare_cached(
            "SELECT channel, key FROM contact_identities WHERE contact_id = ?1 AND hashed = 0",
        )?;
        let rows = stmt.query_map([contact], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<anyhow::Result<_>>()?
    };
    for (channel, customer) in &plain {
        scrub_author(conn, channel, customer, now)?;
    }
    scrub(conn, &ids, now)?;
    conn.prepare_cached(
        "UPDATE interactions SET identity_id = NULL
         WHERE identity_id IN (SELECT id FROM contact_identities WHERE contact_id = ?1)",
    )?
    .execute([contact])?;
    conn.prepare_cached("DELETE FROM contact_identities WHERE contact_id = ?1")?
        .execute([contact])?;
    conn.prepare_cached("DELETE FROM contacts WHERE id = ?1")?
        .execute([contact])?;
    Ok(Ok(ids.len()))
}

/// Erases everything `author` wrote on `channel` (the platform says their account was
/// deleted): the interactions they are the customer of, whatever their state, and their
/// messages elsewhere (comments in another customer's thread). Answers how many messages
/// were erased.
pub fn erase_author(conn: &Tx, channel: &str, author: &str, now: i64) -> Result<usize> {
    let ids: Vec<i64> = {
        let mut stmt = conn.prepare_cached(
            "SELECT id FROM interactions WHERE channel = ?1 AND customer_id = ?2",
        )?;
        let rows = stmt.query_map(params![channel, author], |r| r.get(0))?;
        rows.collect::<anyhow::Result<_>>()?
    };
    crate::store::media::erase_author(conn, channel, author, now)?;
    let erased = conn
        .prepare_cached(
            "UPDATE messages SET text = '', author_id = '', author_name = '', author_handle = NULL,
                 attachments = '[]', metadata = '{}', followers = NULL, language = NULL,
                 deleted = 1
             WHERE channel = ?1 AND author_id = ?2",
        )?
        .execute(params![channel, author])?;
    scrub(conn, &ids, now)?;
    Ok(erased)
}

/// The last purge: when it ran and how many interactions it scrubbed.
pub fn last_run(conn: &Tx) -> Result<Option<(i64, i64)>> {
    let v: Option<String> = conn
        .prepare_cached("SELECT value FROM store_keys WHERE name = 'retention_last_run'")?
        .query_row((), |r| r.get(0))
        .optional()?;
    Ok(v.and_then(|v| {
        let (at, n) = v.split_once(' ')?;
        Some((at.parse().ok()?, n.parse().ok()?))
    }))
}

/// Records a purge's time and count.
pub fn record_run(conn: &Tx, at: i64, scrubbed: usize) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO store_keys (name, value) VALUES ('retention_last_run', ?1)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    )?
    .execute([format!("{at} {scrubbed}")])?;
    Ok(())
}
