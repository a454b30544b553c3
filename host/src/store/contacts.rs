//! Contacts: the people behind interactions.
//!
//! Each channel's customer id is one identity; an identity belongs to one contact, and an
//! agent or administrator links identities of the same person (across platforms) into one
//! contact, or unlinks one into a contact of its own. Each interaction records its
//! identity when it is created, so a contact's history is its identities' interactions,
//! whatever links are made later.
//!
//! On a channel that keeps no personal data, the identity's key is a keyed hash (HMAC-SHA256)
//! of the customer id, and the identity and its contact hold nothing else (no name, no
//! handle): the same customer still finds their history, and the table names no one. The
//! key is made once, at random, and kept in `store_keys` for every host.

use anyhow::Result;
use hmac::{KeyInit, Mac};

use crate::store::{OptionalExtension, Tx, params};

/// One identity of a contact.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Identity {
    pub id: i64,
    /// The channel it writes on.
    pub channel: String,
    /// The customer id on that channel; null where the channel keeps no personal data.
    pub platform_id: Option<String>,
    /// Name and handle as last seen (null where not kept).
    pub name: Option<String>,
    pub handle: Option<String>,
    /// Since when, unix ms.
    pub created_at: i64,
    /// The media type of its latest interaction (on a Facebook page, direct messages
    /// are Messenger).
    #[serde(skip)]
    pub media_type: Option<String>,
}

/// A contact.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Contact {
    pub id: i64,
    /// The name agents know the person by (the first identity's, until someone edits it).
    pub name: String,
    /// Notes agents keep.
    pub notes: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const KEY_NAME: &str = "contact_hmac";

/// The hash key, made on first use.
fn hash_key(conn: &Tx) -> Result<Vec<u8>> {
    named_key(conn, KEY_NAME)
}

/// The random 32-byte key kept under `name` for every host sharing the store, made on
/// first use. Two hosts making it at once keep the first.
pub(crate) fn named_key(conn: &Tx, name: &str) -> Result<Vec<u8>> {
    let found: Option<String> = conn
        .prepare_cached("SELECT value FROM store_keys WHERE name = ?1")?
        .query_row([name], |r| r.get(0))
        .optional()?;
    let hex_key = match found {
        Some(k) => k,
        None => {
            let fresh: [u8; 32] = rand::random();
            conn.prepare_cached(
                "INSERT INTO store_keys (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
            )?
            .execute(params![name, hex::encode(fresh)])?;
            conn.prepare_cached("SELECT value FROM store_keys WHERE name = ?1")?
                .query_row([name], |r| r.get(0))?
        }
    };
    Ok(hex::decode(hex_key)?)
}

/// The identity key of `customer_id` on `channel`: itself, or its keyed hash.
fn identity_key(conn: &Tx, channel: &str, customer_id: &str, hashed: bool) -> Result<String> {
    if !hashed {
        return Ok(customer_id.to_owned());
    }
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&hash_key(conn)?)?;
    mac.update(channel.as_bytes());
    mac.update(&[0]);
    mac.update(customer_id.as_bytes());
    Ok(hex::encode(mac.finalize().into_bytes()))
}

