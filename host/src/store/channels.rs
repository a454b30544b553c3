//! Channels administrators created through the API, kept so a restart starts them again.
//!
//! Each row holds the channel's settings as JSON (the config file's `[[channels]]` fields,
//! secrets included, as the database already holds every other credential the host
//! uses). Config-file channels are never stored here.

use crate::store::{OptionalExtension, Tx, params};
use anyhow::{Context, Result};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A stored channel row; `config` is `Err` when its JSON no longer parses. The store
/// keeps the settings as the caller gives them (the config file's channel type): it holds
/// rows, and what a channel's settings mean is the config's business.
pub struct StoredChannel<C> {
    /// The channel's name (the primary key).
    pub name: String,
    /// Its settings, or why they could not be read.
    pub config: Result<C>,
    /// When it was created, unix ms.
    pub created_at: i64,
    /// When it was last replaced, unix ms.
    pub updated_at: i64,
}

fn row(r: &crate::store::Row<'_>) -> anyhow::Result<(String, String, i64, i64)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

fn parse<C: DeserializeOwned>(
    (name, json, created_at, updated_at): (String, String, i64, i64),
) -> StoredChannel<C> {
    let config = serde_json::from_str::<C>(&json)
        .with_context(|| format!("stored channel `{name}`: settings do not parse"));
    StoredChannel {
        name,
        config,
        created_at,
        updated_at,
    }
}

/// Every stored channel, by name.
pub fn list<C: DeserializeOwned>(conn: &Tx) -> Result<Vec<StoredChannel<C>>> {
    let mut stmt =
        conn.prepare("SELECT name, config, created_at, updated_at FROM channels ORDER BY name")?;
    let rows = stmt.query_map((), row)?;
    Ok(rows
        .collect::<anyhow::Result<Vec<_>>>()?
        .into_iter()
        .map(parse)
        .collect())
}

/// One stored channel.
pub fn get<C: DeserializeOwned>(conn: &Tx, name: &str) -> Result<Option<StoredChannel<C>>> {
    let found = conn
        .query_row(
            "SELECT name, config, created_at, updated_at FROM channels WHERE name = ?1",
            [name],
            row,
        )
        .optional()?;
    Ok(found.map(parse))
}

/// Whether a channel of this name is stored.
pub fn exists(conn: &Tx, name: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM channels WHERE name = ?1")?
        .exists([name])?)
}

/// Stores a new channel; fails when the name is taken.
pub fn insert(conn: &Tx, name: &str, channel: &impl Serialize, now: i64) -> Result<()> {
    let json = serde_json::to_string(channel)?;
    conn.execute(
        "INSERT INTO channels (name, config, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)",
        params![name, json, now],
    )
    .with_context(|| format!("storing channel `{name}`"))?;
    Ok(())
}

/// Replaces a stored channel's settings; `false` when there is no such channel.
pub fn update(conn: &Tx, name: &str, channel: &impl Serialize, now: i64) -> Result<bool> {
    let json = serde_json::to_string(channel)?;
    let changed = conn.execute(
        "UPDATE channels SET config = ?2, updated_at = ?3 WHERE name = ?1",
        params![name, json, now],
    )?;
    Ok(changed == 1)
}

/// Forgets a channel and its connector's state (polling cursor, key-value entries, so a
/// later channel of the same name starts fresh). Its messages and interactions stay.
/// `false` when there is no such channel.
pub fn delete(conn: &Tx, name: &str) -> Result<bool> {
    let removed = conn.execute("DELETE FROM channels WHERE name = ?1", [name])?;
    if removed == 0 {
        return Ok(false);
    }
    conn.execute("DELETE FROM channel_cursors WHERE channel = ?1", [name])?;
    conn.execute("DELETE FROM plugin_kv WHERE channel = ?1", [name])?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stands in for the config's channel: the store only round-trips JSON.
    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Channel {
        name: String,
        token: String,
        post_limit: i64,
    }

    fn channel(name: &str) -> Channel {
        Channel {
            name: name.into(),
            token: "t".into(),
            post_limit: 5,
        }
    }

    fn insert(conn: &Tx, ch: &Channel, now: i64) -> Result<()> {
        super::insert(conn, &ch.name, ch, now)
    }

    fn update(conn: &Tx, ch: &Channel, now: i64) -> Result<bool> {
        super::update(conn, &ch.name, ch, now)
    }

    #[test]
    fn channels_round_trip_and_delete_forgets_connector_state() {
        let db = crate::store::testing::db();
        let conn = db.tx();
        insert(&conn, &channel("b"), 1).unwrap();
        insert(&conn, &channel("a"), 2).unwrap();
        assert!(insert(&conn, &channel("a"), 3).is_err(), "names are unique");
        let all = list::<Channel>(&conn).unwrap();
        let names: Vec<_> = all.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        let a = all[0].config.as_ref().unwrap();
        assert_eq!(a.token, "t");

        let mut changed = channel("a");
        changed.post_limit = 7;
        assert!(update(&conn, &changed, 9).unwrap());
        let a = get::<Channel>(&conn, "a").unwrap().unwrap();
        assert_eq!((a.created_at, a.updated_at), (2, 9));
        assert_eq!(a.config.unwrap().post_limit, 7);
        assert!(!update(&conn, &channel("zz"), 9).unwrap());

        conn.execute(
            "INSERT INTO plugin_kv (channel, key, value) VALUES ('a', 'k', ?1)",
            [vec![0u8]],
        )
        .unwrap();
        assert!(delete(&conn, "a").unwrap());
        assert!(!delete(&conn, "a").unwrap());
        let kv: i64 = conn
            .query_row("SELECT count(*) FROM plugin_kv", (), |r| r.get(0))
            .unwrap();
        assert_eq!(kv, 0);
        assert!(get::<Channel>(&conn, "a").unwrap().is_none());
    }
}