/// Records that interaction `interaction_id` is with `customer_id` on `channel`: finds or
/// makes the identity (and its contact), keeps the name and handle last seen (unless
/// `hashed`), and links the interaction to it. Answers the contact's id.
pub fn attach(
    conn: &Tx,
    interaction_id: i64,
    channel: &str,
    customer_id: &str,
    name: &str,
    handle: Option<&str>,
    hashed: bool,
    now: i64,
) -> Result<i64> {
    let key = identity_key(conn, channel, customer_id, hashed)?;
    let (name, handle) = if hashed {
        (None, None)
    } else {
        (Some(name).filter(|n| !n.is_empty()), handle)
    };
    let found: Option<(i64, i64)> = conn
        .prepare_cached(
            "SELECT id, contact_id FROM contact_identities WHERE channel = ?1 AND key = ?2",
        )?
        .query_row(params![channel, key], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (identity, contact) = match found {
        Some((identity, contact)) => {
            if !hashed {
                conn.prepare_cached(
                    "UPDATE contact_identities SET name = COALESCE(?2, name), handle = COALESCE(?3, handle)
                     WHERE id = ?1",
                )?
                .execute(params![identity, name, handle])?;
            }
            (identity, contact)
        }
        None => {
            let contact: i64 = conn
                .prepare_cached(
                    "INSERT INTO contacts (name, created_at, updated_at) VALUES (?1, ?2, ?2) RETURNING id",
                )?
                .query_row(params![name.unwrap_or(""), now], |r| r.get(0))?;
            // Two batches of one customer at once: the second finds the first's row.
            let identity: Option<i64> = conn
                .prepare_cached(
                    "INSERT INTO contact_identities (contact_id, channel, key, hashed, name, handle, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (channel, key) DO NOTHING RETURNING id",
                )?
                .query_row(params![contact, channel, key, hashed, name, handle, now], |r| r.get(0))
                .optional()?;
            match identity {
                Some(identity) => (identity, contact),
                None => {
                    conn.prepare_cached("DELETE FROM contacts WHERE id = ?1")?
                        .execute([contact])?;
                    conn.prepare_cached(
                        "SELECT id, contact_id FROM contact_identities WHERE channel = ?1 AND key = ?2",
                    )?
                    .query_row(params![channel, key], |r| Ok((r.get(0)?, r.get(1)?)))?
                }
            }
        }
    };
    conn.prepare_cached("UPDATE interactions SET identity_id = ?2 WHERE id = ?1")?
        .execute(params![interaction_id, identity])?;
    Ok(contact)
}

fn contact_from_row(r: &crate::store::Row) -> anyhow::Result<Contact> {
    Ok(Contact {
        id: r.get(0)?,
        name: r.get(1)?,
        notes: r.get(2)?,
        created_at: r.get(3)?,
        updated_at: r.get(4)?,
    })
}

/// A contact by id.
pub fn get(conn: &Tx, id: i64) -> Result<Option<Contact>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, name, notes, created_at, updated_at FROM contacts WHERE id = ?1",
        )?
        .query_row([id], contact_from_row)
        .optional()?)
}

/// The contact of an interaction, if it has one.
pub fn of_interaction(conn: &Tx, interaction_id: i64) -> Result<Option<Contact>> {
    Ok(conn
        .prepare_cached(
            "SELECT c.id, c.name, c.notes, c.created_at, c.updated_at
             FROM interactions i JOIN contact_identities ci ON ci.id = i.identity_id
             JOIN contacts c ON c.id = ci.contact_id WHERE i.id = ?1",
        )?
        .query_row([interaction_id], contact_from_row)
        .optional()?)
}

/// A contact's identities, oldest first.
pub fn identities(conn: &Tx, contact: i64) -> Result<Vec<Identity>> {
    let mut stmt = conn.prepare_cached(
        "SELECT ci.id, ci.channel, CASE WHEN ci.hashed = 0 THEN ci.key END, ci.name, ci.handle,
                ci.created_at,
                (SELECT i.media_type FROM interactions i WHERE i.identity_id = ci.id
                 ORDER BY i.id DESC LIMIT 1)
         FROM contact_identities ci WHERE ci.contact_id = ?1 ORDER BY ci.created_at, ci.id",
    )?;
    let rows = stmt.query_map([contact], |r| {
        Ok(Identity {
            id: r.get(0)?,
            channel: r.get(1)?,
            platform_id: r.get(2)?,
            name: r.get(3)?,
            handle: r.get(4)?,
            created_at: r.get(5)?,
            media_type: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<anyhow::Result<_>>()?)
}

/// The ids of a contact's interactions, newest first, at most `limit`.
pub fn interaction_ids(conn: &Tx, contact: i64, limit: i64) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT i.id FROM interactions i JOIN contact_identities ci ON ci.id = i.identity_id
         WHERE ci.contact_id = ?1 ORDER BY i.created_at DESC, i.id DESC LIMIT +?2",
    )?;
    let rows = stmt.query_map(params![contact, limit], |r| r.get(0))?;
    Ok(rows.collect::<anyhow::Result<_>>()?)
}

/// Changes a contact's name and notes (those given).
pub fn update(
    conn: &Tx,
    id: i64,
    name: Option<&str>,
    notes: Option<&str>,
    now: i64,
) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "UPDATE contacts SET name = COALESCE(?2, name), notes = COALESCE(?3, notes), updated_at = ?4
             WHERE id = ?1",
        )?
        .execute(params![id, name, notes, now])?
        > 0)
}

/// Moves every identity of contact `other` to `into`, and removes `other` (its notes are
/// appended to `into`'s, so nothing an agent wrote is lost).
pub fn link(conn: &Tx, into: i64, other: i64, now: i64) -> Result<()> {
    let notes_of = |id: i64| -> Result<String> {
        Ok(conn
            .prepare_cached("SELECT notes FROM contacts WHERE id = ?1")?
            .query_row([id], |r| r.get(0))?)
    };
    let (ours, theirs) = (notes_of(into)?, notes_of(other)?);
    let notes = match (ours.trim(), theirs.trim()) {
        (a, "") => a.to_owned(),
        ("", b) => b.to_owned(),
        (a, b) => format!("{a}\n{b}"),
    };
    conn.prepare_cached("UPDATE contact_identities SET contact_id = ?1 WHERE contact_id = ?2")?
        .execute(params![into, other])?;
    conn.prepare_cached("UPDATE contacts SET updated_at = ?2, notes = ?3 WHERE id = ?1")?
        .execute(params![into, now, notes])?;
    conn.prepare_cached("DELETE FROM contacts WHERE id = ?1")?
        .execute([other])?;
    Ok(())
}

/// Moves identity `identity` of contact `from` to a contact of its own (named after it);
/// answers the new contact's id.
pub fn unlink(conn: &Tx, from: i64, identity: i64, now: i64) -> Result<i64> {
    let name: Option<String> = conn
        .prepare_cached("SELECT name FROM contact_identities WHERE id = ?1 AND contact_id = ?2")?
        .query_row(params![identity, from], |r| r.get(0))?;
    let contact: i64 = conn
        .prepare_cached(
            "INSERT INTO contacts (name, created_at, updated_at) VALUES (?1, ?2, ?2) RETURNING id",
        )?
        .query_row(params![name.unwrap_or_default(), now], |r| r.get(0))?;
    conn.prepare_cached("UPDATE contact_identities SET contact_id = ?2 WHERE id = ?1")?
        .execute(params![identity, contact])?;
    Ok(contact)
}

/// Whether `identity` belongs to `contact`.
pub fn has_identity(conn: &Tx, contact: i64, identity: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM contact_identities WHERE id = ?1 AND contact_id = ?2")?
        .query_row(params![identity, contact], |r| r.get::<_, i64>(0))
        .optional()?
        .is_some())
}

/// Whether one of contact `contact`'s interactions is (or was last) assigned to `user`.
pub fn assigned_to(conn: &Tx, contact: i64, user: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM interactions i JOIN contact_identities ci ON ci.id = i.identity_id
             WHERE ci.contact_id = ?1 AND i.assigned_to = ?2 LIMIT 1",
        )?
        .query_row(params![contact, user], |r| r.get::<_, i64>(0))
        .optional()?
        .is_some())
}

/// Whether interaction `id` is with a contact one of whose interactions is (or was last)
/// assigned to `user`: the customer's history an agent may open.
pub fn shares_contact_with(conn: &Tx, id: i64, user: i64) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM interactions x JOIN contact_identities a ON a.id = x.identity_id
             JOIN contact_identities b ON b.contact_id = a.contact_id
             JOIN interactions mine ON mine.identity_id = b.id
             WHERE x.id = ?1 AND mine.assigned_to = ?2 LIMIT 1",
        )?
        .query_row(params![id, user], |r| r.get::<_, i64>(0))
        .optional()?
        .is_some())
}

/// Contacts whose name, or an identity's name or handle, holds `q` (any case), by name;
/// at most `limit`.
pub fn find(conn: &Tx, q: &str, limit: i64) -> Result<Vec<Contact>> {
    let pattern = crate::store::reports::like_pattern(q);
    let like = if conn.is_postgres() { "ILIKE" } else { "LIKE" };
    let sql = format!(
        "SELECT id, name, notes, created_at, updated_at FROM contacts c
         WHERE c.name {like} ?1 ESCAPE '\\'
            OR EXISTS (SELECT 1 FROM contact_identities ci WHERE ci.contact_id = c.id
                       AND (ci.name {like} ?1 ESCAPE '\\' OR ci.handle {like} ?1 ESCAPE '\\'))
         ORDER BY c.name, c.id LIMIT ?2"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params![pattern, limit], contact_from_row)?;
    Ok(rows.collect::<anyhow::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing;

    fn interaction(tx: &Tx, channel: &str, customer: &str) -> i64 {
        tx.query_row(
            "INSERT INTO interactions (channel, thread_id, media_type, state, workgroup,
                 customer_id, customer_name, created_at, queued_at, updated_at)
             VALUES (?1, ?2, 'social_conversation', 'queued', 'Social', ?3, 'x', 1, 1, 1) RETURNING id",
            params![channel, format!("t{}", rand::random::<u32>()), customer],
            |r| r.get(0),
        )
        .unwrap()
    }

    #[test]
    fn one_contact_per_identity_linked_and_unlinked_with_their_history() {
        let db = testing::db();
        let tx = db.tx();
        let i1 = interaction(&tx, "fb", "psid-1");
        let ann = attach(&tx, i1, "fb", "psid-1", "Ann Lee", None, false, 10).unwrap();
        let i2 = interaction(&tx, "fb", "psid-1");
        assert_eq!(
            attach(&tx, i2, "fb", "psid-1", "Ann L.", None, false, 20).unwrap(),
            ann,
            "the same identity"
        );
        let i3 = interaction(&tx, "x", "42");
        let x = attach(&tx, i3, "x", "42", "Ann", Some("annlee"), false, 30).unwrap();
        assert_ne!(x, ann);
        assert_eq!(
            get(&tx, ann).unwrap().unwrap().name,
            "Ann Lee",
            "named once, then by people"
        );
        assert_eq!(
            identities(&tx, ann).unwrap()[0].name.as_deref(),
            Some("Ann L."),
            "the identity follows"
        );
        update(&tx, x, None, Some("prefers mornings"), 31).unwrap();
        link(&tx, ann, x, 40).unwrap();
        assert_eq!(get(&tx, x).unwrap(), None);
        let merged = get(&tx, ann).unwrap().unwrap();
        assert_eq!(merged.notes, "prefers mornings", "the notes are kept");
        assert_eq!(interaction_ids(&tx, ann, 10).unwrap(), [i3, i2, i1]);
        assert_eq!(of_interaction(&tx, i3).unwrap().unwrap().id, ann);
        assert_eq!(
            find(&tx, "ANNLEE", 10).unwrap()[0].id,
            ann,
            "by handle, any case"
        );
        let x_identity = identities(&tx, ann).unwrap()[1].id;
        let alone = unlink(&tx, ann, x_identity, 50).unwrap();
        assert_eq!(interaction_ids(&tx, alone, 10).unwrap(), [i3]);
        assert_eq!(interaction_ids(&tx, ann, 10).unwrap(), [i2, i1]);
        assert_eq!(get(&tx, alone).unwrap().unwrap().name, "Ann");
    }

    #[test]
    fn without_personal_data_the_identity_is_a_keyed_hash_and_holds_nothing_else() {
        let db = testing::db();
        let tx = db.tx();
        let i1 = interaction(&tx, "wa", "15550001");
        let c = attach(
            &tx,
            i1,
            "wa",
            "15550001",
            "(not stored)",
            Some("h"),
            true,
            1,
        )
        .unwrap();
        let i2 = interaction(&tx, "wa", "15550001");
        assert_eq!(
            attach(&tx, i2, "wa", "15550001", "(not stored)", None, true, 2).unwrap(),
            c
        );
        let (key, name, handle): (String, Option<String>, Option<String>) = tx
            .query_row(
                "SELECT key, name, handle FROM contact_identities",
                (),
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(key.len(), 64);
        assert!(!key.contains("15550001"));
        assert_eq!((name, handle), (None, None));
        assert_eq!(get(&tx, c).unwrap().unwrap().name, "");
        assert_eq!(identities(&tx, c).unwrap()[0].platform_id, None);
        // Another channel's same number is another identity (the hash covers the channel).
        let i3 = interaction(&tx, "wa2", "15550001");
        assert_ne!(
            attach(&tx, i3, "wa2", "15550001", "", None, true, 3).unwrap(),
            c
        );
    }
}
